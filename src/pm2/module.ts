// Entry point of the PM2 module: reads the settings, follows PM2's processes and serves the
// merged /metrics. Settings it refuses (a typo in a `pm2 set`, which restarts the module) are
// logged, and the module goes on with the last settings it accepted; with none accepted yet it
// waits (a crash would only make PM2 restart it in a loop). A busy port is retried.
import type http from 'node:http';
import { Housekeeper, MetricsService } from '../host';
import { createLogger, setLogger, type Logger } from '../logger';
import { createMetricsHandler, listenOn, type TlsFiles } from '../server';
import { MODULE_NAME, parseModuleConfig, readSettings, setCommand, unresolvableHost, type ModuleConfig } from './config';
import { lastGoodSettingsPath, readLastGoodSettings, saveLastGoodSettings } from './last-good-settings';
import { Pm2Lifecycle } from './lifecycle';
import { HEALTH_PROBE_NAMES, showHealthInMonit } from './monit';
import { hostPm2 } from './host-pm2';
import { Pm2Client } from './pm2-client';
import { processMetrics } from './process-metrics';
import { readTlsSettings } from './tls-settings';

const LISTEN_RETRY_MS = 15_000;

/** What to change when listening fails, by the error's code; any other code names both keys. */
const LISTEN_FIXES: Readonly<Record<string, string>> = {
  EADDRINUSE: `choose another port: ${setCommand('port', 'NUMBER')}`,
  EACCES: `choose a port from 1024 on: ${setCommand('port', 'NUMBER')}`,
  EADDRNOTAVAIL: `choose an address of this machine: ${setCommand('host', 'ADDRESS')}`,
  ENOTFOUND: `choose a host name that resolves, or an address: ${setCommand('host', 'ADDRESS')}`,
  EAI_AGAIN: `choose an address: ${setCommand('host', 'ADDRESS')}`,
  EINVAL: `choose another address: ${setCommand('host', 'ADDRESS')}`,
};

interface Settings {
  config: ModuleConfig;
  tls: TlsFiles | undefined;
}

/** Parses the settings, resolves the host name, reads the TLS files; throws naming the setting at fault. */
async function resolveSettings(raw: Record<string, unknown>): Promise<Settings> {
  const config = parseModuleConfig(raw);
  const hostProblem = await unresolvableHost(config);
  if (hostProblem !== undefined) throw new Error(hostProblem);
  return { config, tls: config.tls && readTlsSettings(config.tls.certPath, config.tls.keyPath) };
}

/** The keys whose values differ, never the values (some are secrets). */
function changedKeys(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].filter((key) => String(a[key] ?? '') !== String(b[key] ?? '')).sort();
}

/**
 * The settings to serve with: the current ones when they are good (saved as the last good ones),
 * else the last good ones; undefined when neither can be used.
 */
async function chooseSettings(log: Logger): Promise<Settings | undefined> {
  const raw = readSettings();
  try {
    const settings = await resolveSettings(raw);
    try {
      saveLastGoodSettings(raw);
    } catch (error) {
      log.warn(`cannot keep these settings as the last good ones in ${lastGoodSettingsPath()} (${(error as Error).message}): a later bad setting will stop the module serving`);
    }
    return settings;
  } catch (error) {
    const refused = (error as Error).message;
    const saved = readLastGoodSettings();
    if (saved === undefined) {
      log.error(`${refused}; not serving until the settings are fixed`);
      return undefined;
    }
    try {
      const settings = await resolveSettings(saved.raw);
      log.error(
        `${refused}; these settings are refused: serving with the last good settings (of ${saved.savedAt}; ` +
          `the refused ones differ in ${changedKeys(raw, saved.raw).join(', ')}) until they are fixed`,
      );
      return settings;
    } catch (lastError) {
      log.error(
        `${refused}; not serving until the settings are fixed (the last good settings, of ${saved.savedAt}, ` +
          `no longer work either: ${(lastError as Error).message})`,
      );
      return undefined;
    }
  }
}

// Keeps the process alive, doing nothing, so that PM2 does not restart it.
function waitForNewSettings(): void {
  setInterval(() => undefined, 1 << 30);
}

async function listenUntilFree(handler: http.RequestListener, config: ModuleConfig, tls: TlsFiles | undefined, log: Logger): Promise<http.Server> {
  let reported = false;
  for (;;) {
    try {
      return await listenOn(handler, config.host, config.port, { tls });
    } catch (error) {
      if (!reported) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        const fix = LISTEN_FIXES[code] ?? `check the address: ${setCommand('host', 'ADDRESS')}, ${setCommand('port', 'NUMBER')}`;
        log.error(`${(error as Error).message}; retrying every ${LISTEN_RETRY_MS / 1000} s (or ${fix})`);
        reported = true;
      }
      await new Promise((resolve) => setTimeout(resolve, LISTEN_RETRY_MS));
    }
  }
}

async function main(): Promise<void> {
  const log = createLogger(MODULE_NAME);
  // The module is one process: what the library parts report goes to its log as well.
  setLogger(log);
  // Announces the module to PM2 (its metrics in `pm2 monit`, its widget in PM2 Plus).
  hostPm2().io.initModule({ widget: { type: 'generic', el: { probes: true, actions: false } } });
  const settings = await chooseSettings(log);
  if (settings === undefined) {
    waitForNewSettings();
    return;
  }
  const { config, tls } = settings;

  const housekeeper = new Housekeeper({ log, deadAllGauges: config.deadAllGauges });
  const lifecycle = new Pm2Lifecycle(new Pm2Client(), housekeeper, config.dir, log);
  const service = new MetricsService(log, housekeeper, {
    recorder: lifecycle.recorder,
    limits: {
      series: config.maxSeries,
      bytes: config.maxReadBytes,
      raiseHint: `raise it: pm2 set ${MODULE_NAME}:max_series N, pm2 set ${MODULE_NAME}:max_read_mb N`,
    },
  });
  await lifecycle.start(config.reconcileIntervalSeconds * 1000);
  showHealthInMonit(() => service.health());
  const ownProbes = { pid: process.pid, names: HEALTH_PROBE_NAMES };

  let server: http.Server | undefined = undefined;
  const shutdown = (): void => {
    lifecycle.stop();
    if (server === undefined) process.exit(0);
    server.close(() => process.exit(0));
    server.closeAllConnections();
  };
  // Registered before listening: PM2 may stop the module while it waits for a busy port.
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);

  const handler = createMetricsHandler({
    path: config.path,
    basicAuth: config.basicAuth,
    log,
    title: MODULE_NAME,
    collect: async () => {
      const processes = await lifecycle.processesForScrape();
      return service.collect(lifecycle.sources, processMetrics(processes, Date.now(), ownProbes));
    },
  });
  server = await listenUntilFree(handler, config, tls, log);
  const dirs = lifecycle.sources.map((source) => source.dir).join(', ');
  log.info(`serving ${tls ? 'https' : 'http'}://${config.host}:${config.port}${config.path} (directories: ${dirs || 'none'})`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${MODULE_NAME}: error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

// Entry point of the PM2 module: reads the settings, follows PM2's processes and serves the
// merged /metrics. A bad setting or a busy port is logged clearly and the module waits (a crash
// would only make PM2 restart it in a loop); `pm2 set` restarts it with the new settings.
import type http from 'node:http';
import { Housekeeper, MetricsService } from '../host';
import { createLogger, setLogger, type Logger } from '../logger';
import { createMetricsHandler, listenOn, readTlsFiles, type TlsFiles } from '../server';
import { MODULE_NAME, parseModuleConfig, readSettings, type ModuleConfig } from './config';
import { Pm2Lifecycle } from './lifecycle';
import { showHealthInMonit } from './monit';
import { hostPm2 } from './host-pm2';
import { Pm2Client } from './pm2-client';
import { processMetrics } from './process-metrics';

const LISTEN_RETRY_MS = 15_000;

// Keeps the process alive, doing nothing, so that PM2 does not restart it.
function waitForNewSettings(): void {
  setInterval(() => undefined, 1 << 30);
}

async function listenUntilFree(
  handler: http.RequestListener,
  config: ModuleConfig,
  tls: TlsFiles | undefined,
  log: Logger,
): Promise<http.Server> {
  let reported = false;
  for (;;) {
    try {
      return await listenOn(handler, config.host, config.port, { tls });
    } catch (error) {
      if (!reported) {
        log.error(
          `${(error as Error).message}; retrying every ${LISTEN_RETRY_MS / 1000} s ` +
            `(or choose another port: pm2 set ${MODULE_NAME}:port NUMBER)`,
        );
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
  let config: ModuleConfig;
  let tls: TlsFiles | undefined;
  try {
    config = parseModuleConfig(readSettings());
    tls = config.tls && readTlsFiles(config.tls.certPath, config.tls.keyPath);
  } catch (error) {
    log.error(`${(error as Error).message}; not serving until the settings are fixed`);
    waitForNewSettings();
    return;
  }

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
      return service.collect(lifecycle.sources, processMetrics(processes));
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

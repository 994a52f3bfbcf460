// The module's settings: package.json `config` defaults, overridden with
// `pm2 set pm2-prom-multiproc:KEY VALUE`, validated here into one typed object.
import dns from 'node:dns';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseBasicAuthSetting, parseHashedBasicAuthSetting, type BasicAuth } from '../server';

export const MODULE_NAME = 'pm2-prom-multiproc';

/** The command that sets `key`, as every message about a setting ends: `pm2 set NAME:key VALUE`. */
export function setCommand(key: string, value: string): string {
  return `pm2 set ${MODULE_NAME}:${key} ${value}`;
}

export interface ModuleConfig {
  port: number;
  host: string;
  /** Path of the metrics endpoint. */
  path: string;
  /** Served even when no app declares it in PROMETHEUS_MULTIPROC_DIR. */
  dir: string;
  reconcileIntervalSeconds: number;
  /** What compaction does with dead processes' `all` gauges: keep one sample per pid, or drop them. */
  deadAllGauges: 'keep' | 'drop';
  /** Most series one scrape merges per directory; files past it are skipped (warned, counted). */
  maxSeries: number;
  /** Most bytes of metric files one scrape reads per directory, likewise. */
  maxReadBytes: number;
  basicAuth?: BasicAuth;
  /** Serve HTTPS with these PEM files (absolute paths), read when the module starts. */
  tls?: { certPath: string; keyPath: string };
}

/**
 * The raw settings: package.json `config` defaults, overridden by what `pm2 set` stored, which PM2
 * hands to the process named like the module as JSON in the environment variable of that name.
 * (@pm2/io's initModule reads the same variable, but under PM2 7 it names it after the package.json
 * next to PM2's process container, PM2's own, so it finds neither our defaults nor our settings.)
 */
export function readSettings(env: NodeJS.ProcessEnv = process.env): Record<string, unknown> {
  const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
    config?: Record<string, unknown>;
  };
  let overrides: unknown = {};
  try {
    overrides = JSON.parse(env[MODULE_NAME] ?? '{}');
  } catch {
    // PM2 sets a non-JSON placeholder when nothing was ever set: the defaults apply.
  }
  return { ...pkg.config, ...(typeof overrides === 'object' && overrides !== null ? overrides : {}) };
}

/** PM2's home, as PM2 itself finds it. */
export function pm2Home(): string {
  return process.env.PM2_HOME ?? path.join(os.homedir(), '.pm2');
}

/** The directory served when the `dir` setting is empty. */
export function defaultMetricsDir(home: string = pm2Home()): string {
  return path.join(home, 'prom-multiproc');
}

function text(raw: Record<string, unknown>, key: string): string {
  const value = raw[key];
  // @pm2/io casts numeric-looking and boolean-looking settings; every setting is text to us.
  return value === undefined || value === null ? '' : String(value).trim();
}

function integerIn(value: string, min: number, max: number): number | undefined {
  if (!/^\d+$/.test(value)) return undefined;
  const number = Number(value);
  return number >= min && number <= max ? number : undefined;
}

/**
 * Validates the settings; throws one Error that lists every bad setting with what it expects and
 * the `pm2 set` command that fixes it.
 */
export function parseModuleConfig(raw: Record<string, unknown>, home: string = pm2Home()): ModuleConfig {
  const problems: string[] = [];
  const problem = (key: string, expected: string, example = 'VALUE'): void => {
    problems.push(`"${key}" ${expected}, got "${text(raw, key)}" (${setCommand(key, example)})`);
  };

  const port = integerIn(text(raw, 'port'), 1, 65535);
  if (port === undefined) problem('port', 'must be an integer from 1 to 65535');

  const host = text(raw, 'host');
  if (host === '' || /\s/.test(host)) problem('host', 'must be a host name or IP address to listen on');
  // Digits and dots only is meant as an IPv4 address: 999.1.1.1 would otherwise go to DNS.
  else if (/^[\d.]+$/.test(host) && !net.isIPv4(host)) problem('host', 'is not an IPv4 address (four numbers from 0 to 255)');

  const metricsPath = text(raw, 'path');
  if (!/^\/[^\s?#]+$/.test(metricsPath) || metricsPath === '/healthz') {
    problem('path', 'must start with "/", hold no spaces, "?" or "#", and not be "/" or "/healthz"');
  }

  const dirSetting = text(raw, 'dir');
  if (dirSetting !== '' && !path.isAbsolute(dirSetting)) problem('dir', 'must be an absolute path (or empty for the default)');

  const reconcileIntervalSeconds = integerIn(text(raw, 'reconcile_interval'), 1, 86400);
  if (reconcileIntervalSeconds === undefined) problem('reconcile_interval', 'must be a whole number of seconds from 1 to 86400');

  const maxSeries = integerIn(text(raw, 'max_series'), 1, 100_000_000);
  if (maxSeries === undefined) problem('max_series', 'must be a whole number of series from 1 to 100000000');

  const maxReadMegabytes = integerIn(text(raw, 'max_read_mb'), 1, 1_000_000);
  if (maxReadMegabytes === undefined) problem('max_read_mb', 'must be a whole number of MiB from 1 to 1000000');

  const deadAllGauges = text(raw, 'dead_all_gauges');
  if (deadAllGauges !== 'keep' && deadAllGauges !== 'drop') problem('dead_all_gauges', 'must be "keep" or "drop"');

  let basicAuth: BasicAuth | undefined;
  const basicAuthSetting = String(raw.basic_auth ?? '');
  const basicAuthHashSetting = text(raw, 'basic_auth_hash');
  if (basicAuthSetting !== '' && basicAuthHashSetting !== '') {
    problems.push(`set only one of basic_auth and basic_auth_hash (${setCommand('basic_auth', '""')})`);
  } else if (basicAuthSetting !== '') {
    try {
      basicAuth = parseBasicAuthSetting(basicAuthSetting);
    } catch (error) {
      // Never echo the setting: it holds a password.
      problems.push(`${(error as Error).message} (${setCommand('basic_auth', 'user:password')})`);
    }
  } else if (basicAuthHashSetting !== '') {
    try {
      basicAuth = parseHashedBasicAuthSetting(basicAuthHashSetting);
    } catch (error) {
      problems.push(`${(error as Error).message} (${setCommand('basic_auth_hash', 'SETTING')})`);
    }
  }

  const certPath = text(raw, 'tls_cert');
  const keyPath = text(raw, 'tls_key');
  const tlsFiles: Array<[key: 'tls_cert' | 'tls_key', value: string, example: string]> = [
    ['tls_cert', certPath, '/path/to/cert.pem'],
    ['tls_key', keyPath, '/path/to/key.pem'],
  ];
  if ((certPath === '') !== (keyPath === '')) {
    const [[missing, , example], [present]] = certPath === '' ? tlsFiles : [...tlsFiles].reverse();
    problems.push(
      `"${missing}" is empty while "${present}" is set: "tls_cert" and "tls_key" go together, set both (PEM file paths) ` +
        `or neither (${setCommand(missing, example)}, or ${setCommand(present, '""')} for plain HTTP)`,
    );
  } else {
    for (const [key, value, example] of tlsFiles) {
      if (value !== '' && !path.isAbsolute(value)) problem(key, 'must be an absolute path to a PEM file', example);
    }
  }

  if (
    problems.length > 0 ||
    port === undefined ||
    reconcileIntervalSeconds === undefined ||
    maxSeries === undefined ||
    maxReadMegabytes === undefined
  ) {
    throw new Error(`invalid settings: ${problems.join('; ')}`);
  }
  return {
    port,
    host,
    path: metricsPath,
    // resolve() drops a trailing slash: the same directory must compare equal to an app's.
    dir: dirSetting === '' ? defaultMetricsDir(home) : path.resolve(dirSetting),
    reconcileIntervalSeconds,
    deadAllGauges: deadAllGauges === 'keep' ? 'keep' : 'drop',
    maxSeries,
    maxReadBytes: maxReadMegabytes * 1024 * 1024,
    ...(basicAuth ? { basicAuth } : {}),
    ...(certPath !== '' && keyPath !== '' ? { tls: { certPath, keyPath } } : {}),
  };
}

/**
 * A host setting that is a name no resolver knows (a typo) is refused like any bad setting; one
 * that cannot be resolved for now (no DNS yet at boot) is left to the listen, which retries.
 */
export async function unresolvableHost(config: ModuleConfig): Promise<string | undefined> {
  if (net.isIP(config.host) !== 0) return undefined;
  try {
    await dns.promises.lookup(config.host);
    return undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOTFOUND') return undefined;
    return `invalid settings: "host" is a name that does not resolve, got "${config.host}" (${setCommand('host', 'ADDRESS')})`;
  }
}

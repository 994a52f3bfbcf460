// A typed view of PM2's process list (`pm2.list`), read defensively: PM2's own typings miss most
// of the fields used here, and a malformed entry must not break a scrape.
import path from 'node:path';

export interface Pm2Process {
  pmId: number;
  name: string;
  /** 0 when the process is not running. */
  pid: number;
  status: string;
  clusterMode: boolean;
  /** PM2 modules (like this one) are listed with the apps. */
  isModule: boolean;
  /** NODE_APP_INSTANCE, '' when PM2 did not set one. */
  instance: string;
  version: string;
  interpreter: string;
  nodeVersion: string;
  cpu: number;
  memory: number;
  /** When the process last started, ms since the epoch. */
  startedAt: number;
  instances: number;
  restarts: number;
  prevRestartDelay: number | undefined;
  /** PROMETHEUS_MULTIPROC_DIR from the app's environment, resolved against its cwd. */
  metricsDir: string | undefined;
  /** @pm2/io metrics the process publishes (`axm_monitor`): name -> { value, unit }. */
  customMetrics: Map<string, { value: unknown; unit: string | undefined }>;
}

type Fields = Record<string, unknown>;

function fieldsOf(value: unknown): Fields {
  return typeof value === 'object' && value !== null ? (value as Fields) : {};
}

function numberOf(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function textOf(value: unknown, fallback: string): string {
  return typeof value === 'string' ? value : typeof value === 'number' ? String(value) : fallback;
}

function metricsDirOf(env: Fields, topLevel: Fields): string | undefined {
  const declared = env.PROMETHEUS_MULTIPROC_DIR ?? topLevel.PROMETHEUS_MULTIPROC_DIR;
  if (typeof declared !== 'string' || declared === '') return undefined;
  return path.resolve(textOf(topLevel.pm_cwd, '/'), declared);
}

function customMetricsOf(monitor: Fields): Pm2Process['customMetrics'] {
  const metrics: Pm2Process['customMetrics'] = new Map();
  for (const [name, entry] of Object.entries(monitor)) {
    const fields = fieldsOf(entry);
    metrics.set(name, { value: fields.value, unit: typeof fields.unit === 'string' ? fields.unit : undefined });
  }
  return metrics;
}

/** One entry of `pm2.list()`, or undefined when it lacks a pm_id. */
export function readProcess(raw: unknown): Pm2Process | undefined {
  const entry = fieldsOf(raw);
  const env = fieldsOf(entry.pm2_env);
  const monit = fieldsOf(entry.monit);
  const pmId = numberOf(entry.pm_id ?? env.pm_id, -1);
  if (pmId < 0) return undefined;
  return {
    pmId,
    name: textOf(entry.name ?? env.name, `pm_id ${pmId}`),
    pid: numberOf(entry.pid, 0),
    status: textOf(env.status, 'unknown'),
    clusterMode: env.exec_mode === 'cluster_mode',
    isModule: env.pmx_module === true,
    instance: textOf(env.NODE_APP_INSTANCE, ''),
    version: textOf(env.version, 'N/A'),
    interpreter: textOf(env.exec_interpreter, ''),
    nodeVersion: textOf(env.node_version, ''),
    cpu: numberOf(monit.cpu, 0),
    memory: numberOf(monit.memory, 0),
    startedAt: numberOf(env.pm_uptime, 0),
    instances: numberOf(env.instances, 1) || 1,
    restarts: numberOf(env.restart_time, 0),
    prevRestartDelay: typeof env.prev_restart_delay === 'number' ? env.prev_restart_delay : undefined,
    metricsDir: metricsDirOf(fieldsOf(env.env), env),
    customMetrics: customMetricsOf(fieldsOf(env.axm_monitor)),
  };
}

export function readProcessList(raw: readonly unknown[]): Pm2Process[] {
  return raw.map(readProcess).filter((process): process is Pm2Process => process !== undefined);
}

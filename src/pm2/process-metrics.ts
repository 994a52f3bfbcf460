// PM2's view of each process as gauges, with the names and labels of pm2-metrics (a fork of
// pm2-prometheus-exporter) so that dashboards built for it keep working, plus each process's
// numeric @pm2/io metrics as `pm2_<snake_name>`.
import type { MetricFamily, Sample } from '../collect';
import type { Pm2Process } from './process-list';

const STANDARD: Array<[name: string, help: string, value: (process: Pm2Process, now: number) => number | undefined]> = [
  ['up', 'Is the process running', (p) => (p.status === 'online' ? 1 : 0)],
  ['cpu', 'Process cpu usage', (p) => p.cpu],
  ['memory', 'Process memory usage', (p) => p.memory],
  ['uptime', 'Process uptime', (p, now) => (p.status === 'online' && p.startedAt > 0 ? Math.round((now - p.startedAt) / 1000) : 0)],
  ['instances', 'Process instances', (p) => p.instances],
  ['restarts', 'Process restarts', (p) => p.restarts],
  ['prev_restart_delay', 'Previous restart delay', (p) => p.prevRestartDelay],
];
const STANDARD_NAMES = new Set(STANDARD.map(([name]) => `pm2_${name}`));

function labelsOf(process: Pm2Process): Record<string, string> {
  return {
    id: String(process.pmId),
    name: process.name,
    instance: process.instance,
    version: process.version,
    interpreter: process.interpreter,
    node_version: process.nodeVersion,
  };
}

/** `Used Heap Size` -> `pm2_used_heap_size`, as pm2-metrics names them. */
export function customMetricName(name: string): string {
  return `pm2_${name.replace(/[^a-z\d]+/gi, '_').toLowerCase()}`;
}

/** A number, or the leading number of a text such as "9.73" or "1.2ms"; NaN otherwise. */
function numericValue(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string') return Number.parseFloat(value);
  return Number.NaN;
}

/** @pm2/io metrics of one process that are exposed elsewhere already (the module's own health). */
export interface HiddenProbes {
  pid: number;
  names: ReadonlySet<string>;
}

export function processMetrics(processes: readonly Pm2Process[], now: number = Date.now(), hidden?: HiddenProbes): MetricFamily[] {
  const families = new Map<string, MetricFamily>();
  const add = (name: string, help: string, labels: Record<string, string>, value: number): void => {
    let family = families.get(name);
    if (family === undefined) {
      family = { name, help, type: 'gauge', samples: [] };
      families.set(name, family);
    }
    const sample: Sample = { name, labels, value };
    family.samples.push(sample);
  };
  for (const process of processes) {
    const labels = labelsOf(process);
    for (const [name, help, value] of STANDARD) {
      const number = value(process, now);
      if (number !== undefined) add(`pm2_${name}`, help, labels, number);
    }
  }
  // Custom metrics after the standard ones, and never under a standard name.
  for (const process of processes) {
    const labels = labelsOf(process);
    for (const [name, metric] of process.customMetrics) {
      if (hidden !== undefined && process.pid === hidden.pid && hidden.names.has(name)) continue;
      const metricName = customMetricName(name);
      const number = numericValue(metric.value);
      if (Number.isNaN(number) || STANDARD_NAMES.has(metricName)) continue;
      add(metricName, metric.unit === undefined ? name : `${name} (${metric.unit})`, labels, number);
    }
  }
  return [...families.values()];
}

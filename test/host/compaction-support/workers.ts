// Worker lifetimes for the compaction tests and benchmark: a "worker" writes through the real
// metric classes into a directory as some pid, then dies (its store closed, its live gauges
// removed as the module does on exit). Dead workers get pids above the kernel's pid_max, so
// kill(pid, 0) finds them missing for sure; live workers are this process's worker threads.

import * as fs from 'node:fs';
import { collectDirectory, renderOpenMetrics, renderText } from '../../../src/collect';
import type { MetricFamily } from '../../../src/collect';
import { markProcessDead } from '../../../src/store';
import { writeOwnerRecord } from '../../../src/store/owner-record';
import { OwnerRecorder } from '../../../src/host';
import { ServedDirectories } from '../../../src/host/served-directories';
import type { Logger } from '../../../src/logger';
import { useStore } from '../../../src/metrics/active-store';
import { Counter } from '../../../src/metrics/counter';
import { Gauge } from '../../../src/metrics/gauge';
import { Histogram } from '../../../src/metrics/histogram';
import { Registry } from '../../../src/metrics/registry';
import { Summary } from '../../../src/metrics/summary';
import { ProcessStore } from '../../../src/store';
import type { BackendKind } from '../../../src/store';
import type { GaugeMode } from '../../../src/store/gauge-modes';

/** A pid no process can have: above /proc/sys/kernel/pid_max (2^22 when it cannot be read). */
export function deadPid(index: number): number {
  let pidMax = 1 << 22;
  try {
    pidMax = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim());
  } catch {
    // Not Linux: 2^22 is the highest pid_max Linux allows, and other systems stay below it.
  }
  return pidMax + 1 + index;
}

export interface WorkerOptions {
  /** Also write an `all` gauge (one sample per pid, kept after death unless dropped). */
  allGauge?: boolean;
  /** Counters and histograms with exemplars (trace ids `w<seed>...`), in exemplar files. */
  exemplars?: boolean;
  backend?: BackendKind;
  /** The PM2 app the worker records in its owner record (none: it writes no record, as Python's). */
  app?: string;
}

/**
 * What one worker writes, from `seed`: whole numbers and binary fractions only, so sums are
 * exact in any order and a merge before compaction can be compared with one after, byte for byte.
 */
export function writeWorker(dir: string, owner: { pid: number; threadId?: number }, seed: number, options: WorkerOptions = {}): ProcessStore {
  const store = new ProcessStore(dir, { pid: owner.pid, threadId: owner.threadId ?? 0, backend: options.backend ?? 'pwrite' });
  // A stand-in pid writes no record: written here as a worker of that app writes its own.
  if (options.app !== undefined) writeOwnerRecord(dir, { pid: owner.pid, app: options.app });
  useStore(store);
  try {
    const enableExemplars = options.exemplars === true;
    const registers = [new Registry(enableExemplars ? Registry.OPENMETRICS_CONTENT_TYPE : Registry.PROMETHEUS_CONTENT_TYPE)];
    const jobs = new Counter({ name: 'jobs_total', help: 'Jobs done.', labelNames: ['queue'], registers, enableExemplars });
    const latency = new Histogram({ name: 'latency_seconds', help: 'Latency.', labelNames: ['route'], buckets: [0.1, 1, 5], registers, enableExemplars });
    const count = (queue: string, value: number): void => {
      if (enableExemplars) jobs.inc({ labels: { queue }, value, exemplarLabels: { traceId: `w${seed}-${queue}` } });
      else jobs.inc({ queue }, value);
    };
    const observe = (route: string, value: number): void => {
      if (enableExemplars) latency.observe({ labels: { route }, value, exemplarLabels: { traceId: `w${seed}-${route}-${value}` } });
      else latency.observe({ route }, value);
    };
    count('mail', 1 + (seed % 5));
    count(seed % 2 === 0 ? 'even' : 'odd', 2);
    observe('/a', [0.0625, 0.25, 2, 8][seed % 4]);
    observe(seed % 3 === 0 ? '/b' : '/a', 0.5);
    // Native buckets with a budget of 4: some seeds make the worker lower its schema.
    const service = new Histogram({
      name: 'service_seconds',
      help: 'Service time.',
      labelNames: ['route'],
      buckets: [],
      nativeHistogramBucketFactor: 1.1,
      nativeHistogramMaxBucketNumber: 4,
      registers,
    });
    for (const v of [2 ** -(seed % 7), 3 * (seed % 5), -(seed % 3), 0, 1.5 ** (seed % 4)]) service.observe({ route: seed % 2 === 0 ? '/a' : '/b' }, v);
    const size = new Summary({ name: 'payload_bytes', help: 'Payload size.', percentiles: [0.5, 0.99], registers });
    size.observe(128 * (1 + (seed % 7)));
    const gauge = (name: string, mode: GaugeMode, value: number): void => {
      new Gauge({ name, help: `A ${mode} gauge.`, multiprocessMode: mode, registers }).set(value);
    };
    gauge('queue_depth', 'sum', seed % 9);
    gauge('lowest_free_slots', 'min', 100 - (seed % 97));
    gauge('highest_heap_bytes', 'max', 4096 * (seed % 31));
    gauge('last_deploy_id', 'mostrecent', seed);
    gauge('open_connections', 'livesum', 3);
    if (options.allGauge === true) gauge('worker_rss_bytes', 'all', 1024 * (seed + 1));
    return store;
  } finally {
    useStore(undefined);
  }
}

/** A worker dies: its files stay (its live gauges go, as PM2's exit event makes the module do). */
export function killWorker(dir: string, store: ProcessStore, pid: number): void {
  store.close();
  markProcessDead(pid, dir);
}

/** One whole worker lifetime under a dead pid, in a millisecond of its own (no mostrecent ties). */
export function workerLifetime(dir: string, index: number, options: WorkerOptions = {}): void {
  nextMillisecond();
  const pid = deadPid(index);
  killWorker(dir, writeWorker(dir, { pid }, index, options), pid);
}

const strictLog: Logger = {
  info: () => undefined,
  warn: (message) => {
    throw new Error(`unexpected warning: ${message}`);
  },
  error: (message) => {
    throw new Error(`unexpected error: ${message}`);
  },
};

/** Text format, after one comment line per native histogram series (which text does not show). */
function withNative(families: MetricFamily[]): string {
  const native = families.flatMap((family) =>
    (family.nativeHistograms ?? []).map((series) => `# native ${family.name}${JSON.stringify(series.labels)} ${JSON.stringify(series.histogram)}\n`),
  );
  return `${native.join('')}${renderText(families)}`;
}

/**
 * What a scrape shows: the merged directory (its native histograms, then in Prometheus text
 * format), or in OpenMetrics, exemplars and all.
 */
export function scrape(dir: string, format: 'text' | 'openmetrics' = 'text'): string {
  const families = collectDirectory(dir, { warn: strictLog.warn });
  return format === 'text' ? withNative(families) : renderOpenMetrics(families);
}

/** What the PM2 module's scrape shows: each sample labelled with the app credited with its file. */
export function attributedScrape(dir: string): string {
  return withNative(new ServedDirectories(strictLog, { recorder: new OwnerRecorder(strictLog) }).collect([{ dir }]));
}

/** Waits (busily, a few milliseconds) until Date.now() has moved on, so mostrecent stamps differ. */
export function nextMillisecond(): void {
  const now = Date.now();
  while (Date.now() === now) {
    // spin: a sleep would need the event loop, and callers are synchronous
  }
}

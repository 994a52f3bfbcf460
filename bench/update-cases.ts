// The update cases of the benchmarks, and the libraries they run on: prom-client 15 in memory and
// this library on each backend. Each case returns a loop doing `n` updates (its own function, so
// its call sites stay monomorphic). Shared by update.bench.ts (time) and callgrind.ts (instructions).
// Ours is the built package (dist/, compiled by tsc, rebuilt when older than src/), as apps run
// it: under tsx every import between modules is a getter call, which costs the hot path more
// than the code being measured does.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as promClient from 'prom-client';
import type * as Ours from '../src/index';
import type * as ActiveStore from '../src/metrics/active-store';
import type * as Store from '../src/store';
import { ensureBuilt, projectRoot } from '../test/server/support';

/** A module of the built package, by its path under dist/. */
function built<M>(module: string): M {
  ensureBuilt();
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the built package, loaded after the build
  return require(path.join(projectRoot, 'dist', module)) as M;
}

export type Target = 'prom-client' | 'native' | 'pwrite' | 'memory';

/** The part of both libraries the cases use, typed by ours. */
export type Library = Pick<typeof Ours, 'Counter' | 'Gauge' | 'Histogram' | 'Summary'>;

/**
 * Trace and span ids as an instrumented app has them: flat strings (OpenTelemetry formats them as
 * hex), a new one per request. Built by concatenation they would be cons strings, slower to read.
 */
const flat = (text: string): string => Buffer.from(text, 'latin1').toString('latin1');
const hex = (i: number, length: number): string => ((i * 2654435761) >>> 0).toString(16).padStart(8, '0').repeat(length / 8);
const TRACE_IDS = Array.from({ length: 4096 }, (_, i) => flat(hex(i, 32)));
const SPAN_IDS = Array.from({ length: 4096 }, (_, i) => flat(hex(i + 7, 16)));
const ROUTES = ['/a', '/b', '/c', '/d'];

/** Latency-like observations, the same in every target: 1.5 ms to 0.37 s, repeating every 4,096. */
const OBSERVED = Float64Array.from({ length: 4096 }, (_, i) => Math.exp(-3.5 + 2.5 * Math.sin(i * 0.7)));

/** One case: returns a loop doing `n` updates (its own function, so its call sites stay monomorphic). */
export const CASES: Record<string, (lib: Library) => (n: number) => void> = {
  'counter.inc()': (lib) => {
    const counter = new lib.Counter({ name: 'plain_total', help: 'x', registers: [] });
    return (n) => {
      for (let i = 0; i < n; i++) counter.inc();
    };
  },
  "counter.labels('a','b').inc()": (lib) => {
    const counter = new lib.Counter({ name: 'by_values_total', help: 'x', labelNames: ['a', 'b'], registers: [] });
    return (n) => {
      for (let i = 0; i < n; i++) counter.labels('x', 'y').inc();
    };
  },
  'counter.inc({a, b})': (lib) => {
    const counter = new lib.Counter({ name: 'by_object_total', help: 'x', labelNames: ['a', 'b'], registers: [] });
    return (n) => {
      for (let i = 0; i < n; i++) counter.inc({ a: 'x', b: 'y' });
    };
  },
  'child.inc()': (lib) => {
    const child = new lib.Counter({ name: 'child_total', help: 'x', labelNames: ['a', 'b'], registers: [] }).labels('x', 'y');
    return (n) => {
      for (let i = 0; i < n; i++) child.inc();
    };
  },
  'gauge.set(v)': (lib) => {
    const gauge = new lib.Gauge({ name: 'level', help: 'x', registers: [] });
    return (n) => {
      for (let i = 0; i < n; i++) gauge.set(i);
    };
  },
  'histogram.observe(v)': (lib) => {
    const histogram = new lib.Histogram({ name: 'latency', help: 'x', registers: [] });
    return (n) => {
      for (let i = 0; i < n; i++) histogram.observe((i & 15) * 0.05);
    };
  },
  // prom-client 15 has no native buckets: it runs its classic histogram (default buckets) here,
  // the peer the issue measures against.
  'native histogram.observe(v)': (lib) => {
    const histogram = new lib.Histogram({ name: 'native_latency', help: 'x', registers: [], ...nativeOptions(lib, []) });
    return (n) => {
      for (let i = 0; i < n; i++) histogram.observe((i & 15) * 0.05);
    };
  },
  'native+classic histogram.observe(v)': (lib) => {
    const histogram = new lib.Histogram({ name: 'both_latency', help: 'x', registers: [], ...nativeOptions(lib, undefined) });
    return (n) => {
      for (let i = 0; i < n; i++) histogram.observe((i & 15) * 0.05);
    };
  },
  // prom-client: a t-digest insert (and a compress every 1,000). Ours in a directory: count, sum and
  // one bucket of the sketch; in memory: prom-client's own t-digest.
  'summary.observe(v)': (lib) => {
    const summary = new lib.Summary({ name: 'sizes', help: 'x', registers: [] });
    return (n) => {
      for (let i = 0; i < n; i++) summary.observe(OBSERVED[i & 4095]);
    };
  },
  'summary.observe(v), 600 s x 5': (lib) => {
    const summary = new lib.Summary({ name: 'windowed', help: 'x', maxAgeSeconds: 600, ageBuckets: 5, registers: [] });
    return (n) => {
      for (let i = 0; i < n; i++) summary.observe(OBSERVED[i & 4095]);
    };
  },
  'summary child.observe(v), 600 s x 5': (lib) => {
    const child = new lib.Summary({ name: 'by_route', help: 'x', labelNames: ['route'], maxAgeSeconds: 600, ageBuckets: 5, registers: [] }).labels('/a');
    return (n) => {
      for (let i = 0; i < n; i++) child.observe(OBSERVED[i & 4095]);
    };
  },
  // With enableExemplars, a new trace id on every call, as under traffic.
  'inc({labels, exemplarLabels: {traceId}})': (lib) => {
    const counter = new lib.Counter({ name: 'ex1_total', help: 'x', labelNames: ['route'], enableExemplars: true, registers: [] });
    return (n) => {
      for (let i = 0; i < n; i++) counter.inc({ labels: { route: ROUTES[i & 3] }, value: 1, exemplarLabels: { traceId: TRACE_IDS[i & 4095] } });
    };
  },
  'inc({labels, exemplarLabels: {traceId, spanId}})': (lib) => {
    const counter = new lib.Counter({ name: 'ex2_total', help: 'x', labelNames: ['route'], enableExemplars: true, registers: [] });
    return (n) => {
      for (let i = 0; i < n; i++) {
        counter.inc({ labels: { route: ROUTES[i & 3] }, value: 1, exemplarLabels: { traceId: TRACE_IDS[i & 4095], spanId: SPAN_IDS[i & 4095] } });
      }
    };
  },
  'observe({labels, value, exemplarLabels: {traceId}})': (lib) => {
    const histogram = new lib.Histogram({ name: 'ex1_seconds', help: 'x', labelNames: ['route'], enableExemplars: true, registers: [] });
    return (n) => {
      for (let i = 0; i < n; i++) {
        histogram.observe({ labels: { route: ROUTES[i & 3] }, value: (i & 1023) / 1000, exemplarLabels: { traceId: TRACE_IDS[i & 4095] } });
      }
    };
  },
  'observe({labels, value, exemplarLabels: {traceId, spanId}})': (lib) => {
    const histogram = new lib.Histogram({ name: 'ex2_seconds', help: 'x', labelNames: ['route'], enableExemplars: true, registers: [] });
    return (n) => {
      for (let i = 0; i < n; i++) {
        histogram.observe({
          labels: { route: ROUTES[i & 3] },
          value: (i & 1023) / 1000,
          exemplarLabels: { traceId: TRACE_IDS[i & 4095], spanId: SPAN_IDS[i & 4095] },
        });
      }
    };
  },
};

/** Native buckets (schema 3) for our Histogram, with these classic buckets; nothing for prom-client. */
function nativeOptions(lib: Library, buckets: number[] | undefined): { nativeHistogramBucketFactor?: number; buckets?: number[] } {
  if (lib.Histogram === (promClient.Histogram as unknown)) return {};
  return buckets === undefined ? { nativeHistogramBucketFactor: 1.1 } : { nativeHistogramBucketFactor: 1.1, buckets };
}

/** The library a target runs (ours pointed at a fresh directory for a file backend), and that directory. */
export function libraryOf(target: Target): { lib: Library; dir: string | undefined } {
  if (target === 'prom-client') return { lib: promClient as unknown as Library, dir: undefined };
  const ours = built<typeof Ours>('index.js');
  const { useStore } = built<typeof ActiveStore>('metrics/active-store.js');
  if (target === 'memory') {
    useStore(undefined);
    return { lib: ours, dir: undefined };
  }
  const { ProcessStore } = built<typeof Store>('store/index.js');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-prom-bench-'));
  useStore(new ProcessStore(dir, { backend: target }));
  return { lib: ours, dir };
}

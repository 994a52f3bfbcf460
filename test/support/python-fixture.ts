// The operations of test/fixtures/python/make_python_fixtures.py, done with this library's
// metrics as fake pids 101, 202 and 303 (303 then marked dead), as Python's script does them.
import * as path from 'node:path';
import { markProcessDead } from '../../src/store';
import { Counter } from '../../src/metrics/counter';
import { Gauge } from '../../src/metrics/gauge';
import { Histogram } from '../../src/metrics/histogram';
import { Registry } from '../../src/metrics/registry';
import { Summary } from '../../src/metrics/summary';
import { PYTHON_GAUGE_MODES } from '../../src/store/gauge-modes';
import type { BackendKind } from '../../src/store';
import type { MetricsDir } from './metrics-dir';
import { PYTHON_CURRENT } from './fixtures';

export const PYTHON_FIXTURE = PYTHON_CURRENT;
export const PYTHON_FIXTURE_DB = path.join(PYTHON_FIXTURE, 'db');
export const FIXTURE_PIDS = [101, 202, 303] as const;
const LABEL_VALUES = ['GET', 'POST'];

/** The part of a prom-client-like library the operations use (ours, or prom-client itself). */
export interface FixtureLibrary {
  Counter: typeof Counter;
  Gauge: typeof Gauge;
  Histogram: typeof Histogram;
  Summary: typeof Summary;
}

/**
 * Python's operations for worker number `i`, on metrics of `lib` joining `registers`. With
 * `multiprocessModes`, each gauge `g_MODE` is made in its mode (ours); without, the library's
 * plain gauges are made (prom-client, whose mirror gets the modes another way).
 */
export function replayPythonOperations(
  lib: FixtureLibrary,
  i: number,
  registers: Array<Registry<never>>,
  multiprocessModes: boolean,
): void {
  // Python's Counter('requests') writes sample `requests_total`: in Node that is the name.
  const c = new lib.Counter({ name: 'requests_total', help: 'Requests handled.', labelNames: ['method'], registers });
  const c2 = new lib.Counter({ name: 'plain_events_total', help: 'No labels.', registers });
  const h = new lib.Histogram({ name: 'latency_seconds', help: 'Latency.', labelNames: ['method'], registers, buckets: [0.005, 0.1, 1.0, 2.5] });
  const s = new lib.Summary({ name: 'payload_bytes', help: 'Payload size.', labelNames: ['method'], registers });
  const gauges = PYTHON_GAUGE_MODES.map(
    (mode) =>
      [
        mode,
        new lib.Gauge({
          name: `g_${mode}`,
          help: `Gauge in mode ${mode}`,
          labelNames: ['method'],
          registers,
          ...(multiprocessModes ? { multiprocessMode: mode } : {}),
        }),
      ] as const,
  );
  LABEL_VALUES.forEach((method, j) => {
    c.labels(method).inc(i + j + 1);
    h.labels(method).observe(0.001 * (i + 1) * (j + 1));
    h.labels(method).observe(0.5 * (i + 1));
    h.labels(method).observe(100);
    s.labels(method).observe(10 * (i + 1) + j);
    for (const [mode, gauge] of gauges) gauge.labels(method).set(mode.includes('mostrecent') ? i * 10 + j : i * 10 + j - 5);
  });
  c2.inc(0.5 * (i + 1));
}

export function writePythonFixtureOperations(target: MetricsDir, backend: BackendKind): void {
  FIXTURE_PIDS.forEach((pid, i) => {
    target.actAs(pid, backend);
    // Python's script uses registry=None: a fresh registry per pid keeps the names apart here.
    replayPythonOperations({ Counter, Gauge, Histogram, Summary }, i, [new Registry()], true);
  });
  markProcessDead(FIXTURE_PIDS[FIXTURE_PIDS.length - 1], target.dir);
}

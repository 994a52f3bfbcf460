// The operations of test/fixtures/python/make_python_fixtures.py, done with this library's
// metrics as fake pids 101, 202 and 303 (303 then marked dead), as Python's script does them.
import * as path from 'node:path';
import { markProcessDead } from '../../src/collect';
import { Counter } from '../../src/metrics/counter';
import { Gauge } from '../../src/metrics/gauge';
import { Histogram } from '../../src/metrics/histogram';
import { Registry } from '../../src/metrics/registry';
import { Summary } from '../../src/metrics/summary';
import { GAUGE_MODES } from '../../src/store/format';
import type { BackendKind } from '../../src/store/mmap-file';
import type { MetricsDir } from './metrics-dir';
import { PYTHON_CURRENT } from './fixtures';

export const PYTHON_FIXTURE = PYTHON_CURRENT;
export const PYTHON_FIXTURE_DB = path.join(PYTHON_FIXTURE, 'db');
export const FIXTURE_PIDS = [101, 202, 303] as const;
const LABEL_VALUES = ['GET', 'POST'];

export function writePythonFixtureOperations(target: MetricsDir, backend: BackendKind): void {
  FIXTURE_PIDS.forEach((pid, i) => {
    target.actAs(pid, backend);
    // Python's script uses registry=None: a fresh registry per pid keeps the names apart here.
    const registers = [new Registry()];
    // Python's Counter('requests') writes sample `requests_total`: in Node that is the name.
    const c = new Counter({ name: 'requests_total', help: 'Requests handled.', labelNames: ['method'], registers });
    const c2 = new Counter({ name: 'plain_events_total', help: 'No labels.', registers });
    const h = new Histogram({ name: 'latency_seconds', help: 'Latency.', labelNames: ['method'], registers, buckets: [0.005, 0.1, 1.0, 2.5, Infinity] });
    const s = new Summary({ name: 'payload_bytes', help: 'Payload size.', labelNames: ['method'], registers });
    const gauges = GAUGE_MODES.map(
      (mode) => [mode, new Gauge({ name: `g_${mode}`, help: `Gauge in mode ${mode}`, labelNames: ['method'], multiprocessMode: mode, registers })] as const,
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
  });
  markProcessDead(FIXTURE_PIDS[FIXTURE_PIDS.length - 1], target.dir);
}

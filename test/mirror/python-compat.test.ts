// The mirror writes what Python writes: the operations of make_python_fixtures.py, done with
// prom-client and mirrored, give the same keys and values as the files Python's client wrote.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Counter, Gauge, Histogram, Registry, Summary } from 'prom-client';
import { GAUGE_MODES } from '../../src/store/format';
import { ProcessStore } from '../../src/store/mmap-file';
import { mirrorRegistry } from '../../src/mirror';
import { readFileSamples } from '../support/file-samples';
import { storeFileNames, tempDir } from './store-files';
import { PYTHON_CURRENT } from '../support/fixtures';

const FIXTURE = path.join(PYTHON_CURRENT, 'db');
const PIDS = [101, 202, 303];
const LABEL_VALUES = ['GET', 'POST'];

/** Replays make_python_fixtures.py for worker number `i` on a fresh prom-client registry. */
function replayPythonOperations(i: number): Registry {
  const registry = new Registry();
  const requests = new Counter({ name: 'requests_total', help: 'Requests handled.', labelNames: ['method'], registers: [registry] });
  const plain = new Counter({ name: 'plain_events_total', help: 'No labels.', registers: [registry] });
  const latency = new Histogram({
    name: 'latency_seconds',
    help: 'Latency.',
    labelNames: ['method'],
    buckets: [0.005, 0.1, 1.0, 2.5],
    registers: [registry],
  });
  const payload = new Summary({ name: 'payload_bytes', help: 'Payload size.', labelNames: ['method'], registers: [registry] });
  const gauges = GAUGE_MODES.map(
    (mode) => [mode, new Gauge({ name: `g_${mode}`, help: `Gauge in mode ${mode}`, labelNames: ['method'], registers: [registry] })] as const,
  );
  LABEL_VALUES.forEach((method, j) => {
    requests.labels(method).inc(i + j + 1);
    latency.labels(method).observe(0.001 * (i + 1) * (j + 1));
    latency.labels(method).observe(0.5 * (i + 1));
    latency.labels(method).observe(100);
    payload.labels(method).observe(10 * (i + 1) + j);
    for (const [mode, gauge] of gauges) gauge.labels(method).set(mode.includes('mostrecent') ? i * 10 + j : i * 10 + j - 5);
  });
  plain.inc(0.5 * (i + 1));
  return registry;
}

describe('mirror: byte compatibility with Python', () => {
  it('writes the keys and values Python writes for the same operations', async () => {
    const dir = tempDir('mirror-python-');
    try {
      for (const [i, pid] of PIDS.entries()) {
        const store = new ProcessStore(dir, { pid });
        const gaugeModes = Object.fromEntries(GAUGE_MODES.map((mode) => [`g_${mode}`, mode]));
        const mirror = mirrorRegistry(replayPythonOperations(i), { store, gaugeModes });
        await mirror.pass();
        mirror.stop();
        store.close();
      }
      const pythonFiles = storeFileNames(FIXTURE);
      // Python's fixture marked the last pid dead, which removed its live* gauge files.
      const ours = storeFileNames(dir).filter((name) => !/^gauge_live.*_303\.db$/.test(name));
      assert.deepEqual(ours, pythonFiles);
      for (const name of pythonFiles) {
        const expected = readFileSamples(path.join(FIXTURE, name));
        const actual = readFileSamples(path.join(dir, name));
        assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `keys of ${name}`);
        for (const [key, { value }] of expected) {
          assert.ok(Math.abs(actual.get(key)!.value - value) < 1e-9, `${name} ${key}: ${actual.get(key)!.value} != ${value}`);
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// Node writes the same bytes as Python's prometheus_client for the same operations: the files of
// test/fixtures/python/python-current were written by Python; these tests redo its operations.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collectDirectory } from '../../src/collect';
import { parseFileName } from '../../src/store/format';
import { FILE_BACKENDS, makeMetricsDir, readDbEntries } from '../support/metrics-dir';
import type { MetricsDir } from '../support/metrics-dir';
import { FIXTURE_PIDS, PYTHON_FIXTURE_DB, writePythonFixtureOperations } from '../support/python-fixture';

for (const backend of FILE_BACKENDS) {
  describe(`Python fixture operations (${backend} backend)`, () => {
    let target: MetricsDir;
    let startedAt: number;
    before(() => {
      target = makeMetricsDir();
      startedAt = Date.now() / 1000;
      writePythonFixtureOperations(target, backend);
    });
    after(() => target.remove());

    it('leaves the same files as Python (live gauges of the dead pid removed), and a sketch file beside each summary file', () => {
      const sketches = FIXTURE_PIDS.map((pid) => `summary_${pid}.sketch`);
      assert.deepEqual(fs.readdirSync(target.dir).sort(), [...fs.readdirSync(PYTHON_FIXTURE_DB), ...sketches].sort());
    });

    it('writes counter, histogram and summary files byte for byte as Python', () => {
      const compared = fs.readdirSync(PYTHON_FIXTURE_DB).filter((name) => parseFileName(name)?.type !== 'gauge');
      assert.equal(compared.length, 9);
      for (const name of compared) {
        const ours = fs.readFileSync(path.join(target.dir, name));
        const python = fs.readFileSync(path.join(PYTHON_FIXTURE_DB, name));
        assert.ok(ours.equals(python), `${name} differs from Python's`);
      }
    });

    it('writes gauge keys and values as Python, timestamps only in mostrecent modes', () => {
      const gauges = fs.readdirSync(PYTHON_FIXTURE_DB).filter((name) => parseFileName(name)?.type === 'gauge');
      assert.equal(gauges.length, 25);
      const now = Date.now() / 1000;
      for (const name of gauges) {
        const ours = readDbEntries(path.join(target.dir, name));
        const python = readDbEntries(path.join(PYTHON_FIXTURE_DB, name));
        assert.deepEqual(ours.map(({ key, value }) => ({ key, value })), python.map(({ key, value }) => ({ key, value })), name);
        const stamped = parseFileName(name)?.mode?.endsWith('mostrecent') === true;
        for (const entry of ours) {
          if (stamped) assert.ok(entry.timestamp >= startedAt - 1 && entry.timestamp <= now + 1, `${name}: timestamp ${entry.timestamp}`);
          else assert.equal(entry.timestamp, 0, name);
        }
        // Python's reader takes the file size from the header and needs 8-byte aligned entries.
        const size = fs.statSync(path.join(target.dir, name)).size;
        assert.equal(size, fs.statSync(path.join(PYTHON_FIXTURE_DB, name)).size, name);
      }
    });

    it("merges to exactly what the collector makes of Python's own files, with the summaries' quantiles before their _count and _sum", () => {
      const ours = collectDirectory(target.dir);
      const quantiles = ours.flatMap((family) => family.samples.filter((sample) => 'quantile' in sample.labels));
      const withoutQuantiles = ours.map((family) => ({ ...family, samples: family.samples.filter((sample) => !('quantile' in sample.labels)) }));
      assert.deepEqual(withoutQuantiles, collectDirectory(PYTHON_FIXTURE_DB));
      // Each pid i observed 10 (i + 1) + j for method j: the medians of the union are 20 and 21, within 1%.
      const median = (method: string): number | undefined =>
        quantiles.find((sample) => sample.labels.method === method && sample.labels.quantile === '0.5')?.value;
      assert.ok(Math.abs((median('GET') ?? 0) - 20) <= 0.2, `GET median ${median('GET')}`);
      assert.ok(Math.abs((median('POST') ?? 0) - 21) <= 0.21, `POST median ${median('POST')}`);
      assert.deepEqual(
        quantiles.map((sample) => sample.name),
        Array.from({ length: 14 }, () => 'payload_bytes'),
        "prom-client's seven default percentiles per series",
      );
    });
  });
}

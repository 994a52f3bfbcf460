// Corrupt input: thousands of random mutations (bit flips, cuts, huge lengths, garbage keys and
// names, empty files, directories, symlinks, FIFOs, sparse giants) against one long-lived
// collector in a child process: nothing escapes, nothing hangs, memory stays flat, and the steady
// files' samples are all there after every mutation.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DirectoryCollector, renderText } from '../../src/collect';
import { ServedDirectories } from '../../src/host/served-directories';
import { writeDbFile } from '../collect/support/files';
import { envNumber, makeTempDir, promtoolComplaints, removeDir, startChild } from './support';

const ITERATIONS = envNumber('RELIABILITY_FUZZ_ITERATIONS', 10_000);
/** Past this the child is taken for hung (a blocking open or an endless loop). */
const HANG_LIMIT_MS = envNumber('RELIABILITY_FUZZ_HANG_SECONDS', 240) * 1000;
const MiB = 1 << 20;

interface FuzzSummary {
  done: number;
  escapes: string[];
  steadyChanges: string[];
  kinds: Record<string, number>;
  warm: { heapUsed: number; arrayBuffers: number; rss: number };
  end: { heapUsed: number; arrayBuffers: number; rss: number };
  trackedSeries: number;
}

function isSummary(message: unknown): message is FuzzSummary {
  return typeof message === 'object' && message !== null && 'done' in message;
}

describe('reliability: corrupt input against the collector', function () {
  this.timeout(HANG_LIMIT_MS + 120_000);
  let dir: string;
  let outDir: string;
  beforeEach(() => {
    dir = makeTempDir('fuzz');
    outDir = makeTempDir('fuzz-out');
  });
  afterEach(() => {
    removeDir(dir);
    removeDir(outDir);
  });

  it(`survives ${ITERATIONS} random mutations without an escape, a hang, a lost sample or memory growth`, async () => {
    const seed = Date.now() >>> 0;
    const child = startChild('fuzz-collector.ts', [dir, outDir, String(ITERATIONS), String(seed)], { nodeArgs: ['--expose-gc'] });
    const timer = setTimeout(() => child.process.kill('SIGKILL'), HANG_LIMIT_MS);
    const end = await child.ended;
    clearTimeout(timer);
    const last = child.messages.at(-1);
    assert.ok(end.signal !== 'SIGKILL', `hung (seed ${seed}); last progress: ${JSON.stringify(last)}`);
    assert.equal(end.code, 0, `the fuzzer failed (seed ${seed}):\n${child.stderr()}`);
    const summary = child.messages.find(isSummary);
    assert.ok(summary !== undefined, 'no summary');
    assert.equal(summary.done, ITERATIONS);
    assert.deepEqual(summary.escapes, [], `exceptions escaped the collector (seed ${seed})`);
    assert.deepEqual(summary.steadyChanges, [], `steady samples changed (seed ${seed})`);
    // After GC, the warm collector's memory must not grow with the number of mutations seen.
    const heapGrowth = summary.end.heapUsed - summary.warm.heapUsed;
    const bufferGrowth = summary.end.arrayBuffers - summary.warm.arrayBuffers;
    assert.ok(heapGrowth < 16 * MiB, `heap grew by ${(heapGrowth / MiB).toFixed(1)} MiB`);
    assert.ok(bufferGrowth < 16 * MiB, `array buffers grew by ${(bufferGrowth / MiB).toFixed(1)} MiB`);

    const expositions = fs.readdirSync(outDir).filter((name) => name.startsWith('exposition-'));
    assert.ok(expositions.length >= 10, `only ${expositions.length} expositions sampled`);
    for (const name of expositions) {
      const text = fs.readFileSync(path.join(outDir, name), 'utf8');
      // Lint findings are allowed: a counter's keys under a gauge's file name merge as Python's do.
      assert.equal(await promtoolComplaints(text, { lint: 'allowed' }), '', `${name} (seed ${seed})`);
    }
    const mb = (bytes: number): string => (bytes / MiB).toFixed(1);
    console.log(
      `      fuzz: ${ITERATIONS} mutations ${JSON.stringify(summary.kinds)}; heap ${mb(summary.warm.heapUsed)} -> ` +
        `${mb(summary.end.heapUsed)} MiB, buffers ${mb(summary.warm.arrayBuffers)} -> ${mb(summary.end.arrayBuffers)} MiB, ` +
        `RSS ${mb(summary.warm.rss)} -> ${mb(summary.end.rss)} MiB; ${expositions.length} sampled expositions parse in promtool`,
    );
  });

  it('skips an entry whose sample name does not belong to its family, so the scrape still parses', async () => {
    // Found by the fuzzer: one flipped bit in a metric name ("fuzzed_jobs" -> "fuzzedOjobs", here "jobs" -> "jobOs") left
    // its sample under another family's TYPE line, and promtool refused the whole exposition.
    writeDbFile(path.join(dir, 'counter_1.db'), [{ metric: 'jobs', sample: 'jobs_total', value: 2 }]);
    writeDbFile(path.join(dir, 'gauge_all_2.db'), [
      { metric: 'jobOs', sample: 'jobs_total', value: 5 },
      { metric: 'level', value: 1 },
    ]);
    writeDbFile(path.join(dir, 'histogram_3.db'), [{ metric: 'wait', sample: 'wait_total', value: 1 }]);
    const warnings: string[] = [];
    const collector = new DirectoryCollector(dir, { warn: (message) => warnings.push(message) });
    const text = renderText(collector.collect());
    assert.equal(await promtoolComplaints(text), '', text);
    assert.match(text, /^jobs_total 2$/m);
    assert.match(text, /^level\{pid="2"\} 1$/m);
    assert.equal(collector.stats.corruptFiles, 2);
    assert.match(warnings.join('\n'), /metric "jobOs": sample name "jobs_total" does not belong to a gauge of that name/);
    assert.match(warnings.join('\n'), /metric "wait": sample name "wait_total" does not belong to a histogram of that name/);
  });

  it('skips a family that would be exposed under a name another family already shows', async () => {
    // A counter "jobs" shows "jobs_total"; a gauge named "jobs_total" would repeat its TYPE line.
    // Files are read in name order, and the family met first keeps the name.
    writeDbFile(path.join(dir, 'counter_1.db'), [{ metric: 'jobs', sample: 'jobs_total', value: 2 }]);
    writeDbFile(path.join(dir, 'gauge_all_2.db'), [{ metric: 'jobs_total', value: 5 }, { metric: 'wait_count', value: 6 }]);
    writeDbFile(path.join(dir, 'histogram_3.db'), [{ metric: 'wait', sample: 'wait_bucket', labels: { le: '+Inf' }, value: 1 }]);
    const warnings: string[] = [];
    const text = renderText(new DirectoryCollector(dir, { warn: (message) => warnings.push(message) }).collect());
    // A gauge named *_count is odd (a lint finding), not an error.
    assert.equal(await promtoolComplaints(text, { lint: 'allowed' }), '', text);
    assert.match(text, /^jobs_total 2$/m);
    assert.match(text, /^wait_count\{pid="2"\} 6$/m);
    assert.doesNotMatch(text, /jobs_total\{pid="2"\}|wait_bucket/);
    assert.match(warnings.join('\n'), /metric "jobs_total" \(a gauge \(mode all\)\) would be exposed as "jobs_total", already the name of the counter "jobs"/);
    assert.match(warnings.join('\n'), /metric "wait" \(a histogram\) would be exposed as "wait_count", already the name of the gauge \(mode all\) "wait_count"/);
  });

  it('keeps two directories from showing one name through two families', async () => {
    const other = makeTempDir('fuzz-other');
    try {
      writeDbFile(path.join(dir, 'counter_1.db'), [{ metric: 'jobs', sample: 'jobs_total', value: 2 }]);
      writeDbFile(path.join(other, 'gauge_all_2.db'), [{ metric: 'jobs_total', value: 5 }, { metric: 'level', value: 1 }]);
      const warnings: string[] = [];
      const log = { info: () => undefined, warn: (message: string) => warnings.push(message), error: () => undefined };
      const families = new ServedDirectories(log).collect([{ dir }, { dir: other }]);
      const text = renderText(families);
      assert.equal(await promtoolComplaints(text), '', text);
      assert.match(text, /^jobs_total 2$/m);
      assert.match(text, /^level\{pid="2"\} 1$/m);
      assert.match(warnings.join('\n'), /metric "jobs_total" \(a gauge\) would be exposed under a name of the counter "jobs" of another directory/);
    } finally {
      removeDir(other);
    }
  });
});

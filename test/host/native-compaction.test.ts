// Compaction of native histogram files: for random processes (schemas, bucket budgets, zero
// thresholds), live and dead, over one or two compactions, the merge (classic and native) stays
// exactly as it was, the archive holds each series once at its merged schema, and a native file a
// merge would read in part is left as it is.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { compactDirectory } from '../../src/host/compaction';
import { useStore } from '../../src/metrics/active-store';
import { Histogram } from '../../src/metrics/histogram';
import { DEFAULT_ZERO_THRESHOLD, HEADER_BYTES, ProcessStore, decodeKey, parseEntries } from '../../src/store';
import { deadPid, scrape } from './compaction-support/workers';
import { makeTempDir, removeDir } from '../collect/support/files';
import { readDbEntries } from '../support/metrics-dir';

interface Writer {
  /** 0-1: live (this process's threads 1-2); 2-6: dead. */
  owner: number;
  factor: number;
  maxBuckets: number;
  zeroThreshold: number;
  observations: Array<{ route: number; value: number }>;
  late: boolean;
}

const writer: fc.Arbitrary<Writer> = fc.record({
  owner: fc.integer({ min: 0, max: 6 }),
  factor: fc.constantFrom(1.0001, 1.1, 2, 16),
  maxBuckets: fc.constantFrom(0, 2, 6),
  zeroThreshold: fc.constantFrom(DEFAULT_ZERO_THRESHOLD, 0, 0.3),
  observations: fc.array(
    fc.record({
      route: fc.integer({ min: 0, max: 1 }),
      // Binary fractions: sums are exact in any order, so scrapes compare byte for byte.
      value: fc.tuple(fc.integer({ min: -8, max: 8 }), fc.integer({ min: -6, max: 6 })).map(([m, e]) => m * 2 ** e),
    }),
    { maxLength: 10 },
  ),
  late: fc.boolean(),
});

function write(dir: string, spec: Writer): void {
  const live = spec.owner < 2;
  const store = new ProcessStore(dir, live ? { pid: process.pid, threadId: spec.owner + 1, backend: 'pwrite' } : { pid: deadPid(spec.owner), threadId: 0, backend: 'pwrite' });
  useStore(store);
  try {
    const histogram = new Histogram({
      name: 'wait_seconds',
      help: 'Wait.',
      labelNames: ['route'],
      buckets: [1],
      nativeHistogramBucketFactor: spec.factor,
      nativeHistogramMaxBucketNumber: spec.maxBuckets,
      nativeHistogramZeroThreshold: spec.zeroThreshold,
      registers: [],
    });
    for (const { route, value } of spec.observations) histogram.observe({ route: `/${route}` }, value);
  } finally {
    useStore(undefined);
    store.close();
  }
}

describe('compaction of native histograms', function () {
  this.timeout(300_000);

  it('leaves the merge exactly as it was, over one or two compactions (property)', () => {
    fc.assert(
      fc.property(fc.array(writer, { minLength: 1, maxLength: 10 }), (specs) => {
        const dir = makeTempDir('pm2-prom-native-compaction-');
        try {
          // One writer per owner and round: a late writer of an owner is a reused pid's new process.
          const distinct = (list: Writer[]): Writer[] => [...new Map(list.map((spec) => [spec.owner, spec])).values()];
          for (const spec of distinct(specs.filter((s) => !s.late))) write(dir, spec);
          const before = scrape(dir);
          assert.deepEqual(compactDirectory(dir).problems, []);
          assert.equal(scrape(dir), before, 'after the first compaction');
          for (const spec of distinct(specs.filter((s) => s.late && s.owner >= 2))) write(dir, spec);
          const beforeSecond = scrape(dir);
          assert.deepEqual(compactDirectory(dir).problems, []);
          assert.equal(scrape(dir), beforeSecond, 'after the second compaction');
          const archive = path.join(dir, 'histogram_archive.nhdb');
          if (fs.existsSync(archive)) {
            const seriesEntries = readDbEntries(archive).filter((entry) => entry.key.startsWith('['));
            assert.equal(new Set(seriesEntries.map((entry) => decodeKey(entry.key).labels.route)).size, seriesEntries.length, 'each series once');
          }
        } finally {
          removeDir(dir);
        }
      }),
      { numRuns: 50 },
    );
  });

  it('leaves a dead native file a merge reads only in part where it is, and says why', () => {
    const dir = makeTempDir('pm2-prom-native-compaction-');
    try {
      write(dir, { owner: 2, factor: 1.1, maxBuckets: 0, zeroThreshold: 0, observations: [{ route: 0, value: 1 }], late: false });
      const file = path.join(dir, `histogram_${deadPid(2)}.nhdb`);
      const bytes = fs.readFileSync(file);
      // A bucket count that is no count (a damaged file): the collector leaves that series out.
      const bucket = parseEntries(bytes, HEADER_BYTES, bytes.readInt32LE(0)).entries.find((entry) => entry.key.startsWith('p '));
      assert.ok(bucket !== undefined);
      bytes.writeDoubleLE(0.5, bucket.valueOffset);
      fs.writeFileSync(file, bytes);
      const report = compactDirectory(dir);
      assert.equal(report.problems.length, 1, report.problems.join('\n'));
      assert.match(report.problems[0], /left as it is: it holds what a merge skips \(native histogram "wait_seconds": bucket count 0\.5 is not a count\)/);
      assert.ok(fs.existsSync(file));
    } finally {
      removeDir(dir);
    }
  });
});

// The native histogram writer against its files, read back by another reader: an observation
// lands in its exact bucket, a lowering appends the lower schema whole and never writes the old
// entries again, a reader sees the new schema only once it is whole, and a process reusing a pid
// starts its own file, the predecessor's handed to the dead as it was.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DEFAULT_ZERO_THRESHOLD, NativeFileSeries, ProcessStore, bucketIndex, decodeKey, nativeSeries, parseNativeKey } from '../../src/store';
import type { BackendKind, NativeSeriesLayout } from '../../src/store';
import { keyedFileBytes } from '../collect/support/files';
import { readFileSamples } from '../support/file-samples';
import { FILE_BACKENDS, makeTempDir } from './helpers';

const LABELS = { route: '/a' };

/** The series of a native file as the collector reads it: layouts, and the values by position. */
function readSeries(filePath: string): { layouts: NativeSeriesLayout[]; values: number[] } {
  const samples = [...readFileSamples(filePath)];
  const file = new NativeFileSeries();
  samples.forEach(([key], position) => {
    const parsed = parseNativeKey(key, decodeKey);
    assert.ok(typeof parsed !== 'string', `${key} is a native key: ${String(parsed)}`);
    assert.equal(file.add(parsed, position).problem, undefined);
  });
  return { layouts: [...file.layouts], values: samples.map(([, sample]) => sample.value) };
}

/** What a layout counts now: schema, zero count, sum and buckets ("p3", "n-1" ...). */
function countedState(filePath: string): { schema: number; zeroCount: number; sum: number; buckets: Record<string, number> } {
  const { layouts, values } = readSeries(filePath);
  assert.equal(layouts.length, 1);
  const [layout] = layouts;
  const counted = layout.countedBuckets();
  const buckets: Record<string, number> = {};
  counted.positions.forEach((position, i) => (buckets[`${counted.negative[i] === 1 ? 'n' : 'p'}${counted.indexes[i]}`] = values[position]));
  return { schema: layout.schema, zeroCount: values[layout.zeroPosition], sum: values[layout.sumPosition], buckets };
}

/** The same, computed from the observations: each in its bucket at `schema` directly. */
function expectedState(observations: readonly number[], schema: number, zeroThreshold = DEFAULT_ZERO_THRESHOLD): ReturnType<typeof countedState> {
  const buckets: Record<string, number> = {};
  let zeroCount = 0;
  for (const v of observations) {
    if (Math.abs(v) <= zeroThreshold) zeroCount++;
    else {
      const name = `${v < 0 ? 'n' : 'p'}${bucketIndex(Math.abs(v), schema)}`;
      buckets[name] = (buckets[name] ?? 0) + 1;
    }
  }
  return { schema, zeroCount, sum: observations.reduce((a, b) => a + b, 0), buckets };
}

const BACKENDS: readonly BackendKind[] = [...FILE_BACKENDS, 'memory'];

for (const backend of BACKENDS) {
  describe(`store: native histogram series (${backend} backend)`, () => {
    let dir: string;
    let remove: () => void;
    beforeEach(() => ({ dir, remove } = makeTempDir()));
    afterEach(() => remove());

    const open = (pid: number): ProcessStore => new ProcessStore(backend === 'memory' ? undefined : dir, { backend, pid, threadId: 0 });

    it('counts each observation in its bucket, the zero bucket and the sum', () => {
      const store = open(7);
      const series = nativeSeries(store.nativeHistogramFile(), 'latency_seconds', LABELS, 'Latency.', { schema: 3, zeroThreshold: DEFAULT_ZERO_THRESHOLD, maxBuckets: 160 });
      const observations = [0, 0.001, 0.25, 1, 1, 1.5, 2, 10, -0.5, -3, 2 ** -200];
      for (const v of observations) series.observe(v);
      const snapshot = series.snapshot();
      assert.equal(snapshot.count, observations.length);
      assert.equal(snapshot.zeroCount, 2);
      if (backend !== 'memory') {
        const file = path.join(dir, 'histogram_7.nhdb');
        assert.deepEqual(countedState(file), expectedState(observations, 3));
      }
      store.close();
    });

    // The memory backend has no file to read back.
    if (backend !== 'memory')
      it('lowers its schema past the bucket budget: whole new entries, old ones never written again', function () {
        const store = open(8);
        const file = path.join(dir, 'histogram_8.nhdb');
        const series = nativeSeries(store.nativeHistogramFile(), 'latency_seconds', LABELS, 'Latency.', { schema: 3, zeroThreshold: DEFAULT_ZERO_THRESHOLD, maxBuckets: 5 });
        const observations: number[] = [];
        const observe = (v: number): void => {
          series.observe(v);
          observations.push(v);
        };
        for (const v of [1, 1.1, 1.2, 1.35, 1.5]) observe(v); // buckets 0, 2, 3, 4 and 5 at schema 3
        const before = readFileSamples(file);
        assert.equal(countedState(file).schema, 3);
        observe(100); // a sixth bucket: the series lowers
        const lowered = countedState(file);
        assert.ok(lowered.schema < 3, `schema ${lowered.schema} after the budget was passed`);
        assert.ok(Object.keys(lowered.buckets).length <= 5);
        assert.deepEqual(lowered, expectedState(observations, lowered.schema));
        for (const v of [1.05, 3, 100, -7]) observe(v);
        assert.deepEqual(countedState(file), expectedState(observations, countedState(file).schema));
        // The schema-3 bucket entries kept the counts they had when the series left them.
        const after = readFileSamples(file);
        for (const [key, sample] of before) if (key.startsWith('p 3 ')) assert.deepEqual(after.get(key), sample);
        // One lowering entry (`l SCHEMA BUCKETS SERIES`) per lowering, each to a lower schema than the one before.
        const loweredTo = [...after.keys()].filter((key) => key.startsWith('l ')).map((key) => Number(key.split(' ')[1]));
        assert.ok(loweredTo.length >= 1);
        assert.deepEqual(loweredTo, [...loweredTo].sort((a, b) => b - a));
        assert.equal(new Set(loweredTo).size, loweredTo.length);
        store.close();
      });

    it('keeps the budget soft at the lowest schema', () => {
      const store = open(9);
      const series = nativeSeries(store.nativeHistogramFile(), 'spread', {}, 'Spread.', { schema: 0, zeroThreshold: DEFAULT_ZERO_THRESHOLD, maxBuckets: 2 });
      for (const exponent of [-100, -50, 0, 50, 100, 200]) series.observe(2 ** exponent);
      const snapshot = series.snapshot();
      assert.equal(snapshot.schema, -4);
      assert.equal(snapshot.count, 6);
      assert.ok(snapshot.positiveSpans.reduce((total, span) => total + span.length, 0) > 2);
      store.close();
    });

    if (backend !== 'memory')
      it("hands a file a dead process with the same pid left to the dead, and starts at its own schema and threshold", () => {
        const options = { schema: 3, zeroThreshold: 0.001, maxBuckets: 3 };
        const first = open(10);
        const a = nativeSeries(first.nativeHistogramFile(), 'h', LABELS, 'H.', options);
        const observations = [1, 2, 4, 8, 16, 0.0005];
        for (const v of observations) a.observe(v);
        const schema = a.snapshot().schema;
        assert.ok(schema < 3);
        first.close();
        const inode = fs.statSync(path.join(dir, 'histogram_10.nhdb')).ino;

        const second = open(10);
        const b = nativeSeries(second.nativeHistogramFile(), 'h', LABELS, 'H.', { ...options, zeroThreshold: 0.5 });
        assert.equal(b.snapshot().schema, 3, "none of the predecessor's lowering");
        assert.equal(b.zeroThreshold, 0.5);
        b.observe(2);
        assert.deepEqual(countedState(path.join(dir, 'histogram_10.nhdb')), expectedState([2], 3, 0.5));
        // The predecessor's series, as it left it, under its dead name: the collector and compaction read it.
        assert.deepEqual(countedState(path.join(dir, `histogram_10.dead${inode}.nhdb`)), expectedState(observations, schema, 0.001));
        second.close();
      });

    it('zeroes counts and sum on reset, keeping the schema', () => {
      const store = open(11);
      const series = nativeSeries(store.nativeHistogramFile(), 'h', {}, 'H.', { schema: 2, zeroThreshold: 0, maxBuckets: 160 });
      for (const v of [0, 1, -1, 3]) series.observe(v);
      series.zero();
      const snapshot = series.snapshot();
      assert.deepEqual([snapshot.count, snapshot.sum, snapshot.zeroCount, snapshot.schema], [0, 0, 0, 2]);
      series.observe(3);
      assert.equal(series.snapshot().count, 1);
      store.close();
    });
  });
}

describe('store: reading a native series that is being lowered', () => {
  it('counts the old schema until the lowering entry and all the buckets it names are in the file', () => {
    const { dir, remove } = makeTempDir();
    try {
      const store = new ProcessStore(dir, { backend: 'pwrite', pid: 12, threadId: 0 });
      const series = nativeSeries(store.nativeHistogramFile(), 'h', {}, 'H.', { schema: 3, zeroThreshold: DEFAULT_ZERO_THRESHOLD, maxBuckets: 2 });
      for (const v of [1, 2, 4]) series.observe(v);
      store.close();
      const filePath = path.join(dir, 'histogram_12.nhdb');
      const entries = [...readFileSamples(filePath)];
      const loweringAt = entries.findIndex(([key]) => key.startsWith('l '));
      assert.ok(loweringAt > 0);
      const batch = Number(entries[loweringAt][0].split(' ')[2]);
      // Every prefix of the file a reader could see, and the file with one lowered bucket missing.
      const specOf = ([key, sample]: (typeof entries)[number]): { key: string; value: number } => ({ key, value: sample.value });
      const variants = [
        ...entries.map((_, end) => entries.slice(0, end + 1)),
        entries.filter((_, i) => i !== loweringAt - 1),
      ];
      for (const variant of variants) {
        const crafted = path.join(dir, 'crafted.nhdb');
        fs.writeFileSync(crafted, keyedFileBytes(variant.map(specOf)));
        const { layouts, values } = readSeries(crafted);
        const [layout] = layouts;
        const hasLowering = variant.some(([key]) => key.startsWith('l '));
        const whole = hasLowering && variant.length === entries.length;
        assert.equal(layout.schema === 3, !whole, `${variant.length} entries: schema ${layout.schema}`);
        const total = layout.countedBuckets().positions.reduce((sum, position) => sum + values[position], 0);
        if (whole) assert.equal(total, 3, 'the lowered schema holds every observation');
        else assert.ok(total <= 3, 'never a bucket counted twice');
      }
      assert.equal(batch, 2, 'schema -1: 1 in bucket 0, 2 and 4 in bucket 1');
    } finally {
      remove();
    }
  });
});

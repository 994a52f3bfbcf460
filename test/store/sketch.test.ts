// The sketch store: the key function's accuracy over the whole range of doubles, what a series'
// windows write (window starts, shifts, collapses, negatives, zeros), a reused pid's file, and a
// reader that refuses what does not check out and reads again a block caught mid-change.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ProcessStore, SKETCH_BINS, SKETCH_RELATIVE_ACCURACY, SeriesSketch, SketchFileReader, sketchKeyOf, sketchValueOf } from '../../src/store';
import type { BackendKind, SketchReadResult, SketchWindows } from '../../src/store';
import { BLOCK_COUNTS, BLOCK_HI, BLOCK_LO, BLOCK_START_VERSION, blockStart } from '../../src/store/sketch-format';
import { FILE_BACKENDS } from '../support/metrics-dir';
import { makeTempDir, removeDir } from '../collect/support/files';

const SERIES = { name: 'lat_seconds', labels: { route: '/a' }, help: 'Latency.' };
const NO_ROTATION: SketchWindows = { windowMs: 0, windows: 1, flags: 0, percentiles: [0.5, 0.99] };
const noRefusal = (error: Error): void => assert.fail(`unexpected refusal: ${error.message}`);

/** Every value of every counting block of a read, with the record's sign: [key, count][] per block. */
function blockContents(result: SketchReadResult): Array<{ sign: number; zeros: number; min: number; max: number; collapses: number; counts: Map<number, number> }> {
  assert.equal(result.status, 'ok');
  if (result.status !== 'ok') return [];
  return result.records.flatMap((record) =>
    record.blocks.map((block) => {
      const counts = new Map<number, number>();
      for (let bin = block.lo; bin <= block.hi; bin++) {
        const count = result.words[block.countsSlot + bin];
        if (count !== 0) counts.set(block.offset + bin, count);
      }
      return { sign: record.sign, zeros: block.zeros, min: block.min, max: block.max, collapses: block.collapses, counts };
    }),
  );
}

describe('sketch: the bucket key', () => {
  it('reports every value within the relative accuracy, over the whole range of normal doubles', () => {
    let worst = 0;
    const check = (value: number): void => {
      const reported = sketchValueOf(sketchKeyOf(value));
      worst = Math.max(worst, Math.abs(reported - value) / value);
    };
    for (let exponent = -1022; exponent <= 1023; exponent += 0.0037) check(2 ** exponent);
    for (const value of [2.2250738585072014e-308, 1e-300, 1, 1.0202020202020203, 1e300, Number.MAX_VALUE]) check(value);
    // The float rounding of the log may put a value exactly on an edge into the next bucket, still within 1%.
    assert.ok(worst <= SKETCH_RELATIVE_ACCURACY * (1 + 1e-12), `worst relative error ${worst}`);
    assert.ok(worst > SKETCH_RELATIVE_ACCURACY * 0.99, 'the bound is tight: edges are that far from the representative');
    // Subnormals have keys too (so the block and the merge never see an out-of-range key).
    assert.ok(Math.abs(sketchKeyOf(Number.MIN_VALUE)) < 40_000 && Math.abs(sketchKeyOf(Number.MAX_VALUE)) < 40_000);
  });
});

for (const backend of FILE_BACKENDS) {
  describe(`sketch: a series' windows in the file (${backend} backend)`, () => {
    let dir: string;
    const stores: ProcessStore[] = [];
    const storeAs = (pid: number, kind: BackendKind = backend): ProcessStore => {
      const store = new ProcessStore(dir, { pid, threadId: 0, backend: kind });
      stores.push(store);
      return store;
    };
    const read = (pid: number, now = Date.now()): SketchReadResult => new SketchFileReader(path.join(dir, `summary_${pid}.sketch`)).read(now);
    beforeEach(() => {
      dir = makeTempDir('pm2-prom-sketch-');
    });
    afterEach(() => {
      for (const store of stores.splice(0)) store.close();
      removeDir(dir);
    });

    it('counts each value in its bucket, zeros apart, negatives in a second record, with exact min and max', () => {
      const sketch = new SeriesSketch(storeAs(1).sketchFile(), SERIES, NO_ROTATION, noRefusal);
      for (const value of [1, 1, 2.5, 0, 0, 0, -7, 1e6]) sketch.observe(value);
      const [positive, negative, ...rest] = blockContents(read(1));
      assert.deepEqual(rest, []);
      assert.deepEqual(positive, {
        sign: 0,
        zeros: 3,
        min: 0,
        max: 1e6,
        collapses: 0,
        counts: new Map([
          [sketchKeyOf(1), 2],
          [sketchKeyOf(2.5), 1],
          [sketchKeyOf(1e6), 1],
        ]),
      });
      assert.deepEqual(negative, { sign: 1, zeros: 0, min: -7, max: -7, collapses: 0, counts: new Map([[sketchKeyOf(7), 1]]) });
    });

    it('keeps every count while the block re-centres, and folds the lowest bins in past 1024 keys', () => {
      const sketch = new SeriesSketch(storeAs(1).sketchFile(), SERIES, NO_ROTATION, noRefusal);
      // 1..1e6 spans 698 keys: each new extreme past the block's edge shifts the counts.
      const values = [1000, 1, 1e6, 30, 2e5];
      for (const value of values) sketch.observe(value);
      const [shifted] = blockContents(read(1));
      assert.deepEqual(shifted.counts, new Map(values.map((value) => [sketchKeyOf(value), 1])));
      assert.equal(shifted.collapses, 0);
      // 1e-9 is 1,727 keys below 1e6: keys below 1e6's key - 1023 (only 1e-9's) fold into the lowest kept bin.
      sketch.observe(1e-9);
      const [collapsed] = blockContents(read(1));
      const lowest = sketchKeyOf(1e6) - (SKETCH_BINS - 1);
      assert.equal(collapsed.collapses, 1);
      assert.equal(collapsed.min, 1e-9, 'min stays exact');
      const expected: Array<[number, number]> = [[lowest, 1], ...values.map((value): [number, number] => [sketchKeyOf(value), 1])];
      assert.deepEqual(collapsed.counts, new Map(expected.sort((a, b) => a[0] - b[0])));
    });

    it('puts observations in the window of the wall clock and counts only the last ageBuckets of them', () => {
      const shape: SketchWindows = { windowMs: 100, windows: 3, flags: 0, percentiles: [0.5] };
      let clock = 1_700_000_000_000;
      const sketch = new SeriesSketch(storeAs(1).sketchFile(), SERIES, shape, noRefusal, () => clock);
      const firstWindow = clock / 100;
      for (const value of [1, 2, 3]) {
        sketch.observe(value);
        clock += 100;
      }
      const at = (window: number): number => window * 100 + 50;
      const keysAt = (now: number): number[] => blockContents(read(1, now)).flatMap((block) => [...block.counts.keys()]).sort((a, b) => a - b);
      assert.deepEqual(keysAt(at(firstWindow + 2)), [1, 2, 3].map(sketchKeyOf), 'the current window and the two before it');
      assert.deepEqual(keysAt(at(firstWindow + 3)), [2, 3].map(sketchKeyOf), 'a window older than maxAge never counts');
      assert.deepEqual(keysAt(firstWindow * 100 + 300), [2, 3].map(sketchKeyOf), 'from the instant the window is too old');
      assert.deepEqual(keysAt(firstWindow * 100 + 299), [1, 2, 3].map(sketchKeyOf));
      assert.deepEqual(keysAt(at(firstWindow + 5)), [], 'all expired');
      // A fourth window reuses the first one's block, which expired when it began.
      sketch.observe(4);
      assert.deepEqual(keysAt(at(firstWindow + 3)), [2, 3, 4].map(sketchKeyOf));
      // A clock stepped back into window 0: its block, holding window 3, is started again (4 is lost).
      clock -= 250;
      sketch.observe(5);
      assert.deepEqual(keysAt(at(firstWindow + 3)), [2, 3].map(sketchKeyOf));
      assert.deepEqual(keysAt(at(firstWindow)), [2, 3, 5].map(sketchKeyOf));
    });

    it('hands the file a dead process of the same pid left to the dead; in one process, a record of the same shape is continued, another added beside it', () => {
      const first = storeAs(1);
      new SeriesSketch(first.sketchFile(), SERIES, NO_ROTATION, noRefusal).observe(5);
      first.close();
      const inode = fs.statSync(path.join(dir, 'summary_1.sketch')).ino;
      const second = storeAs(1);
      new SeriesSketch(second.sketchFile(), SERIES, NO_ROTATION, noRefusal).observe(5);
      assert.deepEqual(blockContents(read(1)).map((block) => block.counts), [new Map([[sketchKeyOf(5), 1]])], 'its own, from zero');
      const dead = new SketchFileReader(path.join(dir, `summary_1.dead${inode}.sketch`)).read(Date.now());
      assert.deepEqual(blockContents(dead).map((block) => block.counts), [new Map([[sketchKeyOf(5), 1]])], "the predecessor's, as it was");
      // The series made again in this process (a registry cleared and filled again): the same record.
      new SeriesSketch(second.sketchFile(), SERIES, NO_ROTATION, noRefusal).observe(5);
      assert.deepEqual(blockContents(read(1)).map((block) => block.counts), [new Map([[sketchKeyOf(5), 2]])]);
      // Another configuration (percentiles changed): the old record stays for its data.
      new SeriesSketch(second.sketchFile(), SERIES, { ...NO_ROTATION, percentiles: [0.9] }, noRefusal).observe(7);
      const result = read(1);
      assert.ok(result.status === 'ok');
      assert.deepEqual(result.records.map((record) => record.percentiles), [[0.5, 0.99], [0.9]]);
      assert.deepEqual(blockContents(result).map((block) => block.counts), [new Map([[sketchKeyOf(5), 2]]), new Map([[sketchKeyOf(7), 1]])]);
    });

    it('reads again a block caught mid-change, and leaves it out of the read while it stays so', () => {
      const sketch = new SeriesSketch(storeAs(1).sketchFile(), SERIES, NO_ROTATION, noRefusal);
      sketch.observe(5);
      const filePath = path.join(dir, 'summary_1.sketch');
      // The writer's first half of a change: the end version moves on, the start version not yet.
      const block = firstBlockByte(filePath);
      const bytes = fs.readFileSync(filePath);
      bytes.writeDoubleLE(bytes.readDoubleLE(block + BLOCK_START_VERSION * 8) + 1, block + (BLOCK_COUNTS + SKETCH_BINS) * 8);
      fs.writeFileSync(filePath, bytes);
      const torn = read(1);
      assert.ok(torn.status === 'ok');
      assert.equal(torn.status === 'ok' ? torn.torn : -1, 1);
      assert.deepEqual(blockContents(torn), []);
      // The second half: both versions equal again, and the block counts.
      bytes.writeDoubleLE(bytes.readDoubleLE(block + BLOCK_START_VERSION * 8) + 1, block + BLOCK_START_VERSION * 8);
      fs.writeFileSync(filePath, bytes);
      assert.deepEqual(blockContents(read(1)).map((contents) => contents.counts), [new Map([[sketchKeyOf(5), 1]])]);
    });

    it('skips a record that does not check out, naming the problem, and keeps the others', () => {
      const file = storeAs(1).sketchFile();
      new SeriesSketch(file, SERIES, NO_ROTATION, noRefusal).observe(5);
      new SeriesSketch(file, { ...SERIES, labels: { route: '/b' } }, NO_ROTATION, noRefusal).observe(6);
      const filePath = path.join(dir, 'summary_1.sketch');
      const bytes = fs.readFileSync(filePath);
      const block = firstBlockByte(filePath);
      const lo = bytes.readDoubleLE(block + BLOCK_LO * 8);
      for (const [word, value, problem] of [
        [BLOCK_COUNTS + lo, NaN, new RegExp(`a block its count NaN in bin ${lo} is not a count`)],
        [BLOCK_HI, 5000, /a block its bin span \d+\.\.5000 is outside its 1024 bins/],
      ] as const) {
        const damaged = Buffer.from(bytes);
        damaged.writeDoubleLE(value, block + word * 8);
        fs.writeFileSync(filePath, damaged);
        const result = read(1);
        assert.ok(result.status === 'ok');
        if (result.status !== 'ok') continue;
        assert.match(result.problem ?? '', problem);
        assert.deepEqual(blockContents(result).map((contents) => [...contents.counts.keys()]), [[sketchKeyOf(6)]]);
      }
      const wrongAccuracy = Buffer.from(bytes);
      const recordStart = block - blockStart(NO_ROTATION.percentiles.length, 0, SKETCH_BINS) * 8;
      wrongAccuracy.writeDoubleLE(0.02, recordStart + 3 * 8);
      fs.writeFileSync(filePath, wrongAccuracy);
      const result = read(1);
      assert.ok(result.status === 'ok');
      assert.match(result.status === 'ok' ? (result.problem ?? '') : '', /relative accuracy 0.02 cannot be merged with this reader's 0.01/);
    });

    it('refuses a file that does not start like a sketch file', () => {
      const bytes = Buffer.alloc(65536);
      bytes.writeInt32LE(64, 0);
      fs.writeFileSync(path.join(dir, 'summary_2.sketch'), bytes);
      assert.deepEqual(read(2), { status: 'unreadable', problem: 'does not start like a sketch file' });
    });
  });
}

/** Byte offset of the first block of the first record of a sketch file. */
function firstBlockByte(filePath: string): number {
  const bytes = fs.readFileSync(filePath);
  const keyLength = bytes.readInt32LE(8);
  const bodyStart = 8 + 4 + keyLength + (8 - ((keyLength + 4) % 8));
  const percentiles = bytes.readDoubleLE(bodyStart + 7 * 8);
  return bodyStart + blockStart(percentiles, 0, SKETCH_BINS) * 8;
}

// The writable side of the sketch file: per summary series, a record of age windows that
// observations go into (SeriesSketch), or a record of snapshots the prom-client mirror rewrites
// (SnapshotSketch). Layout and key function in sketch-format.ts.

import { encodeKey } from './format';
import type { MetricFile } from './backends/metric-file';
import {
  BLOCK_BINS,
  BLOCK_COLLAPSES,
  BLOCK_COUNTS,
  BLOCK_EXPIRES_AT,
  BLOCK_HI,
  BLOCK_LO,
  BLOCK_MAX,
  BLOCK_MIN,
  BLOCK_OFFSET,
  BLOCK_START_VERSION,
  BLOCK_VALID_FROM,
  BLOCK_WINDOW,
  BLOCK_ZEROS,
  RECORD_BODY_BYTES,
  SKETCH_BINS,
  blockStart,
  blockWords,
  emptyBlock,
  encodeRecordBody,
  readBlock,
  readRecordHeader,
  sketchKeyOf,
  sketchSampleName,
  writeBlock,
} from './sketch-format';
import type { SketchBlockData, SketchRecordHeader } from './sketch-format';
import { SketchSum } from './sketch-quantiles';

const B = SKETCH_BINS;
// Called on every observation: a module constant, as an imported binding may cost a call per use.
const keyOf = sketchKeyOf;

/** What identifies a series' records: its summary's family, labels and help, as in its `.db` keys. */
export interface SketchSeries {
  name: string;
  labels: Readonly<Record<string, string>>;
  help: string;
}

/** How a summary's observations are windowed: prom-client's maxAgeSeconds / ageBuckets. */
export interface SketchWindows {
  /** 0: one window for all time. */
  windowMs: number;
  /** Age buckets: the windows kept, the current one included (1 without rotation). */
  windows: number;
  flags: number;
  percentiles: readonly number[];
}

/**
 * The record for `series` and `sign` in `file`: the last one of its key when it has this very
 * shape (the series made again in this process; a file is never another process's, see
 * predecessor-files.ts), else a new one appended. Throws
 * when the file cannot take another record (its size limit): the caller then keeps no sketch.
 */
function recordFor(file: MetricFile, series: SketchSeries, sign: 0 | 1, shape: SketchWindows): number {
  const key = encodeKey(series.name, sketchSampleName(series.name, sign), series.labels, series.help);
  const header: SketchRecordHeader = { sign, ...shape };
  const body = encodeRecordBody(header, Array.from({ length: shape.windows }, () => emptyBlock(B)));
  const existing = file.findSlot(key);
  if (existing !== undefined && sameShape(file, existing, body)) return existing;
  return file.appendRecord(key, body);
}

/** Whether the record at `slot` has the header and block sizes of `body` (its content aside). */
function sameShape(file: MetricFile, slot: number, body: Float64Array): boolean {
  if (file.get(slot + RECORD_BODY_BYTES) !== body[RECORD_BODY_BYTES]) return false;
  const header = new Float64Array(body.length);
  for (let i = 0; i < header.length; i++) header[i] = file.get(slot + i);
  const view = readRecordHeader(header, 0, header.length);
  if (view instanceof Error) return false;
  const wanted = readRecordHeader(body, 0, body.length) as Exclude<typeof view, Error>;
  return (
    view.sign === wanted.sign &&
    view.windowMs === wanted.windowMs &&
    view.windows === wanted.windows &&
    view.flags === wanted.flags &&
    view.percentiles.join() === wanted.percentiles.join() &&
    view.blockSlots.join() === wanted.blockSlots.join() &&
    view.blockSlots.every((blockSlot) => header[blockSlot + BLOCK_BINS] === B)
  );
}

/**
 * One record's windows, as the writer of observations sees them: the block of the current window
 * and its used span, min and max are kept here too, so an observation reads nothing back.
 */
class WindowedRecord {
  private window = -Infinity;
  private block = 0;
  private counts = 0;
  /** Slots of the current block's words that observations write (kept, not recomputed per call). */
  private zerosSlot = 0;
  private minSlot = 0;
  private maxSlot = 0;
  private offset = 0;
  private lo = B;
  private hi = -1;
  private min = Infinity;
  private max = -Infinity;
  private readonly blocksAt: number;

  constructor(
    private readonly file: MetricFile,
    recordSlot: number,
    private readonly shape: SketchWindows,
  ) {
    this.blocksAt = recordSlot + blockStart(shape.percentiles.length, 0, B);
  }

  add(window: number, key: number, value: number): void {
    if (window !== this.window) this.enter(window);
    let bin = key - this.offset;
    if (bin < this.lo || bin > this.hi) bin = this.widen(key, bin);
    this.file.add(this.counts + bin, 1);
    this.extremes(value);
  }

  addZero(window: number): void {
    if (window !== this.window) this.enter(window);
    this.file.add(this.zerosSlot, 1);
    this.extremes(0);
  }

  private extremes(value: number): void {
    if (value < this.min) {
      this.min = value;
      this.file.set(this.minSlot, value);
    }
    if (value > this.max) {
      this.max = value;
      this.file.set(this.maxSlot, value);
    }
  }

  /**
   * Makes `window` current: its block is the one of `window mod windows`. A block that holds an
   * older window is started afresh: it expired when this window began (a reader counts a window
   * only while it is among the last `windows`), or the clock went back and its newer data is lost.
   */
  private enter(window: number): void {
    const { file, shape } = this;
    const index = shape.windowMs === 0 ? 0 : window % shape.windows;
    const block = this.blocksAt + index * blockWords(B);
    this.window = window;
    this.block = block;
    this.counts = block + BLOCK_COUNTS;
    this.zerosSlot = block + BLOCK_ZEROS;
    this.minSlot = block + BLOCK_MIN;
    this.maxSlot = block + BLOCK_MAX;
    if (file.get(block + BLOCK_WINDOW) !== window) {
      const lo = file.get(block + BLOCK_LO);
      const hi = file.get(block + BLOCK_HI);
      this.rewrite(() => {
        if (hi >= lo) file.writeRange(this.counts + lo, new Float64Array(hi - lo + 1));
        file.set(block + BLOCK_WINDOW, window);
        file.set(block + BLOCK_VALID_FROM, 0);
        file.set(block + BLOCK_EXPIRES_AT, shape.windowMs === 0 ? Infinity : (window + shape.windows) * shape.windowMs);
        file.set(block + BLOCK_ZEROS, 0);
        file.set(block + BLOCK_MIN, Infinity);
        file.set(block + BLOCK_MAX, -Infinity);
        file.set(block + BLOCK_LO, B);
        file.set(block + BLOCK_HI, -1);
        file.set(block + BLOCK_COLLAPSES, 0);
      });
    }
    this.offset = file.get(block + BLOCK_OFFSET);
    this.lo = file.get(block + BLOCK_LO);
    this.hi = file.get(block + BLOCK_HI);
    this.min = file.get(block + BLOCK_MIN);
    this.max = file.get(block + BLOCK_MAX);
  }

  /**
   * A key outside the used span: the span grows when the key fits the block; else the block is
   * re-centred on the keys it holds, or, when they span more than its bins, its lowest bins are
   * folded into the lowest kept one (counted in `collapses`: quantiles below that bin then read
   * too high). Returns the key's bin.
   */
  private widen(key: number, bin: number): number {
    const { file, block } = this;
    if (this.hi >= this.lo && bin >= 0 && bin < B) {
      if (bin < this.lo) file.set(block + BLOCK_LO, (this.lo = bin));
      if (bin > this.hi) file.set(block + BLOCK_HI, (this.hi = bin));
      return bin;
    }
    const empty = this.hi < this.lo;
    const low = empty ? key : Math.min(this.offset + this.lo, key);
    const high = empty ? key : Math.max(this.offset + this.hi, key);
    const collapse = high - low + 1 > B;
    const offset = collapse ? high - B + 1 : low - ((B - (high - low + 1)) >> 1);
    const counts = new Float64Array(B);
    for (let i = this.lo; i <= this.hi; i++) counts[Math.max(0, i + this.offset - offset)] += file.get(this.counts + i);
    const lo = Math.max(0, low - offset);
    const hi = high - offset;
    this.rewrite(() => {
      file.writeRange(this.counts, counts);
      file.set(block + BLOCK_OFFSET, offset);
      file.set(block + BLOCK_LO, lo);
      file.set(block + BLOCK_HI, hi);
      if (collapse) file.add(block + BLOCK_COLLAPSES, 1);
    });
    this.offset = offset;
    this.lo = lo;
    this.hi = hi;
    return Math.max(0, key - offset);
  }

  /**
   * Adds to `sum` the blocks that count at `now`, read through the file's image (so a record that
   * waits in memory for room on the disk answers too), checked as a scrape checks them.
   */
  addCounting(sum: SketchSum, sign: 0 | 1, now: number): void {
    const words = new Float64Array(blockWords(B));
    for (let index = 0; index < this.shape.windows; index++) {
      const block = this.blocksAt + index * words.length;
      for (let i = 0; i < words.length; i++) words[i] = this.file.get(block + i);
      // This process is the only writer of its file: a block is never caught mid-change here.
      const view = readBlock(words, 0, B, now, false);
      if (typeof view === 'object') sum.add(sign, view, words);
    }
  }

  /** Empties every window (reset(), remove()): each block expires now and starts afresh when next used. */
  clear(): void {
    for (let index = 0; index < this.shape.windows; index++) {
      const block = this.blocksAt + index * blockWords(B);
      rewriteBlock(this.file, block, () => {
        this.file.set(block + BLOCK_WINDOW, -1);
        this.file.set(block + BLOCK_EXPIRES_AT, 0);
      });
    }
    this.window = -Infinity;
  }

  /** Runs a change of the block's layout between the two halves of its version pair. */
  private rewrite(change: () => void): void {
    rewriteBlock(this.file, this.block, change);
  }
}

/**
 * A change of a block's layout, between `end version = v + 1` and `start version = v + 1`: a
 * reader that copied the block meanwhile finds the two unequal and reads it again. Fences keep the
 * three steps in this order as other processes see them, on weakly ordered CPUs too; the reader
 * relies on its copy of the file loading the start version before the counts and the counts before
 * the end version (an ascending copy, as the kernel's read() does).
 */
function rewriteBlock(file: MetricFile, block: number, change: () => void): void {
  const version = file.get(block + BLOCK_START_VERSION) + 1;
  file.set(block + blockWords(file.get(block + BLOCK_BINS)) - 1, version);
  file.fence();
  change();
  file.fence();
  file.set(block + BLOCK_START_VERSION, version);
}

/**
 * The sketch of one summary series in this process: observations in the window of the wall clock
 * (aligned on the epoch, so every process agrees which window is current), zeros in their own
 * count, negative values in a second record made at the first one. Without a record (the file is
 * at its size limit, or closed) observations are dropped here; `_count` and `_sum` still count them.
 */
export class SeriesSketch {
  private readonly positive: WindowedRecord;
  /** Made at the first negative value; null when the file could not take it (tried once). */
  private negative: WindowedRecord | null | undefined;
  private window = 0;
  private windowEnd = -Infinity;

  /** Throws when the file cannot take the record (see recordFor). */
  constructor(
    private readonly file: MetricFile,
    private readonly series: SketchSeries,
    private readonly shape: SketchWindows,
    /** Told once why negative values are not sketched, when their record cannot be made. */
    private readonly onRefused: (error: Error) => void,
    /** The wall clock in ms (tests move it). */
    private readonly clock: () => number = Date.now,
  ) {
    this.positive = new WindowedRecord(file, recordFor(file, series, 0, shape), shape);
  }

  observe(value: number): void {
    const { windowMs } = this.shape;
    // Date.now() costs most of an observation; a window without rotation needs no clock at all.
    if (windowMs > 0) {
      const now = this.clock();
      if (now >= this.windowEnd || now < this.windowEnd - windowMs) {
        this.window = Math.floor(now / windowMs);
        this.windowEnd = (this.window + 1) * windowMs;
      }
    }
    if (value > 0) {
      this.positive.add(this.window, keyOf(value), value);
    } else if (value < 0) {
      (this.negative ?? this.negativeRecord())?.add(this.window, keyOf(-value), value);
    } else {
      this.positive.addZero(this.window);
    }
  }

  /**
   * The nearest-rank quantiles of this process's observations in the windows a scrape counts now,
   * for ascending `percentiles` (the collector's rule, SketchSum); undefined when they hold none.
   */
  quantiles(percentiles: readonly number[]): number[] | undefined {
    const sum = new SketchSum();
    const now = this.clock();
    this.positive.addCounting(sum, 0, now);
    this.negative?.addCounting(sum, 1, now);
    return sum.quantiles(percentiles);
  }

  /** Forgets this process's observations of the series (its windows expire at once). */
  clear(): void {
    this.positive.clear();
    this.negative?.clear();
  }

  private negativeRecord(): WindowedRecord | null {
    if (this.negative !== undefined) return this.negative;
    try {
      this.negative = new WindowedRecord(this.file, recordFor(this.file, this.series, 1, this.shape), this.shape);
    } catch (error) {
      // Later negative values are counted and summed only.
      this.negative = null;
      this.onRefused(error as Error);
    }
    return this.negative;
  }
}

/**
 * A record whose blocks are snapshots, rewritten whole: the prom-client mirror's copy of an app's
 * ring of t-digests, one block per ring slot, each valid while its slot is the current one.
 */
export class SnapshotSketch {
  private readonly blocksAt: number;
  private readonly scratch = new Float64Array(blockWords(B));

  /** Throws when the file cannot take the record (see recordFor). */
  constructor(
    private readonly file: MetricFile,
    series: SketchSeries,
    sign: 0 | 1,
    private readonly shape: SketchWindows,
  ) {
    this.blocksAt = recordFor(file, series, sign, shape) + blockStart(shape.percentiles.length, 0, B);
  }

  /** Replaces block `index` (0 <= index < windows) by `data`, whose counts have the block's bins. */
  write(index: number, data: SketchBlockData): void {
    const block = this.blocksAt + index * blockWords(B);
    writeBlock(this.scratch, 0, data, 0);
    rewriteBlock(this.file, block, () => this.file.writeRange(block + 1, this.scratch.subarray(1, blockWords(B) - 1)));
  }

  /** Empties block `index`: it no longer counts. */
  clear(index: number): void {
    const block = this.blocksAt + index * blockWords(B);
    rewriteBlock(this.file, block, () => this.file.set(block + BLOCK_EXPIRES_AT, 0));
  }

  get windows(): number {
    return this.shape.windows;
  }
}

// The byte layout of a `.sketch` file: where each process keeps, per summary series, mergeable
// quantile sketches of its observations, one per age window. The only place that knows the
// sketch's key function, the record and block layouts and how they are checked.
//
// The sketch (DDSketch, Masson et al., VLDB 2019): a value v > 0 falls in bucket
// k = ceil(ln v / ln g), g = (1 + a) / (1 - a), which holds (g^(k-1), g^k]; the bucket's
// representative 2 g^k / (1 + g) is within relative accuracy a of every value in it. Counts per
// bucket merge by adding, so the sketch of the union of any processes' windows is the sum of their
// sketches, and the quantile of rank r found in it is within a of the exact one. Negative values
// go to a second record keyed by |v|, zeros to a count of their own.
//
// A file is Python's entry container (int32 `used`, 8-byte-aligned entries of a JSON key and a
// body; the shared backends write it) with SKETCH_MAGIC in header bytes 4..8, and bodies of float64
// words: a record header, the percentiles, then blocks, each one window:
//
//   record  0 body bytes | 1 layout version (1) | 2 sign (0: v >= 0, 1: v < 0) | 3 relative
//           accuracy | 4 window ms (0: one window for all time) | 5 windows (age buckets) |
//           6 flags | 7 percentile count P | 8 block count S | P percentiles | S blocks
//   block   0 start version | 1 window id (-1: none) | 2 valid from ms | 3 expires at ms |
//           4 bins B | 5 offset (bucket key of bin 0) | 6 zero count | 7 min | 8 max |
//           9 lo | 10 hi (bins in use; hi < lo: none) | 11 collapses | B counts | end version
//
// A block counts at time t iff validFrom <= t < expiresAt. A writer changes a block's layout
// (window start, shift, collapse) only between `end version = v + 1` and `start version = v + 1`,
// so a reader that finds them unequal read it mid-change and reads it again. Plain increments (one
// count, min, max, lo, hi) are single aligned stores and need no version.

import { FileFormatError, MAX_FILE_BYTES, encodeArchiveOf } from './format';
import type { FileLayout } from './format';

/** Every sketch's relative accuracy a: a reported quantile is within 1% of the exact one. */
export const SKETCH_RELATIVE_ACCURACY = 0.01;
const GAMMA = (1 + SKETCH_RELATIVE_ACCURACY) / (1 - SKETCH_RELATIVE_ACCURACY);
const LN_GAMMA = Math.log(GAMMA);
const INV_LN_GAMMA = 1 / LN_GAMMA;
/** ln of the representative's factor 2 / (1 + g), added in the log domain so the top bucket stays finite. */
const LN_REPRESENTATIVE = Math.log(2 / (1 + GAMMA));

/** Bins per block: g^1024 = 7.7e8, so one window keeps the 1% guarantee over 8.9 decades of values. */
export const SKETCH_BINS = 1024;
/** |key| of any finite double is below this: ln(Number.MAX_VALUE) / ln g = 35,490, ln(5e-324) / ln g = -37,220. */
export const MAX_SKETCH_KEY = 40_000;
/** Percentiles a record may carry. */
export const MAX_SKETCH_PERCENTILES = 64;
/** Blocks a record may carry (windows of a writer, or an archive's distinct windows). */
export const MAX_SKETCH_BLOCKS = 4096;
/** A process's sketch file never grows past this: further series export `_count` and `_sum` only. */
export const SKETCH_FILE_MAX_BYTES = 256 * 1024 * 1024;

/** The bucket key of a magnitude > 0. Every writer, the mirror and compaction use this one function. */
export function sketchKeyOf(magnitude: number): number {
  return Math.ceil(Math.log(magnitude) * INV_LN_GAMMA);
}

/**
 * The value a bucket reports: within the relative accuracy of every value in (g^(key-1), g^key],
 * for every normal double (|v| >= 2^-1022; subnormals, below 2.2e-308, keep fewer digits).
 */
export function sketchValueOf(key: number): number {
  return Math.exp(key * LN_GAMMA + LN_REPRESENTATIVE);
}

/** The upper edge g^key of a bucket (its lower edge is the upper edge of key - 1). */
export function sketchUpperEdge(key: number): number {
  return Math.exp(key * LN_GAMMA);
}

export const SKETCH_LAYOUT_VERSION = 1;
/** 'PSK1' little-endian in header bytes 4..8. */
export const SKETCH_MAGIC = 0x314b5350;

// Record header words, from the body's first word.
export const RECORD_BODY_BYTES = 0;
const RECORD_LAYOUT = 1;
export const RECORD_SIGN = 2;
const RECORD_ACCURACY = 3;
export const RECORD_WINDOW_MS = 4;
export const RECORD_WINDOWS = 5;
export const RECORD_FLAGS = 6;
const RECORD_PERCENTILES = 7;
const RECORD_BLOCKS = 8;
const RECORD_HEADER_WORDS = 9;

// Block words, from the block's first word.
export const BLOCK_START_VERSION = 0;
export const BLOCK_WINDOW = 1;
export const BLOCK_VALID_FROM = 2;
export const BLOCK_EXPIRES_AT = 3;
export const BLOCK_BINS = 4;
export const BLOCK_OFFSET = 5;
export const BLOCK_ZEROS = 6;
export const BLOCK_MIN = 7;
export const BLOCK_MAX = 8;
export const BLOCK_LO = 9;
export const BLOCK_HI = 10;
export const BLOCK_COLLAPSES = 11;
export const BLOCK_COUNTS = 12;

/** Words of a block of `bins` counts: header, counts, end version. */
export function blockWords(bins: number): number {
  return BLOCK_COUNTS + bins + 1;
}

/** Record flags. */
export const FLAG_PRUNE_AGED_BUCKETS = 1;
/** Written by the prom-client mirror (t-digest snapshots), not by observations. */
export const FLAG_MIRRORED = 2;

/** What a record is for: the series' sign, its windows and the percentiles it reports. */
export interface SketchRecordHeader {
  sign: 0 | 1;
  /** 0: one window that never expires (no maxAgeSeconds/ageBuckets). */
  windowMs: number;
  /** prom-client's ageBuckets, 1 without rotation. */
  windows: number;
  flags: number;
  percentiles: readonly number[];
}

/** One block's content, as a writer or compaction builds it. */
export interface SketchBlockData {
  window: number;
  validFrom: number;
  expiresAt: number;
  offset: number;
  zeros: number;
  min: number;
  max: number;
  collapses: number;
  /** The block's bins; counts[i] is the bucket of key offset + i. */
  counts: Float64Array;
}

/** A block that holds nothing: no window yet, expired from the start. */
export function emptyBlock(bins: number): SketchBlockData {
  return { window: -1, validFrom: 0, expiresAt: 0, offset: 0, zeros: 0, min: Infinity, max: -Infinity, collapses: 0, counts: new Float64Array(bins) };
}

/** The used span [lo, hi] of counts (hi < lo when all are zero). */
function usedSpan(counts: Float64Array): [number, number] {
  let lo = 0;
  while (lo < counts.length && counts[lo] === 0) lo++;
  let hi = counts.length - 1;
  while (hi >= lo && counts[hi] === 0) hi--;
  return lo > hi ? [counts.length, -1] : [lo, hi];
}

/** Writes one block's words at `at` of `words`; returns the word after it. */
export function writeBlock(words: Float64Array, at: number, block: SketchBlockData, version: number): number {
  const bins = block.counts.length;
  const [lo, hi] = usedSpan(block.counts);
  words[at + BLOCK_START_VERSION] = version;
  words[at + BLOCK_WINDOW] = block.window;
  words[at + BLOCK_VALID_FROM] = block.validFrom;
  words[at + BLOCK_EXPIRES_AT] = block.expiresAt;
  words[at + BLOCK_BINS] = bins;
  words[at + BLOCK_OFFSET] = block.offset;
  words[at + BLOCK_ZEROS] = block.zeros;
  words[at + BLOCK_MIN] = block.min;
  words[at + BLOCK_MAX] = block.max;
  words[at + BLOCK_LO] = lo;
  words[at + BLOCK_HI] = hi;
  words[at + BLOCK_COLLAPSES] = block.collapses;
  words.set(block.counts, at + BLOCK_COUNTS);
  words[at + BLOCK_COUNTS + bins] = version;
  return at + blockWords(bins);
}

/** The body of a record: header, percentiles, blocks. */
export function encodeRecordBody(header: SketchRecordHeader, blocks: readonly SketchBlockData[]): Float64Array {
  let length = RECORD_HEADER_WORDS + header.percentiles.length;
  for (const block of blocks) length += blockWords(block.counts.length);
  const words = new Float64Array(length);
  words[RECORD_BODY_BYTES] = length * 8;
  words[RECORD_LAYOUT] = SKETCH_LAYOUT_VERSION;
  words[RECORD_SIGN] = header.sign;
  words[RECORD_ACCURACY] = SKETCH_RELATIVE_ACCURACY;
  words[RECORD_WINDOW_MS] = header.windowMs;
  words[RECORD_WINDOWS] = header.windows;
  words[RECORD_FLAGS] = header.flags;
  words[RECORD_PERCENTILES] = header.percentiles.length;
  words[RECORD_BLOCKS] = blocks.length;
  words.set(header.percentiles, RECORD_HEADER_WORDS);
  let at = RECORD_HEADER_WORDS + header.percentiles.length;
  for (const block of blocks) at = writeBlock(words, at, block, 0);
  return words;
}

/** Word index of block `index` in a writer's record (every block of `bins` counts). */
export function blockStart(percentileCount: number, index: number, bins: number): number {
  return RECORD_HEADER_WORDS + percentileCount + index * blockWords(bins);
}

/** The key of a record: the summary's family, labels and help, as its `.db` entries have them. */
export function sketchSampleName(name: string, sign: 0 | 1): string {
  return sign === 0 ? name : `${name}${NEGATIVE_SUFFIX}`;
}

const NEGATIVE_SUFFIX = ':negative';

/** Whether a record key's sample name is the one of its family and sign. */
export function isSketchSampleName(metricName: string, sampleName: string, sign: number): boolean {
  return sampleName === sketchSampleName(metricName, sign === 1 ? 1 : 0);
}

export const SKETCH_LAYOUT: FileLayout = {
  magic: SKETCH_MAGIC,
  describe: 'Sketch file',
  // A record says its size in its first word.
  bodySize(view, bodyOffset) {
    const bytes = view.getFloat64(bodyOffset + RECORD_BODY_BYTES * 8, true);
    return Number.isSafeInteger(bytes) && bytes >= RECORD_HEADER_WORDS * 8 ? bytes : undefined;
  },
  maxBytes: Math.min(SKETCH_FILE_MAX_BYTES, MAX_FILE_BYTES),
};

/** A record as found in a file, checked; its blocks are read on demand. */
export interface SketchRecordView extends SketchRecordHeader {
  /** Word index of the body in the file's words. */
  readonly slot: number;
  /** Word index of each block's first word. */
  readonly blockSlots: readonly number[];
  /** Each block's bins, as the header walk found them (a block's size never changes). */
  readonly blockBins: readonly number[];
}

/**
 * The record whose body starts at word `slot` of `words` and holds `bodyWords` words, checked
 * (every count and size that sizes a loop or an allocation), or a FileFormatError saying why not.
 */
export function readRecordHeader(words: Float64Array, slot: number, bodyWords: number): SketchRecordView | FileFormatError {
  const at = (offset: number): number => words[slot + offset];
  const fail = (problem: string): FileFormatError => new FileFormatError(`sketch record at byte ${slot * 8}: ${problem}`, slot * 8);
  if (at(RECORD_LAYOUT) !== SKETCH_LAYOUT_VERSION) return fail(`layout version ${at(RECORD_LAYOUT)} is not ${SKETCH_LAYOUT_VERSION}`);
  if (at(RECORD_ACCURACY) !== SKETCH_RELATIVE_ACCURACY) {
    return fail(`relative accuracy ${at(RECORD_ACCURACY)} cannot be merged with this reader's ${SKETCH_RELATIVE_ACCURACY}`);
  }
  const sign = at(RECORD_SIGN);
  if (sign !== 0 && sign !== 1) return fail(`sign ${sign} is neither 0 nor 1`);
  const windowMs = at(RECORD_WINDOW_MS);
  const windows = at(RECORD_WINDOWS);
  const flags = at(RECORD_FLAGS);
  if (!(windowMs >= 0 && Number.isFinite(windowMs)) || !Number.isSafeInteger(windows) || windows < 1 || !Number.isSafeInteger(flags)) {
    return fail('bad window length, window count or flags');
  }
  const percentileCount = at(RECORD_PERCENTILES);
  const blockCount = at(RECORD_BLOCKS);
  if (!Number.isSafeInteger(percentileCount) || percentileCount < 0 || percentileCount > MAX_SKETCH_PERCENTILES) {
    return fail(`percentile count ${percentileCount} is outside 0..${MAX_SKETCH_PERCENTILES}`);
  }
  if (!Number.isSafeInteger(blockCount) || blockCount < 0 || blockCount > MAX_SKETCH_BLOCKS) {
    return fail(`block count ${blockCount} is outside 0..${MAX_SKETCH_BLOCKS}`);
  }
  if (RECORD_HEADER_WORDS + percentileCount > bodyWords) return fail('its percentiles run past its body');
  const percentiles: number[] = [];
  for (let i = 0; i < percentileCount; i++) {
    const percentile = at(RECORD_HEADER_WORDS + i);
    if (!(percentile >= 0 && percentile <= 1)) return fail(`percentile ${percentile} is outside 0..1`);
    percentiles.push(percentile);
  }
  const blockSlots: number[] = [];
  const blockBins: number[] = [];
  let offset = RECORD_HEADER_WORDS + percentileCount;
  for (let i = 0; i < blockCount; i++) {
    if (offset + BLOCK_COUNTS + 1 > bodyWords) return fail(`block ${i} runs past its body`);
    const bins = at(offset + BLOCK_BINS);
    if (!Number.isSafeInteger(bins) || bins < 0 || bins > SKETCH_BINS) return fail(`block ${i} has ${bins} bins (0..${SKETCH_BINS})`);
    blockSlots.push(slot + offset);
    blockBins.push(bins);
    offset += blockWords(bins);
  }
  if (offset !== bodyWords) return fail(`its blocks take ${offset * 8} bytes of a ${bodyWords * 8}-byte body`);
  return { slot, sign, windowMs, windows, flags, percentiles, blockSlots, blockBins };
}

/** One block at a moment: what the merge adds up, checked. */
export interface SketchBlockView {
  validFrom: number;
  expiresAt: number;
  offset: number;
  zeros: number;
  min: number;
  max: number;
  lo: number;
  hi: number;
  collapses: number;
  /** Word index of bin 0. */
  countsSlot: number;
}

/**
 * The block at word `slot` of `bins` bins (as its record's header said) if it counts at `now`
 * (or, with `upcoming`, at any moment from `now` on), checked: 'torn' when caught mid-change (read it again), 'idle' when it does not count then, else
 * a problem or the block.
 */
export function readBlock(words: Float64Array, slot: number, bins: number, now: number, upcoming: boolean): SketchBlockView | 'torn' | 'idle' | string {
  if (words[slot + BLOCK_BINS] !== bins) return `its size changed from ${bins} bins`;
  if (words[slot + BLOCK_START_VERSION] !== words[slot + BLOCK_COUNTS + bins]) return 'torn';
  if (!((upcoming || words[slot + BLOCK_VALID_FROM] <= now) && now < words[slot + BLOCK_EXPIRES_AT])) return 'idle';
  const block: SketchBlockView = {
    validFrom: words[slot + BLOCK_VALID_FROM],
    expiresAt: words[slot + BLOCK_EXPIRES_AT],
    offset: words[slot + BLOCK_OFFSET],
    zeros: words[slot + BLOCK_ZEROS],
    min: words[slot + BLOCK_MIN],
    max: words[slot + BLOCK_MAX],
    lo: words[slot + BLOCK_LO],
    hi: words[slot + BLOCK_HI],
    collapses: words[slot + BLOCK_COLLAPSES],
    countsSlot: slot + BLOCK_COUNTS,
  };
  if (!Number.isSafeInteger(block.offset) || Math.abs(block.offset) > MAX_SKETCH_KEY) return `its offset ${block.offset} is out of range`;
  if (!Number.isSafeInteger(block.lo) || !Number.isSafeInteger(block.hi)) return 'its bin span is not whole numbers';
  if (block.hi >= block.lo && (block.lo < 0 || block.hi >= bins || Math.abs(block.offset + block.hi) > MAX_SKETCH_KEY)) {
    return `its bin span ${block.lo}..${block.hi} is outside its ${bins} bins`;
  }
  if (!(block.zeros >= 0 && Number.isFinite(block.zeros)) || !(block.collapses >= 0)) return 'its zero or collapse count is negative';
  for (let i = block.lo; i <= block.hi; i++) {
    const count = words[block.countsSlot + i];
    if (!(count >= 0 && Number.isFinite(count))) return `its count ${count} in bin ${i} is not a count`;
  }
  if ((block.hi >= block.lo || block.zeros > 0) && !(block.min <= block.max)) return `its min ${block.min} is above its max ${block.max}`;
  return block;
}

/** One record of a sketch archive: its key, what it is for and its blocks. */
export interface SketchArchiveRecord {
  key: string;
  header: SketchRecordHeader;
  blocks: readonly SketchBlockData[];
}

/** The bytes of a whole sketch archive (compaction's `summary_archive.sketch`) of `generation`. */
export function encodeSketchArchive(records: readonly SketchArchiveRecord[], generation: number): Buffer {
  return encodeArchiveOf(
    records.map((record) => ({ key: record.key, body: encodeRecordBody(record.header, record.blocks) })),
    SKETCH_LAYOUT,
    generation,
  );
}

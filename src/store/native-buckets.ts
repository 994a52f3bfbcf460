// The bucket layout of native (sparse exponential) histograms, as Prometheus defines it: at schema
// s, bucket i holds the observations v with 2^((i-1)/2^s) < |v| <= 2^(i/2^s) (index 0 ends at 1),
// one set of buckets per sign, and a zero bucket for |v| <= the zero threshold. Asked by the writer
// (which bucket an observation goes to) and by the merge (lowering schemas, widening zero buckets).

/** The schemas Prometheus accepts for exponential buckets. */
export const MIN_SCHEMA = -4;
export const MAX_SCHEMA = 8;
/** client_golang's default: a bucket boundary at every schema, so it never moves in a merge. */
export const DEFAULT_ZERO_THRESHOLD = 2 ** -128;
/** prom-client PR #856's and client_golang's usual budget of populated buckets per series. */
export const DEFAULT_MAX_BUCKETS = 160;
/** Bucket indexes stay inside this at any schema (2^-1074 .. MaxFloat64 span 2099 powers of two). */
export const MAX_BUCKET_INDEX_MAGNITUDE = 1100 * 2 ** MAX_SCHEMA;

/** One run of consecutive buckets: `offset` from the end of the previous span (from 0 for the first). */
export interface BucketSpan {
  offset: number;
  length: number;
}

/**
 * A native histogram as Prometheus's protobuf carries it: buckets as spans and deltas (each
 * bucket's count minus the previous bucket's, across spans), count = zeroCount + all buckets.
 */
export interface NativeHistogram {
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  positiveSpans: BucketSpan[];
  positiveDeltas: number[];
  negativeSpans: BucketSpan[];
  negativeDeltas: number[];
}

/**
 * The largest schema whose bucket growth factor 2^(2^-s) is at most `factor` (client_golang's
 * pickSchema): 1.1 gives 3, 2 gives 0, 65536 and above give -4, below 1.0027 gives 8.
 */
export function schemaForFactor(factor: number): number {
  const floor = Math.floor(Math.log2(Math.log2(factor)));
  if (floor <= -MAX_SCHEMA) return MAX_SCHEMA;
  if (floor >= -MIN_SCHEMA) return MIN_SCHEMA;
  // 0 - floor, not -floor: -0 would compare equal but print and deep-equal as -0.
  return 0 - floor;
}

// Per positive schema s, bound j (0 <= j < 2^s) is the largest double not above 2^(j/2^s - 1).
// Rounding down, rather than to nearest, puts every double in its mathematically exact bucket: for
// a double x, x <= bound ⟺ x <= 2^(j/2^s - 1), the exact value being irrational for j > 0.
// Prometheus's own table (rounded otherwise) differs in 253 of its 510 values by at most 3 ulp, so
// only doubles within 3 ulp of a boundary can land one bucket away from where Go puts them.
//
// The hot path never searches: all bounds lie in [0.5, 1), one binary exponent, so a bound compares
// with a value's significand by its 52 mantissa bits alone (kept as a high 20-bit and a low 32-bit
// word), and a table on the value's top s + 1 mantissa bits names the one bound to compare with
// (the bounds are more than 2^-(s+1) apart in mantissa terms, so such a slice holds at most one).
interface SchemaTable {
  /** The bounds as doubles (upper bounds are these times a power of two). */
  bounds: Float64Array;
  /** Per bound (and one past the last, that no significand passes): its mantissa's high and low words. */
  high: Uint32Array;
  low: Uint32Array;
  /** Per slice of the top s + 1 mantissa bits: the first bound at or above the slice's start. */
  first: Uint16Array;
}

const tables: Array<SchemaTable | undefined> = [];

function tableOf(schema: number): SchemaTable {
  let table = tables[schema];
  if (table === undefined) {
    const count = 1 << schema;
    const bounds = new Float64Array(count);
    const high = new Uint32Array(count + 1);
    const low = new Uint32Array(count + 1);
    const words = new Uint32Array(new Float64Array(1).buffer);
    const float = new Float64Array(words.buffer);
    for (let j = 0; j < count; j++) {
      bounds[j] = roundedDownBound(j, count);
      float[0] = bounds[j];
      high[j] = words[HIGH] & 0xfffff;
      low[j] = words[LOW];
    }
    high[count] = 0x100000; // above every 20-bit high word
    const sliceBits = schema + 1;
    const first = new Uint16Array(1 << sliceBits);
    let j = 0;
    for (let slice = 0; slice < first.length; slice++) {
      const sliceStart = slice << (20 - sliceBits); // in high-word mantissa units
      while (j < count && high[j] < sliceStart) j++;
      first[slice] = j;
    }
    table = { bounds, high, low, first };
    tables[schema] = table;
  }
  return table;
}

/** The largest double m / 2^53 (m an integer) with (m / 2^53)^count <= 2^(j - count), exactly. */
function roundedDownBound(j: number, count: number): number {
  if (j === 0) return 0.5;
  const power = BigInt(count);
  const limit = 1n << (52n * power + BigInt(j));
  // Math.pow is within a few ulp; BigInt arithmetic settles the last bits exactly.
  let m = BigInt(Math.floor(Math.pow(2, j / count - 1) * 2 ** 53));
  while ((m + 1n) ** power <= limit) m++;
  while (m ** power > limit) m--;
  return Number(m) / 2 ** 53;
}

// The words of a double, read through a shared view without allocating.
const scratchFloat = new Float64Array(1);
const scratchWords = new Uint32Array(scratchFloat.buffer);
// Little-endian (the store refuses other CPUs): word 1 holds the sign, exponent and top 20 mantissa bits.
const HIGH = 1;
const LOW = 0;

/**
 * The index of the bucket holding `magnitude` (finite, > 0) at `schema`. Exact powers of two are
 * upper bounds: 1 is in bucket 0 and 2 in bucket 2^s at every schema s >= 0.
 */
export function bucketIndex(magnitude: number, schema: number): number {
  scratchFloat[0] = magnitude;
  let high = scratchWords[HIGH];
  let exponent = (high >>> 20) - 1022; // magnitude = significand * 2^exponent, significand in [0.5, 1)
  if (exponent === -1022) {
    // A subnormal: scaled into the normal range first.
    scratchFloat[0] = magnitude * 2 ** 64;
    high = scratchWords[HIGH];
    exponent = (high >>> 20) - 1022 - 64;
  }
  const mantissaHigh = high & 0xfffff;
  const mantissaLow = scratchWords[LOW];
  if (schema > 0) {
    const table = tableOf(schema);
    let j = table.first[mantissaHigh >>> (19 - schema)];
    // Past bound j (the significand above it): the next bucket.
    if (mantissaHigh > table.high[j] || (mantissaHigh === table.high[j] && mantissaLow > table.low[j])) j++;
    return j + (exponent - 1) * table.bounds.length;
  }
  // An exact power of two (significand 0.5) ends the bucket below.
  const key = mantissaHigh === 0 && mantissaLow === 0 ? exponent - 1 : exponent;
  const shift = -schema;
  return (key + (1 << shift) - 1) >> shift;
}

/** The upper bound of bucket `index` at `schema` (MaxFloat64 for the bucket that would pass it). */
export function upperBound(index: number, schema: number): number {
  let bound: number;
  if (schema <= 0) {
    bound = 2 ** (index * 2 ** -schema);
  } else {
    const { bounds } = tableOf(schema);
    bound = bounds[index & (bounds.length - 1)] * 2 ** ((index >> schema) + 1);
  }
  return bound === Infinity ? Number.MAX_VALUE : bound;
}

/** The index at schema s - steps of the bucket `index` of schema s: ceil(index / 2^steps). */
export function lowerIndex(index: number, steps: number): number {
  return steps === 0 ? index : (index + (1 << steps) - 1) >> steps;
}

/**
 * Where a merge at `schema` puts the zero bucket when the widest threshold of its sources is
 * `threshold`: up to the upper bound of the bucket holding it, so that no bucket straddles it.
 * Buckets with an index up to `lastFolded` are folded into the zero bucket (none when threshold is
 * 0). A power of two 2^(16k), as the default 2^-128, is a boundary at every schema: it stays put.
 */
export function mergedZeroBucket(threshold: number, schema: number): { threshold: number; lastFolded: number } {
  if (threshold <= 0) return { threshold: 0, lastFolded: -Infinity };
  const lastFolded = bucketIndex(threshold, schema);
  return { threshold: upperBound(lastFolded, schema), lastFolded };
}

/**
 * Spans and deltas of buckets given by ascending `indexes` and their counts (bucket p's count at
 * counts[offset + p], for p in [from, to)). Empty buckets are left out; a gap of one or two empty
 * buckets is written as zero counts rather than as a new span, as client_golang does (a span costs
 * more bytes than two deltas, and Prometheus drops empty buckets on ingestion).
 */
export function spansAndDeltas(
  indexes: ArrayLike<number>,
  counts: ArrayLike<number>,
  from: number,
  to: number,
  offset = 0,
): { spans: BucketSpan[]; deltas: number[] } {
  // Counted first, so that the arrays are made at their size (a scrape makes these per series).
  let buckets = 0;
  let runs = 0;
  let previousIndex = 0;
  for (let position = from; position < to; position++) {
    if (counts[offset + position] === 0) continue;
    const gap = indexes[position] - previousIndex - 1;
    if (buckets === 0 || gap > MAX_FILLED_GAP) runs++;
    else buckets += gap;
    previousIndex = indexes[position];
    buckets++;
  }
  const spans = new Array<BucketSpan>(runs);
  const deltas = new Array<number>(buckets);
  let previousCount = 0;
  let delta = 0;
  let run = -1;
  for (let position = from; position < to; position++) {
    const count = counts[offset + position];
    if (count === 0) continue;
    const index = indexes[position];
    const gap = index - previousIndex - 1;
    if (run >= 0 && gap <= MAX_FILLED_GAP) {
      for (let empty = 0; empty < gap; empty++) {
        deltas[delta++] = 0 - previousCount;
        previousCount = 0;
      }
      spans[run].length += gap + 1;
    } else {
      spans[++run] = { offset: run === 0 ? index : gap, length: 1 };
    }
    deltas[delta++] = count - previousCount;
    previousIndex = index;
    previousCount = count;
  }
  return { spans, deltas };
}

/** Empty buckets between two populated ones written as zeros instead of starting a new span. */
const MAX_FILLED_GAP = 2;

/** The populated buckets that spans and deltas describe, ascending: the inverse of spansAndDeltas. */
export function bucketsOfSpans(spans: readonly BucketSpan[], deltas: readonly number[]): Array<{ index: number; count: number }> {
  const buckets: Array<{ index: number; count: number }> = [];
  let index = 0;
  let count = 0;
  let delta = 0;
  for (const span of spans) {
    // The first offset is from index 0, each next one from the end of the span before.
    index += span.offset;
    for (let i = 0; i < span.length; i++, index++) {
      count += deltas[delta++];
      if (count !== 0) buckets.push({ index, count });
    }
  }
  return buckets;
}

// Quantiles from sketch blocks: blocks of one summary series added up bucket by bucket give the
// sketch of the union of their observations, and prom-client's percentiles are read from it by
// nearest rank, each within the sketch's relative accuracy of the exact quantile of the union.
// The one home of that rule: the collector adds up every process's blocks (quantile-merge.ts), a
// Summary's get() this process's own (SeriesSketch.quantiles).

import { MAX_SKETCH_KEY, sketchValueOf } from './sketch-format';
import type { SketchBlockView } from './sketch-format';

// Module constants, not imported bindings, in the loops below (an imported binding may cost a call per use).
const KEY_OFFSET = MAX_SKETCH_KEY;
const KEY_SPAN = 2 * KEY_OFFSET + 1;

let representatives: Float64Array | undefined;

/** Each bucket's reported value by key + KEY_OFFSET, computed once (an exp() per bucket per scrape otherwise). */
function representativeValues(): Float64Array {
  if (representatives === undefined) {
    representatives = new Float64Array(KEY_SPAN);
    for (let index = 0; index < KEY_SPAN; index++) representatives[index] = sketchValueOf(index - KEY_OFFSET);
  }
  return representatives;
}

/** One sign's counts of one series, by bucket key, over the keys added so far. */
class KeyCounts {
  private offset = 0;
  private counts = new Float64Array(0);
  /** The keys with counts added: [low, high] (empty while high < low). */
  low = Infinity;
  high = -Infinity;

  /** Adds the counts of keys [low, high], the count of key k at words[from + k - low]. */
  add(words: Float64Array, from: number, low: number, high: number): void {
    if (low < this.offset || high >= this.offset + this.counts.length) this.grow(low, high);
    const counts = this.counts;
    const shift = from - low;
    for (let key = low; key <= high; key++) counts[key - this.offset] += words[shift + key];
    if (low < this.low) this.low = low;
    if (high > this.high) this.high = high;
  }

  countOf(key: number): number {
    return this.counts[key - this.offset];
  }

  clear(): void {
    if (this.high >= this.low) this.counts.fill(0, this.low - this.offset, this.high - this.offset + 1);
    this.low = Infinity;
    this.high = -Infinity;
  }

  /** Room for keys [low, high] beside those held, with some to spare (a series' span settles fast). */
  private grow(low: number, high: number): void {
    const from = Math.min(low, this.low);
    const to = Math.max(high, this.high);
    const size = Math.min(KEY_SPAN, Math.max(2 * (to - from + 1), this.counts.length, 256));
    const offset = Math.max(-KEY_OFFSET, Math.min(from - ((size - (to - from + 1)) >> 1), KEY_OFFSET + 1 - size));
    const counts = new Float64Array(size);
    if (this.high >= this.low) counts.set(this.counts.subarray(this.low - this.offset, this.high - this.offset + 1), this.low - offset);
    this.counts = counts;
    this.offset = offset;
  }
}

/** The blocks of one summary series added up (both signs, zeros, extremes); kept and cleared for reuse. */
export class SketchSum {
  private readonly positive = new KeyCounts();
  private readonly negative = new KeyCounts();
  private zeros = 0;
  private min = Infinity;
  private max = -Infinity;

  /** Adds a checked block of a record of `sign` (1: the record of negative values), its counts in `words`. */
  add(sign: number, block: SketchBlockView, words: Float64Array): void {
    this.zeros += block.zeros;
    if (block.hi < block.lo && block.zeros === 0) return;
    if (block.min < this.min) this.min = block.min;
    if (block.max > this.max) this.max = block.max;
    const counts = sign === 1 ? this.negative : this.positive;
    if (block.hi >= block.lo) counts.add(words, block.countsSlot + block.lo, block.offset + block.lo, block.offset + block.hi);
  }

  clear(): void {
    this.positive.clear();
    this.negative.clear();
    this.zeros = 0;
    this.min = Infinity;
    this.max = -Infinity;
  }

  /**
   * The nearest-rank quantiles (the smallest x with F(x) >= q) of the blocks added, for ascending
   * `percentiles`; undefined when they hold no observation.
   */
  quantiles(percentiles: readonly number[]): number[] | undefined {
    const { positive, negative, zeros, min, max } = this;
    const values = representativeValues();
    let total = zeros;
    for (let key = negative.low; key <= negative.high; key++) total += negative.countOf(key);
    for (let key = positive.low; key <= positive.high; key++) total += positive.countOf(key);
    if (total === 0) return undefined;

    const results: number[] = [];
    let p = 0;
    let cumulative = 0;
    const report = (value: number): void => {
      // Quantiles at or past the ends are the exact extremes; others are clamped into them.
      while (p < percentiles.length && cumulative >= percentiles[p] * total) {
        const percentile = percentiles[p];
        results.push(percentile <= 0 ? min : percentile >= 1 ? max : Math.min(Math.max(value, min), max));
        p++;
      }
    };
    // Ascending values: negatives by descending magnitude, zeros, positives by ascending key.
    for (let key = negative.high; key >= negative.low && p < percentiles.length; key--) {
      const count = negative.countOf(key);
      if (count === 0) continue;
      cumulative += count;
      report(-values[key + KEY_OFFSET]);
    }
    if (zeros > 0) {
      cumulative += zeros;
      report(0);
    }
    for (let key = positive.low; key <= positive.high && p < percentiles.length; key++) {
      const count = positive.countOf(key);
      if (count === 0) continue;
      cumulative += count;
      report(values[key + KEY_OFFSET]);
    }
    // Rounding of fractional (mirrored) weights can leave the last target a hair above the total.
    while (results.length < percentiles.length) results.push(max);
    return results;
  }
}

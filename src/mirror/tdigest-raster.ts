// A prom-client t-digest as a sketch block: the mass of its interpolation model laid over the
// sketch's buckets. prom-client's percentile() reads a digest as a piecewise linear CDF through
// its centroids' mid-ranks: half of the first centroid's weight at its mean, half of the last one's
// at its mean, and the weight between two neighbours spread evenly over the values between their
// means. That very mass, in fractional counts per bucket, gives back by nearest rank a quantile
// within the sketch's relative accuracy of prom-client's own answer, and merges with every other
// process's sketch. (Each centroid as one point at its mean would be off by up to 8% in the tails.)

import { MAX_SKETCH_KEY, SKETCH_BINS, sketchKeyOf, sketchUpperEdge } from '../store';
import type { SketchBlockData } from '../store';

/** One centroid of a digest. */
export interface Centroid {
  mean: number;
  n: number;
}

/** Counts per key over [-MAX_SKETCH_KEY, MAX_SKETCH_KEY] for one sign, reused between rasterizations. */
class KeyCounts {
  readonly counts = new Float64Array(2 * MAX_SKETCH_KEY + 1);
  low = Infinity;
  high = -Infinity;

  add(key: number, mass: number): void {
    if (!(mass > 0)) return;
    this.counts[key + MAX_SKETCH_KEY] += mass;
    if (key < this.low) this.low = key;
    if (key > this.high) this.high = key;
  }

  /**
   * Spreads `mass` evenly over the magnitudes (from, to], 0 <= from < to, bucket by bucket. Below
   * the lowest key a block can keep under the top one the rest is laid on that key (as a writer's
   * collapse would), so a segment down to 0 costs SKETCH_BINS steps, not the whole key range.
   */
  spread(from: number, to: number, mass: number): void {
    const top = sketchKeyOf(to);
    const floor = top - (SKETCH_BINS - 1);
    const width = to - from;
    let key = from > 0 ? Math.max(sketchKeyOf(from), floor) : floor;
    let lower = key === floor && (from === 0 || sketchKeyOf(from) < floor) ? from : Math.max(from, sketchUpperEdge(key - 1));
    for (; key <= top; key++) {
      const upper = key === top ? to : Math.min(to, sketchUpperEdge(key));
      if (upper > lower) this.add(key, (mass * (upper - lower)) / width);
      lower = upper;
    }
  }

  /** The counts as a block (the top SKETCH_BINS keys; lower ones folded into the lowest), then cleared. */
  takeBlock(into: SketchBlockData): void {
    into.counts.fill(0);
    if (this.high < this.low) return;
    const offset = Math.max(this.low, this.high - (SKETCH_BINS - 1));
    into.offset = offset;
    if (offset > this.low) into.collapses = 1;
    for (let key = this.low; key <= this.high; key++) {
      const index = key + MAX_SKETCH_KEY;
      into.counts[Math.max(0, key - offset)] += this.counts[index];
      this.counts[index] = 0;
    }
    this.low = Infinity;
    this.high = -Infinity;
  }
}

const positive = new KeyCounts();
const negative = new KeyCounts();

function scratchBlock(): SketchBlockData {
  return { window: -1, validFrom: 0, expiresAt: 0, offset: 0, zeros: 0, min: Infinity, max: -Infinity, collapses: 0, counts: new Float64Array(SKETCH_BINS) };
}

/** What a digest becomes: a block per sign (the negative one undefined when it has no mass there). */
export interface RasterizedDigest {
  positive: SketchBlockData;
  negative: SketchBlockData | undefined;
}

const result = { positive: scratchBlock(), negativeBlock: scratchBlock() };

/**
 * The model of ascending `centroids`, each weight times `weight`, as blocks valid over
 * [validFrom, expiresAt). min and max are the extreme means, which prom-client reports for the
 * quantiles past the outer mid-ranks. The blocks are reused by the next call: write them first.
 */
export function rasterizeDigest(centroids: readonly Centroid[], weight: number, validFrom: number, expiresAt: number): RasterizedDigest {
  let zeros = 0;
  const point = (value: number, mass: number): void => {
    if (value > 0) positive.add(sketchKeyOf(value), mass);
    else if (value < 0) negative.add(sketchKeyOf(-value), mass);
    else zeros += mass;
  };
  const segment = (from: number, to: number, mass: number): void => {
    if (from === to) return point(from, mass);
    if (from >= 0) return positive.spread(from, to, mass);
    if (to <= 0) return negative.spread(-to, -from, mass);
    // Across zero: each side's share of the mass is its share of the width.
    negative.spread(0, -from, (mass * -from) / (to - from));
    positive.spread(0, to, (mass * to) / (to - from));
  };
  const count = centroids.length;
  if (count > 0) {
    point(centroids[0].mean, (centroids[0].n * weight) / 2);
    for (let i = 1; i < count; i++) segment(centroids[i - 1].mean, centroids[i].mean, ((centroids[i - 1].n + centroids[i].n) * weight) / 2);
    point(centroids[count - 1].mean, (centroids[count - 1].n * weight) / 2);
  }
  const min = count > 0 ? centroids[0].mean : Infinity;
  const max = count > 0 ? centroids[count - 1].mean : -Infinity;
  const hasNegative = negative.high >= negative.low;
  for (const [block, zeroCount] of [[result.positive, zeros], [result.negativeBlock, 0]] as const) {
    Object.assign(block, { validFrom, expiresAt, offset: 0, zeros: zeroCount, min, max, collapses: 0 });
  }
  positive.takeBlock(result.positive);
  negative.takeBlock(result.negativeBlock);
  return { positive: result.positive, negative: hasNegative ? result.negativeBlock : undefined };
}

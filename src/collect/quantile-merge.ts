// Summary quantiles across processes: per summary series, the sketch blocks of every process (and
// of the archive of dead ones) that count at the scrape's moment, added up bucket by bucket, give
// the sketch of the union of their observations; prom-client's percentiles are read from it by
// nearest rank, each within the sketch's relative accuracy of the exact quantile of the union.
// Each file is added up as soon as it is read, so the files share one read buffer.

import { FLAG_PRUNE_AGED_BUCKETS, MAX_SKETCH_KEY, SketchFileReader, isSketchSampleName, sketchValueOf } from '../store';
import type { KeyIndex, ReadBuffer, SketchBlockView } from '../store';
import { checkedKey } from './merge';
import type { Sample } from './types';

/** What quantileSamples answers for a series to leave out whole (prom-client's pruneAgedBuckets). */
export const PRUNED = 'pruned';

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

/** One sign's counts of one series in this scrape, by bucket key, over the keys added so far. */
class KeyCounts {
  private offset = 0;
  private counts = new Float64Array(0);
  /** The keys with counts added this scrape: [low, high] (empty while high < low). */
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

/** One summary series' sketches as gathered in this scrape. */
interface SeriesSketches {
  labels: Readonly<Record<string, string>>;
  positive: KeyCounts;
  negative: KeyCounts;
  zeros: number;
  min: number;
  max: number;
  percentiles: Set<number>;
  prune: boolean;
  /** Label sets of the quantile samples, made once per percentile (the renderer caches by identity). */
  quantileLabels: Map<number, Readonly<Record<string, string>>>;
  /** The scrape that last gathered into this series. */
  scrape: number;
}

export type SketchFileOutcome =
  | { status: 'missing' }
  | { status: 'corrupt'; problem: string }
  | { status: 'read'; problem: string | undefined; limit: string | undefined; bytesRead: number };

interface TrackedSketchFile {
  reader: SketchFileReader;
  /** By record key id: the series its blocks go to, or why they are skipped. */
  targets: Array<SeriesSketches | string>;
}

export class QuantileMerger {
  private readonly files = new Map<string, TrackedSketchFile>();
  private readonly series = new Map<string, SeriesSketches>();
  private scrape = 0;
  /** Counted blocks of the last scrape in which values outside their bins were folded into their lowest bin. */
  collapsedBlocks = 0;

  /** `buffer`: the collector's, shared with its other files (each is added up as soon as it is read). */
  constructor(private readonly buffer: ReadBuffer) {}

  beginScrape(): void {
    this.scrape++;
    this.collapsedBlocks = 0;
  }

  /** Forgets files no longer listed (by name). */
  keepFiles(present: ReadonlySet<string>): void {
    for (const name of this.files.keys()) if (!present.has(name)) this.files.delete(name);
  }

  /** Reads one sketch file and adds up its blocks that count at `now` (ms since the epoch). */
  collectFile(fileName: string, filePath: string, now: number, maxBytes: number): SketchFileOutcome {
    let file = this.files.get(fileName);
    if (file === undefined) {
      file = { reader: new SketchFileReader(filePath, { buffer: this.buffer }), targets: [] };
      this.files.set(fileName, file);
    }
    const result = file.reader.read(now, false, maxBytes);
    if (result.status === 'missing') {
      this.files.delete(fileName);
      return { status: 'missing' };
    }
    if (result.status === 'unreadable') return { status: 'corrupt', problem: result.problem };
    let problem = result.problem;
    for (const record of result.records) {
      let target = file.targets[record.keyId];
      if (target === undefined) {
        target = this.resolve(result.keys, record.keyId, record.sign);
        file.targets[record.keyId] = target;
      }
      if (typeof target === 'string') {
        problem ??= target;
        continue;
      }
      const series = this.begun(target);
      const counts = record.sign === 1 ? series.negative : series.positive;
      for (const block of record.blocks) this.addBlock(series, counts, block, result.words);
      for (const percentile of record.percentiles) series.percentiles.add(percentile);
      if ((record.flags & FLAG_PRUNE_AGED_BUCKETS) !== 0) series.prune = true;
    }
    return { status: 'read', problem, limit: result.limit, bytesRead: result.bytesRead };
  }

  private addBlock(series: SeriesSketches, counts: KeyCounts, block: SketchBlockView, words: Float64Array): void {
    if (block.collapses > 0) this.collapsedBlocks++;
    series.zeros += block.zeros;
    if (block.hi < block.lo && block.zeros === 0) return;
    if (block.min < series.min) series.min = block.min;
    if (block.max > series.max) series.max = block.max;
    if (block.hi >= block.lo) counts.add(words, block.countsSlot + block.lo, block.offset + block.lo, block.offset + block.hi);
  }

  /** A record key's summary series, or why it is skipped. */
  private resolve(keys: KeyIndex, keyId: number, sign: number): SeriesSketches | string {
    const decoded = checkedKey(keys.text(keyId));
    if (typeof decoded === 'string') return decoded;
    if (!isSketchSampleName(decoded.metricName, decoded.sampleName, sign)) {
      return `sketch of "${decoded.metricName}": record name ${JSON.stringify(decoded.sampleName)} does not match its sign`;
    }
    if ('quantile' in decoded.labels) return `sketch of "${decoded.metricName}": a summary cannot have a label named quantile`;
    const labels: Record<string, string> = {};
    for (const name of Object.keys(decoded.labels).sort()) labels[name] = decoded.labels[name];
    // The same identity as the merge gives the label set of the summary's _count and _sum.
    const seriesKey = `${decoded.metricName}\u0000${JSON.stringify(labels)}`;
    let series = this.series.get(seriesKey);
    if (series === undefined) {
      series = {
        labels: Object.freeze(labels),
        positive: new KeyCounts(),
        negative: new KeyCounts(),
        zeros: 0,
        min: Infinity,
        max: -Infinity,
        percentiles: new Set(),
        prune: false,
        quantileLabels: new Map(),
        scrape: -1,
      };
      this.series.set(seriesKey, series);
    }
    return series;
  }

  /** The series, emptied of what an earlier scrape gathered. */
  private begun(series: SeriesSketches): SeriesSketches {
    if (series.scrape !== this.scrape) {
      series.scrape = this.scrape;
      series.positive.clear();
      series.negative.clear();
      series.zeros = 0;
      series.min = Infinity;
      series.max = -Infinity;
      series.percentiles.clear();
      series.prune = false;
    }
    return series;
  }

  /**
   * The quantile samples of one summary series (`NAME{quantile="q"}`, prom-client's percentiles),
   * PRUNED to leave the series out, or undefined when no process keeps a sketch of it (Python's).
   */
  quantileSamples(family: string, identity: string): Sample[] | typeof PRUNED | undefined {
    const series = this.series.get(`${family}\u0000${identity}`);
    if (series === undefined || series.scrape !== this.scrape) return undefined;
    const percentiles = [...series.percentiles].sort((a, b) => a - b);
    const values = this.quantiles(series, percentiles);
    // Nothing observed in the window: prom-client shows 0 for every quantile, or prunes the series.
    if (values === undefined && series.prune) return PRUNED;
    return percentiles.map((percentile, i) => ({ name: family, labels: this.labelsOf(series, percentile), value: values?.[i] ?? 0 }));
  }

  private labelsOf(series: SeriesSketches, percentile: number): Readonly<Record<string, string>> {
    let labels = series.quantileLabels.get(percentile);
    if (labels === undefined) {
      // prom-client puts the quantile first and spells it as a JavaScript number.
      labels = Object.freeze({ quantile: String(percentile), ...series.labels });
      series.quantileLabels.set(percentile, labels);
    }
    return labels;
  }

  /**
   * The nearest-rank quantiles (the smallest x with F(x) >= q) of the union of the series'
   * blocks, for ascending `percentiles`; undefined when the blocks hold no observation.
   */
  private quantiles(series: SeriesSketches, percentiles: readonly number[]): number[] | undefined {
    const { positive, negative, zeros, min, max } = series;
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

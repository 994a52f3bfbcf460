// The writable side of native histograms: one series (a histogram's label set) in this process's
// histogram_OWNER.nhdb, as laid out in native-format.ts. An observation is one float64 add to its
// bucket's entry and one to the sum, like a classic histogram's; a new bucket appends an entry
// through the file's own append path, and past the bucket budget the series lowers its schema.

import { logger } from '../logger';
import type { MetricFile } from './backends/metric-file';
import { MIN_SCHEMA, bucketIndex, lowerIndex, spansAndDeltas } from './native-buckets';
import type { NativeHistogram } from './native-buckets';
import { bucketKey, loweringKey, seriesKey, sumKey } from './native-format';

export interface NativeSeriesOptions {
  /** The schema a new series starts at; it only ever goes down from there. */
  schema: number;
  zeroThreshold: number;
  /** Populated buckets (both signs) past which the schema is lowered; 0: no limit. */
  maxBuckets: number;
}

type Labels = Readonly<Record<string, string>>;

interface SeriesTable {
  live: Map<string, NativeSeries>;
  /** The number the next new series gets: numbers are unique in a file. */
  nextNumber: number;
}

/** Per native file: the series written through it. */
const tables = new WeakMap<MetricFile, SeriesTable>();

/**
 * The series of `metricName` with `labels` in `file`: the one already written through it, or a new
 * one. A file is always this process's own from its first byte (a writer hands a file a dead
 * predecessor with its pid left to the dead, see predecessor-files.ts), so there is nothing of
 * another process's to continue.
 */
export function nativeSeries(file: MetricFile, metricName: string, labels: Labels, help: string, options: NativeSeriesOptions): NativeSeries {
  let table = tables.get(file);
  if (table === undefined) {
    table = { live: new Map(), nextNumber: 0 };
    tables.set(file, table);
  }
  const identity = JSON.stringify([metricName, sortedLabels(labels)]);
  let series = table.live.get(identity);
  if (series === undefined) {
    series = NativeSeries.create(file, metricName, labels, help, table.nextNumber++, options);
    table.live.set(identity, series);
  }
  return series;
}

function sortedLabels(labels: Labels): Record<string, string> {
  const sorted: Record<string, string> = {};
  for (const name of Object.keys(labels).sort()) sorted[name] = labels[name];
  return sorted;
}

/** Buckets kept in a window this wide at most; a bucket past it (a spread at a fine schema) goes to a Map. */
const MAX_WINDOW = 4096;

/**
 * The slots of one sign's populated buckets by bucket index: a typed array over a window of
 * indexes, so that the hot path finds a slot with a subtraction and a load (a Map's lookup cost
 * more than the rest of an observation).
 */
class BucketSlots {
  private start = 0;
  private window = new Int32Array(0);
  private far: Map<number, number> | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** The slot of bucket `index`, or -1. */
  get(index: number): number {
    const at = index - this.start;
    if (at >= 0 && at < this.window.length) return this.window[at];
    return this.far?.get(index) ?? -1;
  }

  set(index: number, slot: number): void {
    if (this.get(index) < 0) this.count++;
    const start = this.window.length === 0 ? index : Math.min(this.start, index);
    const end = this.window.length === 0 ? index + 1 : Math.max(this.start + this.window.length, index + 1);
    if (end - start > MAX_WINDOW) {
      this.far ??= new Map();
      this.far.set(index, slot);
      return;
    }
    if (start !== this.start || end - start !== this.window.length) {
      const window = new Int32Array(end - start).fill(-1);
      if (this.window.length > 0) window.set(this.window, this.start - start);
      this.start = start;
      this.window = window;
    }
    this.window[index - start] = slot;
  }

  /** Every populated bucket: [index, slot]. */
  entries(): Array<[number, number]> {
    const entries: Array<[number, number]> = [];
    this.window.forEach((slot, at) => {
      if (slot >= 0) entries.push([this.start + at, slot]);
    });
    if (this.far !== undefined) entries.push(...this.far);
    return entries;
  }
}

export class NativeSeries {
  private schema: number;
  private positive = new BucketSlots();
  private negative = new BucketSlots();
  /**
   * Slots of bucket entries below the current schema, from a lowering that could not be finished
   * (no reader counts them): zeroed before the next lowering reuses their keys.
   */
  private unfinished: number[] = [];
  private warned = false;

  private constructor(
    private readonly file: MetricFile,
    private readonly metricName: string,
    private readonly labels: Labels,
    /** Its number in the file, which its short keys name it by. */
    private readonly number: number,
    readonly zeroThreshold: number,
    schema: number,
    private readonly maxBuckets: number,
    private readonly zeroSlot: number,
    private readonly sumSlot: number,
  ) {
    this.schema = schema;
  }

  static create(file: MetricFile, metricName: string, labels: Labels, help: string, number: number, options: NativeSeriesOptions): NativeSeries {
    // The series entry first: a reader takes the series' schema and threshold from it.
    const zeroSlot = file.slotOf(seriesKey(metricName, labels, help, number, options.schema, options.zeroThreshold));
    const sumSlot = file.slotOf(sumKey(number));
    return new NativeSeries(file, metricName, labels, number, options.zeroThreshold, options.schema, options.maxBuckets, zeroSlot, sumSlot);
  }

  /** The hot path: the bucket's count and the sum, two float64 adds once the bucket exists. */
  observe(value: number): void {
    if (value > this.zeroThreshold) {
      const slot = this.positive.get(bucketIndex(value, this.schema));
      if (slot >= 0) this.file.add(slot, 1);
      else if (!this.addBucket(false, value)) return;
    } else if (value < -this.zeroThreshold) {
      const slot = this.negative.get(bucketIndex(-value, this.schema));
      if (slot >= 0) this.file.add(slot, 1);
      else if (!this.addBucket(true, -value)) return;
    } else {
      this.file.add(this.zeroSlot, 1);
    }
    this.file.add(this.sumSlot, value);
  }

  /** Sets the counts and the sum to zero (remove/reset); the schema stays where it is. */
  zero(): void {
    this.file.set(this.zeroSlot, 0);
    this.file.set(this.sumSlot, 0);
    for (const [, slot] of [...this.positive.entries(), ...this.negative.entries()]) this.file.set(slot, 0);
  }

  /** This process's state of the series, as get() shows it. */
  snapshot(): NativeHistogram {
    const zeroCount = this.file.get(this.zeroSlot);
    const positive = this.sideOf(this.positive);
    const negative = this.sideOf(this.negative);
    return {
      schema: this.schema,
      zeroThreshold: this.zeroThreshold,
      zeroCount,
      count: zeroCount + positive.total + negative.total,
      sum: this.file.get(this.sumSlot),
      positiveSpans: positive.spans,
      positiveDeltas: positive.deltas,
      negativeSpans: negative.spans,
      negativeDeltas: negative.deltas,
    };
  }

  private sideOf(buckets: BucketSlots): ReturnType<typeof spansAndDeltas> & { total: number } {
    const sorted = buckets.entries().sort(([a], [b]) => a - b);
    const indexes = sorted.map(([index]) => index);
    const counts = sorted.map(([, slot]) => this.file.get(slot));
    return { ...spansAndDeltas(indexes, counts, 0, indexes.length), total: counts.reduce((sum, count) => sum + count, 0) };
  }

  /**
   * A bucket not yet populated: lowers the schema first when one more bucket would pass the
   * budget (as client_golang does; at the lowest schema the budget is soft), then appends its
   * entry. Never throws into the caller: when the file refuses, the observation is dropped.
   */
  private addBucket(negative: boolean, magnitude: number): boolean {
    try {
      if (this.maxBuckets > 0 && this.positive.size + this.negative.size >= this.maxBuckets && this.schema > MIN_SCHEMA) {
        this.lower(this.stepsToFit(negative, magnitude));
        const slot = (negative ? this.negative : this.positive).get(bucketIndex(magnitude, this.schema));
        if (slot >= 0) {
          this.file.add(slot, 1);
          return true;
        }
      }
      const index = bucketIndex(magnitude, this.schema);
      const slot = this.file.slotOf(bucketKey(this.number, this.schema, negative, index));
      this.file.add(slot, 1);
      (negative ? this.negative : this.positive).set(index, slot);
      return true;
    } catch (error) {
      this.warnOnce(`a new bucket could not be written (${(error as Error).message}); the observation is dropped`);
      return false;
    }
  }

  /** How many schema steps down make the populated buckets, the new one included, fit the budget. */
  private stepsToFit(negative: boolean, magnitude: number): number {
    let steps = 0;
    let populated: number;
    do {
      steps++;
      const newIndex = lowerIndex(bucketIndex(magnitude, this.schema), steps);
      populated = distinctLowered(this.positive, steps, negative ? undefined : newIndex) + distinctLowered(this.negative, steps, negative ? newIndex : undefined);
    } while (populated > this.maxBuckets && this.schema - steps > MIN_SCHEMA);
    return steps;
  }

  /**
   * Lowers the schema by `steps`: appends every bucket of the new schema with its whole count, then
   * the lowering entry that makes readers switch to it. The current entries are never written
   * again, so a reader sees either the old schema or the whole new one, each count only growing.
   */
  private lower(steps: number): void {
    const schema = this.schema - steps;
    for (const slot of this.unfinished) this.file.set(slot, 0);
    const written: number[] = [];
    try {
      const positive = this.lowered(this.positive, steps, schema, false, written);
      const negative = this.lowered(this.negative, steps, schema, true, written);
      this.file.slotOf(loweringKey(this.number, schema, written.length));
      this.positive = positive;
      this.negative = negative;
      this.schema = schema;
      this.unfinished = [];
    } catch (error) {
      this.unfinished.push(...written);
      throw error;
    }
  }

  private lowered(buckets: BucketSlots, steps: number, schema: number, negative: boolean, written: number[]): BucketSlots {
    const counts = new Map<number, number>();
    for (const [index, slot] of buckets.entries()) {
      const lowered = lowerIndex(index, steps);
      counts.set(lowered, (counts.get(lowered) ?? 0) + this.file.get(slot));
    }
    const slots = new BucketSlots();
    for (const [index, count] of counts) {
      const slot = this.file.slotOf(bucketKey(this.number, schema, negative, index));
      written.push(slot);
      this.file.set(slot, count);
      slots.set(index, slot);
    }
    return slots;
  }

  private warnOnce(problem: string): void {
    if (this.warned) return;
    this.warned = true;
    logger().warn(`native histogram "${this.metricName}"${JSON.stringify(this.labels)}: ${problem}`);
  }
}

function distinctLowered(buckets: BucketSlots, steps: number, extra: number | undefined): number {
  const indexes = new Set<number>();
  for (const [index] of buckets.entries()) indexes.add(lowerIndex(index, steps));
  if (extra !== undefined) indexes.add(extra);
  return indexes.size;
}

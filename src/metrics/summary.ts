// Summary: prom-client's API over Python's entries in summary_OWNER.db (`_count`, then `_sum`, per
// child, which Python's collector merges too) and, in multiprocess mode, a mergeable sketch of
// each child's observations per age window in summary_OWNER.sketch, from which the collector
// renders prom-client's percentiles of all processes' observations within 1%, and get() this
// process's own by the same rule. In memory mode quantiles come from prom-client's own
// sliding-window t-digest, as prom-client computes them.
import TimeWindowQuantiles from 'prom-client/lib/timeWindowQuantiles';
import { FLAG_PRUNE_AGED_BUCKETS, MAX_SKETCH_BLOCKS, MAX_SKETCH_PERCENTILES, SeriesSketch } from '../store';
import type { MetricFile, SketchWindows } from '../store';
import { logger } from '../logger';
import { startTimer } from './metric';
import { ObservedMetric } from './observed-metric';
import type { CollectFunction, MetricChild, MetricConfiguration } from './metric';
import type { LabelValues, MetricValue } from './metric-values';
import { checkFinite, describeMetric } from './validation';

export interface SummaryConfiguration<T extends string> extends MetricConfiguration<T> {
  /** Quantiles in [0, 1], reported in memory mode. Default: prom-client's. */
  percentiles?: number[];
  maxAgeSeconds?: number;
  ageBuckets?: number;
  /** Memory mode: drop a child from get() once its window holds no observation. */
  pruneAgedBuckets?: boolean;
  /** Compress the digest every this many observations (prom-client's default 1000). */
  compressCount?: number;
  collect?: CollectFunction<Summary<T>>;
}

export const DEFAULT_PERCENTILES: readonly number[] = Object.freeze([0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999]);

/** A sliding window of observations answering quantiles (prom-client's TimeWindowQuantiles). */
export interface QuantileWindow {
  push(value: number): void;
  percentile(quantile: number): number;
  compress(): void;
  reset(): void;
  size(): number;
}

/** The sliding window options, checked once and shared by all children. */
interface QuantileOptions {
  percentiles: readonly number[];
  maxAgeSeconds: number | undefined;
  ageBuckets: number | undefined;
  compressCount: number;
}

function checkQuantileOptions<T extends string>(name: string, config: SummaryConfiguration<T>): QuantileOptions {
  const problem = (what: string): Error => new Error(`${describeMetric('Summary', name)}: ${what}`);
  const percentiles = config.percentiles ?? DEFAULT_PERCENTILES;
  if (!Array.isArray(percentiles) || percentiles.some((p) => typeof p !== 'number' || !(p >= 0 && p <= 1))) {
    throw problem(`percentiles must be numbers between 0 and 1, got ${JSON.stringify(percentiles)}`);
  }
  const positive = (option: string, value: unknown): number | undefined => {
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) throw problem(`${option} must be a positive number`);
    return value;
  };
  const maxAgeSeconds = positive('maxAgeSeconds', config.maxAgeSeconds);
  const ageBuckets = positive('ageBuckets', config.ageBuckets);
  if (ageBuckets !== undefined && !Number.isInteger(ageBuckets)) throw problem('ageBuckets must be a whole number');
  const compressCount = positive('compressCount', config.compressCount) ?? 1000;
  return { percentiles: Object.freeze([...percentiles]), maxAgeSeconds, ageBuckets, compressCount };
}

/**
 * The sketch windows of a summary, prom-client's rotation: ageBuckets windows of maxAgeSeconds /
 * ageBuckets each when both are given, else one window over all time. Their limits size the
 * sketch file, so they are checked in multiprocess mode only.
 */
function sketchWindows(name: string, options: QuantileOptions, pruneAgedBuckets: boolean): SketchWindows {
  const problem = (what: string): Error => new Error(`${describeMetric('Summary', name)}: ${what}`);
  const { maxAgeSeconds, ageBuckets, percentiles } = options;
  if (percentiles.length > MAX_SKETCH_PERCENTILES) throw problem(`at most ${MAX_SKETCH_PERCENTILES} percentiles in multiprocess mode`);
  const rotates = maxAgeSeconds !== undefined && ageBuckets !== undefined;
  if (rotates && ageBuckets > MAX_SKETCH_BLOCKS) {
    throw problem(`at most ${MAX_SKETCH_BLOCKS} ageBuckets in multiprocess mode (each keeps 8 KiB per series and process)`);
  }
  return {
    windowMs: rotates ? (maxAgeSeconds * 1000) / ageBuckets : 0,
    windows: rotates ? ageBuckets : 1,
    flags: pruneAgedBuckets ? FLAG_PRUNE_AGED_BUCKETS : 0,
    percentiles,
  };
}

/** What `summary.labels(...)` returns; kept and reused per label values. */
export class SummaryChild<T extends string = string> implements MetricChild {
  constructor(
    private readonly summary: Summary<T>,
    readonly labels: Readonly<Record<string, string>>,
    private readonly file: MetricFile,
    private readonly countSlot: number,
    private readonly sumSlot: number,
    /** Memory mode only. */
    private readonly quantiles: QuantileWindow | undefined,
    private readonly compressCount: number,
    /** Multiprocess mode: this process's windows of the series (none when the sketch file is full). */
    private readonly sketch: SeriesSketch | undefined,
  ) {}

  observe(value: number): void {
    checkFinite(this.summary.description, value);
    this.file.add(this.countSlot, 1);
    this.file.add(this.sumSlot, value);
    this.sketch?.observe(value);
    if (this.quantiles !== undefined) {
      this.quantiles.push(value);
      if (this.file.get(this.countSlot) % this.compressCount === 0) this.quantiles.compress();
    }
  }

  /** end() observes the seconds elapsed; labels given to end() pick another child. */
  startTimer(): (labels?: LabelValues<T>) => number {
    return startTimer<T>(undefined, (labels, seconds) => {
      if (labels === undefined) this.observe(seconds);
      else this.summary.observe({ ...this.labels, ...labels } as LabelValues<T>, seconds);
    });
  }

  zero(): void {
    this.file.set(this.countSlot, 0);
    this.file.set(this.sumSlot, 0);
    this.quantiles?.reset();
    this.sketch?.clear();
  }

  /**
   * The quantiles of this child's window now, in `percentiles` order (`ascending`: the same,
   * sorted), or 'empty' when the window holds no observation; undefined when the child keeps no
   * quantiles (its sketch file was full). In multiprocess mode they are this process's own, read
   * from its sketch by the collector's rule.
   */
  quantilesNow(percentiles: readonly number[], ascending: readonly number[]): number[] | 'empty' | undefined {
    if (this.quantiles !== undefined) {
      if (this.quantiles.size() === 0) return 'empty';
      this.quantiles.compress();
      return percentiles.map((quantile) => this.quantiles?.percentile(quantile) || 0);
    }
    const values = this.sketch?.quantiles(ascending);
    if (values === undefined) return this.sketch === undefined ? undefined : 'empty';
    return percentiles.map((quantile) => values[ascending.indexOf(quantile)]);
  }

  /** prom-client's get() values of this child: its quantiles (0 each for an empty window), _sum, _count. */
  values(name: string, percentiles: readonly number[], quantiles: number[] | 'empty' | undefined): Array<MetricValue<T>> {
    const values: Array<MetricValue<T>> = [];
    if (quantiles !== undefined) {
      percentiles.forEach((quantile, i) => {
        values.push({ labels: { quantile, ...this.labels } as MetricValue<T>['labels'], value: quantiles === 'empty' ? 0 : quantiles[i] });
      });
    }
    values.push({ labels: { ...this.labels } as MetricValue<T>['labels'], value: this.file.get(this.sumSlot), metricName: `${name}_sum` });
    values.push({ labels: { ...this.labels } as MetricValue<T>['labels'], value: this.file.get(this.countSlot), metricName: `${name}_count` });
    return values;
  }
}

export class Summary<T extends string = string> extends ObservedMetric<T, SummaryChild<T>> {
  readonly type = 'summary';
  readonly percentiles: readonly number[];
  /** The percentiles in ascending order, as the sketch answers them. */
  private readonly ascendingPercentiles: readonly number[];
  private readonly quantileOptions: QuantileOptions;
  private readonly pruneAgedBuckets: boolean;
  /** Multiprocess mode: how each child's sketch is windowed; undefined in memory mode. */
  private readonly windows: SketchWindows | undefined;
  /** Opened with the metric, as its `.db` file is: a new child never opens a file (or throws). */
  private readonly sketchFile: MetricFile | undefined;
  private sketchRefused = false;

  constructor(config: SummaryConfiguration<T>) {
    const quantileOptions = checkQuantileOptions(String(config?.name), config ?? {});
    super('Summary', config, ['quantile']);
    this.quantileOptions = quantileOptions;
    this.percentiles = quantileOptions.percentiles;
    this.ascendingPercentiles = [...quantileOptions.percentiles].sort((a, b) => a - b);
    this.pruneAgedBuckets = config.pruneAgedBuckets === true;
    this.windows = this.store.dir === undefined ? undefined : sketchWindows(this.name, quantileOptions, this.pruneAgedBuckets);
    this.sketchFile = this.windows === undefined ? undefined : this.store.sketchFile();
    this.finishConstruction('summary');
  }

  /** Whether quantiles come from prom-client's t-digest (memory mode); else from the sketches. */
  get hasQuantiles(): boolean {
    return this.store.dir === undefined;
  }

  protected newChild(labels: Readonly<Record<string, string>>): SummaryChild<T> {
    const [countSlot, sumSlot] = this.slotsOf([this.keyOf(`${this.name}_count`, labels), this.keyOf(`${this.name}_sum`, labels)]);
    const { maxAgeSeconds, ageBuckets, compressCount } = this.quantileOptions;
    const quantiles = this.hasQuantiles ? new TimeWindowQuantiles(maxAgeSeconds, ageBuckets) : undefined;
    return new SummaryChild(this, labels, this.file, countSlot, sumSlot, quantiles, compressCount, this.sketchOf(labels));
  }

  /** The child's sketch; none (one warning per summary) when the sketch file cannot take it. */
  private sketchOf(labels: Readonly<Record<string, string>>): SeriesSketch | undefined {
    if (this.windows === undefined || this.sketchFile === undefined) return undefined;
    const refused = (error: Error): void => {
      if (this.sketchRefused) return;
      this.sketchRefused = true;
      logger().warn(`${this.description}: series without quantiles from now on, _count and _sum only: ${error.message}`);
    };
    try {
      return new SeriesSketch(this.sketchFile, { name: this.familyName(), labels, help: this.help }, this.windows, refused);
    } catch (error) {
      refused(error as Error);
      return undefined;
    }
  }

  protected values(): Array<MetricValue<T>> {
    const values: Array<MetricValue<T>> = [];
    for (const child of [...this.children]) {
      const quantiles = child.quantilesNow(this.percentiles, this.ascendingPercentiles);
      // prom-client's pruneAgedBuckets: a child whose window is empty leaves get() (ours keeps the unlabelled one).
      if (this.pruneAgedBuckets && quantiles === 'empty' && child !== this.unlabelled) this.forget(child);
      else values.push(...child.values(this.name, this.percentiles, quantiles));
    }
    return values;
  }
}

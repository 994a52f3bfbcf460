// Summary: prom-client's API over Python's entries in summary_OWNER.db (`_count`, then `_sum`, per
// child). Quantiles cannot be merged across processes from these, so like Python's the merged
// exposition has `_count` and `_sum` only; in memory mode quantiles come from prom-client's own
// sliding-window t-digest, as prom-client computes them.
import TimeWindowQuantiles from 'prom-client/lib/timeWindowQuantiles';
import type { MetricFile } from '../store';
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
  const compressCount = positive('compressCount', config.compressCount) ?? 1000;
  return { percentiles: Object.freeze([...percentiles]), maxAgeSeconds, ageBuckets, compressCount };
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
  ) {}

  observe(value: number): void {
    checkFinite(this.summary.description, value);
    this.file.add(this.countSlot, 1);
    this.file.add(this.sumSlot, value);
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

  /** Whether this child keeps quantiles and its window holds no observation now. */
  windowIsEmpty(): boolean {
    return this.quantiles !== undefined && this.quantiles.size() === 0;
  }

  zero(): void {
    this.file.set(this.countSlot, 0);
    this.file.set(this.sumSlot, 0);
    this.quantiles?.reset();
  }

  /** prom-client's get() values of this child: quantiles (memory mode), _sum, _count. */
  values(name: string, percentiles: readonly number[]): Array<MetricValue<T>> {
    const values: Array<MetricValue<T>> = [];
    if (this.quantiles !== undefined) {
      this.quantiles.compress();
      for (const quantile of percentiles) {
        const value = this.quantiles.percentile(quantile);
        values.push({ labels: { quantile, ...this.labels } as MetricValue<T>['labels'], value: value || 0 });
      }
    }
    values.push({ labels: { ...this.labels } as MetricValue<T>['labels'], value: this.file.get(this.sumSlot), metricName: `${name}_sum` });
    values.push({ labels: { ...this.labels } as MetricValue<T>['labels'], value: this.file.get(this.countSlot), metricName: `${name}_count` });
    return values;
  }
}

export class Summary<T extends string = string> extends ObservedMetric<T, SummaryChild<T>> {
  readonly type = 'summary';
  readonly percentiles: readonly number[];
  private readonly quantileOptions: QuantileOptions;
  private readonly pruneAgedBuckets: boolean;

  constructor(config: SummaryConfiguration<T>) {
    const quantileOptions = checkQuantileOptions(String(config?.name), config ?? {});
    super('Summary', config, ['quantile']);
    this.quantileOptions = quantileOptions;
    this.percentiles = quantileOptions.percentiles;
    this.pruneAgedBuckets = config.pruneAgedBuckets === true;
    this.finishConstruction('summary');
  }

  /** Whether quantiles are computed: in memory mode only (they cannot be merged from files). */
  get hasQuantiles(): boolean {
    return this.store.dir === undefined;
  }

  protected newChild(labels: Readonly<Record<string, string>>): SummaryChild<T> {
    const [countSlot, sumSlot] = this.slotsOf([this.keyOf(`${this.name}_count`, labels), this.keyOf(`${this.name}_sum`, labels)]);
    const { maxAgeSeconds, ageBuckets, compressCount } = this.quantileOptions;
    const quantiles = this.hasQuantiles ? new TimeWindowQuantiles(maxAgeSeconds, ageBuckets) : undefined;
    return new SummaryChild(this, labels, this.file, countSlot, sumSlot, quantiles, compressCount);
  }

  protected values(): Array<MetricValue<T>> {
    if (this.pruneAgedBuckets) {
      for (const child of [...this.children]) {
        if (child !== this.unlabelled && child.windowIsEmpty()) this.forget(child);
      }
    }
    return this.children.flatMap((child) => child.values(this.name, this.percentiles));
  }
}

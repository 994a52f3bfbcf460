// Histogram: prom-client's API over Python's entries in histogram_OWNER.db: per child `_sum`,
// then one non-cumulative `_bucket` count per upper bound (label `le`, Go float spelling). With
// native buckets on (the options of prom-client PR #856 and client_golang), each child also
// keeps a native series in histogram_OWNER.nhdb (src/store/native-series.ts). With
// enableExemplars, the latest exemplar of each classic bucket in this process's exemplar log.
import { floatToGoString, nativeSeries } from '../store';
import type { ExemplarLabels, ExemplarLog, MetricFile, NativeSeries, NativeSeriesOptions } from '../store';
import { checkDataKeys, checkedExemplarLabels, refuseDataLabels } from './exemplar-options';
import type { ExemplarLabelValues, ObserveDataWithExemplar } from './exemplar-options';
import { startTimer } from './metric';
import { ObservedMetric } from './observed-metric';
import type { CollectFunction, MetricChild, MetricConfiguration } from './metric';
import type { ExemplarValue, LabelValues, MetricObjectWithValues, MetricValue, NativeHistogramValue } from './metric-values';
import { checkNativeOptions } from './native-options';
import { checkFinite, describeMetric } from './validation';

export interface HistogramConfiguration<T extends string> extends MetricConfiguration<T> {
  /**
   * Upper bounds, ascending; `+Inf` is added when missing. Default: prom-client's, also with
   * native buckets on. `[]` (native buckets on only): no classic bucket but `+Inf`.
   */
  buckets?: number[];
  /**
   * Turns native buckets on: the finest schema whose buckets grow by at most this factor (> 1;
   * 1.1 gives schema 3, 8 buckets per power of two).
   */
  nativeHistogramBucketFactor?: number;
  /** Populated native buckets per series past which this process lowers its schema; 0: no limit. Default 160. */
  nativeHistogramMaxBucketNumber?: number;
  /** Observations with |v| <= this count in the zero bucket. Default 2^-128; 0 means exactly zero. */
  nativeHistogramZeroThreshold?: number;
  collect?: CollectFunction<Histogram<T>>;
}

/** prom-client's default buckets (Python's differ: a Node user keeps what prom-client gave). */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);

function checkBuckets(name: string, buckets: unknown, native: boolean): Float64Array {
  const given = buckets === undefined ? DEFAULT_BUCKETS : buckets;
  const problem = (what: string): Error => new Error(`${describeMetric('Histogram', name)}: buckets ${what}`);
  if (!Array.isArray(given)) throw problem('must be an array of numbers');
  // Native only: the classic part keeps the one bucket every histogram has, so text scrapers and
  // Python's collector still see its _count and _sum.
  if (native && given.length === 0) return Float64Array.of(Infinity);
  const bounds: number[] = [];
  for (const bound of given as unknown[]) {
    if (typeof bound !== 'number' || Number.isNaN(bound)) throw problem(`must be numbers, got ${JSON.stringify(bound)}`);
    if (bounds.length > 0 && bound <= bounds[bounds.length - 1]) throw problem(`must be in increasing order, got ${given.join(', ')}`);
    bounds.push(bound);
  }
  if (bounds[bounds.length - 1] !== Infinity) bounds.push(Infinity);
  if (bounds.length < 2) {
    throw problem('must hold at least one bound besides +Inf (or be [] with nativeHistogramBucketFactor set, for native buckets only)');
  }
  return Float64Array.from(bounds);
}

/** A child's exemplars: the log, each bucket's key (its exemplar's key) and index in the log. */
interface BucketExemplars {
  log: ExemplarLog;
  keys: readonly string[];
  /** -1 until the bucket's first exemplar. */
  indexes: Int32Array;
}

/** What `histogram.labels(...)` returns; kept and reused per label values. */
export class HistogramChild<T extends string = string> implements MetricChild {
  constructor(
    private readonly histogram: Histogram<T>,
    readonly labels: Readonly<Record<string, string>>,
    private readonly file: MetricFile,
    private readonly bounds: Float64Array,
    private readonly sumSlot: number,
    private readonly bucketSlots: Int32Array,
    private readonly native: NativeSeries | undefined,
    private readonly exemplars: BucketExemplars | undefined,
  ) {}

  observe(value: number): void {
    checkFinite(this.histogram.description, value);
    this.add(value);
  }

  /** An observation already checked, with its exemplar (labels already checked) in its bucket. */
  observeWithExemplar(value: number, exemplarLabels: ExemplarLabels | undefined): void {
    const bucket = this.add(value);
    const exemplars = this.exemplars;
    if (exemplarLabels === undefined || exemplars === undefined) return;
    let index = exemplars.indexes[bucket];
    if (index < 0) index = exemplars.indexes[bucket] = exemplars.log.indexOf(exemplars.keys[bucket]);
    exemplars.log.record(index, exemplarLabels, value, Date.now() / 1000);
  }

  /** Adds to the sum and to the first bucket whose bound holds `value`, returning that bucket. */
  private add(value: number): number {
    const bounds = this.bounds;
    let bucket = 0;
    while (value > bounds[bucket]) bucket++;
    this.file.add(this.sumSlot, value);
    this.file.add(this.bucketSlots[bucket], 1);
    const native = this.native;
    if (native !== undefined) native.observe(value);
    return bucket;
  }

  /** This process's latest exemplar of a bucket, prom-client's get() shape. */
  private exemplarOf(bucket: number): ExemplarValue | undefined {
    const exemplars = this.exemplars;
    const index = exemplars === undefined ? -1 : exemplars.indexes[bucket];
    return index < 0 ? undefined : exemplars?.log.latest(index);
  }

  /** end() observes the seconds elapsed; labels given to end() pick another child. */
  startTimer(): (labels?: LabelValues<T>) => number {
    return startTimer<T>(undefined, (labels, seconds) => {
      if (labels === undefined) this.observe(seconds);
      else this.histogram.observe({ ...this.labels, ...labels } as LabelValues<T>, seconds);
    });
  }

  zero(): void {
    this.file.set(this.sumSlot, 0);
    for (const slot of this.bucketSlots) this.file.set(slot, 0);
    this.native?.zero();
    if (this.exemplars !== undefined) for (const index of this.exemplars.indexes) if (index >= 0) this.exemplars.log.clear(index);
  }

  /** This child's native series in get(), or undefined when native buckets are off. */
  nativeValue(): NativeHistogramValue | undefined {
    return this.native === undefined ? undefined : { labels: { ...this.labels }, ...this.native.snapshot() };
  }

  /**
   * prom-client's get() values of this child: cumulative buckets, +Inf, _sum, _count, with
   * prom-client's `exemplar` fields: a bucket's exemplar or null, and on +Inf with exemplars on
   * undefined when it has none (prom-client reads a key it never set).
   */
  values(name: string): Array<MetricValue<T>> {
    const values: Array<MetricValue<T>> = [];
    let count = 0;
    const last = this.bounds.length - 1;
    for (let i = 0; i < last; i++) {
      count += this.file.get(this.bucketSlots[i]);
      const exemplar = this.exemplarOf(i) ?? null;
      values.push({ labels: { le: this.bounds[i], ...this.labels } as MetricValue<T>['labels'], value: count, metricName: `${name}_bucket`, exemplar });
    }
    count += this.file.get(this.bucketSlots[last]);
    const infExemplar = this.exemplars === undefined ? null : this.exemplarOf(last);
    values.push({ labels: { le: '+Inf', ...this.labels } as MetricValue<T>['labels'], value: count, metricName: `${name}_bucket`, exemplar: infExemplar });
    values.push({ labels: { ...this.labels } as MetricValue<T>['labels'], value: this.file.get(this.sumSlot), metricName: `${name}_sum`, exemplar: undefined });
    values.push({ labels: { ...this.labels } as MetricValue<T>['labels'], value: count, metricName: `${name}_count`, exemplar: undefined });
    return values;
  }
}

export class Histogram<T extends string = string> extends ObservedMetric<T, HistogramChild<T>> {
  readonly type = 'histogram';
  /** Upper bounds, +Inf last. */
  readonly upperBounds: readonly number[];
  private readonly bounds: Float64Array;
  private readonly boundLabels: readonly string[];
  /** Undefined when native buckets are off. */
  private readonly nativeOptions: NativeSeriesOptions | undefined;
  /** Opened with the metric, as its `.db` file is: a new child never opens a file (or throws). */
  private readonly nativeFile: MetricFile | undefined;

  constructor(config: HistogramConfiguration<T>) {
    const nativeOptions = checkNativeOptions(String(config?.name), config ?? {});
    const bounds = checkBuckets(String(config?.name), config?.buckets, nativeOptions !== undefined);
    super('Histogram', config, ['le'], 'histogram');
    this.bounds = bounds;
    this.upperBounds = Object.freeze([...bounds]);
    this.boundLabels = this.upperBounds.map(floatToGoString);
    this.nativeOptions = nativeOptions;
    this.nativeFile = nativeOptions === undefined ? undefined : this.store.nativeHistogramFile();
    this.finishConstruction('histogram');
  }

  protected newChild(labels: Readonly<Record<string, string>>): HistogramChild<T> {
    const keys = [this.keyOf(`${this.name}_sum`, labels)];
    for (const le of this.boundLabels) keys.push(this.keyOf(`${this.name}_bucket`, { ...labels, le }));
    this.checkKeys(keys);
    // The native series first: the collector reads histogram_PID.db before histogram_PID.nhdb, so a
    // scrape that sees the child's classic entries sees its native series too. A label set shown
    // classic-only, even once, would make Prometheus 2.x read the whole family as classic then.
    let native: NativeSeries | undefined;
    if (this.nativeOptions !== undefined && this.nativeFile !== undefined) {
      native = nativeSeries(this.nativeFile, this.familyName(), labels, this.help, this.nativeOptions);
    }
    const [sumSlot, ...bucketSlots] = this.slotsOf(keys);
    const exemplars: BucketExemplars | undefined =
      this.exemplars === undefined ? undefined : { log: this.exemplars, keys: keys.slice(1), indexes: new Int32Array(bucketSlots.length).fill(-1) };
    return new HistogramChild(this, labels, this.file, this.bounds, sumSlot, Int32Array.from(bucketSlots), native, exemplars);
  }

  /** prom-client's get(), plus (native buckets on) `nativeHistograms`: each child's native series. */
  override async get(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    const object = await super.get();
    if (this.nativeOptions === undefined) return object;
    return { ...object, nativeHistograms: this.children.map((child) => child.nativeValue() as NativeHistogramValue) };
  }

  /**
   * observe(0.3), observe({ route: '/' }, 0.3); with enableExemplars, one object instead:
   * observe({ labels, value, exemplarLabels }) (observe(0.3) still observes).
   */
  override observe(value: number): void;
  override observe(labels: LabelValues<T>, value: number): void;
  override observe(data: ObserveDataWithExemplar<T>): void;
  override observe(labels: LabelValues<T> | ObserveDataWithExemplar<T> | number, value?: number): void {
    if (this.exemplars !== undefined && typeof labels === 'object' && labels !== null && value === undefined) {
      this.observeWithExemplar(labels as ObserveDataWithExemplar<T>);
    } else {
      super.observe(labels as LabelValues<T> | number, value);
    }
  }

  /**
   * prom-client's forms: value required; labels {} by default; no exemplarLabels, or `{}`, no
   * exemplar. Everything is checked before the observation is counted.
   */
  private observeWithExemplar(data: ObserveDataWithExemplar<T>): void {
    const { labels, value, exemplarLabels } = data;
    if (labels === undefined && value === undefined && exemplarLabels === undefined) checkDataKeys(this.description, 'observe', data);
    checkFinite(this.description, value);
    const withExemplar = exemplarLabels !== undefined && checkedExemplarLabels(this.description, exemplarLabels) > 0 ? exemplarLabels : undefined;
    if (labels === undefined) {
      this.withoutLabels().observeWithExemplar(value, withExemplar);
    } else {
      if (typeof labels !== 'object' || labels === null) refuseDataLabels(this.description, labels);
      this.childOf(labels).observeWithExemplar(value, withExemplar);
    }
  }

  /**
   * end(labels?) observes the seconds elapsed, for the start labels merged with these; with
   * enableExemplars, end(labels?, exemplarLabels?) also merges the exemplar labels (prom-client's).
   */
  override startTimer(labels?: LabelValues<T>, exemplarLabels?: ExemplarLabelValues): (labels?: LabelValues<T>, exemplarLabels?: ExemplarLabelValues) => number {
    if (this.exemplars === undefined) return super.startTimer(labels);
    return startTimer<T, ExemplarLabelValues>(labels, (merged, seconds, endExemplarLabels) => {
      this.observe({ labels: merged ?? {}, value: seconds, exemplarLabels: { ...exemplarLabels, ...endExemplarLabels } });
    });
  }

  /** Creates the child's entries at zero, or sets an existing child back to zero (prom-client). */
  zero(labels: LabelValues<T>): void {
    this.childOf(labels).zero();
  }

  protected values(): Array<MetricValue<T>> {
    return this.children.flatMap((child) => child.values(this.name));
  }
}

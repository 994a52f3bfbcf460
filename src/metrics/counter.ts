// Counter: prom-client's API over one entry per child in counter_OWNER.db, and with enableExemplars
// the latest exemplar per child in this process's exemplar log (counter_OWNER.exemplars).
import type { ExemplarLabels, ExemplarLog, MetricFile } from '../store';
import { checkDataKeys, checkedExemplarLabels, refuseDataLabels } from './exemplar-options';
import type { IncreaseDataWithExemplar } from './exemplar-options';
import { Metric } from './metric';
import type { CollectFunction, MetricChild, MetricConfiguration } from './metric';
import type { ExemplarValue, LabelValues, MetricValue } from './metric-values';
import { checkIncrement } from './validation';

export interface CounterConfiguration<T extends string> extends MetricConfiguration<T> {
  collect?: CollectFunction<Counter<T>>;
}

/** What `counter.labels(...)` returns; kept and reused per label values. */
export class CounterChild implements MetricChild {
  /** Index of this child's exemplar in the log, -1 until its first exemplar. */
  private exemplarIndex = -1;

  constructor(
    private readonly description: string,
    readonly labels: Readonly<Record<string, string>>,
    private readonly file: MetricFile,
    private readonly slot: number,
    /** With enableExemplars: the log, and the key of this child's entry (its exemplar's key). */
    private readonly exemplars: ExemplarLog | undefined,
    private readonly key: string,
  ) {}

  inc(value?: number): void {
    this.file.add(this.slot, checkIncrement(this.description, value));
  }

  /** An increment already checked, with its exemplar (labels already checked). */
  incWithExemplar(amount: number, exemplarLabels: ExemplarLabels | undefined): void {
    this.file.add(this.slot, amount);
    if (exemplarLabels === undefined || this.exemplars === undefined) return;
    let index = this.exemplarIndex;
    if (index < 0) index = this.exemplarIndex = this.exemplars.indexOf(this.key);
    this.exemplars.record(index, exemplarLabels, amount, Date.now() / 1000);
  }

  get value(): number {
    return this.file.get(this.slot);
  }

  /** This process's latest exemplar of this child, prom-client's get() shape. */
  get exemplar(): ExemplarValue | undefined {
    return this.exemplarIndex < 0 ? undefined : this.exemplars?.latest(this.exemplarIndex);
  }

  zero(): void {
    this.file.set(this.slot, 0);
    if (this.exemplarIndex >= 0) this.exemplars?.clear(this.exemplarIndex);
  }
}

export class Counter<T extends string = string> extends Metric<T, CounterChild> {
  readonly type = 'counter';

  constructor(config: CounterConfiguration<T>) {
    super('Counter', config, [], 'counter');
    this.finishConstruction('counter');
  }

  protected newChild(labels: Readonly<Record<string, string>>): CounterChild {
    const key = this.keyOf(this.name, labels);
    const [slot] = this.slotsOf([key]);
    return new CounterChild(this.description, labels, this.file, slot, this.exemplars, key);
  }

  /**
   * inc(), inc(2), inc({ method: 'GET' }), inc({ method: 'GET' }, 2); with enableExemplars, one
   * object instead: inc({ labels, value, exemplarLabels }) (inc() and inc(2) still count).
   */
  inc(value?: number): void;
  inc(labels: LabelValues<T>, value?: number): void;
  inc(data: IncreaseDataWithExemplar<T>): void;
  inc(labels?: LabelValues<T> | IncreaseDataWithExemplar<T> | number, value?: number): void {
    if (typeof labels === 'object' && labels !== null) {
      if (this.exemplars !== undefined && value === undefined) {
        this.incWithExemplar(labels as IncreaseDataWithExemplar<T>);
        return;
      }
      // Checked before the child exists, so a refused call creates no entry.
      checkIncrement(this.description, value);
      this.childOf(labels as LabelValues<T>).inc(value);
    } else {
      this.withoutLabels().inc(labels);
    }
  }

  /**
   * prom-client's defaults: labels {}, value 1; no exemplarLabels, no exemplar; `{}`, an exemplar
   * without labels. Everything is checked before the count is added.
   */
  private incWithExemplar(data: IncreaseDataWithExemplar<T>): void {
    const { labels, value, exemplarLabels } = data;
    if (labels === undefined && value === undefined && exemplarLabels === undefined) checkDataKeys(this.description, 'inc', data);
    const amount = checkIncrement(this.description, value);
    if (exemplarLabels !== undefined) checkedExemplarLabels(this.description, exemplarLabels);
    if (labels === undefined) {
      this.withoutLabels().incWithExemplar(amount, exemplarLabels);
    } else {
      if (typeof labels !== 'object' || labels === null) refuseDataLabels(this.description, labels);
      this.childOf(labels).incWithExemplar(amount, exemplarLabels);
    }
  }

  protected values(): Array<MetricValue<T>> {
    return this.children.map((child) => {
      const value: MetricValue<T> = { value: child.value, labels: { ...child.labels } as MetricValue<T>['labels'] };
      // prom-client's entry has the key once an exemplar was set.
      const exemplar = child.exemplar;
      if (exemplar !== undefined) value.exemplar = exemplar;
      return value;
    });
  }
}

// Counter: prom-client's API over one entry per child in counter_OWNER.db.
import type { MetricFile } from '../store';
import { Metric, singleValues } from './metric';
import type { CollectFunction, MetricChild, MetricConfiguration } from './metric';
import type { LabelValues, MetricValue } from './metric-values';
import { checkIncrement } from './validation';

export interface CounterConfiguration<T extends string> extends MetricConfiguration<T> {
  collect?: CollectFunction<Counter<T>>;
}

/** What `counter.labels(...)` returns; kept and reused per label values. */
export class CounterChild implements MetricChild {
  constructor(
    private readonly description: string,
    readonly labels: Readonly<Record<string, string>>,
    private readonly file: MetricFile,
    private readonly slot: number,
  ) {}

  inc(value?: number): void {
    this.file.add(this.slot, checkIncrement(this.description, value));
  }

  get value(): number {
    return this.file.get(this.slot);
  }

  zero(): void {
    this.file.set(this.slot, 0);
  }
}

export class Counter<T extends string = string> extends Metric<T, CounterChild> {
  readonly type = 'counter';

  constructor(config: CounterConfiguration<T>) {
    super('Counter', config, []);
    this.finishConstruction('counter');
  }

  protected newChild(labels: Readonly<Record<string, string>>): CounterChild {
    const [slot] = this.slotsOf([this.keyOf(this.name, labels)]);
    return new CounterChild(this.description, labels, this.file, slot);
  }

  /** inc(), inc(2), inc({ method: 'GET' }), inc({ method: 'GET' }, 2). */
  inc(labels?: LabelValues<T> | number, value?: number): void {
    if (typeof labels === 'object' && labels !== null) {
      // Checked before the child exists, so a refused call creates no entry.
      checkIncrement(this.description, value);
      this.childOf(labels).inc(value);
    } else {
      this.withoutLabels().inc(labels);
    }
  }

  protected values(): Array<MetricValue<T>> {
    return singleValues(this.children);
  }
}

// Gauge: prom-client's API over one entry per child in gauge_MODE_OWNER.db; the multiprocess
// mode (Python's multiprocess_mode) says how the collector merges the processes' values.
import { GAUGE_MODES, GAUGE_MODE_TRAITS, isGaugeMode } from '../store';
import type { GaugeMode, MetricFile, ProcessStore } from '../store';
import { gaugeModeOf } from './aggregator';
import { Metric, singleValues, startTimer } from './metric';
import type { CollectFunction, MetricChild, MetricConfiguration } from './metric';
import type { LabelValues, MetricValue } from './metric-values';
import { checkFinite, describeMetric } from './validation';

export interface GaugeConfiguration<T extends string> extends MetricConfiguration<T> {
  collect?: CollectFunction<Gauge<T>>;
  /**
   * How the processes' values merge (Python's option); wins over `aggregator`. Without either,
   * 'livesum' (prom-client's default aggregator, sum, over the live processes).
   */
  multiprocessMode?: GaugeMode;
}

/** Wall-clock seconds, as Python's time.time() writes them next to mostrecent gauges. */
function nowSeconds(): number {
  return Date.now() / 1000;
}

/** What a write of a gauge in `mode` stores beside its value, or undefined for nothing. */
function stampFor(mode: GaugeMode, store: ProcessStore): (() => number) | undefined {
  switch (GAUGE_MODE_TRAITS[mode].stamp) {
    case 'write-time':
      return nowSeconds;
    case 'process-start': {
      const start = store.startSeconds;
      return () => start;
    }
    case 'none':
      return undefined;
  }
}

/** What `gauge.labels(...)` returns; kept and reused per label values. */
export class GaugeChild<T extends string = string> implements MetricChild {
  constructor(
    private readonly gauge: Gauge<T>,
    readonly labels: Readonly<Record<string, string>>,
    private readonly file: MetricFile,
    private readonly slot: number,
    /** Stamped modes: what every write stores beside the value (the time, or the process's start). */
    private readonly stamp: (() => number) | undefined,
  ) {}

  set(value: number): void {
    checkFinite(this.gauge.description, value);
    if (this.stamp !== undefined) this.file.setWithTimestamp(this.slot, value, this.stamp());
    else this.file.set(this.slot, value);
  }

  inc(value?: number): void {
    this.add(value === undefined ? 1 : checkFinite(this.gauge.description, value));
  }

  dec(value?: number): void {
    this.add(value === undefined ? -1 : -checkFinite(this.gauge.description, value));
  }

  setToCurrentTime(): void {
    this.set(nowSeconds());
  }

  /** end() sets the gauge to the seconds elapsed; labels given to end() pick another child. */
  startTimer(): (labels?: LabelValues<T>) => number {
    return startTimer<T>(undefined, (labels, seconds) => {
      if (labels === undefined) this.set(seconds);
      else this.gauge.set({ ...this.labels, ...labels } as LabelValues<T>, seconds);
    });
  }

  get value(): number {
    return this.file.get(this.slot);
  }

  zero(): void {
    if (this.stamp !== undefined) this.file.setWithTimestamp(this.slot, 0, 0);
    else this.file.set(this.slot, 0);
  }

  private add(amount: number): void {
    if (this.stamp !== undefined) this.file.setWithTimestamp(this.slot, this.file.get(this.slot) + amount, this.stamp());
    else this.file.add(this.slot, amount);
  }
}

function checkMode<T extends string>(name: string, config: GaugeConfiguration<T> | undefined): GaugeMode {
  const mode = config?.multiprocessMode;
  if (mode === undefined) return gaugeModeOf(name, config?.aggregator);
  if (!isGaugeMode(mode)) {
    throw new Error(`${describeMetric('Gauge', name)}: invalid multiprocessMode ${JSON.stringify(mode)} (one of ${GAUGE_MODES.join(', ')})`);
  }
  return mode;
}

export class Gauge<T extends string = string> extends Metric<T, GaugeChild<T>> {
  readonly type = 'gauge';
  /** How this gauge's values merge across processes (from multiprocessMode, else from aggregator). */
  readonly multiprocessMode: GaugeMode;

  constructor(config: GaugeConfiguration<T>) {
    const mode = checkMode(String(config?.name), config);
    // The collector adds a `pid` label in these modes; a user label of that name would clash.
    super('Gauge', config, GAUGE_MODE_TRAITS[mode].reduction === 'per-process' ? ['pid'] : []);
    this.multiprocessMode = mode;
    this.finishConstruction('gauge', mode);
  }

  protected newChild(labels: Readonly<Record<string, string>>): GaugeChild<T> {
    const [slot] = this.slotsOf([this.keyOf(this.name, labels)]);
    return new GaugeChild(this, labels, this.file, slot, stampFor(this.multiprocessMode, this.store));
  }

  /** set(5), set({ queue: 'a' }, 5). */
  set(labels: LabelValues<T> | number, value?: number): void {
    if (typeof labels === 'object' && labels !== null) {
      // Checked before the child exists, so a refused call creates no entry.
      const checked = checkFinite(this.description, value);
      this.childOf(labels).set(checked);
    } else {
      this.withoutLabels().set(labels);
    }
  }

  inc(labels?: LabelValues<T> | number, value?: number): void {
    if (typeof labels === 'object' && labels !== null) {
      const checked = value === undefined ? 1 : checkFinite(this.description, value);
      this.childOf(labels).inc(checked);
    } else {
      this.withoutLabels().inc(labels);
    }
  }

  dec(labels?: LabelValues<T> | number, value?: number): void {
    if (typeof labels === 'object' && labels !== null) {
      const checked = value === undefined ? 1 : checkFinite(this.description, value);
      this.childOf(labels).dec(checked);
    } else {
      this.withoutLabels().dec(labels);
    }
  }

  setToCurrentTime(labels?: LabelValues<T>): void {
    if (labels === undefined) this.set(nowSeconds());
    else this.set(labels, nowSeconds());
  }

  /** end(labels?) sets the gauge to the seconds elapsed, for the start labels merged with these. */
  startTimer(labels?: LabelValues<T>): (labels?: LabelValues<T>) => number {
    return startTimer(labels, (merged, seconds) => {
      if (merged === undefined) this.set(seconds);
      else this.set(merged, seconds);
    });
  }

  protected values(): Array<MetricValue<T>> {
    return singleValues(this.children);
  }
}

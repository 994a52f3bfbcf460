// What every metric type shares: options as prom-client takes them, label validation, the cache
// of children by label values (each child keeps its slot numbers), registration and remove/reset.
import { Buffer } from 'node:buffer';
import { MAX_KEY_BYTES, encodeKey, familyNameOf } from '../store';
import type { ExemplarFileType, ExemplarLog, FileType, GaugeMode, MetricFile, MetricType, ProcessStore } from '../store';
import { storeForNewMetric } from './active-store';
import { checkAggregator } from './aggregator';
import { scheduleCollect } from './collect-timer';
import { claimFamilyName } from './family-names';
import type { Aggregator, LabelValue, LabelValues, MetricObjectWithValues, MetricValue } from './metric-values';
import { Registry, globalRegistry } from './registry';
import type { RegistryContentType } from './registry';
import { checkHelp, checkLabelNames, checkMetricName, describeMetric } from './validation';

export type CollectFunction<M> = (this: M) => void | Promise<void>;

export interface MetricConfiguration<T extends string> {
  name: string;
  help: string;
  labelNames?: readonly T[];
  /** Registries to join; default `[register]`, `[]` for none. */
  registers?: Array<Registry<RegistryContentType>>;
  /**
   * prom-client's cluster merge, honoured across processes: a gauge without multiprocessMode
   * merges as it says ('sum' -> livesum, 'min'/'max' -> livemin/livemax, 'average' -> liveaverage,
   * 'first' -> livefirst); 'omit' keeps the metric out of the merged exposition (its values stay in
   * this process, for get()). Counters, histograms and summaries take 'sum' (the default) or 'omit'.
   */
  aggregator?: Aggregator;
  /**
   * Called before this process reads its own values (get(), registry.metrics()). In multiprocess
   * mode the scrape runs in another process, so it is also called every few seconds: see
   * collect-timer.ts.
   */
  collect?: CollectFunction<never>;
  /**
   * Counters and histograms: inc() and observe() take `{ labels, value, exemplarLabels }` and keep
   * the latest exemplar per series (per bucket), exposed in OpenMetrics. As in prom-client, every
   * registry in `registers` must be an OpenMetrics one. Gauges and summaries refuse it.
   */
  enableExemplars?: boolean;
}

/** Children sit in nested maps, one level per label, keyed by label value text. */
type ChildLevel = Map<string, unknown>;

/** What a child of any metric type must offer its parent. */
export interface MetricChild {
  readonly labels: Readonly<Record<string, string>>;
  /** Sets this child's entries to zero (and the mostrecent timestamp to 0). */
  zero(): void;
}

/** get() values of children that hold one entry each (counters, gauges). */
export function singleValues<T extends string>(
  children: ReadonlyArray<{ readonly labels: Readonly<Record<string, string>>; readonly value: number }>,
): Array<MetricValue<T>> {
  return children.map((child) => ({ value: child.value, labels: { ...child.labels } as MetricValue<T>['labels'] }));
}

/**
 * prom-client's timer: end(labels?, extra?) hands the seconds elapsed since the start, the start
 * labels merged with the end labels (undefined when neither was given) and `extra` (a histogram's
 * end exemplar labels) to `record`.
 */
export function startTimer<T extends string, E = never>(
  startLabels: LabelValues<T> | undefined,
  record: (labels: LabelValues<T> | undefined, seconds: number, extra: E | undefined) => void,
): (labels?: LabelValues<T>, extra?: E) => number {
  const start = process.hrtime.bigint();
  return (endLabels, extra) => {
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    record(startLabels === undefined && endLabels === undefined ? undefined : ({ ...startLabels, ...endLabels } as LabelValues<T>), seconds, extra);
    return seconds;
  };
}

/** Whether exemplars are wanted: `enableExemplars` is a boolean, and true only where they can be exposed. */
function checkEnableExemplars(description: string, option: unknown, supported: boolean): boolean {
  if (option === undefined || option === false) return false;
  if (option !== true) throw new TypeError(`${description}: option "enableExemplars" must be a boolean, got ${JSON.stringify(option)}`);
  if (!supported) {
    throw new Error(
      `${description}: exemplars exist only on counters and histograms (OpenMetrics allows them nowhere else); remove enableExemplars`,
    );
  }
  return true;
}

/** prom-client's rule, with the fix: exemplars are rendered by OpenMetrics registries only. */
function checkExemplarRegistries(description: string, registers: ReadonlyArray<Registry<RegistryContentType>>): void {
  const text = registers.findIndex((registry) => registry.contentType === Registry.PROMETHEUS_CONTENT_TYPE);
  if (text < 0) return;
  const which = registers[text] === globalRegistry ? 'the default register' : `registry ${text} of "registers"`;
  throw new TypeError(
    `${description}: exemplars are supported only on OpenMetrics registries, and ${which} renders text 0.0.4, ` +
      'which has no place for them: call setContentType(Registry.OPENMETRICS_CONTENT_TYPE) on it before creating ' +
      'the metric (as prom-client requires)',
  );
}

/** The text of a label value, as Python's str() and prom-client's template strings write it. */
function labelText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return String(value);
  return undefined;
}

export abstract class Metric<T extends string, C extends MetricChild> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly T[];
  readonly aggregator: Aggregator;
  /** `Counter "requests_total"`: how errors name this metric. */
  readonly description: string;
  abstract readonly type: MetricType;
  protected readonly store: ProcessStore;
  protected file!: MetricFile;
  /** This process's latest exemplars of this metric's type, when enableExemplars is on. */
  protected readonly exemplars: ExemplarLog | undefined;
  /** The one child of a metric without labels, created with the metric (as Python does). */
  protected unlabelled: C | undefined;
  /** Children in creation order, for get(). */
  protected readonly children: C[] = [];
  private readonly byValue: ChildLevel = new Map();
  private readonly labelNameSet: ReadonlySet<string>;
  private readonly collectCallback: CollectFunction<never> | undefined;
  private readonly registers: Array<Registry<RegistryContentType>>;

  protected constructor(
    kind: string,
    config: MetricConfiguration<T>,
    reservedLabels: readonly string[],
    /** The exemplar file a metric of this kind keeps exemplars in; none for gauges and summaries. */
    exemplarType?: ExemplarFileType,
  ) {
    if (config === null || typeof config !== 'object') throw new TypeError(`${kind}: constructor expected a config object`);
    this.name = checkMetricName(kind, config.name);
    this.description = describeMetric(kind, this.name);
    this.help = checkHelp(kind, this.name, config.help);
    this.labelNames = checkLabelNames(kind, this.name, config.labelNames, reservedLabels) as readonly T[];
    this.labelNameSet = new Set(this.labelNames);
    this.aggregator = checkAggregator(kind, this.name, config.aggregator);
    if (config.collect !== undefined && typeof config.collect !== 'function') {
      throw new TypeError(`${this.description}: option "collect" must be a function`);
    }
    this.collectCallback = config.collect;
    const exemplarsWanted = checkEnableExemplars(this.description, config.enableExemplars, exemplarType !== undefined);
    this.registers = config.registers ?? [globalRegistry];
    if (!Array.isArray(this.registers)) throw new TypeError(`${this.description}: option "registers" must be an array`);
    for (const registry of this.registers) registry.checkCanRegister(this);
    if (exemplarsWanted) checkExemplarRegistries(this.description, this.registers);
    // An omitted metric writes no file: its values live in this process only, as get() shows them.
    this.store = storeForNewMetric(this.aggregator === 'omit');
    this.exemplars = exemplarsWanted && exemplarType !== undefined ? this.store.exemplars(exemplarType) : undefined;
  }

  /** The family name in the file keys (a counter's name without `_total`). */
  familyName(): string {
    return familyNameOf(this.name, this.type);
  }

  /**
   * Second half of construction, run by each subclass once its own fields are set: claims the
   * name, opens the file, creates the unlabelled child's entries, joins the registries and, in
   * multiprocess mode, schedules the collect callback.
   */
  protected finishConstruction(fileType: FileType, mode?: GaugeMode): void {
    const kind = mode === undefined ? this.type : `${this.type} in mode ${mode}`;
    claimFamilyName(this.store, this.familyName(), kind, this.description);
    this.file = this.store.file(fileType, mode);
    if (this.labelNames.length === 0) {
      this.unlabelled = this.newChild({});
      this.children.push(this.unlabelled);
    }
    for (const registry of this.registers) registry.registerMetric(this);
    if (this.collectCallback !== undefined && this.store.dir !== undefined) scheduleCollect(this);
  }

  /** A new child with its entries created (validated labels in, slot numbers kept). */
  protected abstract newChild(labels: Readonly<Record<string, string>>): C;

  /** The samples of this process, prom-client's get() values. */
  protected abstract values(): Array<MetricValue<T>>;

  /** The key of one sample of this metric. */
  protected keyOf(sampleName: string, labels: Readonly<Record<string, string>>): string {
    return encodeKey(this.familyName(), sampleName, labels, this.help);
  }

  /**
   * Slots of `keys`, created in order. All keys are checked first so that a refused key leaves
   * no entry of the child behind.
   */
  protected slotsOf(keys: readonly string[]): number[] {
    this.checkKeys(keys);
    return keys.map((key) => this.file.slotOf(key));
  }

  /** Throws when a key is too long for the format, before anything is written. */
  protected checkKeys(keys: readonly string[]): void {
    for (const key of keys) {
      if (Buffer.byteLength(key) > MAX_KEY_BYTES) {
        throw new Error(`${this.description}: label values too long (a key may hold ${MAX_KEY_BYTES} bytes)`);
      }
    }
  }

  /** Runs the collect callback, if any, the way prom-client's get() does. */
  async runCollect(): Promise<void> {
    if (this.collectCallback !== undefined) await this.collectCallback.call(this as never);
  }

  async get(): Promise<MetricObjectWithValues<MetricValue<T>>> {
    await this.runCollect();
    return { help: this.help, name: this.name, type: this.type, values: this.values(), aggregator: this.aggregator };
  }

  /** The child for label values in labelNames order, or for a labels object. */
  labels(...args: LabelValue[] | [LabelValues<T>]): C {
    const first = args[0];
    if (args.length === 1 && typeof first === 'object' && first !== null) return this.childOf(first);
    return this.childAt(args as readonly unknown[]);
  }

  /**
   * Stops reporting one child: its entries are set to zero (the file format cannot delete an
   * entry) and it leaves get(); labels() later starts it again from zero.
   */
  remove(...args: LabelValue[] | [LabelValues<T>]): void {
    if (this.labelNames.length === 0) {
      throw new Error(`${this.description}: remove() needs label values, and this metric has no labels (use reset())`);
    }
    const first = args[0];
    const labels =
      args.length === 1 && typeof first === 'object' && first !== null
        ? this.labelsFromObject(first as Record<string, unknown>)
        : this.labelsFromValues(args as readonly unknown[]);
    const child = this.findChild(labels);
    if (child === undefined) return;
    child.zero();
    this.forget(child);
  }

  /** Zeroes every child of this process; labelled children leave get() as in prom-client. */
  reset(): void {
    for (const child of this.children) child.zero();
    this.children.length = 0;
    this.byValue.clear();
    if (this.unlabelled !== undefined) this.children.push(this.unlabelled);
  }

  /** The unlabelled child, or an error saying which labels are needed. */
  protected withoutLabels(): C {
    if (this.unlabelled === undefined) {
      throw new Error(`${this.description}: labels ${this.labelNames.map((n) => `"${n}"`).join(', ')} are missing`);
    }
    return this.unlabelled;
  }

  /** Hot path for `inc({ ... })` and `labels({ ... })`: no allocation once the child exists. */
  protected childOf(labels: Readonly<Record<string, unknown>>): C {
    const names = this.labelNames;
    if (names.length === 0) return this.childFromLabels(this.labelsFromObject(labels));
    let node: unknown = this.byValue;
    for (let i = 0; i < names.length; i++) {
      const text = labelText(labels[names[i]]);
      node = text === undefined ? undefined : (node as ChildLevel).get(text);
      if (node === undefined) return this.childFromLabels(this.labelsFromObject(labels));
    }
    // The walk proved every label name present; an unknown extra one must still be refused, and
    // then the object has more own keys than there are names. Object.keys of a small literal
    // costs about nothing once optimized (V8 serves it from the shape's enum cache), where a
    // for-in loop over it cost 27 of the 60 ns of a call.
    if (Object.keys(labels).length !== names.length) this.labelsFromObject(labels); // throws, naming it
    return node as C;
  }

  /** Hot path for `labels('GET', '200')`. */
  private childAt(values: readonly unknown[]): C {
    const count = this.labelNames.length;
    if (values.length !== count || count === 0) return this.childFromLabels(this.labelsFromValues(values));
    let node: unknown = this.byValue;
    for (let i = 0; i < count; i++) {
      const text = labelText(values[i]);
      node = text === undefined ? undefined : (node as ChildLevel).get(text);
      if (node === undefined) return this.childFromLabels(this.labelsFromValues(values));
    }
    return node as C;
  }

  /** Validated labels from positional values; throws naming the problem. */
  private labelsFromValues(values: readonly unknown[]): Record<string, string> {
    const names = this.labelNames;
    if (values.length !== names.length) {
      throw new Error(
        `${this.description}: got ${values.length} label value(s) (${values.map((v) => JSON.stringify(v)).join(', ')}) ` +
          `for ${names.length} label name(s) (${names.join(', ')})`,
      );
    }
    const labels: Record<string, string> = {};
    for (let i = 0; i < names.length; i++) labels[names[i]] = this.checkedText(names[i], values[i]);
    return labels;
  }

  /** Validated labels from an object: every label present, no unknown one. */
  private labelsFromObject(given: Readonly<Record<string, unknown>>): Record<string, string> {
    for (const name of Object.keys(given)) {
      if (!this.labelNameSet.has(name)) {
        throw new Error(`${this.description}: label "${name}" is not one of its label names (${this.labelNames.join(', ')})`);
      }
    }
    const labels: Record<string, string> = {};
    for (const name of this.labelNames) labels[name] = this.checkedText(name, given[name]);
    return labels;
  }

  private checkedText(name: string, value: unknown): string {
    if (value === undefined) throw new Error(`${this.description}: label "${name}" is missing`);
    const text = labelText(value);
    if (text === undefined) {
      throw new TypeError(`${this.description}: label "${name}" must be a string or a number, got ${typeof value}`);
    }
    return text;
  }

  private findChild(labels: Readonly<Record<string, string>>): C | undefined {
    let node: unknown = this.byValue;
    for (const name of this.labelNames) {
      node = (node as ChildLevel).get(labels[name]);
      if (node === undefined) return undefined;
    }
    return node as C;
  }

  /** The cached child for validated labels, created (entries and all) when new. */
  private childFromLabels(labels: Readonly<Record<string, string>>): C {
    if (this.unlabelled !== undefined) return this.unlabelled;
    const found = this.findChild(labels);
    if (found !== undefined) return found;
    const child = this.newChild(labels);
    let level = this.byValue;
    const names = this.labelNames;
    for (let i = 0; i < names.length - 1; i++) {
      let next = level.get(labels[names[i]]) as ChildLevel | undefined;
      if (next === undefined) {
        next = new Map();
        level.set(labels[names[i]], next);
      }
      level = next;
    }
    level.set(labels[names[names.length - 1]], child);
    this.children.push(child);
    return child;
  }

  /** Drops a child from the cache and get(); its entries stay in the file. */
  protected forget(child: C): void {
    const names = this.labelNames;
    const path: ChildLevel[] = [this.byValue];
    for (let i = 0; i < names.length - 1; i++) path.push(path[i].get(child.labels[names[i]]) as ChildLevel);
    for (let i = names.length - 1; i >= 0; i--) {
      path[i].delete(child.labels[names[i]]);
      if (path[i].size > 0) break;
    }
    this.children.splice(this.children.indexOf(child), 1);
  }
}

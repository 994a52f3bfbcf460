// Mirrors prom-client registries into this process's file store: one pass refreshes the metrics
// that compute their values (default metrics) and writes every series; nothing throws into the app.

import type { GaugeMode, ProcessStore } from '../store';
import { MetricMirror } from './metric-mirror';
import { isMetricType } from '../store';
import type { MetricType } from '../store';
import { isObject, registryDefaultLabels } from './registry-shape';
import type { LabelValues, MetricLike, RegistryLike } from './registry-shape';
import { counterLayout, gaugeLayout, histogramLayout, summaryLayout } from './series-layouts';
import { SummarySketchMirror } from './summary-sketch-mirror';
import type { SeriesLayout } from './series-layouts';

/** How a mirrored gauge merges (from its name and prom-client aggregator), or 'omit': not mirrored. */
export type GaugeModeResolver = (name: string, aggregator: unknown) => GaugeMode | 'omit';

/** What a pass asks of each mirrored metric. */
interface Mirror {
  /** Writes the metric's current values; `now` in wall-clock seconds. */
  write(now: number): void;
}

/** What the mirror knows of one metric name. */
interface MirroredName {
  metric: MetricLike;
  /** Its registry's default labels when the metric was first seen. */
  defaultLabels: Record<string, string>;
  /** Built at the first pass that sees the metric; stays undefined when it cannot be mirrored. */
  mirror: Mirror | undefined;
  settled: boolean;
  seenInPass: number;
}

/** Everything that reads the registries: used by mirrorRegistry() and the preload. */
export class RegistryMirror {
  private readonly names = new Map<string, MirroredName>();
  private readonly labelsSignature = new Map<RegistryLike, string>();
  private readonly warnedNames = new Set<string>();
  private passNumber = 0;
  private passRunning = false;
  private store: ProcessStore | undefined;

  constructor(
    /** The registries to mirror, asked at every pass (the preload finds the app's lazily). */
    private readonly registries: () => readonly RegistryLike[],
    /**
     * Called at the first pass or flush, not before: a PM2 cluster worker's preload runs before
     * PM2 has put PROMETHEUS_MULTIPROC_DIR in process.env, and the process store reads it once.
     */
    private readonly openStore: () => ProcessStore,
    private readonly gaugeModeOf: GaugeModeResolver,
    private readonly warn: (message: string) => void,
  ) {}

  async pass(): Promise<void> {
    if (this.passRunning) return;
    this.passRunning = true;
    try {
      if (!this.storeIsOpen()) return;
      const seen = this.namesOfThisPass();
      await Promise.all(seen.map((entry) => this.refresh(entry)));
      this.writeAll();
    } catch (error) {
      this.warnOnce('(pass)', `prom-client mirror: a pass failed: ${describe(error)}`);
    } finally {
      this.passRunning = false;
    }
  }

  /**
   * Writes every metric now, synchronously (at exit no promise settles): metrics new since the
   * last pass are included when their type shows without get(), as it does for prom-client's own.
   */
  flush(): void {
    try {
      if (!this.storeIsOpen()) return;
      for (const entry of this.namesOfThisPass()) {
        const type = typeWithoutGet(entry.metric);
        if (!entry.settled && type !== undefined) this.settle(entry, type);
      }
      this.writeAll();
    } catch (error) {
      this.warnOnce('(flush)', `prom-client mirror: a flush failed: ${describe(error)}`);
    }
  }

  /** Opens the store once; when that fails, mirroring stays off after one warning. */
  private storeIsOpen(): boolean {
    if (this.store !== undefined) return true;
    try {
      this.store = this.openStore();
      return true;
    } catch (error) {
      this.warnOnce('(store)', `prom-client mirror: mirroring is off: ${describe(error)}`);
      return false;
    }
  }

  private writeAll(): void {
    const now = Date.now() / 1000;
    for (const [name, entry] of this.names) {
      if (entry.mirror === undefined) continue;
      try {
        entry.mirror.write(now);
      } catch (error) {
        entry.mirror = undefined;
        this.refuse(name, `writing it failed: ${describe(error)}`);
      }
    }
    // The pass is the delay already: the exemplars it copied go to their files at once.
    this.store?.flushExemplars();
  }

  /**
   * The metrics of this pass, with the name table brought up to date: new names added, names whose
   * metric was replaced or removed dropped, a name seen in two registries kept for the first only.
   * A change of a registry's default labels rebuilds its metrics' keys.
   */
  private namesOfThisPass(): MirroredName[] {
    const pass = ++this.passNumber;
    const seen: MirroredName[] = [];
    for (const registry of this.registries()) {
      const defaultLabels = registryDefaultLabels(registry);
      const signature = JSON.stringify(defaultLabels);
      const labelsChanged = this.labelsSignature.get(registry) !== signature;
      this.labelsSignature.set(registry, signature);
      for (const metric of registry.getMetricsAsArray()) {
        if (!isObject(metric) || typeof metric.name !== 'string') continue;
        const name = metric.name;
        let entry = this.names.get(name);
        if (entry !== undefined && entry.seenInPass === pass) {
          if (entry.metric !== metric) {
            this.warnOnce(name, `prom-client metric "${name}" of a second registry is not mirrored: the first has one of the same name`);
          }
          continue;
        }
        if (entry === undefined || entry.metric !== metric || labelsChanged) {
          entry = { metric, defaultLabels, mirror: undefined, settled: false, seenInPass: pass };
          this.names.set(name, entry);
        }
        entry.seenInPass = pass;
        seen.push(entry);
      }
    }
    for (const [name, entry] of this.names) if (entry.seenInPass !== pass) this.names.delete(name);
    return seen;
  }

  /**
   * Runs a metric's collect() (default metrics compute their values there), then builds the
   * mirror of a metric new in this pass. A failing collect() leaves the values it had.
   */
  private async refresh(entry: MirroredName): Promise<void> {
    const { metric } = entry;
    const name = metric.name as string;
    if (typeof metric.collect === 'function') {
      try {
        await (metric.collect as () => unknown).call(metric);
      } catch (error) {
        this.warnOnce(name, `prom-client metric "${name}": its collect() failed, its last values are mirrored: ${describe(error)}`);
      }
    }
    if (!entry.settled) this.settle(entry, typeWithoutGet(metric) ?? (await typeFromGet(metric)));
  }

  /** Builds the mirror of a metric seen for the first time, or refuses it with one warning. */
  private settle(entry: MirroredName, type: MetricType | undefined): void {
    entry.settled = true;
    const name = entry.metric.name as string;
    try {
      entry.mirror = this.mirrorFor(entry.metric, name, type, entry.defaultLabels);
    } catch (error) {
      this.refuse(name, describe(error));
    }
  }

  private mirrorFor(
    metric: MetricLike,
    name: string,
    type: MetricType | undefined,
    defaultLabels: Record<string, string>,
  ): Mirror | undefined {
    if (type === undefined) {
      this.refuse(name, 'its type is none of counter, gauge, histogram, summary');
      return undefined;
    }
    const help = typeof metric.help === 'string' ? metric.help : '';
    const layout = this.layoutFor(metric, name, help, type);
    if (layout === undefined) return undefined;
    const store = this.store as ProcessStore;
    const refuse = (problem: string): void => this.refuse(name, problem);
    const file = store.file(layout.fileType, layout.gaugeMode);
    // Opened with the metric, as its .db file is: a directory gone refuses the metric here, not
    // a later pass (which would drop the mirror of its counts with it).
    const exemplarType = metric.enableExemplars === true ? layout.exemplarType : undefined;
    const exemplarLog = exemplarType === undefined ? undefined : store.exemplars(exemplarType);
    const values = new MetricMirror(metric, layout, file, defaultLabels, refuse, exemplarLog);
    if (type !== 'summary') return values;
    // A summary's quantiles go to the sketch file, where they merge with every other process's.
    const quantiles = new SummarySketchMirror(metric, store.sketchFile(), name, help, defaultLabels, refuse);
    return {
      write(now) {
        values.write(now);
        quantiles.write(now);
      },
    };
  }

  private layoutFor(
    metric: MetricLike,
    name: string,
    help: string,
    type: MetricType,
  ): SeriesLayout<{ labels: LabelValues }> | undefined {
    const aggregator = metric.aggregator;
    if (type !== 'gauge') {
      // prom-client's cluster mode leaves out a metric with aggregator 'omit'; so does the mirror.
      if (aggregator === 'omit') return undefined;
      if (aggregator !== undefined && aggregator !== 'sum') {
        this.warnOnce(name, `prom-client ${type} "${name}": aggregator ${JSON.stringify(aggregator)} has no meaning across processes, it is summed`);
      }
    }
    switch (type) {
      case 'counter':
        return counterLayout(name, help);
      case 'gauge': {
        const mode = this.gaugeModeOf(name, aggregator);
        return mode === 'omit' ? undefined : gaugeLayout(name, help, mode, (this.store as ProcessStore).startSeconds);
      }
      case 'summary':
        return summaryLayout(name, help);
      case 'histogram': {
        const bounds = metric.upperBounds;
        if (!Array.isArray(bounds) || !bounds.every((bound) => typeof bound === 'number')) {
          this.refuse(name, 'its bucket bounds (upperBounds) are not a list of numbers');
          return undefined;
        }
        return histogramLayout(name, help, bounds as number[]);
      }
    }
  }

  private refuse(name: string, problem: string): void {
    this.warnOnce(name, `prom-client metric "${name}" cannot be mirrored in full: ${problem}`);
  }

  /** One warning per metric name for the life of the process, however many passes fail. */
  private warnOnce(name: string, message: string): void {
    if (this.warnedNames.has(name)) return;
    this.warnedNames.add(name);
    this.warn(message);
  }
}

/**
 * prom-client 15 sets `type` on the metric; 11-14 show it by their methods and fields: only a
 * gauge has set(), a histogram upperBounds, a summary percentiles, and a counter is left with inc().
 */
function typeWithoutGet(metric: MetricLike): MetricType | undefined {
  if (isMetricType(metric.type)) return metric.type;
  const fields = metric as Record<string, unknown>;
  if (typeof fields.set === 'function') return 'gauge';
  if (Array.isArray(fields.upperBounds)) return 'histogram';
  if (Array.isArray(fields.percentiles)) return 'summary';
  if (typeof fields.inc === 'function') return 'counter';
  return undefined;
}

/** The type a metric reports from get(), for metric objects that are not prom-client's own. */
async function typeFromGet(metric: MetricLike): Promise<MetricType | undefined> {
  if (typeof metric.get !== 'function') return undefined;
  try {
    const snapshot: unknown = await (metric.get as () => unknown).call(metric);
    return isObject(snapshot) && isMetricType(snapshot.type) ? snapshot.type : undefined;
  } catch {
    return undefined;
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// prom-client's Registry over this library's metrics (and, in memory mode, prom-client's default
// metric objects). In memory mode metrics() renders this process's values from each metric's get();
// in multiprocess mode it renders the merged directory through the collector.
import {
  DirectoryCollector,
  LabelExtension,
  OPENMETRICS_CONTENT_TYPE,
  PROTOBUF_CONTENT_TYPE,
  TEXT_CONTENT_TYPE,
  renderOpenMetrics,
  renderProtobuf,
  renderText,
} from '../collect';
import type { MetricFamily, MetricType, OpenMetricsContentType, ProtobufContentType, Sample, SampleExemplar, TextContentType } from '../collect';
import { checkExemplarLabels, familyNameOf } from '../store';
import { activeStore } from './active-store';
import type { ExemplarValue, MetricObjectWithValues, MetricValue } from './metric-values';
import { describeMetric } from './validation';

export type PrometheusContentType = TextContentType;
export type { OpenMetricsContentType, ProtobufContentType };
export type RegistryContentType = PrometheusContentType | OpenMetricsContentType | ProtobufContentType;
/** What metrics() gives in a content type: bytes for protobuf (a Buffer), else text. */
export type RegistryOutput<ContentType extends RegistryContentType> = ContentType extends ProtobufContentType ? Uint8Array : string;

/**
 * What a registry holds: any metric of this library, or in memory mode one of prom-client's own
 * metric objects (collectDefaultMetrics() registers prom-client's default metrics as they are).
 * Both hand out prom-client's get() shape, which memory mode renders.
 */
export interface RegisteredMetric {
  readonly name: string;
  /** Set by prom-client's constructors only after they have registered the metric. */
  readonly type: MetricType;
  /** This library's metrics: how errors name them (`Counter "x_total"`). */
  readonly description?: string;
  get(): Promise<MetricObjectWithValues<MetricValue<string>>>;
  reset(): void;
  /**
   * This library's metrics only: runs the collect callback, so that in multiprocess mode the
   * files hold fresh values before they are merged. A metric without it has no files.
   */
  runCollect?(): Promise<void>;
  /** Values fixed when it was made (AggregatorRegistry.aggregate's): rendered from get() in either mode. */
  readonly fixedValues?: boolean;
}

/** `Counter "x_total"`: a prom-client metric is named by its class, as this library's name themselves. */
function describeRegistered(metric: RegisteredMetric): string {
  return metric.description ?? describeMetric(metric.constructor.name, metric.name);
}

/** A metric's get() as a collector family, so one renderer serves both modes. */
async function familyOf(metric: RegisteredMetric): Promise<MetricFamily> {
  const object = await metric.get();
  const samples: Sample[] = object.values.map((value) => {
    const sample: Sample = { name: value.metricName ?? object.name, labels: stringLabels(value.labels), value: value.value };
    const exemplar = sampleExemplarOf(value.exemplar);
    if (exemplar !== undefined) sample.exemplar = exemplar;
    return sample;
  });
  const family: MetricFamily = { name: familyNameOf(object.name, object.type), help: object.help, type: object.type, samples };
  if (object.nativeHistograms !== undefined) {
    family.nativeHistograms = object.nativeHistograms.map(({ labels, ...histogram }) => ({ labels: stringLabels(labels), histogram }));
  }
  return family;
}

function stringLabels(labels: Readonly<Record<string, string | number>>): Record<string, string> {
  const text: Record<string, string> = {};
  for (const [name, value] of Object.entries(labels)) text[name] = String(value);
  return text;
}

/**
 * A get() exemplar as the renderer takes it, or none when it could not be exposed: prom-client's
 * own metrics (memory mode) leave a placeholder without a timestamp after a refused call, and
 * accept label names that would make Prometheus refuse the whole scrape.
 */
function sampleExemplarOf(exemplar: ExemplarValue | null | undefined): SampleExemplar | undefined {
  if (exemplar === null || exemplar === undefined || typeof exemplar !== 'object') return undefined;
  const { labelSet, value, timestamp } = exemplar;
  if (!Number.isFinite(value) || !(timestamp > 0 && Number.isFinite(timestamp)) || checkExemplarLabels(labelSet) < 0) return undefined;
  const labels: Record<string, string> = {};
  for (const name in labelSet) labels[name] = String(labelSet[name]);
  return { labels, value, timestamp };
}

export interface RegistryOptions {
  /**
   * Multiprocess mode: metrics() renders every family found in the directory, not only those of
   * the metrics registered here (as Python's MultiProcessCollector does). The default `register`
   * is made with this set.
   */
  wholeDirectory?: boolean;
}

export class Registry<ContentType extends RegistryContentType = PrometheusContentType> {
  static readonly PROMETHEUS_CONTENT_TYPE: PrometheusContentType = TEXT_CONTENT_TYPE;
  static readonly OPENMETRICS_CONTENT_TYPE: OpenMetricsContentType = OPENMETRICS_CONTENT_TYPE;
  /** prom-client PR #856's name: metrics() then gives delimited MetricFamily messages (a Buffer). */
  static readonly PROMETHEUS_PROTOBUF_CONTENT_TYPE: ProtobufContentType = PROTOBUF_CONTENT_TYPE;

  private metricsByName = new Map<string, RegisteredMetric>();
  private defaultLabels: Record<string, string> = {};
  /** Adds the default labels in metrics(); made again when they change. */
  private defaultLabelling: LabelExtension | undefined;
  private content: ContentType;
  /** One warm collector per directory: it keeps keys between scrapes. */
  private readonly collectors = new Map<string, DirectoryCollector>();

  private readonly wholeDirectory: boolean;

  constructor(contentType: ContentType = Registry.PROMETHEUS_CONTENT_TYPE as ContentType, options: RegistryOptions = {}) {
    this.content = Registry.checkContentType(contentType);
    this.wholeDirectory = options.wholeDirectory === true;
  }

  private static checkContentType<C extends RegistryContentType>(contentType: C): C {
    if (
      contentType !== Registry.PROMETHEUS_CONTENT_TYPE &&
      contentType !== Registry.OPENMETRICS_CONTENT_TYPE &&
      contentType !== Registry.PROMETHEUS_PROTOBUF_CONTENT_TYPE
    ) {
      throw new TypeError(
        `Content type ${String(contentType)} is unsupported: use Registry.PROMETHEUS_CONTENT_TYPE, ` +
          'Registry.OPENMETRICS_CONTENT_TYPE or Registry.PROMETHEUS_PROTOBUF_CONTENT_TYPE',
      );
    }
    return contentType;
  }

  get contentType(): ContentType {
    return this.content;
  }

  setContentType(contentType: ContentType): void {
    this.content = Registry.checkContentType(contentType);
  }

  /** Throws when another metric already holds this name here (called before anything is written). */
  checkCanRegister(metric: RegisteredMetric): void {
    const existing = this.metricsByName.get(metric.name);
    if (existing !== undefined && existing !== metric) {
      throw new Error(
        `${describeRegistered(metric)}: a metric with the name ${metric.name} has already been registered (a ${existing.type})`,
      );
    }
  }

  registerMetric(metric: RegisteredMetric): void {
    this.checkCanRegister(metric);
    if (metric.runCollect === undefined && metric.fixedValues !== true && activeStore()?.dir !== undefined) {
      throw new Error(
        `${describeRegistered(metric)}: a prom-client metric cannot join a registry in multiprocess mode (its values ` +
          "stay in this process, out of the metric files); create it with pm2-prom-multiproc's classes, " +
          "or mirror prom-client's registry into the directory with mirrorRegistry()",
      );
    }
    this.metricsByName.set(metric.name, metric);
  }

  getMetricsAsArray(): RegisteredMetric[] {
    return [...this.metricsByName.values()];
  }

  getSingleMetric(name: string): RegisteredMetric | undefined {
    return this.metricsByName.get(name);
  }

  removeSingleMetric(name: string): void {
    this.metricsByName.delete(name);
  }

  /** Forgets every metric (their entries stay in the files) and the default labels. */
  clear(): void {
    this.metricsByName = new Map();
    this.defaultLabels = {};
    this.defaultLabelling = undefined;
  }

  /** reset() on every metric: this process's entries go to zero. */
  resetMetrics(): void {
    for (const metric of this.metricsByName.values()) metric.reset();
  }

  /** Labels added to every sample that lacks them, in metrics() and getMetricsAsJSON(). */
  setDefaultLabels(labels: Record<string, string | number>): void {
    this.defaultLabels = Object.fromEntries(Object.entries(labels).map(([name, value]) => [name, String(value)]));
    this.defaultLabelling = Object.keys(this.defaultLabels).length === 0 ? undefined : new LabelExtension(this.defaultLabels, 'fill');
  }

  /** get() of every metric: the values of this process (in either mode). */
  async getMetricsAsJSON(): Promise<Array<MetricObjectWithValues<MetricValue<string>>>> {
    const objects = await Promise.all(this.getMetricsAsArray().map((metric) => metric.get()));
    const defaults = Object.entries(this.defaultLabels);
    if (defaults.length === 0) return objects;
    for (const object of objects) {
      for (const value of object.values) {
        const labels = { ...value.labels };
        for (const [name, labelValue] of defaults) labels[name] ??= labelValue;
        value.labels = labels;
      }
    }
    return objects;
  }

  /**
   * The exposition in this registry's content type. Memory mode: this process's metrics.
   * Multiprocess mode: every process's files merged (the default `register` shows the whole
   * directory, another registry only the families of its own metrics).
   */
  async metrics(): Promise<RegistryOutput<ContentType>> {
    return this.metricsAs(this.content);
  }

  /** metrics() in another content type, this registry's own unchanged (a Pushgateway takes text only). */
  async metricsAs<As extends RegistryContentType>(contentType: As): Promise<RegistryOutput<As>> {
    return this.render(await this.families(this.getMetricsAsArray(), this.wholeDirectory), Registry.checkContentType(contentType));
  }

  /** One metric's exposition, in this registry's content type (bytes for protobuf, like metrics()). */
  async getSingleMetricAsString(name: string): Promise<RegistryOutput<ContentType>> {
    const metric = this.metricsByName.get(name);
    if (metric === undefined) throw new Error(`No metric named "${name}" is registered`);
    return this.render(await this.families([metric], false), this.content);
  }

  /**
   * Multiprocess mode: every family of `dir` merged, in this registry's content type with its
   * default labels, whatever metrics are registered here (AggregatorRegistry.clusterMetrics()).
   */
  protected directoryMetrics(dir: string): RegistryOutput<ContentType> {
    return this.render(this.mergedDirectory(dir), this.content);
  }

  /** Families of `metrics`; in multiprocess mode merged from the directory (all of it on request). */
  private async families(metrics: RegisteredMetric[], wholeDirectory: boolean): Promise<MetricFamily[]> {
    const dir = activeStore()?.dir;
    if (dir === undefined) return Promise.all(metrics.map(familyOf));
    const fixed = await Promise.all(metrics.filter((metric) => metric.fixedValues === true).map(familyOf));
    const inFiles = metrics.filter((metric) => metric.fixedValues !== true);
    if (inFiles.length === 0 && !wholeDirectory) return fixed;
    await Promise.all(inFiles.map((metric) => metric.runCollect?.()));
    const merged = this.mergedDirectory(dir);
    if (wholeDirectory) return [...merged, ...fixed];
    const wanted = new Set(inFiles.map((metric) => familyNameOf(metric.name, metric.type)));
    return [...merged.filter((family) => wanted.has(family.name)), ...fixed];
  }

  /** Every family of `dir` merged, with this process's latest exemplars, not those of the last flush. */
  private mergedDirectory(dir: string): MetricFamily[] {
    activeStore()?.flushExemplars();
    return this.collectorFor(dir).collect();
  }

  private collectorFor(dir: string): DirectoryCollector {
    let collector = this.collectors.get(dir);
    if (collector === undefined) {
      collector = new DirectoryCollector(dir);
      this.collectors.set(dir, collector);
    }
    return collector;
  }

  private render<As extends RegistryContentType>(families: MetricFamily[], contentType: As): RegistryOutput<As> {
    const labelled = this.defaultLabelling === undefined ? families : this.defaultLabelling.families(families);
    if (contentType === Registry.PROMETHEUS_PROTOBUF_CONTENT_TYPE) {
      const bytes = renderProtobuf(labelled);
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as Uint8Array as RegistryOutput<As>;
    }
    return (contentType === Registry.OPENMETRICS_CONTENT_TYPE ? renderOpenMetrics(labelled) : renderText(labelled)) as RegistryOutput<As>;
  }

  /** A registry holding the metrics of all given registries (same content type required). */
  static merge(registries: Registry<RegistryContentType>[]): Registry<RegistryContentType> {
    const contentType = registries[0].contentType;
    const other = registries.findIndex((registry) => registry.contentType !== contentType);
    if (other >= 0) {
      throw new Error(
        `Registry.merge: registry ${other} has content type "${registries[other].contentType}" but registry 0 has ` +
          `"${contentType}"; give them one content type (setContentType) before merging them`,
      );
    }
    const merged = new Registry<RegistryContentType>(contentType);
    for (const registry of registries) for (const metric of registry.getMetricsAsArray()) merged.registerMetric(metric);
    return merged;
  }
}

/**
 * The default registry metrics join unless told otherwise (prom-client's `register`). Typed for
 * both text content types, so that `register.setContentType(Registry.OPENMETRICS_CONTENT_TYPE)`,
 * which exemplars need, compiles (prom-client's typing refuses it), and metrics() stays a string.
 */
export const globalRegistry = new Registry<PrometheusContentType | OpenMetricsContentType>(Registry.PROMETHEUS_CONTENT_TYPE, { wholeDirectory: true });

/** Content types, as prom-client exports them. */
export const prometheusContentType: PrometheusContentType = TEXT_CONTENT_TYPE;
export const openMetricsContentType: OpenMetricsContentType = OPENMETRICS_CONTENT_TYPE;

// What the mirror reads from an app's prom-client registry, typed structurally so that any
// prom-client from 11 to 15 (the app's own copy, not ours) fits, and checked before it is trusted.

/** A label set as prom-client keeps it: values may be numbers. */
export type LabelValues = Readonly<Record<string, string | number>>;

/** One series of a counter or gauge in a metric's `hashMap`. */
export interface ValueEntry {
  labels: LabelValues;
  value: number;
}

/** One series of a histogram: per-bucket counts keyed by upper bound (not cumulative). */
export interface HistogramEntry {
  labels: LabelValues;
  bucketValues: Readonly<Record<string, number>>;
  sum: number;
  count: number;
}

/** One series of a summary; its t-digests (`td`) are mirrored by SummarySketchMirror. */
export interface SummaryEntry {
  labels: LabelValues;
  sum: number;
  count: number;
}

/** A metric as prom-client 11-15 builds one; every field is optional until checked. */
export interface MetricLike {
  readonly name?: unknown;
  readonly help?: unknown;
  /** Set on the instance from prom-client 15; older versions only tell it through get(). */
  readonly type?: unknown;
  /** Series by prom-client's label hash; replaced (not emptied) by reset(). */
  readonly hashMap?: unknown;
  /** Histogram bucket bounds, ascending, without +Inf. */
  readonly upperBounds?: unknown;
  /** prom-client's cluster merge of the metric ('sum' unless the app named another). */
  readonly aggregator?: unknown;
  /** prom-client 15 sets it on counters and histograms created with `enableExemplars: true`. */
  readonly enableExemplars?: unknown;
  /** A default metric's refresh (prom-client >= 13); get() calls it before reading. */
  readonly collect?: unknown;
  readonly get?: unknown;
}

/** The part of a prom-client Registry the mirror uses. */
export interface RegistryLike {
  getMetricsAsArray(): readonly MetricLike[];
  /** setDefaultLabels() stores them here in every version; applied at exposition. */
  readonly _defaultLabels?: unknown;
}

export function isRegistryLike(value: unknown): value is RegistryLike {
  return isObject(value) && typeof (value as { getMetricsAsArray?: unknown }).getMetricsAsArray === 'function';
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** The metric's hashMap when it is a plain object of series, else undefined. */
export function seriesMap(metric: MetricLike): Record<string, unknown> | undefined {
  const map = metric.hashMap;
  return isObject(map) && !Array.isArray(map) ? map : undefined;
}

export function isValueEntry(entry: unknown): entry is ValueEntry {
  return isObject(entry) && typeof entry.value === 'number' && isObject(entry.labels);
}

export function isHistogramEntry(entry: unknown): entry is HistogramEntry {
  return (
    isObject(entry) &&
    typeof entry.sum === 'number' &&
    typeof entry.count === 'number' &&
    isObject(entry.bucketValues) &&
    isObject(entry.labels)
  );
}

export function isSummaryEntry(entry: unknown): entry is SummaryEntry {
  return isObject(entry) && typeof entry.sum === 'number' && typeof entry.count === 'number' && isObject(entry.labels);
}

/** Registry-wide labels from setDefaultLabels(), as strings; empty when there are none. */
export function registryDefaultLabels(registry: RegistryLike): Record<string, string> {
  const labels = registry._defaultLabels;
  const result: Record<string, string> = {};
  if (!isObject(labels)) return result;
  for (const name of Object.keys(labels)) {
    const value = labels[name];
    if (typeof value === 'string' || typeof value === 'number') result[name] = String(value);
  }
  return result;
}

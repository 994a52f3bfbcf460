// The shapes a metric hands out, prom-client's: what get() returns and how labels are given.
// Shared by the metrics and the registries that hold them.
import type { MetricType, NativeHistogram } from '../store';

export type Aggregator = 'omit' | 'sum' | 'first' | 'min' | 'max' | 'average';
export type LabelValue = string | number;
export type LabelValues<T extends string> = Partial<Record<T, LabelValue>>;

/** One sample as get() returns it, prom-client's shape. */
export interface MetricValue<T extends string> {
  value: number;
  labels: LabelValues<T> & Record<string, LabelValue>;
  metricName?: string;
  /** Present (and empty: exemplars are not supported) on histogram values, as in prom-client. */
  exemplar?: null;
}

/** A child's native histogram in get(): its labels and its buckets as spans and deltas. */
export interface NativeHistogramValue extends NativeHistogram {
  labels: Record<string, LabelValue>;
}

/** What get() returns, prom-client's MetricObjectWithValues shape. */
export interface MetricObjectWithValues<V> {
  name: string;
  help: string;
  type: MetricType;
  values: V[];
  aggregator: Aggregator;
  /** Histograms with native buckets on: one native series per child, in the order of children. */
  nativeHistograms?: NativeHistogramValue[];
}

// The shapes a metric hands out, prom-client's: what get() returns and how labels are given.
// Shared by the metrics and the registries that hold them.
import type { ExemplarLabels, MetricType, NativeHistogram } from '../store';

export type Aggregator = 'omit' | 'sum' | 'first' | 'min' | 'max' | 'average';
export type LabelValue = string | number;
export type LabelValues<T extends string> = Partial<Record<T, LabelValue>>;

/** An exemplar as get() returns it, prom-client's Exemplar: the labels object the call gave. */
export interface ExemplarValue {
  labelSet: ExemplarLabels;
  value: number;
  /** Unix seconds (Date.now() / 1000 at the call). */
  timestamp: number;
}

/** One sample as get() returns it, prom-client's shape. */
export interface MetricValue<T extends string> {
  value: number;
  labels: LabelValues<T> & Record<string, LabelValue>;
  metricName?: string;
  /**
   * prom-client's fields: a counter's latest exemplar (the key only once one was set); each
   * histogram bucket's, null when it has none (undefined on +Inf with exemplars on).
   */
  exemplar?: ExemplarValue | null;
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

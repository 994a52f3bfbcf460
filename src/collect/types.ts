// The merged view of a metrics directory, as the collector hands it to renderers and callers.
import type { Exemplar, MetricType, NativeHistogram } from '../store';

export type { MetricType, NativeHistogram };
export type { BucketSpan } from '../store';

/** An exemplar: labels (in the order the app gave them), value, unix seconds. */
export type SampleExemplar = Exemplar;

export interface Sample {
  name: string;
  /** Shared between scrapes for the same series: treat as read-only. */
  labels: Readonly<Record<string, string>>;
  value: number;
  /**
   * The latest exemplar of this series across processes: only on a counter's `_total` and a
   * histogram's `_bucket` samples (OpenMetrics allows them nowhere else); rendered in OpenMetrics.
   */
  exemplar?: SampleExemplar;
}

/** The native part of one histogram series (its label set), merged across processes. */
export interface NativeHistogramSeries {
  /** The series' labels (no `le`); shared between scrapes: treat as read-only. */
  labels: Readonly<Record<string, string>>;
  histogram: NativeHistogram;
}

export interface MetricFamily {
  /** The metric name as written in the files' keys (a counter's without `_total`). */
  name: string;
  help: string;
  type: MetricType;
  /** The samples of the text formats: a histogram's classic buckets, `_count` and `_sum`. */
  samples: Sample[];
  /**
   * Histograms with native buckets: their native series, which only the protobuf exposition
   * carries (the text formats keep the classic samples above).
   */
  nativeHistograms?: NativeHistogramSeries[];
}

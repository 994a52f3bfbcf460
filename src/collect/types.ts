// The merged view of a metrics directory, as the collector hands it to renderers and callers.
import type { MetricType } from '../store';

export type { MetricType };

export interface Sample {
  name: string;
  /** Shared between scrapes for the same series: treat as read-only. */
  labels: Readonly<Record<string, string>>;
  value: number;
}

export interface MetricFamily {
  /** The metric name as written in the files' keys (a counter's without `_total`). */
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

// The public API: prom-client's (an app changes only its import), plus what this package adds for
// its users: the collector of a directory, compaction, the cluster helper, the registry mirror and
// the logger its warnings go to. Internals (the store, the backends) are not part of it.
export {
  Counter,
  Gauge,
  Histogram,
  Summary,
  Registry,
  openMetricsContentType,
  prometheusContentType,
  validateMetricName,
  refreshCollected,
} from './metrics';
export type {
  Aggregator,
  CollectFunction,
  CounterChild,
  CounterConfiguration,
  GaugeChild,
  GaugeConfiguration,
  HistogramChild,
  HistogramConfiguration,
  LabelValue,
  LabelValues,
  MetricConfiguration,
  MetricObjectWithValues,
  MetricValue,
  OpenMetricsContentType,
  PrometheusContentType,
  RegisteredMetric,
  RegistryContentType,
  RegistryOptions,
  SummaryChild,
  SummaryConfiguration,
} from './metrics';
export { linearBuckets, exponentialBuckets } from 'prom-client';
export { collectDefaultMetrics, mirrorRegistry } from './mirror';
export type { MirrorHandle, MirrorOptions, RuntimeMetricsOptions } from './mirror';

export { DirectoryCollector, collectDirectory, renderOpenMetrics, renderText } from './collect';
export type { CollectorOptions, CollectorStats, MetricFamily, MetricType, Sample } from './collect';
export { markProcessDead } from './store';
export type { GaugeMode } from './store';
export { compactDirectory } from './host';
export type { CompactionOptions, CompactionReport } from './host';
export { serveClusterMetrics } from './cluster';
export type { ClusterMetricsOptions, ClusterMetricsServer } from './cluster';
export { setLogger } from './logger';
export type { Logger } from './logger';

import { globalRegistry } from './metrics';

/** The default registry (prom-client's `register`): in multiprocess mode it shows the whole directory. */
export const register = globalRegistry;
/** The default registry's content type at load (prom-client's `contentType`); after setContentType read register.contentType. */
export const contentType = globalRegistry.contentType;

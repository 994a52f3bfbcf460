// The public API for apps: prom-client's metric classes and registry over per-process files
// (PROMETHEUS_MULTIPROC_DIR), the store types, and the collector that merges a directory.
export { Counter, CounterChild } from './metrics/counter';
export type { CounterConfiguration } from './metrics/counter';
export { Gauge, GaugeChild } from './metrics/gauge';
export type { GaugeConfiguration } from './metrics/gauge';
export { Histogram, HistogramChild, DEFAULT_BUCKETS } from './metrics/histogram';
export type { HistogramConfiguration } from './metrics/histogram';
export { Summary, SummaryChild, DEFAULT_PERCENTILES } from './metrics/summary';
export type { SummaryConfiguration } from './metrics/summary';
export type {
  Aggregator,
  CollectFunction,
  LabelValue,
  LabelValues,
  MetricConfiguration,
  MetricObjectWithValues,
  MetricValue,
} from './metrics/metric';
export { Registry, openMetricsContentType, prometheusContentType } from './metrics/registry';
export type {
  AnyMetric,
  OpenMetricsContentType,
  PrometheusContentType,
  RegisteredMetric,
  RegistryContentType,
  RegistryOptions,
} from './metrics/registry';
export { validateMetricName } from './metrics/validation';
export { activeStore, useStore } from './metrics/active-store';
export { refreshCollected } from './metrics/collect-timer';
export { linearBuckets, exponentialBuckets } from 'prom-client';

export { ProcessStore, checkDirectory, defaultBackend } from './store/mmap-file';
export type { BackendKind, MetricFile, ProcessStoreOptions } from './store/mmap-file';
export { GAUGE_MODES } from './store/format';
export type { FileType, GaugeMode } from './store/format';

export {
  DirectoryCollector,
  collectDirectory,
  compactDirectory,
  markProcessDead,
  renderOpenMetrics,
  renderText,
  OPENMETRICS_CONTENT_TYPE,
  TEXT_CONTENT_TYPE,
} from './collect';
export type { CollectorStats, CompactionOptions, CompactionReport, MetricFamily, MetricType, Sample } from './collect';

export { mirrorRegistry, collectDefaultMetrics } from './mirror';
export type { MirrorHandle, MirrorOptions, RuntimeMetricsOptions } from './mirror';

export { serveClusterMetrics } from './cluster';
export type { ClusterMetricsOptions, ClusterMetricsServer } from './cluster';

import { globalRegistry } from './metrics/registry';

/** The default registry (prom-client's `register`): in multiprocess mode it shows the whole directory. */
export const register = globalRegistry;
/** The default registry's content type at load (prom-client's `contentType`); after setContentType read register.contentType. */
export const contentType = globalRegistry.contentType;

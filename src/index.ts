// The public API: prom-client's (an app changes only its import), plus what this package adds for
// its users: the collector of a directory, compaction, the cluster helper, the registry mirror and
// the logger its warnings go to. Internals (the store, the backends) are not part of it.
export {
  Counter,
  Gauge,
  Histogram,
  Summary,
  Registry,
  AggregatorRegistry,
  AggregatorFactory,
  aggregators,
  Pushgateway,
  openMetricsContentType,
  prometheusContentType,
  validateMetricName,
  refreshCollected,
} from './metrics';
export type {
  Aggregator,
  AggregatorFunction,
  CollectFunction,
  CounterChild,
  CounterConfiguration,
  ExemplarLabelValues,
  ExemplarValue,
  GaugeChild,
  GaugeConfiguration,
  HistogramChild,
  HistogramConfiguration,
  IncreaseDataWithExemplar,
  LabelValue,
  LabelValues,
  MetricConfiguration,
  MetricJson,
  MetricObjectWithValues,
  MetricValue,
  NativeHistogramValue,
  ObserveDataWithExemplar,
  OpenMetricsContentType,
  PrometheusContentType,
  ProtobufContentType,
  PushgatewayOptions,
  PushgatewayParameters,
  PushgatewayResponse,
  RegisteredMetric,
  RegistryContentType,
  RegistryOptions,
  RegistryOutput,
  SummaryChild,
  SummaryConfiguration,
} from './metrics';
export type { MirrorHandle, MirrorOptions, RuntimeMetricsOptions } from './mirror';

export { DirectoryCollector, collectDirectory, renderOpenMetrics, renderProtobuf, renderText } from './collect';
export type {
  BucketSpan,
  CollectorOptions,
  CollectorStats,
  MetricFamily,
  MetricType,
  NativeHistogram,
  NativeHistogramSeries,
  Sample,
  SampleExemplar,
} from './collect';
export { markProcessDead } from './store';
export type { GaugeMode } from './store';
export type { CompactionOptions, CompactionReport } from './host';
export type { ClusterMetricsOptions, ClusterMetricsServer } from './cluster';
export { setLogger } from './logger';
export type { Logger } from './logger';

import { globalRegistry } from './metrics';
import type * as PromClient from 'prom-client';
import type * as Mirror from './mirror';
import type * as Cluster from './cluster';
import type * as Host from './host';

// Loaded on first call, not by require('pm2-prom-multiproc'): the mirror brings all of
// prom-client (its default metrics load http, v8, perf_hooks), the cluster helper the HTTP
// server and node:cluster, compaction the module side's housekeeping, and an app that only
// updates metrics needs none of it
// (bench/package.bench.ts measures the require time).
/* eslint-disable @typescript-eslint/no-require-imports -- deferring the load is the point */
const promClient = (): typeof PromClient => require('prom-client') as typeof PromClient;
const mirror = (): typeof Mirror => require('./mirror') as typeof Mirror;
const clusterHelper = (): typeof Cluster => require('./cluster') as typeof Cluster;
const host = (): typeof Host => require('./host') as typeof Host;
/* eslint-enable @typescript-eslint/no-require-imports */

export const linearBuckets: typeof PromClient.linearBuckets = (...args) => promClient().linearBuckets(...args);
export const exponentialBuckets: typeof PromClient.exponentialBuckets = (...args) => promClient().exponentialBuckets(...args);
export const collectDefaultMetrics: typeof Mirror.collectDefaultMetrics = (...args) => mirror().collectDefaultMetrics(...args);
export const mirrorRegistry: typeof Mirror.mirrorRegistry = (...args) => mirror().mirrorRegistry(...args);
export const serveClusterMetrics: typeof Cluster.serveClusterMetrics = (...args) => clusterHelper().serveClusterMetrics(...args);
export const compactDirectory: typeof Host.compactDirectory = (...args) => host().compactDirectory(...args);

/** The default registry (prom-client's `register`): in multiprocess mode it shows the whole directory. */
export const register = globalRegistry;
/** The default registry's content type at load (prom-client's `contentType`); after setContentType read register.contentType. */
export const contentType = globalRegistry.contentType;

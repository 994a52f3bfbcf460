// The worker library's face: prom-client's metric classes and registry over this process's files.
export { Counter } from './counter';
export type { CounterChild, CounterConfiguration } from './counter';
export { Gauge } from './gauge';
export type { GaugeChild, GaugeConfiguration } from './gauge';
export { Histogram } from './histogram';
export type { HistogramChild, HistogramConfiguration } from './histogram';
export { Summary } from './summary';
export type { SummaryChild, SummaryConfiguration } from './summary';
export type { CollectFunction, MetricConfiguration } from './metric';
export type { ExemplarLabelValues, IncreaseDataWithExemplar, ObserveDataWithExemplar } from './exemplar-options';
export type { Aggregator, ExemplarValue, LabelValue, LabelValues, MetricObjectWithValues, MetricValue, NativeHistogramValue } from './metric-values';
export { Registry, globalRegistry, openMetricsContentType, prometheusContentType } from './registry';
export { AggregatorRegistry } from './aggregator-registry';
export { AggregatorFactory, aggregators } from './cluster-aggregators';
export type { AggregatorFunction, MetricJson } from './cluster-aggregators';
export { Pushgateway } from './pushgateway';
export type { PushgatewayOptions, PushgatewayParameters, PushgatewayResponse } from './pushgateway';
export type {
  OpenMetricsContentType,
  PrometheusContentType,
  ProtobufContentType,
  RegisteredMetric,
  RegistryContentType,
  RegistryOptions,
  RegistryOutput,
} from './registry';
export { validateMetricName } from './validation';
export { activeStore } from './active-store';
export { refreshCollected } from './collect-timer';

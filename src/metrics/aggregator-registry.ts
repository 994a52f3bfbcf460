// prom-client's AggregatorRegistry, for apps written for its cluster mode: the primary calls
// `await registry.clusterMetrics()` and gets every worker's metrics merged. Here the workers'
// files are the interface, not IPC: clusterMetrics() answers from the merged directory, in any
// process, without asking (or waiting for) a worker, dead workers' counters included.
import { isMetricType, isProcessAlive, markProcessDead, pidsOwningFiles } from '../store';
import { activeStore } from './active-store';
import { aggregators } from './cluster-aggregators';
import type { MetricJson } from './cluster-aggregators';
import { refreshCollected } from './collect-timer';
import { Registry } from './registry';
import type { PrometheusContentType, RegisteredMetric, RegistryContentType, RegistryOutput } from './registry';

export class AggregatorRegistry<ContentType extends RegistryContentType = PrometheusContentType> extends Registry<ContentType> {
  /**
   * No IPC listeners, no `cluster` module: workers need no AggregatorRegistry (an app that makes
   * one there, as prom-client requires, makes a plain registry).
   */
  constructor(contentType: ContentType = Registry.PROMETHEUS_CONTENT_TYPE as ContentType) {
    super(contentType);
  }

  /**
   * Every family of PROMETHEUS_MULTIPROC_DIR merged, in this registry's content type with its
   * default labels (bytes for protobuf, as metrics(); prom-client renders text 0.0.4 whatever its type). Processes that have exited
   * are marked dead first, so live-mode gauges show the live workers only, as prom-client's IPC
   * hears only those. Rejects when the variable is not set: without a shared directory there is
   * nothing to merge.
   */
  async clusterMetrics(): Promise<RegistryOutput<ContentType>> {
    const dir = activeStore()?.dir;
    if (dir === undefined) {
      throw new Error(
        'AggregatorRegistry.clusterMetrics(): PROMETHEUS_MULTIPROC_DIR is not set; set it for the primary and the ' +
          'workers (the same directory) before the first metric is created: the workers write their metrics there',
      );
    }
    for (const pid of pidsOwningFiles(dir)) if (!isProcessAlive(pid)) markProcessDead(pid, dir);
    // This process's collect callbacks first, as prom-client's workers run theirs when asked.
    await refreshCollected();
    return this.directoryMetrics(dir);
  }

  /**
   * prom-client's aggregation of getMetricsAsJSON() outputs gathered some other way (one array
   * per worker): metrics grouped by name, each merged by its first worker's aggregator, looked up
   * in `aggregators` now. One difference: a summary's quantiles that several workers report are
   * left out (prom-client sums them, which is no quantile of anything); `_sum` and `_count` stay.
   */
  static aggregate<T extends RegistryContentType = PrometheusContentType>(
    metricsArr: ReadonlyArray<readonly MetricJson[]>,
    registryType: T = Registry.PROMETHEUS_CONTENT_TYPE as T,
  ): Registry<T> {
    const byName = new Map<string, MetricJson[]>();
    for (const metrics of metricsArr) {
      for (const metric of metrics) {
        const group = byName.get(metric.name);
        if (group === undefined) byName.set(metric.name, [metric]);
        else group.push(metric);
      }
    }
    const registry = new Registry<T>(registryType);
    for (const [name, metrics] of byName) {
      const aggregatorName = metrics[0].aggregator;
      const aggregate = Object.hasOwn(aggregators, aggregatorName) ? aggregators[aggregatorName] : undefined;
      if (typeof aggregate !== 'function') throw new Error(`'${aggregatorName}' is not a defined aggregator.`);
      const result = aggregate(metrics[0].type === 'summary' ? withoutSharedQuantiles(metrics) : metrics);
      if (result === undefined) continue;
      if (!isMetricType(result.type)) {
        throw new Error(`AggregatorRegistry.aggregate: metric "${name}" has type "${String(result.type)}", not a counter, gauge, histogram or summary`);
      }
      const fixed: RegisteredMetric = {
        name: result.name,
        type: result.type,
        fixedValues: true,
        get: () => Promise.resolve(result),
        reset() {},
      };
      registry.registerMetric(fixed);
    }
    return registry;
  }

  /**
   * prom-client's worker-side choice of the registries to aggregate. Every metric of every
   * worker is in the directory already, so this checks its argument as prom-client does and
   * changes nothing.
   */
  static setRegistries(regs: Registry<RegistryContentType> | ReadonlyArray<Registry<RegistryContentType>>): void {
    for (const registry of Array.isArray(regs) ? regs : [regs]) {
      if (!(registry instanceof Registry)) throw new TypeError(`Expected Registry, got ${typeof registry}`);
    }
  }
}

/** The summaries with the quantile samples that more than one of them has taken out. */
function withoutSharedQuantiles(metrics: readonly MetricJson[]): MetricJson[] {
  const seen = new Map<string, number>();
  const identity = (labels: Readonly<Record<string, unknown>>): string => JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
  for (const metric of metrics) {
    for (const value of metric.values) if (value.labels.quantile !== undefined) seen.set(identity(value.labels), (seen.get(identity(value.labels)) ?? 0) + 1);
  }
  return metrics.map((metric) => ({
    ...metric,
    values: metric.values.filter((value) => value.labels.quantile === undefined || seen.get(identity(value.labels)) === 1),
  }));
}

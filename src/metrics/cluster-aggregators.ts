// prom-client's `aggregators`: the functions its AggregatorRegistry.aggregate() merges the
// getMetricsAsJSON() of several workers with, one per aggregator name, in an object users may add
// to. Same inputs and outputs as prom-client's (lib/metricAggregators.js), typed.
import type { Aggregator, MetricObjectWithValues, MetricValue } from './metric-values';

/** One metric as getMetricsAsJSON() gives it (this package's or prom-client's). */
export type MetricJson = MetricObjectWithValues<MetricValue<string>>;

/** Merges one metric's objects from several workers into one, or undefined to leave it out. */
export type AggregatorFunction = (metrics: readonly MetricJson[]) => MetricJson | undefined;

/** The identity of a value within a metric: its sample name and its labels in name order. */
function valueIdentity(value: MetricValue<string>): string {
  const labels = Object.keys(value.labels)
    .sort()
    .map((name) => `${name}:${String(value.labels[name])}`)
    .join(',');
  return `${value.metricName ?? ''}_${labels}`;
}

/**
 * An aggregator from a function of the values one sample has in the workers: the metric of the
 * first worker with its help, type and aggregator, values grouped by sample name and labels in
 * first-seen order, each the result of `reduce` (timestamps and exemplars are dropped).
 */
export function AggregatorFactory(reduce: (values: Array<MetricValue<string>>) => number): AggregatorFunction {
  return (metrics) => {
    if (metrics.length === 0) return undefined;
    const groups = new Map<string, Array<MetricValue<string>>>();
    for (const metric of metrics) {
      for (const value of metric.values) {
        const identity = valueIdentity(value);
        const group = groups.get(identity);
        if (group === undefined) groups.set(identity, [value]);
        else group.push(value);
      }
    }
    const { help, name, type, aggregator } = metrics[0];
    const values: Array<MetricValue<string>> = [];
    for (const group of groups.values()) {
      const merged: MetricValue<string> = { value: reduce(group), labels: group[0].labels };
      if (group[0].metricName !== undefined) merged.metricName = group[0].metricName;
      values.push(merged);
    }
    return { help, name, type, values, aggregator };
  };
}

/** prom-client's aggregators by name; aggregate() looks a metric's aggregator up here when it runs. */
export const aggregators: Record<string, AggregatorFunction> & Readonly<Record<Aggregator, AggregatorFunction>> = {
  sum: AggregatorFactory((values) => values.reduce((total, value) => total + value.value, 0)),
  first: AggregatorFactory((values) => values[0].value),
  omit: () => undefined,
  average: AggregatorFactory((values) => values.reduce((total, value) => total + value.value, 0) / values.length),
  min: AggregatorFactory((values) => values.reduce((low, value) => Math.min(low, value.value), Infinity)),
  max: AggregatorFactory((values) => values.reduce((high, value) => Math.max(high, value.value), -Infinity)),
};

// prom-client's `aggregator` option, which says how its cluster mode merges the workers' values of
// a metric, honoured here: a gauge merges as its aggregator says, any metric with 'omit' stays out
// of the merged exposition, and a merge that has no meaning for a type is refused at construction.
import { AGGREGATOR_GAUGE_MODES, DEFAULT_GAUGE_MODE } from '../store';
import type { GaugeMode } from '../store';
import type { Aggregator } from './metric-values';
import { describeMetric } from './validation';

const AGGREGATORS: readonly Aggregator[] = ['sum', 'first', 'min', 'max', 'average', 'omit'];

function isAggregator(value: unknown): value is Aggregator {
  return (AGGREGATORS as readonly unknown[]).includes(value);
}

/**
 * The aggregator of a metric of `kind` ('Counter', 'Gauge', ...), prom-client's 'sum' when none is
 * given. Counters, histograms and summaries are summed across processes (Python's semantics and
 * prom-client's default): 'first', 'min', 'max' and 'average' of their counts would mean nothing.
 */
export function checkAggregator(kind: string, name: string, aggregator: unknown): Aggregator {
  if (aggregator === undefined) return 'sum';
  if (!isAggregator(aggregator)) {
    throw new Error(`${describeMetric(kind, name)}: invalid aggregator ${JSON.stringify(aggregator)} (one of ${AGGREGATORS.join(', ')})`);
  }
  if (kind !== 'Gauge' && aggregator !== 'sum' && aggregator !== 'omit') {
    throw new Error(
      `${describeMetric(kind, name)}: aggregator "${aggregator}" has no meaning across processes for a ` +
        `${kind.toLowerCase()}, whose counts are summed; use "sum" (the default) or "omit" (not exported), or drop the option`,
    );
  }
  return aggregator;
}

/** The multiprocess mode of a gauge that names no multiprocessMode, from its aggregator option. */
export function gaugeModeOf(name: string, aggregator: unknown): GaugeMode {
  const checked = checkAggregator('Gauge', name, aggregator);
  return checked === 'omit' ? DEFAULT_GAUGE_MODE : AGGREGATOR_GAUGE_MODES[checked];
}

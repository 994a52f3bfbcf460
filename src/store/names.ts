// Prometheus's naming rules (https://prometheus.io/docs/concepts/data_model/) and how a family is
// named in the files: asked by the writer (to refuse a bad name at the call) and by the merge (to
// skip an entry whose names would break the exposition).
import type { MetricType } from './format';

export const METRIC_NAME_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME_PATTERN = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Label names starting with `__` belong to Prometheus itself. */
export function isReservedLabelName(name: string): boolean {
  return name.startsWith('__');
}

const TOTAL_SUFFIX = '_total';

/**
 * The family name of a metric: its name, but a counter's without `_total`. Python keys a counter
 * by that family and its sample by the name with `_total`; the sample keeps prom-client's exposed
 * name, which is the name as given.
 */
export function familyNameOf(name: string, type: MetricType): string {
  return type === 'counter' && name.endsWith(TOTAL_SUFFIX) ? name.slice(0, -TOTAL_SUFFIX.length) : name;
}

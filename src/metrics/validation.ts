// Checks shared by every metric type. Every error names the metric and the problem, and is thrown
// before anything is written to a file.
import { LABEL_NAME_PATTERN, METRIC_NAME_PATTERN, isReservedLabelName } from '../store';

/** What an error message calls a metric: `Counter "http_requests_total"`. */
export function describeMetric(kind: string, name: string): string {
  return `${kind} "${name}"`;
}

export function checkMetricName(kind: string, name: unknown): string {
  if (typeof name !== 'string' || name === '') {
    throw new TypeError(`${kind}: option "name" is missing (a metric needs a name and a help text)`);
  }
  if (!METRIC_NAME_PATTERN.test(name)) {
    throw new Error(`${describeMetric(kind, name)}: invalid metric name (must match ${METRIC_NAME_PATTERN.source})`);
  }
  return name;
}

export function checkHelp(kind: string, name: string, help: unknown): string {
  if (typeof help !== 'string' || help === '') {
    throw new TypeError(`${describeMetric(kind, name)}: option "help" is missing`);
  }
  return help;
}

/** Validates label names: the Prometheus pattern, no `__` prefix, no duplicates, none reserved. */
export function checkLabelNames(
  kind: string,
  name: string,
  labelNames: unknown,
  reserved: readonly string[],
): readonly string[] {
  if (labelNames === undefined) return [];
  if (!Array.isArray(labelNames)) {
    throw new TypeError(`${describeMetric(kind, name)}: option "labelNames" must be an array of strings`);
  }
  const seen = new Set<string>();
  for (const label of labelNames as unknown[]) {
    if (typeof label !== 'string' || !LABEL_NAME_PATTERN.test(label)) {
      throw new Error(`${describeMetric(kind, name)}: invalid label name ${JSON.stringify(label)} (must match ${LABEL_NAME_PATTERN.source})`);
    }
    if (isReservedLabelName(label)) {
      throw new Error(`${describeMetric(kind, name)}: label name "${label}" is reserved (names starting with "__" belong to Prometheus)`);
    }
    if (reserved.includes(label)) {
      throw new Error(`${describeMetric(kind, name)}: label name "${label}" is reserved for this metric type`);
    }
    if (seen.has(label)) throw new Error(`${describeMetric(kind, name)}: label name "${label}" is repeated`);
    seen.add(label);
  }
  return Object.freeze([...(labelNames as string[])]);
}

// The checks below run on every update: they stay tiny so the JIT inlines them, and the error
// messages are built in separate cold functions.

function notFinite(metric: string, value: unknown): never {
  throw new TypeError(`${metric}: value is not a finite number: ${String(value)}`);
}

function decrease(metric: string, value: number): never {
  throw new Error(`${metric}: it is not possible to decrease a counter (inc(${value}))`);
}

/** A value to observe, set or add: a finite number. */
export function checkFinite(metric: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > -Infinity && value < Infinity)) notFinite(metric, value);
  return value;
}

/** The amount of a counter increment: 1 when omitted, else finite and not negative. */
export function checkIncrement(metric: string, value: number | undefined): number {
  if (value === undefined) return 1;
  if (typeof value !== 'number' || !(value >= 0 && value < Infinity)) {
    if (value < 0) decrease(metric, value);
    notFinite(metric, value);
  }
  return value;
}

/** prom-client's validateMetricName: whether `name` is a valid Prometheus metric name. */
export function validateMetricName(name: string): boolean {
  return METRIC_NAME_PATTERN.test(name);
}

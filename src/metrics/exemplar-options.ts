// prom-client 15's exemplar call forms, `inc({ labels, value, exemplarLabels })` and
// `observe({ labels, value, exemplarLabels })`, checked before anything is counted. The checks on
// every call stay tiny; the messages are built in cold functions, only when something is wrong.
import {
  LABELS_BAD_NAME,
  LABELS_BAD_VALUE,
  LABELS_NOT_AN_OBJECT,
  LABEL_NAME_PATTERN,
  MAX_EXEMPLAR_CODE_POINTS,
  checkExemplarLabels,
  exemplarCodePoints,
} from '../store';
import type { ExemplarLabels } from '../store';
import type { LabelValues } from './metric-values';

/**
 * Exemplar labels: any label names (not the metric's), strings or numbers. Wider than
 * prom-client's typing (the metric's own label names), under which `{ traceId }` does not compile.
 */
export type ExemplarLabelValues = Readonly<Record<string, string | number>>;

/** `counter.inc({ labels, value, exemplarLabels })` with enableExemplars, prom-client's shape. */
export interface IncreaseDataWithExemplar<T extends string> {
  /** Default 1. */
  value?: number;
  labels?: LabelValues<T>;
  /** The exemplar's labels (`{ traceId }`); none given, no exemplar; `{}` an exemplar without labels. */
  exemplarLabels?: ExemplarLabelValues;
}

/** `histogram.observe({ labels, value, exemplarLabels })` with enableExemplars, prom-client's shape. */
export interface ObserveDataWithExemplar<T extends string> {
  value: number;
  labels?: LabelValues<T>;
  /** The exemplar's labels (`{ traceId }`); none given, or `{}`, no exemplar. */
  exemplarLabels?: ExemplarLabelValues;
}

/** What the data object of an exemplar call may hold. */
function isDataKey(key: string): boolean {
  return key === 'labels' || key === 'value' || key === 'exemplarLabels';
}

/**
 * Called when a data object holds none of labels, value and exemplarLabels: throws when it holds
 * other keys, as a labels object does (`inc({ route: '/a' })`, on which prom-client silently
 * counts the unlabelled series). The hot path reads the three properties and calls this only
 * when all three are missing.
 */
export function checkDataKeys(description: string, method: string, data: object): void {
  for (const key in data) if (!isDataKey(key)) unknownKey(description, method, key);
}

function unknownKey(description: string, method: string, key: string): never {
  throw new Error(
    `${description}: with enableExemplars, ${method}() takes one object { labels, value, exemplarLabels }, ` +
      `got key "${key}" (pass series labels as { labels: { ${key}: ... } })`,
  );
}

/** The `labels` of a data object, when given, are not an object of label names to values. */
export function refuseDataLabels(description: string, labels: unknown): never {
  throw new TypeError(`${description}: "labels" must be an object of label names to values, got ${describeType(labels)}`);
}

/**
 * The store's check, bound once: a call through the store's index would go through the getter
 * tsc's CommonJS output makes for each re-export, a measurable part of an inc() with an exemplar.
 */
const checkLabels = checkExemplarLabels;

/** How many exemplar labels there are; throws naming the problem when they cannot be exposed. */
export function checkedExemplarLabels(description: string, labels: unknown): number {
  const count = checkLabels(labels);
  if (count < 0) refuseExemplarLabels(description, labels, count);
  return count;
}

/** Throws naming why `labels` cannot be exemplar labels (`verdict`: checkExemplarLabels's answer). */
function refuseExemplarLabels(description: string, labels: unknown, verdict: number): never {
  if (verdict === LABELS_NOT_AN_OBJECT) {
    throw new TypeError(`${description}: exemplarLabels must be an object of label names to values, got ${describeType(labels)}`);
  }
  const entries = Object.entries(labels as Record<string, unknown>);
  if (verdict === LABELS_BAD_NAME) {
    const [name] = entries.find(([candidate]) => !LABEL_NAME_PATTERN.test(candidate)) ?? ['?'];
    throw new Error(`${description}: exemplar label name ${JSON.stringify(name)} is invalid (must match ${LABEL_NAME_PATTERN.source})`);
  }
  if (verdict === LABELS_BAD_VALUE) {
    const [name, value] = entries.find(([, candidate]) => typeof candidate !== 'string' && typeof candidate !== 'number') ?? ['?', undefined];
    throw new TypeError(`${description}: exemplar label "${name}" must be a string or a number, got ${describeType(value)}`);
  }
  const length = exemplarCodePoints(labels as ExemplarLabels);
  throw new RangeError(
    `${description}: exemplar labels are ${length} characters (label names and values together, in code points); ` +
      `OpenMetrics allows ${MAX_EXEMPLAR_CODE_POINTS}, and Prometheus drops longer ones: keep to ids such as traceId and spanId`,
  );
}

function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

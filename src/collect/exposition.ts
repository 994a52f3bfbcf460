// Renders merged families as Prometheus text 0.0.4 or OpenMetrics 1.0 (the classic samples only,
// with exemplars in OpenMetrics: native histogram buckets are carried by the protobuf exposition,
// protobuf.ts).
// Label sets are rendered once per labels object and cached: the collector hands out the same
// frozen objects scrape after scrape, so a warm render formats only the values.

import type { MetricFamily, Sample, SampleExemplar } from './types';

export type TextContentType = 'text/plain; version=0.0.4; charset=utf-8';
export type OpenMetricsContentType = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
export type ProtobufContentType = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';
/** The Content-Type of each rendering, the one place that spells them. */
export const TEXT_CONTENT_TYPE: TextContentType = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE: OpenMetricsContentType = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
export const PROTOBUF_CONTENT_TYPE: ProtobufContentType =
  'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';

const renderedLabels = new WeakMap<object, string>();

function escapeLabelValue(value: string): string {
  return /[\\"\n]/.test(value) ? value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n') : value;
}

/** `{a="x",b="y"}`, or '' without labels: the same in both formats. */
function labelText(labels: Readonly<Record<string, string>>): string {
  let text = renderedLabels.get(labels);
  if (text !== undefined) return text;
  text = '';
  for (const name in labels) text += `${text === '' ? '{' : ','}${name}="${escapeLabelValue(labels[name])}"`;
  if (text !== '') text += '}';
  renderedLabels.set(labels, text);
  return text;
}

/** A sample value as both formats spell it: Go's ParseFloat reads JavaScript's spelling. */
export function formatValue(value: number): string {
  if (Number.isFinite(value)) return String(value);
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? '+Inf' : '-Inf';
}

function renderSamples(samples: readonly Sample[]): string {
  let out = '';
  for (const sample of samples) out += `${sample.name}${labelText(sample.labels)} ${formatValue(sample.value)}\n`;
  return out;
}

const renderedExemplars = new WeakMap<SampleExemplar, string>();

/**
 * ` # {traceId="abc"} 0.42 1733040000.123`: an empty label set is `{}`, the timestamp is always
 * written (seconds, at most millisecond digits, never an exponent). Cached per exemplar object:
 * the collector hands out the same one while its slot is unchanged.
 */
function exemplarText(exemplar: SampleExemplar): string {
  let text = renderedExemplars.get(exemplar);
  if (text !== undefined) return text;
  let labels = '';
  for (const name in exemplar.labels) labels += `${labels === '' ? '' : ','}${name}="${escapeLabelValue(exemplar.labels[name])}"`;
  const timestamp = String(exemplar.timestamp);
  text = ` # {${labels}} ${formatValue(exemplar.value)} ${timestamp.includes('e') ? exemplar.timestamp.toFixed(3) : timestamp}`;
  renderedExemplars.set(exemplar, text);
  return text;
}

/**
 * OpenMetrics samples, exemplars on the samples that may carry one: a counter's `_total`, a
 * histogram's `_bucket`. Prometheus refuses the whole scrape over one anywhere else (a gauge, a
 * `_sum`, a counter typed unknown), so `suffix` names the one sample kind of this family that may.
 */
function renderOpenMetricsSamples(samples: readonly Sample[], suffix: string | undefined): string {
  if (suffix === undefined) return renderSamples(samples);
  let out = '';
  for (const sample of samples) {
    const exemplar = sample.exemplar !== undefined && sample.name.endsWith(suffix) ? exemplarText(sample.exemplar) : '';
    out += `${sample.name}${labelText(sample.labels)} ${formatValue(sample.value)}${exemplar}\n`;
  }
  return out;
}

/** A counter's samples end in `_total` when written by Python or named so in Node. */
function countsInTotal(family: MetricFamily): boolean {
  const total = `${family.name}_total`;
  for (const sample of family.samples) if (sample.name !== total) return false;
  return true;
}

/** Prometheus text format 0.0.4. */
export function renderText(families: readonly MetricFamily[]): string {
  let out = '';
  for (const family of families) {
    // Text format names a counter family as its samples: `x_total` (Python does the same).
    const name = family.type === 'counter' && countsInTotal(family) ? `${family.name}_total` : family.name;
    const help = family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
    out += `# HELP ${name} ${help}\n# TYPE ${name} ${family.type}\n${renderSamples(family.samples)}`;
  }
  return out;
}

/** OpenMetrics 1.0 text, ending in `# EOF`. */
export function renderOpenMetrics(families: readonly MetricFamily[]): string {
  let out = '';
  for (const family of families) {
    // OpenMetrics counters must expose `_total` samples; one named otherwise is typed unknown
    // rather than renamed, so its series keeps the name it has in the text format.
    const type = family.type === 'counter' && !countsInTotal(family) ? 'unknown' : family.type;
    const help = family.help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
    const exemplarSuffix = type === 'counter' ? '_total' : type === 'histogram' ? '_bucket' : undefined;
    out += `# HELP ${family.name} ${help}\n# TYPE ${family.name} ${type}\n${renderOpenMetricsSamples(family.samples, exemplarSuffix)}`;
  }
  return `${out}# EOF\n`;
}

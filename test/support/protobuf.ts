// Decodes the protobuf exposition in tests with protobufjs, from test/fixtures/protobuf/metrics.proto
// (written from the field numbers of Prometheus's metrics.proto): a decoder independent of the
// encoder under test. Also spells out a native histogram's buckets from its spans and deltas.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import protobuf from 'protobufjs';
import { bucketCounts } from './native-reference';
import type { PlainNative } from './native-reference';

const PROTO = path.join(__dirname, '..', 'fixtures', 'protobuf', 'metrics.proto');
const root = protobuf.parse(fs.readFileSync(PROTO, 'utf8'), { keepCase: true }).root;
const MetricFamilyType = root.lookupType('io.prometheus.client.MetricFamily');

export interface DecodedSpan {
  offset?: number;
  length?: number;
}

export interface DecodedExemplar {
  label: Array<{ name: string; value: string }>;
  value?: number;
  timestamp?: { seconds?: number; nanos?: number };
}

export interface DecodedHistogram {
  sample_count?: number;
  sample_count_float?: number;
  sample_sum?: number;
  bucket: Array<{ cumulative_count?: number; cumulative_count_float?: number; upper_bound?: number; exemplar?: DecodedExemplar }>;
  schema?: number;
  zero_threshold?: number;
  zero_count?: number;
  negative_span: DecodedSpan[];
  negative_delta: number[];
  positive_span: DecodedSpan[];
  positive_delta: number[];
  exemplars: DecodedExemplar[];
}

export interface DecodedMetric {
  label: Array<{ name: string; value: string }>;
  gauge?: { value?: number };
  counter?: { value?: number; exemplar?: DecodedExemplar };
  summary?: { sample_count?: number; sample_sum?: number; quantile: Array<{ quantile?: number; value?: number }> };
  histogram?: DecodedHistogram;
}

export interface DecodedFamily {
  name: string;
  help: string;
  type: 'COUNTER' | 'GAUGE' | 'SUMMARY' | 'UNTYPED' | 'HISTOGRAM';
  metric: DecodedMetric[];
}

/** Every MetricFamily of a delimited stream, as plain objects (absent fields left out). */
export function decodeFamilies(bytes: Uint8Array): DecodedFamily[] {
  const reader = protobuf.Reader.create(bytes);
  const families: DecodedFamily[] = [];
  while (reader.pos < reader.len) {
    const message = MetricFamilyType.decodeDelimited(reader);
    families.push(MetricFamilyType.toObject(message, { longs: Number, enums: String, arrays: true }) as DecodedFamily);
  }
  return families;
}

/** The labels of a decoded metric as an object. */
export function labelsOf(metric: DecodedMetric): Record<string, string> {
  return Object.fromEntries(metric.label.map(({ name, value }) => [name, value]));
}

/** A decoded native histogram as plain numbers, checked as Prometheus checks it (count = zero + buckets). */
export function nativeOf(histogram: DecodedHistogram): PlainNative {
  const positive = bucketCounts(histogram.positive_span, histogram.positive_delta);
  const negative = bucketCounts(histogram.negative_span, histogram.negative_delta);
  const zeroCount = histogram.zero_count ?? 0;
  let total = zeroCount;
  for (const count of [...positive.values(), ...negative.values()]) {
    assert.ok(count > 0, `bucket counts are positive, got ${count}`);
    total += count;
  }
  const count = histogram.sample_count ?? 0;
  assert.equal(total, count, 'zero_count + every bucket = sample_count');
  return { schema: histogram.schema ?? 0, zeroThreshold: histogram.zero_threshold ?? 0, zeroCount, count, sum: histogram.sample_sum ?? 0, positive, negative };
}

/** A value as the text parser of the tests spells it (non-finite as "+Inf", "-Inf", "NaN"). */
function textValue(value: number | undefined): number | string {
  const v = value ?? 0;
  if (Number.isFinite(v)) return v;
  if (Number.isNaN(v)) return 'NaN';
  return v > 0 ? '+Inf' : '-Inf';
}

/** A Go-style `le`/`quantile` label value for a bound (what the text formats write). */
function boundText(bound: number | undefined): string {
  if (bound === Infinity) return '+Inf';
  return String(bound ?? 0);
}

/**
 * The classic samples Prometheus's protobuf parser makes of decoded families, named as in the
 * text formats: a counter's or gauge's value under its family name; a summary's quantiles,
 * `_count` and `_sum`; a histogram's `_bucket`s with a `+Inf` one from its count, `_count`, `_sum`.
 */
export function classicSamplesOf(families: readonly DecodedFamily[]): Array<{ name: string; labels: Record<string, string>; value: number | string }> {
  const samples: Array<{ name: string; labels: Record<string, string>; value: number | string }> = [];
  for (const family of families) {
    for (const metric of family.metric) {
      const labels = labelsOf(metric);
      if (metric.counter !== undefined) samples.push({ name: family.name, labels, value: textValue(metric.counter.value) });
      if (metric.gauge !== undefined) samples.push({ name: family.name, labels, value: textValue(metric.gauge.value) });
      if (metric.summary !== undefined) {
        for (const { quantile, value } of metric.summary.quantile) samples.push({ name: family.name, labels: { ...labels, quantile: boundText(quantile) }, value: textValue(value) });
        samples.push({ name: `${family.name}_count`, labels, value: metric.summary.sample_count ?? 0 });
        samples.push({ name: `${family.name}_sum`, labels, value: textValue(metric.summary.sample_sum) });
      }
      if (metric.histogram !== undefined) {
        const histogram = metric.histogram;
        const count = histogram.sample_count ?? histogram.sample_count_float ?? 0;
        for (const bucket of histogram.bucket) {
          samples.push({ name: `${family.name}_bucket`, labels: { ...labels, le: boundText(bucket.upper_bound) }, value: bucket.cumulative_count ?? bucket.cumulative_count_float ?? 0 });
        }
        samples.push({ name: `${family.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count });
        samples.push({ name: `${family.name}_count`, labels, value: count });
        samples.push({ name: `${family.name}_sum`, labels, value: textValue(histogram.sample_sum) });
      }
    }
  }
  return samples;
}

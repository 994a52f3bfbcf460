// Renders merged families as Prometheus's protobuf exposition: io.prometheus.client.MetricFamily
// messages, each preceded by its length as a varint (`encoding=delimited`), for every metric type,
// with native histograms. Field numbers are those of client_model's metrics.proto.
//
// The renderer works in two steps: a family's samples (and native series) are grouped into metric
// points, one per label set (a histogram's buckets, count, sum and native buckets together), then
// each point is written as one Metric message. A point is where what the text formats cannot carry
// attaches (native buckets). Summary quantiles come as the merge gives them, as samples with a
// `quantile` label (merged from sketches, or memory mode's own). Exemplars ride on the samples that
// carry them in OpenMetrics (a counter's total, a classic bucket): Counter.exemplar and
// Bucket.exemplar, and for a native histogram every bucket's in Histogram.exemplars too.

import type { BinaryWriter } from '@bufbuild/protobuf/wire';
import type * as Wire from '@bufbuild/protobuf/wire';
import { isCount } from './native-merge';
import type { MetricFamily, MetricType, NativeHistogram, Sample, SampleExemplar } from './types';
import type { BucketSpan } from '../store';

// @bufbuild/protobuf's writer, bundled into vendor/ by the build (scripts/bundle-protobuf-wire.js:
// the whole package would bring 2.9 MB into every app), the same path from src/ and dist/. Loaded
// at the first protobuf rendering, not by require('pm2-prom-multiproc'): an app that only updates
// metrics never renders (bench/package.bench.ts measures the require time).
// eslint-disable-next-line @typescript-eslint/no-require-imports -- deferring the load is the point
const wire = (): Pick<typeof Wire, 'BinaryWriter'> => require('../../vendor/protobuf-wire.js') as Pick<typeof Wire, 'BinaryWriter'>;
const newWriter = (): BinaryWriter => new (wire().BinaryWriter)();

// The protobuf wire types (the same numbers as the library's WireType; its enum would load it).
const VARINT = 0;
const BIT64 = 1;
const LENGTH = 2;

// metrics.proto, message by message.
const FAMILY_NAME = 1;
const FAMILY_HELP = 2;
const FAMILY_TYPE = 3;
const FAMILY_METRIC = 4;
const TYPE_CODES: Readonly<Record<MetricType, number>> = { counter: 0, gauge: 1, summary: 2, histogram: 4 };
const METRIC_LABEL = 1;
const METRIC_GAUGE = 2;
const METRIC_COUNTER = 3;
const METRIC_SUMMARY = 4;
const METRIC_HISTOGRAM = 7;
const LABEL_NAME = 1;
const LABEL_VALUE = 2;
/** Gauge.value and Counter.value. */
const SINGLE_VALUE = 1;
const SUMMARY_COUNT = 1;
const SUMMARY_SUM = 2;
const SUMMARY_QUANTILE = 3;
const QUANTILE_QUANTILE = 1;
const QUANTILE_VALUE = 2;
const HISTOGRAM_COUNT = 1;
const HISTOGRAM_SUM = 2;
const HISTOGRAM_BUCKET = 3;
const HISTOGRAM_COUNT_FLOAT = 4;
const HISTOGRAM_SCHEMA = 5;
const HISTOGRAM_ZERO_THRESHOLD = 6;
const HISTOGRAM_ZERO_COUNT = 7;
const HISTOGRAM_NEGATIVE_SPAN = 9;
const HISTOGRAM_NEGATIVE_DELTA = 10;
const HISTOGRAM_POSITIVE_SPAN = 12;
const HISTOGRAM_POSITIVE_DELTA = 13;
/** client_model 0.6's field: Prometheus 2.42 ignores it and reads the first Bucket.exemplar instead. */
const HISTOGRAM_EXEMPLARS = 16;
const BUCKET_COUNT = 1;
const BUCKET_UPPER_BOUND = 2;
const BUCKET_EXEMPLAR = 3;
const BUCKET_COUNT_FLOAT = 4;
const COUNTER_EXEMPLAR = 2;
const EXEMPLAR_LABEL = 1;
const EXEMPLAR_VALUE = 2;
const EXEMPLAR_TIMESTAMP = 3;
const TIMESTAMP_SECONDS = 1;
const TIMESTAMP_NANOS = 2;
const SPAN_OFFSET = 1;
const SPAN_LENGTH = 2;
/** A Counter or Gauge message holding one double: its tag byte and 8 bytes. */
const SINGLE_VALUE_BYTES = 9;

type Labels = Readonly<Record<string, string>>;

/** One Metric message of a family: a label set and what it holds. */
export interface MetricPoint {
  /** The labels of the first sample seen (their `le` or `quantile` is not written). */
  labels: Labels;
  /** Counters and gauges. */
  value: number;
  /** Histograms and summaries: `_count` (a histogram's `+Inf` bucket when there is none) and `_sum`. */
  count: number | undefined;
  sum: number;
  /** Histograms: the classic buckets below +Inf, cumulative, ascending, with their exemplars. */
  buckets: Array<{ upperBound: number; count: number; exemplar: SampleExemplar | undefined }>;
  /** Histograms: the exemplar of the +Inf bucket, which is written only to carry it. */
  infExemplar: SampleExemplar | undefined;
  /** Summaries: the quantiles (merged from sketches, or memory mode's own). */
  quantiles: Array<{ quantile: number; value: number }>;
  native: NativeHistogram | undefined;
}

/** A label set's Metric.label fields, written once per label set and kept while it lives. */
interface EncodedLabels {
  /** The labels but the excluded one, as a string: which samples share a point. */
  key: string;
  bytes: Uint8Array;
}

/** Per excluded label name (`le`, `quantile`, or '' for none): encoded label sets by object. */
const encodedLabels = new Map<string, WeakMap<Labels, EncodedLabels>>();

function encoded(labels: Labels, excluded: string): EncodedLabels {
  let cache = encodedLabels.get(excluded);
  if (cache === undefined) {
    cache = new WeakMap();
    encodedLabels.set(excluded, cache);
  }
  let result = cache.get(labels);
  if (result === undefined) {
    const names = Object.keys(labels).filter((name) => name !== excluded);
    const writer = newWriter();
    for (const name of names) {
      writer.tag(METRIC_LABEL, LENGTH).fork().tag(LABEL_NAME, LENGTH).string(name).tag(LABEL_VALUE, LENGTH).string(labels[name]).join();
    }
    result = { key: JSON.stringify(names.sort().map((name) => [name, labels[name]])), bytes: writer.finish() };
    cache.set(labels, result);
  }
  return result;
}

// Most points have no buckets (summaries, native-only histograms) or no quantiles: shared empty
// lists until a first one is added, so a scrape does not make two arrays per series for nothing.
const NO_BUCKETS: MetricPoint['buckets'] = [];
const NO_QUANTILES: MetricPoint['quantiles'] = [];

function newPoint(labels: Labels): MetricPoint {
  return { labels, value: 0, count: undefined, sum: 0, buckets: NO_BUCKETS, infExemplar: undefined, quantiles: NO_QUANTILES, native: undefined };
}

/** Parses an `le` or `quantile` label as the merge spells it (`+Inf`, Go float spelling). */
function parseBound(text: string | undefined): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return text === undefined ? NaN : Number(text);
}

/**
 * The points of a histogram or summary family: one per label set (without `le`/`quantile`), in
 * the order the label sets first appear. For a histogram, the label sets with a native series come
 * first: Prometheus 2.42 reads a whole family as classic or native after its first metric, so one
 * label set without native data in front (written before native buckets were turned on, or its
 * native part waiting in a worker's memory on a full disk) would turn every native series of the
 * family classic. Behind them, 2.42 reads such a label set as a native histogram with its count and
 * sum and no buckets; later versions decide per metric and read it classic.
 */
export function metricPoints(family: MetricFamily): MetricPoint[] {
  const histogram = family.type === 'histogram';
  const excluded = histogram ? 'le' : 'quantile';
  const points = new Map<string, MetricPoint>();
  const pointOf = (labels: Labels): MetricPoint => {
    const { key } = encoded(labels, excluded);
    let point = points.get(key);
    if (point === undefined) {
      point = newPoint(labels);
      points.set(key, point);
    }
    return point;
  };
  const countName = `${family.name}_count`;
  const sumName = `${family.name}_sum`;
  const bucketName = `${family.name}_bucket`;
  for (const sample of family.samples) {
    if (sample.name === countName) pointOf(sample.labels).count = sample.value;
    else if (sample.name === sumName) pointOf(sample.labels).sum = sample.value;
    else if (histogram && sample.name === bucketName) addBucket(pointOf(sample.labels), sample);
    else if (!histogram && sample.name === family.name) addQuantile(pointOf(sample.labels), sample);
  }
  if (!histogram || family.nativeHistograms === undefined) return [...points.values()];
  for (const series of family.nativeHistograms) pointOf(series.labels).native = series.histogram;
  const all = [...points.values()];
  return [...all.filter((point) => point.native !== undefined), ...all.filter((point) => point.native === undefined)];
}

function addBucket(point: MetricPoint, sample: Sample): void {
  const upperBound = parseBound(sample.labels.le);
  // Prometheus adds the +Inf bucket itself, from the count.
  if (upperBound === Infinity) {
    point.count ??= sample.value;
    point.infExemplar = sample.exemplar;
    return;
  }
  if (point.buckets === NO_BUCKETS) point.buckets = [];
  point.buckets.push({ upperBound, count: sample.value, exemplar: sample.exemplar });
}

function addQuantile(point: MetricPoint, sample: Sample): void {
  if (point.quantiles === NO_QUANTILES) point.quantiles = [];
  point.quantiles.push({ quantile: parseBound(sample.labels.quantile), value: sample.value });
}

/** The delimited MetricFamily messages of `families`. */
export function renderProtobuf(families: readonly MetricFamily[]): Uint8Array {
  const writer = newWriter();
  for (const family of families) {
    if (family.type === 'counter' || family.type === 'gauge') writeSingleValueFamilies(writer, family);
    else writeFamily(writer, family.name, family, metricPoints(family));
  }
  return writer.finish();
}

/**
 * A counter's or gauge's samples, one family message per sample name: in protobuf the family
 * name is the series name, so a counter exposed as `jobs_total` is a family `jobs_total`.
 */
function writeSingleValueFamilies(writer: BinaryWriter, family: MetricFamily): void {
  const field = family.type === 'counter' ? METRIC_COUNTER : METRIC_GAUGE;
  const names = new Set<string>();
  for (const sample of family.samples) names.add(sample.name);
  for (const name of names) {
    writeFamilyHeader(writer, name, family);
    for (const sample of family.samples) {
      if (sample.name !== name) continue;
      const labels = encoded(sample.labels, '').bytes;
      const exemplar = sample.exemplar;
      if (exemplar !== undefined) {
        // Only a counter's total carries one (the merge attaches it nowhere else).
        writer.tag(FAMILY_METRIC, LENGTH).fork().raw(labels).tag(field, LENGTH).fork().tag(SINGLE_VALUE, BIT64).double(sample.value);
        writeExemplar(writer, COUNTER_EXEMPLAR, exemplar);
        writer.join().join();
        continue;
      }
      // Fixed sizes, so no fork: Metric = labels + (tag, length, Counter/Gauge message).
      writer.tag(FAMILY_METRIC, LENGTH).uint32(labels.length + 2 + SINGLE_VALUE_BYTES).raw(labels);
      writer.tag(field, LENGTH).uint32(SINGLE_VALUE_BYTES).tag(SINGLE_VALUE, BIT64).double(sample.value);
    }
    writer.join();
  }
}

function writeFamilyHeader(writer: BinaryWriter, name: string, family: MetricFamily): void {
  // A top-level fork's join writes the message's length first: the delimited framing.
  writer.fork().tag(FAMILY_NAME, LENGTH).string(name).tag(FAMILY_HELP, LENGTH).string(family.help);
  writer.tag(FAMILY_TYPE, VARINT).int32(TYPE_CODES[family.type]);
}

function writeFamily(writer: BinaryWriter, name: string, family: MetricFamily, points: readonly MetricPoint[]): void {
  if (points.length === 0) return;
  writeFamilyHeader(writer, name, family);
  const excluded = family.type === 'histogram' ? 'le' : 'quantile';
  for (const point of points) {
    writer.tag(FAMILY_METRIC, LENGTH).fork().raw(encoded(point.labels, excluded).bytes);
    if (family.type === 'histogram') writeHistogram(writer, point);
    else writeSummary(writer, point);
    writer.join();
  }
  writer.join();
}

// A varint is the same bytes whether written as uint32 or uint64 (zigzag: sint32 or sint64) when
// the value fits 32 bits; the 64-bit writers go through BigInt, several times slower.
function writeCount(writer: BinaryWriter, count: number): void {
  if (count <= 0xffffffff) writer.uint32(count);
  else writer.uint64(count);
}

function writeDelta(writer: BinaryWriter, delta: number): void {
  if (delta >= -0x80000000 && delta <= 0x7fffffff) writer.sint32(delta);
  else writer.sint64(delta);
}

function writeSummary(writer: BinaryWriter, point: MetricPoint): void {
  writer.tag(METRIC_SUMMARY, LENGTH).fork();
  // Summary has no float count: one a file holds as a fraction (a damaged file) is cut down.
  const count = point.count ?? 0;
  writeCount(writer.tag(SUMMARY_COUNT, VARINT), isCount(count) ? count : count > 0 && count < Infinity ? Math.floor(count) : 0);
  writer.tag(SUMMARY_SUM, BIT64).double(point.sum);
  for (const { quantile, value } of point.quantiles) {
    writer.tag(SUMMARY_QUANTILE, LENGTH).fork().tag(QUANTILE_QUANTILE, BIT64).double(quantile).tag(QUANTILE_VALUE, BIT64).double(value).join();
  }
  writer.join();
}

function writeHistogram(writer: BinaryWriter, point: MetricPoint): void {
  const native = point.native;
  const count = native?.count ?? point.count ?? 0;
  // Counts a file holds as fractions (only a damaged file does) go in the float fields.
  const whole = isCount(count) && point.buckets.every((bucket) => isCount(bucket.count));
  writer.tag(METRIC_HISTOGRAM, LENGTH).fork();
  if (whole) writeCount(writer.tag(HISTOGRAM_COUNT, VARINT), count);
  else writer.tag(HISTOGRAM_COUNT_FLOAT, BIT64).double(count);
  writer.tag(HISTOGRAM_SUM, BIT64).double(native?.sum ?? point.sum);
  for (const bucket of point.buckets) {
    // The classic file is read a moment apart from the native one: no bucket may pass the count.
    const cumulative = native === undefined ? bucket.count : Math.min(bucket.count, count);
    writer.tag(HISTOGRAM_BUCKET, LENGTH).fork();
    if (whole) writeCount(writer.tag(BUCKET_COUNT, VARINT), cumulative);
    else writer.tag(BUCKET_COUNT_FLOAT, BIT64).double(cumulative);
    writer.tag(BUCKET_UPPER_BOUND, BIT64).double(bucket.upperBound);
    if (bucket.exemplar !== undefined) writeExemplar(writer, BUCKET_EXEMPLAR, bucket.exemplar);
    writer.join();
  }
  if (point.infExemplar !== undefined) {
    // The +Inf bucket, optional in metrics.proto (Prometheus adds it from the count when it is
    // absent), is written when it has an exemplar: there is no other place for that exemplar.
    writer.tag(HISTOGRAM_BUCKET, LENGTH).fork();
    if (whole) writeCount(writer.tag(BUCKET_COUNT, VARINT), count);
    else writer.tag(BUCKET_COUNT_FLOAT, BIT64).double(count);
    writer.tag(BUCKET_UPPER_BOUND, BIT64).double(Infinity);
    writeExemplar(writer, BUCKET_EXEMPLAR, point.infExemplar).join();
  }
  if (native !== undefined) {
    writeNativeBuckets(writer, native);
    for (const exemplar of nativeExemplars(point)) writeExemplar(writer, HISTOGRAM_EXEMPLARS, exemplar);
  }
  writer.join();
}

/**
 * A native histogram's exemplars (client_golang's Histogram.exemplars): those of its classic
 * buckets, +Inf included, oldest first, each with its timestamp (which that field requires).
 */
function nativeExemplars(point: MetricPoint): SampleExemplar[] {
  const exemplars: SampleExemplar[] = [];
  for (const bucket of point.buckets) if (bucket.exemplar !== undefined) exemplars.push(bucket.exemplar);
  if (point.infExemplar !== undefined) exemplars.push(point.infExemplar);
  return exemplars.sort((a, b) => a.timestamp - b.timestamp);
}

/** An Exemplar message as field `field`: its labels in the app's order, value, timestamp. */
function writeExemplar(writer: BinaryWriter, field: number, exemplar: SampleExemplar): BinaryWriter {
  writer.tag(field, LENGTH).fork();
  for (const name in exemplar.labels) {
    writer.tag(EXEMPLAR_LABEL, LENGTH).fork().tag(LABEL_NAME, LENGTH).string(name).tag(LABEL_VALUE, LENGTH).string(exemplar.labels[name]).join();
  }
  writer.tag(EXEMPLAR_VALUE, BIT64).double(exemplar.value);
  // Unix seconds with milliseconds (Date.now() / 1000, as prom-client's), as whole seconds and nanos.
  const milliseconds = Math.round(exemplar.timestamp * 1000);
  const seconds = Math.floor(milliseconds / 1000);
  writer.tag(EXEMPLAR_TIMESTAMP, LENGTH).fork();
  if (seconds >= 0 && seconds <= 0xffffffff) writer.tag(TIMESTAMP_SECONDS, VARINT).uint32(seconds);
  else writer.tag(TIMESTAMP_SECONDS, VARINT).int64(seconds);
  writer.tag(TIMESTAMP_NANOS, VARINT).int32((milliseconds - seconds * 1000) * 1e6).join();
  return writer.join();
}

function writeNativeBuckets(writer: BinaryWriter, native: NativeHistogram): void {
  writer.tag(HISTOGRAM_SCHEMA, VARINT).sint32(native.schema);
  writer.tag(HISTOGRAM_ZERO_THRESHOLD, BIT64).double(native.zeroThreshold);
  writeCount(writer.tag(HISTOGRAM_ZERO_COUNT, VARINT), native.zeroCount);
  writeSpans(writer, HISTOGRAM_NEGATIVE_SPAN, HISTOGRAM_NEGATIVE_DELTA, native.negativeSpans, native.negativeDeltas);
  // A histogram without buckets still says it is native: the no-op span client_golang writes.
  const positiveSpans = native.positiveSpans.length === 0 && native.negativeSpans.length === 0 ? NO_OP_SPANS : native.positiveSpans;
  writeSpans(writer, HISTOGRAM_POSITIVE_SPAN, HISTOGRAM_POSITIVE_DELTA, positiveSpans, native.positiveDeltas);
}

const NO_OP_SPANS: readonly BucketSpan[] = [{ offset: 0, length: 0 }];

function writeSpans(writer: BinaryWriter, spanField: number, deltaField: number, spans: readonly BucketSpan[], deltas: readonly number[]): void {
  for (const { offset, length } of spans) {
    // A BucketSpan's size is known: two one-byte tags and two varints, so no fork is needed.
    const zigzag = ((offset << 1) ^ (offset >> 31)) >>> 0;
    writer.tag(spanField, LENGTH).uint32(2 + varintBytes(zigzag) + varintBytes(length));
    writer.tag(SPAN_OFFSET, VARINT).sint32(offset).tag(SPAN_LENGTH, VARINT).uint32(length);
  }
  if (deltas.length === 0) return;
  writer.tag(deltaField, LENGTH).fork();
  for (const delta of deltas) writeDelta(writer, delta);
  writer.join();
}

/** Bytes of a uint32 as a varint. */
function varintBytes(value: number): number {
  return value < 0x80 ? 1 : value < 0x4000 ? 2 : value < 0x200000 ? 3 : value < 0x10000000 ? 4 : 5;
}

// The protobuf exposition, decoded with protobufjs from our own .proto: every type says what the
// text format says (Python's fixture files and our writers, merged), memory-mode registries too
// (summary quantiles included), and histograms carry their native buckets beside the classic ones.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DirectoryCollector, PROTOBUF_CONTENT_TYPE, renderProtobuf, renderText } from '../../src/collect';
import type { MetricFamily } from '../../src/collect';
import { Counter, Gauge, Histogram, Registry, Summary } from '../../src/index';
import { useStore } from '../../src/metrics/active-store';
import { DEFAULT_ZERO_THRESHOLD, ProcessStore, bucketIndex } from '../../src/store';
import { PYTHON_CURRENT } from '../support/fixtures';
import { classicSamplesOf, decodeFamilies, labelsOf, nativeOf } from '../support/protobuf';
import { makeTempDir, removeDir, writeDbFile } from './support/files';
import { assertSameSamples, parseExposition } from './support/samples';

function copyPythonFixture(dir: string): void {
  const db = path.join(PYTHON_CURRENT, 'db');
  for (const name of fs.readdirSync(db)) fs.copyFileSync(path.join(db, name), path.join(dir, name));
}

describe('protobuf exposition', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('pm2-prom-protobuf-');
  });
  afterEach(() => {
    useStore(undefined);
    removeDir(dir);
  });

  it('says for counters, gauges, summaries and classic histograms what the text format says', () => {
    copyPythonFixture(dir);
    writeDbFile(path.join(dir, 'counter_404.db'), [
      { metric: 'jobs', sample: 'jobs_total', labels: { value: 'q"uote ünï' }, help: 'Jobs "done"\\\n.', value: 2 },
      { metric: 'legacy_events', value: 5, help: 'A counter named without _total.' },
    ]);
    writeDbFile(path.join(dir, 'gauge_all_404.db'), [
      { metric: 'ratio', labels: { kind: 'inf' }, value: Infinity },
      { metric: 'ratio', labels: { kind: 'nan' }, value: NaN },
    ]);
    const families = new DirectoryCollector(dir).collect();
    const decoded = decodeFamilies(renderProtobuf(families));
    assertSameSamples(classicSamplesOf(decoded), parseExposition(renderText(families)), 'protobuf against text');
    const byName = new Map(decoded.map((family) => [family.name, family]));
    // In protobuf a family's name is its series' name: counters keep `_total`.
    assert.deepEqual(
      decoded.map((family) => [family.name, family.type]),
      families.map((family) => [family.type === 'counter' ? family.samples[0].name : family.name, family.type.toUpperCase()]),
    );
    assert.equal(byName.get('jobs_total')?.help, 'Jobs "done"\\\n.');
  });

  it('says in memory mode what the registry says in text, summary quantiles included', async () => {
    const registries = { text: new Registry(), protobuf: new Registry(Registry.PROMETHEUS_PROTOBUF_CONTENT_TYPE) };
    const registers = [registries.text, registries.protobuf] as Array<Registry<never>>;
    new Counter({ name: 'hits_total', help: 'Hits.', labelNames: ['code'], registers }).inc({ code: '200' }, 3);
    new Gauge({ name: 'depth', help: 'Depth.', registers }).set(-2.5);
    const summary = new Summary({ name: 'size_bytes', help: 'Size.', percentiles: [0.5, 0.9], registers });
    const histogram = new Histogram({ name: 'wait_seconds', help: 'Wait.', buckets: [0.1, 1], registers });
    for (const v of [0.05, 0.5, 5, 50]) {
      summary.observe(v);
      histogram.observe(v);
    }
    registries.text.setDefaultLabels({ host: 'a' });
    registries.protobuf.setDefaultLabels({ host: 'a' });
    assert.equal(Registry.PROMETHEUS_PROTOBUF_CONTENT_TYPE, PROTOBUF_CONTENT_TYPE);
    assert.equal(registries.protobuf.contentType, 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited');
    const bytes = await registries.protobuf.metrics();
    assert.ok(Buffer.isBuffer(bytes));
    const decoded = decodeFamilies(bytes);
    assertSameSamples(classicSamplesOf(decoded), parseExposition(await registries.text.metrics()), 'memory mode');
    assert.deepEqual(
      decoded.find((family) => family.name === 'size_bytes')?.metric[0].summary?.quantile.map((q) => q.quantile),
      [0.5, 0.9],
    );
    assert.deepEqual(decodeFamilies(await registries.protobuf.getSingleMetricAsString('depth')).map((family) => family.name), ['depth']);
  });

  it('carries native buckets beside the classic ones, and none of those for a native-only histogram', () => {
    useStore(new ProcessStore(dir, { pid: 101, threadId: 0 }));
    const registers: Array<Registry<never>> = [];
    const both = new Histogram({ name: 'both_seconds', help: 'Both.', buckets: [0.5, 1], nativeHistogramBucketFactor: 1.1, registers });
    const nativeOnly = new Histogram({ name: 'native_seconds', help: 'Native.', labelNames: ['route'], buckets: [], nativeHistogramBucketFactor: 2, registers });
    const observations = [0, 0.25, 0.75, 1, 3, -2];
    for (const v of observations) {
      both.observe(v);
      nativeOnly.observe({ route: '/' }, v);
    }
    nativeOnly.labels('/empty');
    useStore(undefined);
    const families = new DirectoryCollector(dir).collect();
    const decoded = new Map(decodeFamilies(renderProtobuf(families)).map((family) => [family.name, family]));

    const bothHistogram = decoded.get('both_seconds')?.metric[0].histogram;
    assert.ok(bothHistogram !== undefined);
    assert.deepEqual(
      bothHistogram.bucket.map((bucket) => [bucket.upper_bound, bucket.cumulative_count]),
      [
        [0.5, 3],
        [1, 5],
      ],
    );
    const native = nativeOf(bothHistogram);
    const expected = new Map<number, number>();
    for (const v of observations.filter((value) => value > 0)) expected.set(bucketIndex(v, 3), (expected.get(bucketIndex(v, 3)) ?? 0) + 1);
    assert.deepEqual(native, {
      schema: 3,
      zeroThreshold: DEFAULT_ZERO_THRESHOLD,
      zeroCount: 1,
      count: 6,
      sum: 3,
      positive: expected,
      negative: new Map([[bucketIndex(2, 3), 1]]),
    });

    const [routed, empty] = decoded.get('native_seconds')?.metric ?? [];
    assert.deepEqual([labelsOf(routed), labelsOf(empty)], [{ route: '/' }, { route: '/empty' }]);
    const emptyHistogram = empty.histogram;
    assert.ok(emptyHistogram !== undefined && routed.histogram !== undefined);
    assert.deepEqual(routed.histogram.bucket, [], 'no classic bucket for native only');
    assert.equal(nativeOf(routed.histogram).schema, 0);
    // No observation: still native (the no-op span, the default threshold).
    assert.deepEqual(emptyHistogram.positive_span, [{ offset: 0, length: 0 }]);
    assert.equal(emptyHistogram.zero_threshold, DEFAULT_ZERO_THRESHOLD);
    assert.equal(emptyHistogram.sample_count, 0);
    // Text keeps the classic part: a native-only histogram shows its +Inf bucket, _count and _sum.
    const text = renderText(families);
    assert.match(text, /^native_seconds_bucket\{route="\/",le="\+Inf"\} 6$/m);
    assert.match(text, /^native_seconds_count\{route="\/"\} 6$/m);
    assert.match(text, /^native_seconds_sum\{route="\/"\} 3$/m);
  });

  it("puts a histogram family's native label sets first (Prometheus 2.42 reads a family by its first metric), and clamps classic buckets to the native count", () => {
    const families: MetricFamily[] = [
      {
        name: 'h',
        help: 'H.',
        type: 'histogram',
        samples: [
          { name: 'h_bucket', labels: { a: '1', le: '1.0' }, value: 9 },
          { name: 'h_bucket', labels: { a: '1', le: '+Inf' }, value: 9 },
          { name: 'h_count', labels: { a: '1' }, value: 9 },
          { name: 'h_sum', labels: { a: '1' }, value: 4 },
          { name: 'h_bucket', labels: { a: '2', le: '1.0' }, value: 2 },
          { name: 'h_bucket', labels: { a: '2', le: '+Inf' }, value: 2 },
          { name: 'h_count', labels: { a: '2' }, value: 2 },
          { name: 'h_sum', labels: { a: '2' }, value: 1 },
        ],
        nativeHistograms: [
          {
            labels: { a: '1' },
            histogram: { schema: 0, zeroThreshold: 0, zeroCount: 0, count: 7, sum: 3, positiveSpans: [{ offset: 0, length: 1 }], positiveDeltas: [7], negativeSpans: [], negativeDeltas: [] },
          },
        ],
      },
    ];
    const [family] = decodeFamilies(renderProtobuf(families));
    assert.deepEqual(family.metric.map(labelsOf), [{ a: '1' }, { a: '2' }]);
    assert.equal(family.metric[0].histogram?.bucket[0].cumulative_count, 7, 'clamped to the native count');
    assert.equal(family.metric[0].histogram?.sample_count, 7);
  });

  it('writes counts a damaged file holds as fractions in the float fields instead of failing', () => {
    writeDbFile(path.join(dir, 'histogram_1.db'), [
      { metric: 'h', sample: 'h_bucket', labels: { le: '1.0' }, value: 1.5 },
      { metric: 'h', sample: 'h_bucket', labels: { le: '+Inf' }, value: 0.5 },
      { metric: 'h', sample: 'h_sum', value: 1 },
    ]);
    writeDbFile(path.join(dir, 'summary_1.db'), [
      { metric: 's', sample: 's_count', value: 2.5 },
      { metric: 's', sample: 's_sum', value: 1 },
    ]);
    const [histogram, summary] = decodeFamilies(renderProtobuf(new DirectoryCollector(dir).collect()));
    assert.deepEqual(histogram.metric[0].histogram?.bucket, [{ cumulative_count_float: 1.5, upper_bound: 1 }]);
    assert.equal(histogram.metric[0].histogram?.sample_count_float, 2);
    assert.equal(summary.metric[0].summary?.sample_count, 2);
  });
});

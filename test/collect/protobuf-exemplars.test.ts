// Exemplars in the protobuf exposition, decoded with protobufjs from our own .proto: the latest of
// each counter series in Counter.exemplar, of each classic bucket in Bucket.exemplar (the +Inf
// bucket written to carry its own), and a native histogram's in Histogram.exemplars too, oldest
// first, each with its timestamp; exactly the exemplars OpenMetrics shows. Text 0.0.4 is unchanged.
import * as assert from 'node:assert/strict';
import { DirectoryCollector, renderOpenMetrics, renderProtobuf, renderText } from '../../src/collect';
import type { MetricFamily, SampleExemplar } from '../../src/collect';
import { Counter, Histogram, Registry } from '../../src/index';
import { useStore } from '../../src/metrics/active-store';
import { ProcessStore } from '../../src/store';
import { decodeFamilies, labelsOf } from '../support/protobuf';
import type { DecodedExemplar } from '../support/protobuf';
import { makeTempDir, removeDir } from './support/files';
import { PROMTOOL_MISSING, assertPromtoolAccepts, promtoolAvailable } from './support/promtool';

/** One process of an app: a counter, a classic histogram and a native one, all with exemplars. */
function writeProcess(dir: string, pid: number, traces: readonly string[]): void {
  const store = new ProcessStore(dir, { pid, threadId: 0, backend: 'native' });
  useStore(store);
  try {
    const registers = [new Registry(Registry.OPENMETRICS_CONTENT_TYPE)];
    const requests = new Counter({ name: 'requests_total', help: 'Requests.', labelNames: ['route'], enableExemplars: true, registers });
    const latency = new Histogram({ name: 'latency_seconds', help: 'Latency.', labelNames: ['route'], buckets: [0.1, 1], enableExemplars: true, registers });
    const service = new Histogram({
      name: 'service_seconds',
      help: 'Service time.',
      buckets: [],
      nativeHistogramBucketFactor: 1.1,
      enableExemplars: true,
      registers,
    });
    const both = new Histogram({ name: 'both_seconds', help: 'Both.', buckets: [0.5], nativeHistogramBucketFactor: 1.1, enableExemplars: true, registers });
    for (const [i, traceId] of traces.entries()) {
      requests.inc({ labels: { route: i % 2 === 0 ? '/a' : '/b' }, value: i + 1, exemplarLabels: { traceId } });
      latency.observe({ labels: { route: '/a' }, value: [0.05, 0.5, 5][i % 3], exemplarLabels: { traceId, spanId: `s${i}` } });
      service.observe({ value: 0.25 * (i + 1), exemplarLabels: { traceId } });
      both.observe({ value: [0.25, 2][i % 2], exemplarLabels: { traceId } });
    }
  } finally {
    useStore(undefined);
    store.close();
  }
}

/** An exemplar as the decoded protobuf says it: labels in order, value, unix seconds. */
function fromProtobuf(exemplar: DecodedExemplar | undefined): SampleExemplar | undefined {
  if (exemplar === undefined) return undefined;
  const labels: Record<string, string> = {};
  for (const { name, value } of exemplar.label) labels[name] = value;
  const { seconds = 0, nanos = 0 } = exemplar.timestamp ?? {};
  return { labels, value: exemplar.value ?? 0, timestamp: seconds + nanos / 1e9 };
}

/** The merged samples that carry exemplars, by series name and labels as text. */
function mergedExemplars(families: readonly MetricFamily[]): Map<string, SampleExemplar> {
  const exemplars = new Map<string, SampleExemplar>();
  for (const family of families) {
    for (const sample of family.samples) {
      if (sample.exemplar !== undefined) exemplars.set(`${sample.name}${JSON.stringify(sample.labels)}`, sample.exemplar);
    }
  }
  return exemplars;
}

const close = (a: SampleExemplar | undefined, b: SampleExemplar | undefined): boolean =>
  a !== undefined && b !== undefined && JSON.stringify(a.labels) === JSON.stringify(b.labels) && a.value === b.value && Math.abs(a.timestamp - b.timestamp) < 1e-6;

describe('exemplars in the protobuf exposition', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('pm2-prom-protobuf-exemplars-');
  });
  afterEach(() => removeDir(dir));

  it('carry the latest exemplar of each counter series and classic bucket, as OpenMetrics does', () => {
    writeProcess(dir, 101, ['t101a', 't101b', 't101c']);
    writeProcess(dir, 202, ['t202a', 't202b', 't202c', 't202d']);
    const families = new DirectoryCollector(dir).collect();
    const merged = mergedExemplars(families);
    const decoded = decodeFamilies(renderProtobuf(families));
    const byName = new Map(decoded.map((family) => [family.name, family]));
    const seen = new Map<string, SampleExemplar | undefined>();

    for (const metric of byName.get('requests_total')?.metric ?? []) {
      seen.set(`requests_total${JSON.stringify(labelsOf(metric))}`, fromProtobuf(metric.counter?.exemplar));
    }
    for (const name of ['latency_seconds', 'both_seconds', 'service_seconds']) {
      for (const metric of byName.get(name)?.metric ?? []) {
        for (const bucket of metric.histogram?.bucket ?? []) {
          const le = bucket.upper_bound === Infinity ? '+Inf' : String(bucket.upper_bound);
          seen.set(`${name}_bucket${JSON.stringify({ ...labelsOf(metric), le: le === '1' ? '1.0' : le })}`, fromProtobuf(bucket.exemplar));
        }
      }
    }
    // Every exemplar the merge attached is in the protobuf, at its place, and no other one.
    assert.deepEqual([...seen.keys()].filter((key) => seen.get(key) !== undefined).sort(), [...merged.keys()].sort());
    for (const [key, exemplar] of merged) assert.ok(close(seen.get(key), exemplar), `${key}: ${JSON.stringify(seen.get(key))} vs ${JSON.stringify(exemplar)}`);
    // The latest per series: process 202 wrote last, its last calls per route and bucket win.
    assert.deepEqual(fromProtobuf(byName.get('requests_total')?.metric.find((m) => labelsOf(m).route === '/b')?.counter?.exemplar)?.labels, { traceId: 't202d' });
    const latencyBuckets = byName.get('latency_seconds')?.metric[0].histogram?.bucket ?? [];
    assert.deepEqual(
      latencyBuckets.map((bucket) => [bucket.upper_bound, bucket.cumulative_count, fromProtobuf(bucket.exemplar)?.labels]),
      [
        [0.1, 3, { traceId: 't202d', spanId: 's3' }],
        [1, 5, { traceId: 't202b', spanId: 's1' }],
        // The +Inf bucket is written only to carry its exemplar, with the histogram's count.
        [Infinity, 7, { traceId: 't202c', spanId: 's2' }],
      ],
    );
    assert.equal(byName.get('latency_seconds')?.metric[0].histogram?.sample_count, 7);
  });

  it("give a native histogram its buckets' exemplars in Histogram.exemplars, oldest first, each with a timestamp", () => {
    writeProcess(dir, 101, ['t101a', 't101b']);
    writeProcess(dir, 202, ['t202a', 't202b', 't202c']);
    const families = new DirectoryCollector(dir).collect();
    const merged = mergedExemplars(families);
    const byName = new Map(decodeFamilies(renderProtobuf(families)).map((family) => [family.name, family]));
    for (const [name, buckets] of [
      ['service_seconds', ['+Inf']],
      ['both_seconds', ['0.5', '+Inf']],
    ] as const) {
      const histogram = byName.get(name)?.metric[0].histogram;
      assert.ok(histogram !== undefined && (histogram.positive_span.length > 0 || (histogram.zero_threshold ?? 0) > 0), `${name} is native`);
      const expected = buckets
        .map((le) => merged.get(`${name}_bucket${JSON.stringify({ le })}`))
        .filter((exemplar) => exemplar !== undefined)
        .sort((a, b) => a.timestamp - b.timestamp);
      assert.equal(expected.length, buckets.length, `${name}: every bucket has an exemplar`);
      const exemplars = histogram.exemplars.map(fromProtobuf);
      assert.equal(exemplars.length, expected.length);
      exemplars.forEach((exemplar, i) => assert.ok(close(exemplar, expected[i]), `${name} #${i}: ${JSON.stringify(exemplar)} vs ${JSON.stringify(expected[i])}`));
      for (const exemplar of histogram.exemplars) assert.ok((exemplar.timestamp?.seconds ?? 0) > 1.7e9, `${name}: a timestamp`);
    }
    // The latest native exemplar is the last observation of the last process.
    assert.deepEqual(fromProtobuf(byName.get('service_seconds')?.metric[0].histogram?.exemplars.at(-1))?.labels, { traceId: 't202c' });
  });

  it('leave text 0.0.4 as it was and valid', function () {
    writeProcess(dir, 101, ['t101a', 't101b', 't101c']);
    const families = new DirectoryCollector(dir).collect();
    const withoutExemplars = families.map((family) => ({ ...family, samples: family.samples.map(({ exemplar: _, ...sample }) => sample) }));
    assert.equal(renderText(families), renderText(withoutExemplars));
    assert.match(renderOpenMetrics(families), /^requests_total\{route="\/a"\} 4 # \{traceId="t101c"\} 3 \d+(\.\d+)?$/m);
    if (!promtoolAvailable()) {
      console.log(`      (${PROMTOOL_MISSING})`);
      this.skip();
    }
    assertPromtoolAccepts(renderText(families));
  });
});

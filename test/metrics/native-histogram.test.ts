// The Histogram API with native buckets (prom-client PR #856's and client_golang's option names):
// options checked at construction, prom-client's get() values kept and the native series beside
// them, the same calls (observe, labels, startTimer, zero, remove, reset) in memory mode and in a
// directory, and the classic part kept in the .db file for text scrapers and Python.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { DirectoryCollector } from '../../src/collect';
import { Histogram, Registry } from '../../src/index';
import { DEFAULT_BUCKETS } from '../../src/metrics/histogram';
import { DEFAULT_ZERO_THRESHOLD, bucketIndex } from '../../src/store';
import { plainNative } from '../support/native-reference';
import { FILE_BACKENDS, makeMetricsDir } from '../support/metrics-dir';
import type { MetricsDir } from '../support/metrics-dir';

const registers: Registry[] = [];

describe('Histogram with native buckets', () => {
  it('refuses bad native options, naming the option, what it must be and what it got', () => {
    const make = (options: Record<string, unknown>): Histogram => new Histogram({ name: 'h', help: 'x', registers, ...options });
    assert.throws(() => make({ nativeHistogramBucketFactor: 1 }), /^Error: Histogram "h": nativeHistogramBucketFactor must be a finite number above 1 .*got 1$/);
    assert.throws(() => make({ nativeHistogramBucketFactor: NaN }), /nativeHistogramBucketFactor must be a finite number above 1 .*got NaN/);
    assert.throws(() => make({ nativeHistogramBucketFactor: '1.1' }), /nativeHistogramBucketFactor must be a finite number above 1/);
    assert.throws(() => make({ nativeHistogramBucketFactor: 1.1, nativeHistogramMaxBucketNumber: -1 }), /nativeHistogramMaxBucketNumber must be an integer >= 0 \(0: no limit\), got -1/);
    assert.throws(() => make({ nativeHistogramBucketFactor: 1.1, nativeHistogramMaxBucketNumber: 1.5 }), /nativeHistogramMaxBucketNumber must be an integer/);
    assert.throws(() => make({ nativeHistogramBucketFactor: 1.1, nativeHistogramZeroThreshold: -1 }), /nativeHistogramZeroThreshold must be a finite number >= 0/);
    assert.throws(() => make({ nativeHistogramZeroThreshold: 0.1 }), /Histogram "h": nativeHistogramZeroThreshold has no effect without nativeHistogramBucketFactor/);
    assert.throws(() => make({ nativeHistogramMaxBucketNumber: 10 }), /nativeHistogramMaxBucketNumber has no effect without nativeHistogramBucketFactor/);
    assert.throws(() => make({ buckets: [] }), /Histogram "h": buckets must hold at least one bound besides \+Inf \(or be \[\] with nativeHistogramBucketFactor set/);
  });

  it('keeps prom-client\'s default classic buckets beside native ones, and only +Inf with buckets: []', () => {
    const both = new Histogram({ name: 'both', help: 'x', nativeHistogramBucketFactor: 1.1, registers });
    assert.deepEqual(both.upperBounds, [...DEFAULT_BUCKETS, Infinity]);
    const nativeOnly = new Histogram({ name: 'native_only', help: 'x', nativeHistogramBucketFactor: 1.1, buckets: [], registers });
    assert.deepEqual(nativeOnly.upperBounds, [Infinity]);
  });

  it('gives prom-client\'s values in get() and each child\'s native series in nativeHistograms (memory mode)', async () => {
    const histogram = new Histogram({ name: 'wait_seconds', help: 'Wait.', labelNames: ['route'], buckets: [1], nativeHistogramBucketFactor: 2, nativeHistogramZeroThreshold: 0, registers });
    for (const v of [0, 0.5, 3, -4]) histogram.observe({ route: '/a' }, v);
    histogram.labels('/b').observe(1);
    const end = histogram.startTimer({ route: '/c' });
    const seconds = end();
    const object = await histogram.get();
    assert.deepEqual(
      object.values.filter((value) => value.metricName === 'wait_seconds_count').map((value) => [value.labels.route, value.value]),
      [
        ['/a', 4],
        ['/b', 1],
        ['/c', 1],
      ],
    );
    assert.deepEqual(
      object.nativeHistograms?.map(({ labels, ...histogram }) => [labels, plainNative(histogram)]),
      [
        [{ route: '/a' }, { schema: 0, zeroThreshold: 0, zeroCount: 1, count: 4, sum: -0.5, positive: new Map([[-1, 1], [2, 1]]), negative: new Map([[2, 1]]) }],
        [{ route: '/b' }, { schema: 0, zeroThreshold: 0, zeroCount: 0, count: 1, sum: 1, positive: new Map([[0, 1]]), negative: new Map() }],
        [{ route: '/c' }, { schema: 0, zeroThreshold: 0, zeroCount: 0, count: 1, sum: seconds, positive: new Map([[bucketIndex(seconds, 0), 1]]), negative: new Map() }],
      ],
    );
    // Spans and deltas as Prometheus carries them: 0.5 ends bucket -1, 3 is in bucket 2 (2, 4];
    // the two empty buckets between are written as zeros (cheaper than a second span).
    assert.deepEqual(object.nativeHistograms?.[0].positiveSpans, [{ offset: -1, length: 4 }]);
    assert.deepEqual(object.nativeHistograms?.[0].positiveDeltas, [1, -1, 0, 1]);
    histogram.remove('/a');
    histogram.reset();
    assert.deepEqual((await histogram.get()).nativeHistograms, []);
    histogram.observe({ route: '/a' }, 8);
    assert.equal((await histogram.get()).nativeHistograms?.[0].count, 1, 'a removed child starts again from zero');
  });

  it('leaves get() as prom-client\'s for a classic histogram', async () => {
    const histogram = new Histogram({ name: 'classic', help: 'x', registers });
    histogram.observe(1);
    assert.equal('nativeHistograms' in (await histogram.get()), false);
  });

  for (const backend of FILE_BACKENDS) {
    describe(`in a metrics directory (${backend} backend)`, () => {
      let metricsDir: MetricsDir;
      beforeEach(() => {
        metricsDir = makeMetricsDir();
      });
      afterEach(() => metricsDir.remove());

      it('writes the classic part to histogram_PID.db and the native one to histogram_PID.nhdb, merged across pids', async () => {
        const observe = (pid: number, values: number[]): Histogram<'route'> => {
          metricsDir.actAs(pid, backend);
          const histogram = new Histogram({ name: 'wait_seconds', help: 'Wait.', labelNames: ['route'], buckets: [], nativeHistogramBucketFactor: 1.1, registers: [new Registry()] });
          for (const v of values) histogram.observe({ route: '/' }, v);
          return histogram;
        };
        const first = observe(301, [0.125, 0.25, 0]);
        observe(302, [0.125, 7]);
        assert.deepEqual(fs.readdirSync(metricsDir.dir).filter((name) => name.startsWith('histogram_')).sort(), [
          'histogram_301.db',
          'histogram_301.nhdb',
          'histogram_302.db',
          'histogram_302.nhdb',
        ]);
        const own = (await first.get()).nativeHistograms?.[0];
        assert.deepEqual([own?.count, own?.zeroThreshold, own?.schema], [3, DEFAULT_ZERO_THRESHOLD, 3], "get() is this process's own");
        const [family] = new DirectoryCollector(metricsDir.dir).collect();
        assert.deepEqual(
          family.samples.map((sample) => [sample.name, sample.value]),
          [
            ['wait_seconds_bucket', 5],
            ['wait_seconds_count', 5],
            ['wait_seconds_sum', 7.5],
          ],
        );
        const merged = family.nativeHistograms?.map((series) => plainNative(series.histogram));
        assert.deepEqual(merged, [
          {
            schema: 3,
            zeroThreshold: DEFAULT_ZERO_THRESHOLD,
            zeroCount: 1,
            count: 5,
            sum: 7.5,
            positive: new Map([
              [bucketIndex(0.125, 3), 2],
              [bucketIndex(0.25, 3), 1],
              [bucketIndex(7, 3), 1],
            ]),
            negative: new Map(),
          },
        ]);
      });
    });
  }
});

// Property: for random processes (schemas, bucket budgets, zero thresholds) observing random values
// over several scrapes, the protobuf exposition of the warm collector, decoded with protobufjs,
// holds exactly the merge of an independent model (every observation placed at the lowest schema
// directly), and no scrape reads as a counter reset to Prometheus after the one before.
import * as assert from 'node:assert/strict';
import * as fc from 'fast-check';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DirectoryCollector, mergeNativeHistograms, renderProtobuf } from '../../src/collect';
import { useStore } from '../../src/metrics/active-store';
import { Histogram } from '../../src/metrics/histogram';
import { DEFAULT_ZERO_THRESHOLD, ProcessStore } from '../../src/store';
import type { BackendKind } from '../../src/store';
import { makeTempDir, removeDir } from './support/files';
import { decodeFamilies, labelsOf, nativeOf } from '../support/protobuf';
import { assertNoReset, assertSameNative, expectedMerge, plainNative } from '../support/native-reference';
import type { PlainNative, ProcessObservations } from '../support/native-reference';

const ROUTES = ['/a', '/b'];

interface ProcessSpec {
  factor: number;
  maxBuckets: number;
  zeroThreshold: number;
}

const processSpec: fc.Arbitrary<ProcessSpec> = fc.record({
  factor: fc.constantFrom(1.0001, 1.1, 2, 16),
  maxBuckets: fc.constantFrom(0, 2, 5, 20),
  zeroThreshold: fc.constantFrom(DEFAULT_ZERO_THRESHOLD, 0, 0.01, 0.3),
});

/** Values of every magnitude and sign, zeros, and values right at the thresholds used above. */
const value: fc.Arbitrary<number> = fc.oneof(
  fc.constantFrom(0, 0.01, -0.01, 0.3, -0.3, 1, 2, 0.5),
  fc
    .tuple(fc.boolean(), fc.integer({ min: -140, max: 40 }), fc.integer({ min: 0, max: 15 }))
    .map(([negative, exponent, step]) => (negative ? -1 : 1) * 2 ** exponent * (1 + step / 16)),
);

const observation = fc.record({ route: fc.integer({ min: 0, max: ROUTES.length - 1 }), value });

interface Writer {
  histogram: Histogram<'route'>;
  observed: Map<number, number[]>;
}

/** The merged native series per route, decoded from the protobuf exposition. */
function scrapeNative(collector: DirectoryCollector): Map<string, PlainNative> {
  const family = decodeFamilies(renderProtobuf(collector.collect())).find((candidate) => candidate.name === 'wait_seconds');
  const result = new Map<string, PlainNative>();
  for (const metric of family?.metric ?? []) {
    assert.ok(metric.histogram !== undefined);
    result.set(labelsOf(metric).route, nativeOf(metric.histogram));
  }
  return result;
}

describe('native histograms merged across processes (property)', function () {
  this.timeout(300_000);

  it('equal the exact merge of every observation and never read as a reset between scrapes', () => {
    fc.assert(
      fc.property(
        fc.array(processSpec, { minLength: 1, maxLength: 4 }),
        fc.array(fc.array(fc.array(observation, { maxLength: 12 }), { minLength: 4, maxLength: 4 }), { minLength: 1, maxLength: 4 }),
        fc.constantFrom<BackendKind>('native', 'pwrite'),
        (specs, rounds, backend) => {
          const dir = makeTempDir('pm2-prom-native-merge-');
          const stores: ProcessStore[] = [];
          try {
            const writers: Writer[] = specs.map((spec, i) => {
              const store = new ProcessStore(dir, { pid: 100 + i, threadId: 0, backend });
              stores.push(store);
              useStore(store);
              const histogram = new Histogram({
                name: 'wait_seconds',
                help: 'Wait.',
                labelNames: ['route'],
                buckets: [0.5, 1],
                nativeHistogramBucketFactor: spec.factor,
                nativeHistogramMaxBucketNumber: spec.maxBuckets,
                nativeHistogramZeroThreshold: spec.zeroThreshold,
                registers: [],
              });
              return { histogram, observed: new Map() };
            });
            useStore(undefined);
            const collector = new DirectoryCollector(dir, { warn: (message) => assert.fail(`unexpected warning: ${message}`) });
            let previous = new Map<string, PlainNative>();
            for (const [round, perProcess] of rounds.entries()) {
              writers.forEach((writer, i) => {
                for (const { route, value: v } of perProcess[i] ?? []) {
                  writer.histogram.observe({ route: ROUTES[route] }, v);
                  writer.observed.set(route, [...(writer.observed.get(route) ?? []), v]);
                }
              });
              const scraped = scrapeNative(collector);
              ROUTES.forEach((route, r) => {
                const processes: ProcessObservations[] = [];
                for (const writer of writers) {
                  const observations = writer.observed.get(r);
                  if (observations === undefined) continue;
                  const own = writer.histogram.labels(route);
                  const native = own.nativeValue();
                  assert.ok(native !== undefined);
                  processes.push({ observations, schema: native.schema, zeroThreshold: native.zeroThreshold });
                }
                const got = scraped.get(route);
                if (processes.length === 0) {
                  assert.equal(got, undefined, `route ${route}: no series before any observation`);
                  return;
                }
                assert.ok(got !== undefined, `route ${route} is exposed`);
                assertSameNative(got, expectedMerge(processes), `round ${round}, route ${route}`);
                const before = previous.get(route);
                if (before !== undefined) assertNoReset(before, got, `round ${round}, route ${route}`);
              });
              previous = scraped;
            }
            // A new collector reads the same.
            assert.deepEqual(scrapeNative(new DirectoryCollector(dir)), previous);
          } finally {
            useStore(undefined);
            for (const store of stores) store.close();
            removeDir(dir);
          }
        },
      ),
      { numRuns: 80 },
    );
  });

  it('merge the same exactly when one series is collected in two parts and the parts merged (two collectors)', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(processSpec, fc.array(value, { minLength: 1, maxLength: 12 }), fc.boolean()), { minLength: 2, maxLength: 5 }), (writers) => {
        const root = makeTempDir('pm2-prom-native-parts-');
        const stores: ProcessStore[] = [];
        try {
          const processes: ProcessObservations[] = [];
          writers.forEach(([spec, observations, second], i) => {
            const dir = path.join(root, second ? 'b' : 'a');
            fs.mkdirSync(dir, { recursive: true });
            const store = new ProcessStore(dir, { pid: 100 + i, threadId: 0, backend: 'pwrite' });
            stores.push(store);
            useStore(store);
            const histogram = new Histogram({
              name: 'wait_seconds',
              help: 'Wait.',
              buckets: [],
              nativeHistogramBucketFactor: spec.factor,
              nativeHistogramMaxBucketNumber: spec.maxBuckets,
              nativeHistogramZeroThreshold: spec.zeroThreshold,
              registers: [],
            });
            for (const v of observations) histogram.observe(v);
            const own = histogram.labels().nativeValue();
            assert.ok(own !== undefined);
            processes.push({ observations, schema: own.schema, zeroThreshold: own.zeroThreshold });
          });
          useStore(undefined);
          const parts = ['a', 'b']
            .filter((part) => fs.existsSync(path.join(root, part)))
            .map((part) => new DirectoryCollector(path.join(root, part)).collect()[0].nativeHistograms?.[0].histogram)
            .filter((histogram) => histogram !== undefined);
          assertSameNative(plainNative(mergeNativeHistograms(parts)), expectedMerge(processes), 'two parts merged');
        } finally {
          useStore(undefined);
          for (const store of stores) store.close();
          removeDir(root);
        }
      }),
      { numRuns: 60 },
    );
  });
});

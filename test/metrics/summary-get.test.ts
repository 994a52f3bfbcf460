// A Summary's get() in multiprocess mode: prom-client's values (each percentile, then _sum and
// _count, per child) with this process's quantiles read from its own sketch file, within 1% of
// the exact nearest-rank quantiles of its observations and equal to what the collector renders of
// a directory only this process wrote; windows ageing on a pinned clock; an empty window as
// prom-client gives it, side by side with prom-client's own Summary.
import * as assert from 'node:assert/strict';
import * as promClient from 'prom-client';
import { DirectoryCollector } from '../../src/collect';
import type { MetricFamily } from '../../src/collect';
import { Registry, Summary } from '../../src/index';
import type { MetricValue } from '../../src/metrics/metric-values';
import { SKETCH_RELATIVE_ACCURACY } from '../../src/store';
import { DISTRIBUTIONS, exactQuantile, observations } from '../support/distributions';
import type { DistributionName } from '../support/distributions';
import { FILE_BACKENDS, makeMetricsDir } from '../support/metrics-dir';
import type { MetricsDir } from '../support/metrics-dir';

/** Not sorted, with both ends: get() keeps the configured order, q = 0 and 1 are the exact extremes. */
const PERCENTILES = [0.99, 0, 0.5, 1, 0.01, 0.9, 0.999, 0.05];
const SEED = 23;
/** The bound of the sketch, with room for the rounding of ln() at a bucket's edge. */
const BOUND = SKETCH_RELATIVE_ACCURACY * (1 + 1e-12);

function relativeError(estimate: number, exact: number): number {
  return exact === 0 ? Math.abs(estimate) : Math.abs(estimate - exact) / Math.abs(exact);
}

/** The values get() must give for one child, prom-client's order, with the quantiles `quantileOf` answers. */
function expectedValues(name: string, labels: Record<string, string>, quantileOf: (q: number) => number, sum: number, count: number): Array<MetricValue<string>> {
  return [
    ...PERCENTILES.map((quantile) => ({ labels: { quantile, ...labels }, value: quantileOf(quantile) })),
    { labels, value: sum, metricName: `${name}_sum` },
    { labels, value: count, metricName: `${name}_count` },
  ];
}

/** The collector's samples of family `name` for `labels`: the quantiles by q, _sum and _count. */
function collected(families: readonly MetricFamily[], name: string, labels: Record<string, string>): { quantiles: Map<number, number>; sum: number; count: number } {
  const family = families.find((candidate) => candidate.name === name);
  const quantiles = new Map<number, number>();
  let sum = NaN;
  let count = NaN;
  for (const sample of family?.samples ?? []) {
    const { quantile, ...rest } = sample.labels;
    if (JSON.stringify(rest) !== JSON.stringify(labels)) continue;
    if (sample.name === name) quantiles.set(Number(quantile), sample.value);
    if (sample.name === `${name}_sum`) sum = sample.value;
    if (sample.name === `${name}_count`) count = sample.value;
  }
  return { quantiles, sum, count };
}

/** get()'s values as the collector renders the same series: one map per child. */
function asCollected(values: ReadonlyArray<MetricValue<string>>, name: string, labels: Record<string, string>): { quantiles: Map<number, number>; sum: number; count: number } {
  const mine = values.filter((value) => Object.entries(labels).every(([label, text]) => value.labels[label] === text));
  const quantiles = new Map(
    mine.filter((value) => value.metricName === undefined).map((value) => [Number(value.labels.quantile), value.value] as const).sort(([a], [b]) => a - b),
  );
  return {
    quantiles,
    sum: mine.find((value) => value.metricName === `${name}_sum`)?.value ?? NaN,
    count: mine.find((value) => value.metricName === `${name}_count`)?.value ?? NaN,
  };
}

/** The same observations summed in the same order as the file's _sum adds them. */
function sumOf(values: readonly number[]): number {
  let sum = 0;
  for (const value of values) sum += value;
  return sum;
}

/** Runs `calls` with Date.now reading `clock.now` (ours and prom-client's windows both read Date.now). */
async function withClock<R>(clock: { now: number }, calls: () => Promise<R>): Promise<R> {
  const realNow = Date.now;
  Date.now = () => clock.now;
  try {
    return await calls();
  } finally {
    Date.now = realNow;
  }
}

for (const backend of FILE_BACKENDS) {
  describe(`Summary get() in multiprocess mode (${backend} backend)`, () => {
    let target: MetricsDir;
    beforeEach(() => {
      target = makeMetricsDir();
      target.actAs(process.pid, backend);
    });
    afterEach(() => target.remove());

    it("gives this process's quantiles of each child, within 1% of the exact ones, in prom-client's order, equal to the collector's", async () => {
      const summary = new Summary({ name: 'req_seconds', help: 'Requests.', labelNames: ['dist'], percentiles: PERCENTILES, registers: [new Registry()] });
      const observed = new Map<string, number[]>();
      for (const [worker, distribution] of (Object.keys(DISTRIBUTIONS) as DistributionName[]).entries()) {
        observed.set(distribution, observations(distribution, worker, 5000, SEED));
      }
      // Both signs and zeros: a record of negative values beside the positive one.
      observed.set('mixed', observations('lognormal', 9, 5000, SEED).map((value, i) => (i % 10 === 0 ? 0 : i % 3 === 0 ? -value : value)));
      for (const [dist, values] of observed) for (const value of values) summary.observe({ dist }, value);

      const values = (await summary.get()).values;
      const families = new DirectoryCollector(target.dir).collect();
      let offset = 0;
      for (const [dist, seen] of observed) {
        const sorted = [...seen].sort((a, b) => a - b);
        const child = values.slice(offset, offset + PERCENTILES.length + 2);
        offset += PERCENTILES.length + 2;
        const quantileOf = (q: number): number => child[PERCENTILES.indexOf(q)].value;
        assert.deepEqual(child, expectedValues('req_seconds', { dist }, quantileOf, sumOf(seen), seen.length), `${dist}: prom-client's series and order`);
        for (const q of PERCENTILES) {
          const exact = exactQuantile(sorted, q);
          assert.ok(relativeError(quantileOf(q), exact) <= BOUND, `${dist} q=${q}: ${quantileOf(q)}, exact ${exact}`);
        }
        assert.equal(quantileOf(0), sorted[0], `${dist}: q=0 is the exact min`);
        assert.equal(quantileOf(1), sorted[sorted.length - 1], `${dist}: q=1 is the exact max`);
        assert.deepEqual(asCollected(child, 'req_seconds', { dist }), collected(families, 'req_seconds', { dist }), `${dist}: what the collector renders`);
      }
      assert.equal(offset, values.length);
    });

    it("counts the windows a scrape counts: observations age out on prom-client's maxAgeSeconds, an empty window gives 0s as prom-client's get() does", async () => {
      const clock = { now: 1_700_000_000_500 };
      await withClock(clock, async () => {
        const options = { name: 'win_seconds', help: 'Windowed.', labelNames: ['route'] as const, percentiles: PERCENTILES, maxAgeSeconds: 3, ageBuckets: 3 };
        const ours = new Summary<'route'>({ ...options, registers: [new Registry()] });
        const theirs = new promClient.Summary<'route'>({ ...options, registers: [new promClient.Registry()] });
        const batches = [0, 1, 2].map((worker) => observations('bimodal', worker, 2000, SEED));
        const all: number[] = [];
        const check = async (what: string, counting: readonly number[]): Promise<void> => {
          const values = (await ours.get()).values;
          const sorted = [...counting].sort((a, b) => a - b);
          for (const q of PERCENTILES) {
            const value = values[PERCENTILES.indexOf(q)].value;
            const exact = exactQuantile(sorted, q);
            assert.ok(relativeError(value, exact) <= BOUND, `${what}, q=${q}: ${value}, exact ${exact}`);
          }
          const families = new DirectoryCollector(target.dir, { now: () => clock.now }).collect();
          assert.deepEqual(asCollected(values, 'win_seconds', { route: '/a' }), collected(families, 'win_seconds', { route: '/a' }), `${what}: what the collector renders`);
          assert.deepEqual(values.slice(-2).map((value) => value.value), [sumOf(all), all.length], `${what}: _sum and _count keep every observation`);
        };
        for (const [i, batch] of batches.entries()) {
          if (i > 0) clock.now += 1000;
          for (const value of batch) {
            ours.observe({ route: '/a' }, value);
            theirs.observe({ route: '/a' }, value);
          }
          all.push(...batch);
          await check(`after batch ${i}`, batches.slice(0, i + 1).flat());
        }
        // The first batch's window is among the last three until two more have begun after the third.
        clock.now = (Math.floor(1_700_000_000_500 / 1000) + 3) * 1000 - 1;
        await check('the last moment of the first window', batches.flat());
        clock.now += 1;
        await check('the first window aged out', batches.slice(1).flat());
        clock.now += 2000;
        // Every window aged out: prom-client's own get() of the same observations, value for value.
        const values = (await ours.get()).values;
        assert.deepEqual(values, expectedValues('win_seconds', { route: '/a' }, () => 0, sumOf(all), all.length));
        assert.deepEqual(values, (await theirs.get()).values, "prom-client's get() for its empty window");
      });
    });

    it('with pruneAgedBuckets, leaves a child whose window is empty out of get(), as prom-client does, and as the collector leaves it out', async () => {
      const clock = { now: 1_700_000_000_000 };
      await withClock(clock, async () => {
        const options = { name: 'pruned_seconds', help: 'Pruned.', labelNames: ['route'] as const, maxAgeSeconds: 2, ageBuckets: 2, pruneAgedBuckets: true };
        const ours = new Summary<'route'>({ ...options, registers: [new Registry()] });
        const theirs = new promClient.Summary<'route'>({ ...options, registers: [new promClient.Registry()] });
        for (const summary of [ours, theirs]) {
          summary.observe({ route: '/old' }, 3);
          clock.now += 1500;
          summary.observe({ route: '/new' }, 5);
          clock.now -= 1500;
        }
        clock.now += 2500;
        const values = (await ours.get()).values;
        assert.deepEqual(values, (await theirs.get()).values, "prom-client's get(): only /new, each quantile its one value");
        assert.deepEqual(values.map((value) => value.labels.route), Array(9).fill('/new'));
        const families = new DirectoryCollector(target.dir, { now: () => clock.now }).collect();
        assert.deepEqual(asCollected(values, 'pruned_seconds', { route: '/new' }), collected(families, 'pruned_seconds', { route: '/new' }));
        assert.deepEqual(collected(families, 'pruned_seconds', { route: '/old' }).quantiles, new Map(), 'the collector leaves /old out too');
      });
    });
  });
}

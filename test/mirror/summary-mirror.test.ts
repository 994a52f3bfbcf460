// The mirror copies an unchanged prom-client app's Summary into the sketches: each process's
// quantiles within the sketch's accuracy of what prom-client itself answers, several processes'
// merged, and prom-client's own rotation of its age buckets followed after the process is gone.
import * as assert from 'node:assert/strict';
import * as promClient from 'prom-client';
import * as promClient14 from 'prom-client-14';
import { DirectoryCollector } from '../../src/collect';
import type { MetricFamily } from '../../src/collect';
import { mirrorRegistry } from '../../src/mirror';
import { ProcessStore, SKETCH_RELATIVE_ACCURACY } from '../../src/store';
import { DISTRIBUTIONS, exactQuantile, observations } from '../support/distributions';
import type { DistributionName } from '../support/distributions';
import { makeTempDir, removeDir } from '../collect/support/files';

const PERCENTILES = [0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999];
/** Rounding of fractional weights and of ln() at a bucket's edge. */
const SLACK = 1 + 1e-9;

function quantilesOf(families: readonly MetricFamily[], name: string): Map<number, number> {
  const quantiles = new Map<number, number>();
  for (const family of families) {
    if (family.name !== name) continue;
    for (const sample of family.samples) if (sample.name === name) quantiles.set(Number(sample.labels.quantile), sample.value);
  }
  return quantiles;
}

function relativeError(estimate: number, reference: number): number {
  return reference === 0 ? Math.abs(estimate) : Math.abs(estimate - reference) / Math.abs(reference);
}

/** The only series of a prom-client summary: its TimeWindowQuantiles. */
function quantileWindow(summary: promClient.Summary): { percentile(q: number): number } {
  const entries = Object.values((summary as unknown as { hashMap: Record<string, { td: { percentile(q: number): number } }> }).hashMap);
  return entries[0].td;
}

describe("mirror: prom-client's Summary into the sketches", function () {
  this.timeout(60_000);
  let dir: string;
  const stores: ProcessStore[] = [];
  const storeAs = (pid: number): ProcessStore => {
    const store = new ProcessStore(dir, { pid, threadId: 0, backend: 'native' });
    stores.push(store);
    return store;
  };
  beforeEach(() => {
    dir = makeTempDir('pm2-prom-summary-mirror-');
  });
  afterEach(() => {
    for (const store of stores.splice(0)) store.close();
    removeDir(dir);
  });

  for (const distribution of Object.keys(DISTRIBUTIONS) as DistributionName[]) {
    it(`${distribution}: one process's quantiles within ${SKETCH_RELATIVE_ACCURACY * 100}% of prom-client's own; four processes merged`, async () => {
      const workers = [0, 1, 2, 3];
      const union: number[] = [];
      const own: Array<Map<number, number>> = [];
      let worstOwn = 0;
      for (const worker of workers) {
        const registry = new promClient.Registry();
        const summary = new promClient.Summary({ name: 'req_seconds', help: 'Requests.', registers: [registry] });
        const values = observations(distribution, worker, 10_000, 5);
        for (const value of values) summary.observe(value);
        union.push(...values);
        // get() compresses the digests as every scrape of the app would; the mirror reads them as they are.
        await summary.get();
        own.push(new Map(PERCENTILES.map((q) => [q, quantileWindow(summary).percentile(q)])));
        const sorted = [...values].sort((a, b) => a - b);
        for (const q of PERCENTILES) worstOwn = Math.max(worstOwn, relativeError(own[own.length - 1].get(q) ?? NaN, exactQuantile(sorted, q)));
        const mirror = mirrorRegistry(registry, { store: storeAs(100 + worker), warn: (message) => assert.fail(message) });
        await mirror.pass();
        mirror.stop();
        if (worker === 0) {
          const single = quantilesOf(new DirectoryCollector(dir).collect(), 'req_seconds');
          for (const q of PERCENTILES) {
            const error = relativeError(single.get(q) ?? NaN, own[0].get(q) ?? NaN);
            assert.ok(error <= SKETCH_RELATIVE_ACCURACY * SLACK, `q=${q}: mirrored ${single.get(q)}, prom-client ${own[0].get(q)}`);
          }
        }
      }
      union.sort((a, b) => a - b);
      const merged = quantilesOf(new DirectoryCollector(dir).collect(), 'req_seconds');
      let worst = 0;
      for (const q of PERCENTILES) {
        const value = merged.get(q) ?? NaN;
        // The q-quantile of a union lies between the parts' q-quantiles (here prom-client's, each within its digest's error).
        const parts = own.map((quantiles) => quantiles.get(q) ?? NaN);
        const low = Math.min(...parts) * (1 - SKETCH_RELATIVE_ACCURACY);
        const high = Math.max(...parts) * (1 + SKETCH_RELATIVE_ACCURACY);
        assert.ok(value >= low * (1 - 0.02) && value <= high * (1 + 0.02), `q=${q}: merged ${value} outside the workers' ${parts.join(', ')}`);
        worst = Math.max(worst, relativeError(value, exactQuantile(union, q)));
      }
      console.log(
        `      ${distribution}: mirrored and merged, worst error against the exact quantiles of the union ${(worst * 100).toFixed(2)}% ` +
          `(prom-client's own digests against each process's exact quantiles: ${(worstOwn * 100).toFixed(2)}%)`,
      );
      // t-digest has no error bound of its own; the mirror adds the sketch's accuracy to it, and merging adds nothing.
      assert.ok(worst <= worstOwn + 2 * SKETCH_RELATIVE_ACCURACY, `worst error ${worst}, prom-client's own ${worstOwn}`);
    });
  }

  it("follows prom-client's age buckets: the current slot until the next rotation, then the next, aged out on its schedule", async () => {
    const realNow = Date.now;
    let clock = 1_700_000_000_000;
    Date.now = () => clock;
    try {
      const registry = new promClient.Registry();
      const summary = new promClient.Summary({ name: 'win_seconds', help: 'Windowed.', maxAgeSeconds: 3, ageBuckets: 3, registers: [registry] });
      const mirror = mirrorRegistry(registry, { store: storeAs(7), warn: (message) => assert.fail(message) });
      const window = quantileWindow(summary);
      const compare = (what: string): void => {
        const ours = quantilesOf(new DirectoryCollector(dir, { now: () => clock }).collect(), 'win_seconds');
        for (const q of [0.5, 0.99]) {
          const theirs = window.percentile(q) || 0;
          assert.ok(relativeError(ours.get(q) ?? NaN, theirs) <= SKETCH_RELATIVE_ACCURACY * SLACK, `${what}, q=${q}: ours ${ours.get(q)}, prom-client ${theirs}`);
        }
      };
      for (let i = 1; i <= 100; i++) summary.observe(i);
      await mirror.pass();
      compare('after the first values');
      clock += 1500;
      for (let i = 0; i < 100; i++) summary.observe(1000 + i);
      await mirror.pass();
      compare('one rotation later');
      // The process stops here (no pass ever again): its snapshots carry prom-client's schedule on.
      mirror.stop();
      for (const step of [400, 700, 900, 1000, 1000]) {
        clock += step;
        compare(`${clock - 1_700_000_000_000} ms after the start, no pass since`);
      }
      assert.deepEqual([...quantilesOf(new DirectoryCollector(dir, { now: () => clock }).collect(), 'win_seconds').values()], PERCENTILES.map(() => 0));
    } finally {
      Date.now = realNow;
    }
  });

  for (const [version, client] of [
    ['15', promClient],
    ['14', promClient14 as unknown as typeof promClient],
  ] as const) {
    it(`mirrors negative values, zeros, labels and default labels (prom-client ${version})`, async () => {
      const registry = new client.Registry();
      registry.setDefaultLabels({ app: 'api' });
      const summary = new client.Summary({ name: 'delta', help: 'Deltas.', labelNames: ['kind'], percentiles: [0, 0.25, 0.5, 0.75, 1], registers: [registry] });
      for (const value of [-40, -3, -3, 0, 0, 2, 5, 90]) summary.observe({ kind: 'x' }, value);
      const mirror = mirrorRegistry(registry, { store: storeAs(8), warn: (message) => assert.fail(message) });
      await mirror.pass();
      mirror.stop();
      const family = new DirectoryCollector(dir).collect().find((candidate) => candidate.name === 'delta');
      const samples = family?.samples.filter((candidate) => candidate.name === 'delta') ?? [];
      assert.equal(samples.length, 5);
      for (const sample of samples) {
        assert.deepEqual(Object.keys(sample.labels).sort(), ['app', 'kind', 'quantile']);
        const theirs = quantileWindow(summary).percentile(Number(sample.labels.quantile));
        assert.ok(relativeError(sample.value, theirs) <= SKETCH_RELATIVE_ACCURACY * SLACK, `q=${sample.labels.quantile}: ${sample.value} vs prom-client ${theirs}`);
      }
      assert.equal(samples.find((sample) => sample.labels.quantile === '0')?.value, -40, 'the extremes exactly');
      assert.equal(samples.find((sample) => sample.labels.quantile === '1')?.value, 90);
    });
  }
});

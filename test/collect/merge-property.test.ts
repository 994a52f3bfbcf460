// Property: for random operation sequences over random pids (and a worker thread), with random
// markProcessDead calls, the collector's merge equals a small independent model of Python's
// semantics, for every metric type and gauge mode, on warm and cold collects alike.

import * as assert from 'node:assert/strict';
import * as fc from 'fast-check';
import { DirectoryCollector } from '../../src/collect';
import { markProcessDead } from '../../src/store';
import { encodeKey, floatToGoString } from '../../src/store/format';
import { GAUGE_MODES } from '../../src/store/gauge-modes';
import type { GaugeMode } from '../../src/store/gauge-modes';
import { ProcessStore } from '../../src/store';
import { makeTempDir, removeDir } from './support/files';
import { assertSameSamples, samplesOf } from './support/samples';
import type { PlainSample } from './support/samples';

/** Owners: pids 1-3, and thread 1 of pid 2 (its files are PID-THREADID). */
const OWNERS = [
  { pid: 1, threadId: 0 },
  { pid: 2, threadId: 0 },
  { pid: 2, threadId: 1 },
  { pid: 3, threadId: 0 },
];
const ownerName = (index: number): string =>
  OWNERS[index].threadId === 0 ? String(OWNERS[index].pid) : `${OWNERS[index].pid}-${OWNERS[index].threadId}`;
const ROUTES = ['/', '/a', 'ü"\\\n'];
const BOUNDS = [0.5, 1, 2.5, Infinity];

type Operation =
  | { kind: 'count'; owner: number; route: number; amount: number }
  | { kind: 'set'; owner: number; route: number; mode: GaugeMode; value: number }
  | { kind: 'observe'; owner: number; route: number; bucket: number }
  | { kind: 'summarize'; owner: number; route: number; value: number }
  | { kind: 'markDead'; pid: number }
  | { kind: 'collect' };

const owner = fc.integer({ min: 0, max: OWNERS.length - 1 });
const route = fc.integer({ min: 0, max: ROUTES.length - 1 });
const operation: fc.Arbitrary<Operation> = fc.oneof(
  fc.record({ kind: fc.constant('count' as const), owner, route, amount: fc.integer({ min: 0, max: 5 }) }),
  fc.record({
    kind: fc.constant('set' as const),
    owner,
    route,
    mode: fc.constantFrom(...GAUGE_MODES),
    value: fc.integer({ min: -10, max: 10 }),
  }),
  fc.record({ kind: fc.constant('observe' as const), owner, route, bucket: fc.integer({ min: 0, max: BOUNDS.length - 1 }) }),
  fc.record({ kind: fc.constant('summarize' as const), owner, route, value: fc.integer({ min: 0, max: 100 }) }),
  fc.record({ kind: fc.constant('markDead' as const), pid: fc.constantFrom(1, 2, 3) }),
  fc.constant({ kind: 'collect' as const }),
);

/** What each owner wrote, kept the plainest way; `expected` derives the merge from it alone. */
class Model {
  counters = new Map<string, number>(); // owner|route
  gauges = new Map<string, { value: number; stamp: number }>(); // owner|mode|route
  histograms = new Map<string, { buckets: number[]; sum: number }>(); // owner|route
  summaries = new Map<string, { count: number; sum: number }>(); // owner|route
  deadPids = new Set<number>();

  expected(): PlainSample[] {
    const samples: PlainSample[] = [];
    const add = (name: string, labels: Record<string, string>, value: number): void => {
      const found = samples.find((s) => s.name === name && JSON.stringify(s.labels) === JSON.stringify(labels));
      if (found) found.value = (found.value as number) + value;
      else samples.push({ name, labels, value });
    };
    for (const [key, value] of this.counters) add('jobs_total', { route: key.split('|')[1] }, value);
    for (const [key, { buckets, sum }] of this.histograms) {
      const labels = { route: key.split('|')[1] };
      let cumulative = 0;
      BOUNDS.forEach((bound, index) => {
        cumulative += buckets[index];
        add('wait_seconds_bucket', { ...labels, le: floatToGoString(bound) }, cumulative);
      });
      add('wait_seconds_count', labels, cumulative);
      add('wait_seconds_sum', labels, sum);
    }
    for (const [key, { count, sum }] of this.summaries) {
      add('size_bytes_count', { route: key.split('|')[1] }, count);
      add('size_bytes_sum', { route: key.split('|')[1] }, sum);
    }
    for (const mode of GAUGE_MODES) {
      const byRoute = new Map<string, Array<{ owner: string; value: number; stamp: number }>>();
      for (const [key, entry] of this.gauges) {
        const [ownerText, entryMode, routeText] = key.split('|');
        if (entryMode !== mode) continue;
        if (mode.startsWith('live') && this.deadPids.has(Number(ownerText.split('-')[0]))) continue;
        byRoute.set(routeText, [...(byRoute.get(routeText) ?? []), { owner: ownerText, ...entry }]);
      }
      for (const [routeText, entries] of byRoute) {
        const name = `g_${mode}`;
        const values = entries.map((entry) => entry.value);
        if (mode === 'all' || mode === 'liveall') {
          for (const entry of entries) add(name, { route: routeText, pid: entry.owner }, entry.value);
        } else if (mode === 'livefirst') {
          // The process that started first: the smallest stamp, the first file in name order on a tie.
          const fileOf = (entry: { owner: string }): string => `gauge_livefirst_${entry.owner}.db`;
          const byOwner = [...entries].sort((a, b) => (fileOf(a) < fileOf(b) ? -1 : 1));
          add(name, { route: routeText }, byOwner.reduce((a, b) => (b.stamp < a.stamp ? b : a)).value);
        } else if (mode === 'liveaverage') {
          add(name, { route: routeText }, values.reduce((a, b) => a + b, 0) / values.length);
        } else if (mode.endsWith('sum')) add(name, { route: routeText }, values.reduce((a, b) => a + b, 0));
        else if (mode.endsWith('min')) add(name, { route: routeText }, Math.min(...values));
        else if (mode.endsWith('max')) add(name, { route: routeText }, Math.max(...values));
        else add(name, { route: routeText }, entries.reduce((a, b) => (b.stamp > a.stamp ? b : a)).value);
      }
    }
    return samples;
  }
}

describe('merge equals a reference model (fast-check)', () => {
  for (const backend of ['native', 'pwrite'] as const) {
    it(`for random operations over random pids, with markProcessDead (files written by the ${backend} store)`, () => {
      fc.assert(
        fc.property(fc.array(operation, { minLength: 1, maxLength: 40 }), (operations) => {
          const dir = makeTempDir('pm2-prom-property-');
          const stores = OWNERS.map((o) => new ProcessStore(dir, { backend, pid: o.pid, threadId: o.threadId }));
          const model = new Model();
          const collector = new DirectoryCollector(dir, { warn: (message) => assert.fail(`unexpected warning: ${message}`) });
          let clock = 1;
          try {
            for (const op of operations) {
              if (op.kind === 'collect') {
                assertSameSamples(samplesOf(collector.collect()), model.expected(), 'warm collect');
                continue;
              }
              if (op.kind === 'markDead') {
                model.deadPids.add(op.pid);
                markProcessDead(op.pid, dir);
                continue;
              }
              if (model.deadPids.has(OWNERS[op.owner].pid)) continue; // the dead write nothing
              const store = stores[op.owner];
              const routeText = ROUTES[op.route];
              const at = `${ownerName(op.owner)}|${routeText}`;
              if (op.kind === 'count') {
                const file = store.file('counter');
                file.add(file.slotOf(encodeKey('jobs', 'jobs_total', { route: routeText }, 'Jobs.')), op.amount);
                model.counters.set(at, (model.counters.get(at) ?? 0) + op.amount);
              } else if (op.kind === 'set') {
                const file = store.file('gauge', op.mode);
                const slot = file.slotOf(encodeKey(`g_${op.mode}`, `g_${op.mode}`, { route: routeText }, `Mode ${op.mode}.`));
                let stamp = clock++;
                if (op.mode.endsWith('mostrecent')) file.setWithTimestamp(slot, op.value, stamp);
                else if (op.mode === 'livefirst' || op.mode === 'liveaverage') {
                  // Stamped with the owner's start: owners started in the order of OWNERS, two of them at once.
                  stamp = [10, 20, 20, 30][op.owner];
                  file.setWithTimestamp(slot, op.value, stamp);
                } else file.set(slot, op.value);
                model.gauges.set(`${ownerName(op.owner)}|${op.mode}|${routeText}`, { value: op.value, stamp });
              } else if (op.kind === 'observe') {
                // As a metrics library does: every bucket and the sum exist from the first observation.
                const file = store.file('histogram');
                const labels = { route: routeText };
                const bucketSlots = BOUNDS.map((bound) =>
                  file.slotOf(encodeKey('wait_seconds', 'wait_seconds_bucket', { ...labels, le: floatToGoString(bound) }, 'Wait.')),
                );
                file.add(bucketSlots[op.bucket], 1);
                file.add(file.slotOf(encodeKey('wait_seconds', 'wait_seconds_sum', labels, 'Wait.')), op.bucket);
                const entry = model.histograms.get(at) ?? { buckets: BOUNDS.map(() => 0), sum: 0 };
                entry.buckets[op.bucket] += 1;
                entry.sum += op.bucket;
                model.histograms.set(at, entry);
              } else {
                const file = store.file('summary');
                file.add(file.slotOf(encodeKey('size_bytes', 'size_bytes_count', { route: routeText }, 'Size.')), 1);
                file.add(file.slotOf(encodeKey('size_bytes', 'size_bytes_sum', { route: routeText }, 'Size.')), op.value);
                const entry = model.summaries.get(at) ?? { count: 0, sum: 0 };
                model.summaries.set(at, { count: entry.count + 1, sum: entry.sum + op.value });
              }
            }
            const expected = model.expected();
            assertSameSamples(samplesOf(collector.collect()), expected, 'final warm collect');
            assertSameSamples(samplesOf(new DirectoryCollector(dir).collect()), expected, 'cold collect');
          } finally {
            for (const store of stores) store.close();
            removeDir(dir);
          }
        }),
        { numRuns: 100 },
      );
    });
  }
});

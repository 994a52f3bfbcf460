// mirrorRegistry() in one process over real files: what lands in the store, and what it refuses.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics as promClientDefaults } from 'prom-client';
import { encodeKey } from '../../src/store/format';
import { ProcessStore } from '../../src/store';
import { collectDefaultMetrics, mirrorRegistry } from '../../src/mirror';
import type { MirrorHandle } from '../../src/mirror';
import { readFileSamples } from '../support/file-samples';
import { tempDir } from './store-files';

const PID = 4242;

describe('mirrorRegistry', () => {
  let dir: string;
  let store: ProcessStore;
  let registry: Registry;
  let warnings: string[];
  let mirror: MirrorHandle | undefined;

  const start = (options: Parameters<typeof mirrorRegistry>[1] = {}): MirrorHandle => {
    mirror = mirrorRegistry(registry, { store, warn: (message) => warnings.push(message), ...options });
    return mirror;
  };
  const file = (name: string) => readFileSamples(path.join(dir, name.replace('PID', String(PID))));
  const value = (name: string, key: string) => file(name).get(key)?.value;

  beforeEach(() => {
    dir = tempDir('mirror-registry-');
    store = new ProcessStore(dir, { pid: PID });
    registry = new Registry();
    warnings = [];
  });
  afterEach(() => {
    mirror?.stop();
    mirror = undefined;
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("writes a counter's running total, not increments, on every pass", async () => {
    const counter = new Counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['queue'], registers: [registry] });
    const handle = start();
    counter.inc({ queue: 'a' }, 2);
    await handle.pass();
    counter.inc({ queue: 'a' }, 3);
    counter.inc({ queue: 'b' });
    await handle.pass();
    assert.equal(value('counter_PID.db', encodeKey('jobs', 'jobs_total', { queue: 'a' }, 'Jobs.')), 5);
    assert.equal(value('counter_PID.db', encodeKey('jobs', 'jobs_total', { queue: 'b' }, 'Jobs.')), 1);
  });

  it('keeps the name of a counter without _total as prom-client exposes it', async () => {
    new Counter({ name: 'events', help: 'Events.', registers: [registry] }).inc(4);
    await start().pass();
    assert.equal(value('counter_PID.db', encodeKey('events', 'events', {}, 'Events.')), 4);
  });

  it('writes histograms as per-bucket counts with +Inf, and the sum', async () => {
    const histogram = new Histogram({ name: 'size_bytes', help: 'Size.', buckets: [10, 1e6], registers: [registry] });
    for (const observed of [1, 5, 20, 2e6, 3e6, 4e6]) histogram.observe(observed);
    await start().pass();
    const bucket = (le: string) => value('histogram_PID.db', encodeKey('size_bytes', 'size_bytes_bucket', { le }, 'Size.'));
    assert.deepEqual([bucket('10.0'), bucket('1e+06'), bucket('+Inf')], [2, 1, 3]);
    assert.equal(value('histogram_PID.db', encodeKey('size_bytes', 'size_bytes_sum', {}, 'Size.')), 9000026);
  });

  it('writes summaries as count and sum', async () => {
    const summary = new Summary({ name: 'payload', help: 'Payload.', labelNames: ['kind'], registers: [registry] });
    summary.observe({ kind: 'x' }, 3);
    summary.observe({ kind: 'x' }, 4);
    await start().pass();
    assert.equal(value('summary_PID.db', encodeKey('payload', 'payload_count', { kind: 'x' }, 'Payload.')), 2);
    assert.equal(value('summary_PID.db', encodeKey('payload', 'payload_sum', { kind: 'x' }, 'Payload.')), 7);
  });

  it("puts gauges in the mode of their prom-client aggregator unless configured, and stamps mostrecent gauges", async () => {
    new Gauge({ name: 'temperature', help: 'T.', registers: [registry] }).set(21);
    const queue = new Gauge({ name: 'queue_depth', help: 'Q.', registers: [registry] });
    queue.set(7);
    new Gauge({ name: 'peak', help: 'P.', aggregator: 'max', registers: [registry] }).set(3);
    new Gauge({ name: 'lag', help: 'L.', aggregator: 'average', registers: [registry] }).set(0.5);
    new Gauge({ name: 'build', help: 'B.', aggregator: 'first', registers: [registry] }).set(42);
    new Gauge({ name: 'private', help: 'X.', aggregator: 'omit', registers: [registry] }).set(1);
    const before = Date.now() / 1000;
    const handle = start({ gaugeModes: { queue_depth: 'livemostrecent' } });
    await handle.pass();
    // prom-client's default aggregator, 'sum': the live processes' sum, as its cluster mode gives.
    assert.equal(value('gauge_livesum_PID.db', encodeKey('temperature', 'temperature', {}, 'T.')), 21);
    assert.equal(value('gauge_livemax_PID.db', encodeKey('peak', 'peak', {}, 'P.')), 3);
    for (const [mode, name, help, expected] of [['liveaverage', 'lag', 'L.', 0.5], ['livefirst', 'build', 'B.', 42]] as const) {
      const entry = file(`gauge_${mode}_PID.db`).get(encodeKey(name, name, {}, help));
      assert.deepEqual(entry, { value: expected, timestamp: store.startSeconds }, `${name}: stamped with the process's start`);
    }
    const stamped = file('gauge_livemostrecent_PID.db').get(encodeKey('queue_depth', 'queue_depth', {}, 'Q.'));
    assert.equal(stamped?.value, 7);
    assert.ok(stamped !== undefined && stamped.timestamp >= before && stamped.timestamp <= Date.now() / 1000);
    assert.ok(!fs.readdirSync(dir).some((name) => name !== `gauge_livesum_${PID}.db` && name.includes('livesum')));
    assert.ok(![...file('gauge_livesum_PID.db').keys()].some((key) => key.includes('private')), "aggregator 'omit': not mirrored");
    assert.deepEqual(warnings, []);
  });

  it('puts prom-client-default gauges in defaultGaugeMode when given', async () => {
    new Gauge({ name: 'temperature', help: 'T.', registers: [registry] }).set(21);
    new Gauge({ name: 'peak', help: 'P.', aggregator: 'max', registers: [registry] }).set(3);
    await start({ defaultGaugeMode: 'all' }).pass();
    assert.equal(value('gauge_all_PID.db', encodeKey('temperature', 'temperature', {}, 'T.')), 21);
    assert.equal(value('gauge_livemax_PID.db', encodeKey('peak', 'peak', {}, 'P.')), 3, 'an aggregator other than sum still decides');
  });

  it('adds registry default labels; a series label of the same name wins', async () => {
    registry.setDefaultLabels({ service: 'api', region: 'eu' });
    new Counter({ name: 'hits_total', help: 'Hits.', labelNames: ['region'], registers: [registry] }).inc({ region: 'us' });
    await start().pass();
    assert.equal(value('counter_PID.db', encodeKey('hits', 'hits_total', { region: 'us', service: 'api' }, 'Hits.')), 1);
  });

  it("gives prom-client's default metrics the mode that fits each", async () => {
    promClientDefaults({ register: registry });
    await start().pass();
    const live = [...file('gauge_liveall_PID.db').keys()].map((key) => JSON.parse(key)[0] as string);
    for (const name of ['process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_p99_seconds', 'process_start_time_seconds', 'nodejs_version_info']) {
      assert.ok(live.includes(name), `${name} in gauge_liveall`);
    }
    assert.ok(!fs.existsSync(path.join(dir, `gauge_all_${PID}.db`)), 'no default gauge in mode all');
    const cpu = value('counter_PID.db', encodeKey('process_cpu_user_seconds', 'process_cpu_user_seconds_total', {}, 'Total user CPU time spent in seconds.'));
    assert.ok(cpu !== undefined && cpu > 0, `process_cpu_user_seconds_total = ${cpu}`);
    const rss = value('gauge_liveall_PID.db', encodeKey('process_resident_memory_bytes', 'process_resident_memory_bytes', {}, 'Resident memory size in bytes.'));
    assert.ok(rss !== undefined && rss > 1e6, `process_resident_memory_bytes = ${rss}`);
  });

  it('skips what cannot be mirrored with one warning per metric, and mirrors the rest', async () => {
    const withPid = new Gauge({ name: 'per_pid', help: 'P.', labelNames: ['pid'], registers: [registry] });
    new Counter({ name: 'peaky_total', help: 'K.', aggregator: 'max', registers: [registry] }).inc(4);
    withPid.set({ pid: '1' }, 1);
    const long = new Counter({ name: 'long_total', help: 'L.', labelNames: ['path'], registers: [registry] });
    long.inc({ path: 'x'.repeat(1 << 21) });
    long.inc({ path: '/ok' }, 2);
    registry.registerMetric(Object.assign(Object.create(null) as object, {
      name: 'odd', help: 'O.', type: 'untyped', get: async () => ({ name: 'odd', help: 'O.', type: 'untyped', values: [] }),
    }) as unknown as Counter);
    const failing = new Gauge({ name: 'failing', help: 'F.', registers: [registry], collect() { throw new Error('sensor gone'); } });
    failing.set(3);
    const handle = start({ gaugeModes: { per_pid: 'all' } });
    await handle.pass();
    withPid.set({ pid: '2' }, 2);
    long.inc({ path: 'y'.repeat(1 << 21) });
    await handle.pass();
    assert.equal(warnings.length, 5, warnings.join('\n'));
    assert.match(warnings.find((w) => w.includes('"peaky_total"')) ?? '', /aggregator "max" has no meaning across processes, it is summed/);
    assert.equal(value('counter_PID.db', encodeKey('peaky', 'peaky_total', {}, 'K.')), 4);
    assert.match(warnings.find((w) => w.includes('"per_pid"')) ?? '', /label "pid" collides/);
    assert.match(warnings.find((w) => w.includes('"long_total"')) ?? '', /key is \d+ bytes/);
    assert.match(warnings.find((w) => w.includes('"odd"')) ?? '', /type is none of/);
    assert.match(warnings.find((w) => w.includes('"failing"')) ?? '', /sensor gone/);
    assert.equal(value('counter_PID.db', encodeKey('long', 'long_total', { path: '/ok' }, 'L.')), 2);
    assert.equal(value('gauge_livesum_PID.db', encodeKey('failing', 'failing', {}, 'F.')), 3);
    assert.ok(![...file('gauge_all_PID.db').keys()].some((key) => key.includes('per_pid')));
  });

  it('follows a metric that is removed and registered again under the same name', async () => {
    const first = new Counter({ name: 'reborn_total', help: 'R.', registers: [registry] });
    first.inc(5);
    const handle = start();
    await handle.pass();
    registry.removeSingleMetric('reborn_total');
    new Counter({ name: 'reborn_total', help: 'R.', registers: [registry] }).inc(2);
    await handle.pass();
    first.inc(100);
    await handle.pass();
    assert.equal(value('counter_PID.db', encodeKey('reborn', 'reborn_total', {}, 'R.')), 2);
  });

  it("keeps counters, histograms and summaries growing across the app's reset(); gauges follow it", async () => {
    const counter = new Counter({ name: 'served_total', help: 'S.', labelNames: ['route'], registers: [registry] });
    const histogram = new Histogram({ name: 'wait_seconds', help: 'W.', buckets: [1], registers: [registry] });
    const gauge = new Gauge({ name: 'busy', help: 'B.', registers: [registry] });
    counter.inc({ route: '/' }, 5);
    histogram.observe(0.5);
    gauge.set(8);
    const handle = start();
    await handle.pass();
    registry.resetMetrics();
    await handle.pass();
    counter.inc({ route: '/' }, 2);
    histogram.observe(0.5);
    gauge.set(1);
    await handle.pass();
    assert.equal(value('counter_PID.db', encodeKey('served', 'served_total', { route: '/' }, 'S.')), 7);
    assert.equal(value('histogram_PID.db', encodeKey('wait_seconds', 'wait_seconds_bucket', { le: '1.0' }, 'W.')), 2);
    assert.equal(value('histogram_PID.db', encodeKey('wait_seconds', 'wait_seconds_sum', {}, 'W.')), 1);
    assert.equal(value('gauge_livesum_PID.db', encodeKey('busy', 'busy', {}, 'B.')), 1);
  });

  it('flushes the current values synchronously, and once more at stop()', async () => {
    const counter = new Counter({ name: 'flushed_total', help: 'F.', registers: [registry] });
    const handle = start({ intervalMs: 3_600_000 });
    await handle.pass();
    counter.inc(9);
    handle.flush();
    assert.equal(value('counter_PID.db', encodeKey('flushed', 'flushed_total', {}, 'F.')), 9);
    counter.inc(1);
    handle.stop();
    mirror = undefined;
    assert.equal(value('counter_PID.db', encodeKey('flushed', 'flushed_total', {}, 'F.')), 10);
  });

  it('refuses what is not a registry, and bad options, at the call', () => {
    assert.throws(() => mirrorRegistry({} as Registry, { store }), /must be a prom-client Registry/);
    assert.throws(() => start({ intervalMs: 0 }), /intervalMs must be a positive number/);
    assert.throws(() => start({ gaugeModes: { x: 'average' as 'all' } }), /Gauge mode "average" for "x"/);
  });
});

describe('collectDefaultMetrics (runtime metrics of this worker)', () => {
  it("writes this worker's runtime metrics into the store, and runs once per process", async () => {
    const dir = tempDir('mirror-runtime-');
    const store = new ProcessStore(dir, { pid: PID });
    const handle = collectDefaultMetrics({ store });
    try {
      assert.throws(() => collectDefaultMetrics({ store }), /already running/);
      await handle.pass();
      const live = readFileSamples(path.join(dir, `gauge_liveall_${PID}.db`));
      assert.ok([...live.keys()].some((key) => key.startsWith('["nodejs_heap_size_used_bytes"')));
      assert.ok([...live.keys()].some((key) => key.startsWith('["nodejs_eventloop_lag_seconds"')));
    } finally {
      handle.stop();
      store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    collectDefaultMetrics({ store: new ProcessStore(undefined) }).stop();
  });
});

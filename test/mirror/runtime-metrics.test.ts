// collectDefaultMetrics() as a user who only changed the import from prom-client sees it: in memory
// mode Node's runtime metrics show in the registry like prom-client's own; mirroring has no meaning there.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as promClient from 'prom-client';
import { Gauge, Registry, collectDefaultMetrics, mirrorRegistry, register } from '../../src/index';
import { useStore } from '../../src/metrics/active-store';
import { ProcessStore } from '../../src/store';
import { makeMetricsDir } from '../support/metrics-dir';
import { labelsOf, parseTextExposition, promtoolComplaints } from '../reliability/support';
import type { ParsedExposition } from '../reliability/support';

const hasPromtool = spawnSync('promtool', ['--version']).error === undefined;

/**
 * The exposition once the metrics that report a tick late have reported: the event-loop lag gauge
 * is set in a setImmediate its collect() schedules, so the first scrape only starts it.
 */
async function settledMetrics(registry: { metrics(): Promise<string> }): Promise<string> {
  await registry.metrics();
  await new Promise((resolve) => setImmediate(resolve));
  return registry.metrics();
}

function value(parsed: ParsedExposition, series: string): number {
  const found = parsed.samples.get(series);
  assert.ok(found !== undefined, `no sample ${series} in the exposition`);
  return found;
}

/** HELP and TYPE lines and the series that do not depend on the moment (handle types, GC kinds). */
function shapeOf(exposition: string): string[] {
  return exposition
    .split('\n')
    .filter((line) => line !== '' && !/(type|kind)="/.test(line))
    .map((line) => (line.startsWith('#') ? line : line.slice(0, line.lastIndexOf(' '))));
}

/** Churns short-lived objects until V8 has collected garbage and the GC histogram has a sample. */
async function afterSomeGarbageCollection(registry: Registry, histogram: string): Promise<ParsedExposition> {
  for (let round = 0; round < 200; round++) {
    const garbage = Array.from({ length: 10_000 }, (_, i) => [i, i + 1]);
    assert.equal(garbage.length, 10_000);
    // PerformanceObserver reports GC entries asynchronously.
    await new Promise((resolve) => setImmediate(resolve));
    const parsed = parseTextExposition(await registry.metrics());
    if ([...parsed.samples.keys()].some((series) => series.startsWith(`${histogram}_count`))) return parsed;
  }
  throw new Error(`no garbage collection reached ${histogram} after 200 rounds of churn`);
}

describe('collectDefaultMetrics in memory mode', () => {
  beforeEach(() => useStore(undefined));

  it("puts Node's runtime metrics in the registry, with sane values, as prom-client does", async () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    // prom-client counts CPU from registration on: spend some, or a quick collection can see 0.
    const userBefore = process.cpuUsage().user;
    while (process.cpuUsage().user - userBefore < 2000);
    const parsed = parseTextExposition(await settledMetrics(registry));

    assert.equal(parsed.types.get('process_cpu_user_seconds_total'), 'counter');
    const user = value(parsed, 'process_cpu_user_seconds_total');
    const system = value(parsed, 'process_cpu_system_seconds_total');
    assert.ok(user > 0, `user CPU ${user}`);
    assert.ok(Math.abs(value(parsed, 'process_cpu_seconds_total') - (user + system)) < 1e-6);
    assert.ok(value(parsed, 'process_resident_memory_bytes') > 0);
    const heapTotal = value(parsed, 'nodejs_heap_size_total_bytes');
    const heapUsed = value(parsed, 'nodejs_heap_size_used_bytes');
    assert.ok(heapUsed > 0 && heapUsed <= heapTotal, `heap used ${heapUsed} of ${heapTotal}`);
    assert.ok(value(parsed, 'nodejs_heap_space_size_total_bytes{space="old"}') > 0);
    const lag = value(parsed, 'nodejs_eventloop_lag_seconds');
    assert.ok(Number.isFinite(lag) && lag >= 0, `event-loop lag ${lag}`);
    const startedAt = Date.now() / 1000 - process.uptime();
    assert.ok(Math.abs(value(parsed, 'process_start_time_seconds') - startedAt) <= 1);
    const [major, minor, patch] = process.versions.node.split('.');
    assert.equal(value(parsed, `nodejs_version_info{version="${process.version}",major="${major}",minor="${minor}",patch="${patch}"}`), 1);
    assert.equal(parsed.types.get('nodejs_gc_duration_seconds'), 'histogram');

    const heapGauge = registry.getSingleMetric('nodejs_heap_size_total_bytes');
    assert.ok(heapGauge !== undefined);
    const object = await heapGauge.get();
    assert.equal(object.type, 'gauge');
    assert.ok(object.values[0].value > 0);
    const names = (await registry.getMetricsAsJSON()).map((metric) => metric.name);
    assert.ok(names.includes('process_cpu_user_seconds_total') && names.includes('nodejs_eventloop_lag_seconds'));
  });

  it("exposes the families, help, types and series of prom-client's own registry, in OpenMetrics too", async function () {
    const oursOpenMetrics = new Registry(Registry.OPENMETRICS_CONTENT_TYPE);
    collectDefaultMetrics({ register: oursOpenMetrics });
    const theirsOpenMetrics = new promClient.Registry<promClient.OpenMetricsContentType>();
    theirsOpenMetrics.setContentType(promClient.Registry.OPENMETRICS_CONTENT_TYPE);
    promClient.collectDefaultMetrics({ register: theirsOpenMetrics });
    // A counter's family is named without `_total` there: `# TYPE process_cpu_user_seconds counter`.
    assert.deepEqual(shapeOf(await settledMetrics(oursOpenMetrics)), shapeOf(await settledMetrics(theirsOpenMetrics)));

    const ours = new Registry();
    collectDefaultMetrics({ register: ours });
    const theirs = new promClient.Registry();
    promClient.collectDefaultMetrics({ register: theirs });
    const [ourText, theirText] = [await settledMetrics(ours), await settledMetrics(theirs)];
    assert.deepEqual(shapeOf(ourText), shapeOf(theirText));

    if (!hasPromtool) this.skip(); // promtool is a system package; the shape above is checked anyway
    assert.equal(await promtoolComplaints(ourText, { lint: 'allowed' }), '');
    // prom-client names some gauges `_total` (nodejs_active_handles_total): promtool's lint finds
    // exactly that in both, and nothing else in ours.
    assert.equal(await promtoolComplaints(ourText), await promtoolComplaints(theirText));
  });

  it('prefixes every name and labels every series as told, and uses the GC buckets given', async function () {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry, prefix: 'app_', labels: { service: 'api' }, gcDurationBuckets: [0.5, 5] });
    const parsed = await afterSomeGarbageCollection(registry, 'app_nodejs_gc_duration_seconds');

    assert.ok(parsed.samples.size > 20, `${parsed.samples.size} series`);
    for (const series of parsed.samples.keys()) {
      assert.ok(series.startsWith('app_'), series);
      assert.equal(labelsOf(series).get('service'), 'api', series);
    }
    assert.ok(value(parsed, 'app_nodejs_heap_size_total_bytes{service="api"}') > 0);
    const bounds = new Set(
      [...parsed.samples.keys()].filter((series) => series.startsWith('app_nodejs_gc_duration_seconds_bucket')).map((series) => labelsOf(series).get('le')),
    );
    assert.deepEqual([...bounds].sort(), ['+Inf', '0.5', '5']);
    if (!hasPromtool) this.skip(); // promtool is a system package; the series above are checked anyway
    assert.equal(await promtoolComplaints(await registry.metrics(), { lint: 'allowed' }), '');
  });

  it('joins the global register by default, and stop() takes the metrics out again', async () => {
    const handle = collectDefaultMetrics();
    try {
      assert.ok(register.getSingleMetric('process_cpu_user_seconds_total') !== undefined);
      assert.match(await register.metrics(), /^nodejs_heap_size_total_bytes \d+$/m);
      await handle.pass();
      handle.flush();
    } finally {
      handle.stop();
    }
    assert.equal(register.getSingleMetric('process_cpu_user_seconds_total'), undefined);
    assert.doesNotMatch(await register.metrics(), /nodejs_heap_size_total_bytes/);
    collectDefaultMetrics().stop();
  });

  it('refuses a second call on the same registry, and a name already taken, as prom-client does', () => {
    const registry = new Registry();
    collectDefaultMetrics({ register: registry });
    assert.throws(
      () => collectDefaultMetrics({ register: registry }),
      /Counter "process_cpu_user_seconds_total": a metric with the name process_cpu_user_seconds_total has already been registered/,
    );
    collectDefaultMetrics({ register: new Registry() });

    const taken = new Registry();
    new Gauge({ name: 'nodejs_heap_size_total_bytes', help: 'Mine.', registers: [taken] });
    assert.throws(
      () => collectDefaultMetrics({ register: taken }),
      /Gauge "nodejs_heap_size_total_bytes": a metric with the name nodejs_heap_size_total_bytes has already been registered \(a gauge\)/,
    );
  });

  it('says that mirrorRegistry() needs a metrics directory, and what to do instead', () => {
    assert.throws(
      () => mirrorRegistry(new promClient.Registry()),
      /PROMETHEUS_MULTIPROC_DIR is not set: mirroring copies a registry into the metric files there, and has no meaning in a single process/,
    );
  });
});

describe('collectDefaultMetrics in multiprocess mode', () => {
  it('refuses a register of its own: the metric files are shown by the global register', () => {
    const store = new ProcessStore(undefined);
    assert.throws(() => collectDefaultMetrics({ store, register: new Registry() }), /drop the register option/);
    collectDefaultMetrics({ store, register }).stop();
  });

  it("refuses a prom-client metric in one of this library's registries: it has no metric files", () => {
    const target = makeMetricsDir();
    try {
      target.actAs(4242, 'pwrite');
      const registry = new Registry();
      assert.throws(
        () => new promClient.Gauge({ name: 'queue_depth', help: 'Depth.', registers: [registry as unknown as promClient.Registry] }),
        /Gauge "queue_depth": a prom-client metric cannot join a registry in multiprocess mode/,
      );
      assert.equal(registry.getSingleMetric('queue_depth'), undefined);
    } finally {
      target.remove();
    }
  });
});

// The registry: prom-client's bookkeeping, and in multiprocess mode the merged exposition of the
// whole directory; remove/reset and collect callbacks as they behave with files.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Counter, Gauge, Histogram, Registry, Summary, collectDirectory, refreshCollected, register, renderOpenMetrics, renderText, setLogger } from '../../src/index';
import { COLLECT_INTERVAL_MS } from '../../src/metrics/collect-timer';
import { FILE_BACKENDS, makeMetricsDir, readDbEntries } from '../support/metrics-dir';
import type { MetricsDir } from '../support/metrics-dir';
import { writePythonFixtureOperations } from '../support/python-fixture';

describe('Registry', () => {
  it('keeps, finds, removes and clears metrics like prom-client', async () => {
    const registry = new Registry();
    const counter = new Counter({ name: 'a_total', help: 'A.', registers: [registry] });
    const gauge = new Gauge({ name: 'b', help: 'B.', registers: [registry] });
    assert.equal(registry.getSingleMetric('a_total'), counter);
    assert.deepEqual(registry.getMetricsAsArray(), [counter, gauge]);
    counter.inc(2);
    gauge.set(5);
    assert.equal(await registry.getSingleMetricAsString('b'), '# HELP b B.\n# TYPE b gauge\nb 5\n');
    registry.resetMetrics();
    assert.deepEqual((await registry.getMetricsAsJSON()).map((metric) => metric.values[0].value), [0, 0]);
    registry.removeSingleMetric('a_total');
    assert.equal(registry.getSingleMetric('a_total'), undefined);
    registry.clear();
    assert.deepEqual(registry.getMetricsAsArray(), []);
    assert.equal(registry.contentType, Registry.PROMETHEUS_CONTENT_TYPE);
    assert.throws(() => registry.setContentType('text/html' as never), /Content type text\/html is unsupported/);
  });

  it('adds default labels to samples that lack them, and renders OpenMetrics on request', async () => {
    const registry = new Registry(Registry.OPENMETRICS_CONTENT_TYPE);
    new Counter({ name: 'hits_total', help: 'Hits.', labelNames: ['app'], registers: [registry] }).inc({ app: 'mine' }, 3);
    new Gauge({ name: 'up', help: 'Up.', registers: [registry] }).set(1);
    registry.setDefaultLabels({ app: 'default', region: 'eu' });
    const json = await registry.getMetricsAsJSON();
    assert.deepEqual(json.map((metric) => metric.values[0].labels), [{ app: 'mine', region: 'eu' }, { app: 'default', region: 'eu' }]);
    assert.equal(
      await registry.metrics(),
      '# HELP hits Hits.\n# TYPE hits counter\nhits_total{app="mine",region="eu"} 3\n' +
        '# HELP up Up.\n# TYPE up gauge\nup{app="default",region="eu"} 1\n# EOF\n',
    );
  });

  for (const backend of FILE_BACKENDS) {
    describe(`in multiprocess mode (${backend} backend)`, () => {
      let target: MetricsDir;
      beforeEach(() => {
        target = makeMetricsDir();
      });
      afterEach(() => target.remove());

      it('register.metrics() renders the whole directory merged, in text or OpenMetrics', async () => {
        writePythonFixtureOperations(target, backend);
        const expected = renderText(collectDirectory(target.dir));
        assert.equal(await register.metrics(), expected);
        assert.match(expected, /^requests_total\{method="GET"\} 6$/m);
        assert.match(expected, /^latency_seconds_count\{method="POST"\} 9$/m);
        const openMetrics = new Registry(Registry.OPENMETRICS_CONTENT_TYPE, { wholeDirectory: true });
        assert.equal(await openMetrics.metrics(), renderOpenMetrics(collectDirectory(target.dir)));
      });

      it('another registry shows every process\'s values of its own families only', async () => {
        const mine = new Registry();
        for (const pid of [11, 22]) {
          target.actAs(pid, backend);
          new Counter({ name: 'jobs_total', help: 'Jobs.', registers: [mine] }).inc(pid);
          new Gauge({ name: 'not_mine', help: 'Other.', registers: [] }).set(1);
          mine.clear();
        }
        target.actAs(33, backend);
        const summary = new Summary({ name: 'size', help: 'Size.', labelNames: ['kind'], registers: [mine] });
        summary.observe({ kind: 'a' }, 4);
        new Counter({ name: 'jobs_total', help: 'Jobs.', registers: [mine] });
        const quantiles = [0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999].map((q) => `size{quantile="${q}",kind="a"} 4\n`).join('');
        assert.equal(
          await mine.metrics(),
          '# HELP jobs_total Jobs.\n# TYPE jobs_total counter\njobs_total 33\n' +
            `# HELP size Size.\n# TYPE size summary\n${quantiles}size_count{kind="a"} 1\nsize_sum{kind="a"} 4\n`,
        );
        // get() is this process's values, its quantiles from its own sketch (one observation: each is it).
        assert.deepEqual((await summary.get()).values, [
          ...[0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999].map((quantile) => ({ labels: { quantile, kind: 'a' }, value: 4 })),
          { labels: { kind: 'a' }, value: 4, metricName: 'size_sum' },
          { labels: { kind: 'a' }, value: 1, metricName: 'size_count' },
        ]);
      });

      it('remove() and reset() zero this process\'s entries; mostrecent gauges lose their timestamp', async () => {
        const store = target.actAs(7, backend);
        const registry = new Registry();
        const counter = new Counter({ name: 'req_total', help: 'R.', labelNames: ['code'], registers: [registry] });
        const histogram = new Histogram({ name: 'lat', help: 'L.', buckets: [1], registers: [registry] });
        const gauge = new Gauge({ name: 'last', help: 'G.', labelNames: ['job'], multiprocessMode: 'mostrecent', registers: [registry] });
        counter.inc({ code: '200' }, 5);
        counter.inc({ code: '500' }, 2);
        histogram.observe(0.5);
        histogram.observe(3);
        gauge.set({ job: 'a' }, 9);
        counter.remove('500');
        gauge.remove({ job: 'a' });
        histogram.reset();
        const file = (name: string): Array<[string, number, number]> =>
          readDbEntries(path.join(target.dir, `${name}_${store.owner}.db`)).map((entry) => [JSON.parse(entry.key)[1], entry.value, entry.timestamp]);
        assert.deepEqual(file('counter'), [['req_total', 5, 0], ['req_total', 0, 0]]);
        assert.deepEqual(file('gauge_mostrecent'), [['last', 0, 0]]);
        assert.deepEqual(file('histogram'), [['lat_sum', 0, 0], ['lat_bucket', 0, 0], ['lat_bucket', 0, 0]]);
        assert.deepEqual((await counter.get()).values, [{ labels: { code: '200' }, value: 5 }]);
        counter.inc({ code: '500' });
        assert.deepEqual(file('counter'), [['req_total', 5, 0], ['req_total', 1, 0]]);
      });

      it('runs collect callbacks through refreshCollected (what its timer calls) and before metrics()', async () => {
        target.actAs(8, backend);
        let runs = 0;
        const registry = new Registry();
        new Gauge({
          name: 'queue_depth',
          help: 'Depth.',
          multiprocessMode: 'max',
          registers: [registry],
          collect() {
            runs++;
            this.set(runs);
          },
        });
        await refreshCollected();
        assert.equal(readDbEntries(path.join(target.dir, 'gauge_max_8.db'))[0].value, 1);
        assert.match(await registry.metrics(), /^queue_depth 2$/m);
      });

      it('reports a failing collect callback once as a warning, and keeps refreshing the others', async () => {
        target.actAs(9, backend);
        const warnings: string[] = [];
        setLogger({ info: () => undefined, warn: (message) => warnings.push(message), error: () => undefined });
        try {
          new Gauge({ name: 'broken', help: 'B.', registers: [], collect: () => Promise.reject(new Error('backend down')) });
          let runs = 0;
          new Gauge({ name: 'fine', help: 'F.', multiprocessMode: 'sum', registers: [], collect() { this.set(++runs); } });
          await refreshCollected();
          await refreshCollected();
          await new Promise((resolve) => setImmediate(resolve));
          assert.deepEqual(warnings.filter((message) => message.includes('"broken"')), ['Gauge "broken": collect callback failed: backend down']);
          assert.equal(readDbEntries(path.join(target.dir, 'gauge_sum_9.db'))[0].value, 2);
        } finally {
          setLogger(undefined);
        }
      });
    });
  }

  it(`runs collect callbacks of multiprocess metrics every ${COLLECT_INTERVAL_MS / 1000} s without any call`, async function () {
    this.timeout(COLLECT_INTERVAL_MS * 3);
    const target = makeMetricsDir();
    try {
      target.actAs(10, 'pwrite');
      let runs = 0;
      new Gauge({ name: 'ticks', help: 'T.', multiprocessMode: 'max', registers: [], collect() { this.set(++runs); } });
      const file = path.join(target.dir, 'gauge_max_10.db');
      const deadline = Date.now() + COLLECT_INTERVAL_MS * 2;
      while (readDbEntries(file)[0].value < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
      assert.ok(readDbEntries(file)[0].value >= 1, `collect ran ${runs} time(s)`);
    } finally {
      target.remove();
    }
  });
});

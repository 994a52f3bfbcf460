// Bad input throws at once with a message naming the metric and the problem, and leaves nothing
// half-written in the metric files.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Counter, Gauge, Histogram, Registry, Summary } from '../../src/index';
import { FILE_BACKENDS, makeMetricsDir, readDbEntries } from '../support/metrics-dir';
import type { MetricsDir } from '../support/metrics-dir';

const registers: Registry[] = [];

describe('metric validation', () => {
  describe('options', () => {
    it('refuses invalid names, missing help and invalid label names', () => {
      assert.throws(() => new Counter({ name: 'bad-name', help: 'x', registers }), /^Error: Counter "bad-name": invalid metric name/);
      assert.throws(() => new Counter({ name: '', help: 'x', registers }), /Counter: option "name" is missing/);
      assert.throws(() => new Gauge({ name: 'ok', help: '', registers }), /Gauge "ok": option "help" is missing/);
      assert.throws(() => new Counter({ name: 'c_total', help: 'x', labelNames: ['bad-label'], registers }), /Counter "c_total": invalid label name "bad-label"/);
      assert.throws(() => new Counter({ name: 'c_total', help: 'x', labelNames: ['__meta'], registers }), /Counter "c_total": label name "__meta" is reserved/);
      assert.throws(() => new Counter({ name: 'c_total', help: 'x', labelNames: ['a', 'a'], registers }), /Counter "c_total": label name "a" is repeated/);
    });

    it('refuses the labels each type reserves', () => {
      assert.throws(() => new Histogram({ name: 'h', help: 'x', labelNames: ['le'], registers }), /Histogram "h": label name "le" is reserved/);
      assert.throws(() => new Summary({ name: 's', help: 'x', labelNames: ['quantile'], registers }), /Summary "s": label name "quantile" is reserved/);
      assert.throws(() => new Gauge({ name: 'g', help: 'x', labelNames: ['pid'], multiprocessMode: 'all', registers }), /Gauge "g": label name "pid" is reserved/);
      assert.doesNotThrow(() => new Gauge({ name: 'g2', help: 'x', labelNames: ['pid'], registers }), 'the default mode, livesum, adds no pid label');
      assert.throws(() => new Gauge({ name: 'g', help: 'x', labelNames: ['pid'], multiprocessMode: 'liveall', registers }), /"pid" is reserved/);
      assert.doesNotThrow(() => new Gauge({ name: 'g', help: 'x', labelNames: ['pid'], multiprocessMode: 'sum', registers }));
    });

    it('refuses unknown gauge modes, bad buckets, bad percentiles and exemplars where they cannot be exposed', () => {
      assert.throws(
        () => new Gauge({ name: 'g', help: 'x', multiprocessMode: 'avg' as never, registers }),
        /Gauge "g": invalid multiprocessMode "avg" \(one of all, liveall, sum/,
      );
      assert.throws(() => new Histogram({ name: 'h', help: 'x', buckets: [1, 0.5], registers }), /Histogram "h": buckets must be in increasing order/);
      assert.throws(() => new Histogram({ name: 'h', help: 'x', buckets: [NaN], registers }), /Histogram "h": buckets must be numbers/);
      assert.throws(() => new Summary({ name: 's', help: 'x', percentiles: [1.5], registers }), /Summary "s": percentiles must be numbers between 0 and 1/);
      assert.throws(
        () => new Counter({ name: 'c', help: 'x', enableExemplars: true, registers: [new Registry()] }),
        /^TypeError: Counter "c": exemplars are supported only on OpenMetrics registries, and registry 0 of "registers" renders text 0\.0\.4, which has no place for them: call setContentType\(Registry\.OPENMETRICS_CONTENT_TYPE\)/,
      );
      assert.throws(() => new Histogram({ name: 'h', help: 'x', enableExemplars: true }), /Histogram "h": exemplars are supported only on OpenMetrics registries, and the default register renders text/);
      assert.throws(() => new Gauge({ name: 'g', help: 'x', enableExemplars: true, registers }), /Gauge "g": exemplars exist only on counters and histograms/);
      assert.throws(() => new Summary({ name: 's', help: 'x', enableExemplars: true, registers }), /Summary "s": exemplars exist only on counters and histograms/);
      assert.throws(() => new Counter({ name: 'c', help: 'x', enableExemplars: 'yes' as never, registers }), /option "enableExemplars" must be a boolean, got "yes"/);
    });

    it('refuses a second metric of the same name in one registry, naming both types', () => {
      const registry = new Registry();
      new Counter({ name: 'jobs_total', help: 'x', registers: [registry] });
      assert.throws(
        () => new Gauge({ name: 'jobs_total', help: 'x', registers: [registry] }),
        /Gauge "jobs_total": a metric with the name jobs_total has already been registered \(a counter\)/,
      );
    });
  });

  describe('calls', () => {
    const counter = new Counter({ name: 'http_requests_total', help: 'x', labelNames: ['method', 'code'], registers });

    it('refuses wrong label counts, missing, unknown and mistyped labels', () => {
      assert.throws(() => counter.labels('GET'), /Counter "http_requests_total": got 1 label value\(s\) \("GET"\) for 2 label name\(s\) \(method, code\)/);
      assert.throws(() => counter.inc({ method: 'GET' }), /Counter "http_requests_total": label "code" is missing/);
      assert.throws(() => counter.inc({ method: 'GET', code: '200', path: '/' } as never), /label "path" is not one of its label names \(method, code\)/);
      assert.throws(() => counter.labels({ method: 'GET', code: {} as never }), /label "code" must be a string or a number, got object/);
      assert.throws(() => counter.inc(), /Counter "http_requests_total": labels "method", "code" are missing/);
    });

    it('refuses an unknown label even once the child exists', () => {
      counter.inc({ method: 'GET', code: '200' });
      assert.throws(() => counter.inc({ method: 'GET', code: '200', path: '/' } as never), /label "path" is not one of its label names/);
      assert.throws(() => counter.labels('GET', '200', '/'), /got 3 label value\(s\)/);
    });

    it('refuses negative counter increments and non-finite values everywhere', () => {
      const plain = new Counter({ name: 'plain_total', help: 'x', registers });
      assert.throws(() => plain.inc(-1), /Counter "plain_total": it is not possible to decrease a counter \(inc\(-1\)\)/);
      assert.throws(() => plain.inc(NaN), /Counter "plain_total": value is not a finite number: NaN/);
      assert.throws(() => counter.labels('GET', '200').inc(Infinity), /Counter "http_requests_total": value is not a finite number: Infinity/);
      const gauge = new Gauge({ name: 'g', help: 'x', registers });
      assert.throws(() => gauge.set(NaN), /Gauge "g": value is not a finite number: NaN/);
      assert.throws(() => gauge.inc(-Infinity), /Gauge "g": value is not a finite number/);
      assert.throws(() => gauge.set('3' as never), /Gauge "g": value is not a finite number: 3/);
      assert.throws(() => new Histogram({ name: 'h', help: 'x', registers }).observe(NaN), /Histogram "h": value is not a finite number/);
      assert.throws(() => new Summary({ name: 's', help: 'x', registers }).observe(Infinity), /Summary "s": value is not a finite number/);
      assert.equal(plain.labels().value, 0);
    });

    it('refuses remove() on a metric without labels', () => {
      assert.throws(() => new Gauge({ name: 'g', help: 'x', registers }).remove(), /Gauge "g": remove\(\) needs label values/);
    });
  });

  for (const backend of FILE_BACKENDS) {
    describe(`in a metrics directory (${backend} backend)`, () => {
      let target: MetricsDir;
      beforeEach(() => {
        target = makeMetricsDir();
        target.actAs(4242, backend);
      });
      afterEach(() => target.remove());

      it('writes nothing for a refused call or metric', () => {
        const counter = new Counter({ name: 'jobs_total', help: 'x', labelNames: ['queue'], registers });
        counter.inc({ queue: 'a' });
        assert.throws(() => counter.inc({ queue: 'b', extra: 'x' } as never));
        assert.throws(() => counter.inc({ queue: 'c' }, -1));
        assert.throws(() => counter.labels({ queue: null } as never));
        assert.throws(() => counter.labels('x'.repeat(1 << 20)), /Counter "jobs_total": label values too long/);
        assert.throws(() => new Counter({ name: 'bad name', help: 'x', registers }));
        const histogram = new Histogram({ name: 'h', help: 'x', labelNames: ['le_ok'], registers });
        // The _sum key would fit; the longer _bucket keys would not: no entry of the child may stay.
        assert.throws(() => histogram.observe({ le_ok: 'x'.repeat((1 << 20) - 40) }, 1), /label values too long/);
        assert.throws(() => histogram.observe({ le_ok: 'y' }, NaN), /not a finite number/);
        const gauge = new Gauge({ name: 'depth', help: 'x', labelNames: ['queue'], multiprocessMode: 'sum', registers });
        assert.throws(() => gauge.set({ queue: 'z' }, NaN), /Gauge "depth": value is not a finite number/);
        assert.throws(() => gauge.inc({ queue: 'z' }, Infinity), /Gauge "depth": value is not a finite number/);
        assert.deepEqual(readDbEntries(path.join(target.dir, 'gauge_sum_4242.db')), []);
        const entries = readDbEntries(path.join(target.dir, 'counter_4242.db'));
        assert.deepEqual(entries.map((entry) => entry.key), ['["jobs", "jobs_total", {"queue": "a"}, "x"]']);
        assert.deepEqual(readDbEntries(path.join(target.dir, 'histogram_4242.db')), []);
      });

      it('refuses one name with two types in one directory, before writing', () => {
        new Counter({ name: 'work_total', help: 'x', registers });
        assert.throws(
          () => new Gauge({ name: 'work', help: 'x', registers }),
          /Gauge "work": the name "work" is already used by a counter in /,
        );
        assert.equal(fs.existsSync(path.join(target.dir, 'gauge_all_4242.db')), false);
        new Gauge({ name: 'depth', help: 'x', multiprocessMode: 'max', registers });
        assert.throws(
          () => new Gauge({ name: 'depth', help: 'x', multiprocessMode: 'min', registers }),
          /Gauge "depth": the name "depth" is already used by a gauge in mode max in /,
        );
      });
    });
  }

  it('says which directory is missing or not a directory, at the first metric', () => {
    const script = "const { Counter } = require('./src/index'); new Counter({ name: 'x_total', help: 'x' });";
    const run = (dir: string): string => {
      try {
        execFileSync(process.execPath, ['--import', 'tsx', '-e', script], {
          cwd: path.join(__dirname, '..', '..'),
          env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir },
          stdio: 'pipe',
        });
      } catch (error) {
        return String((error as { stderr: Buffer }).stderr);
      }
      return 'no error';
    };
    assert.match(run('/nonexistent/metrics'), /PROMETHEUS_MULTIPROC_DIR "\/nonexistent\/metrics": directory does not exist/);
    assert.match(run(__filename), /not a directory/);
  });
});

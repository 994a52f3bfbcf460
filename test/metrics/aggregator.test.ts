// prom-client's `aggregator` option decides how a metric merges across processes: gauges by the
// mode it names, 'omit' out of the merged exposition, meaningless merges refused at construction.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as promClient from 'prom-client';
import { Counter, Gauge, Histogram, Registry, Summary, collectDirectory, markProcessDead } from '../../src/index';
import { samplesOf } from '../collect/support/samples';
import { makeMetricsDir } from '../support/metrics-dir';
import type { MetricsDir } from '../support/metrics-dir';
import { PYTHON_COLLECTOR_MISSING, pythonCollect, pythonCollectorAvailable } from '../support/python-collector';

const ALL_AGGREGATORS = ['sum', 'min', 'max', 'average', 'first'] as const;

/** The merged samples of one family, as [labels, value] pairs. */
function merged(dir: string, name: string): Array<[Record<string, string>, number]> {
  const family = collectDirectory(dir).find((candidate) => candidate.name === name);
  return family === undefined ? [] : samplesOf([family]).map((sample) => [sample.labels, sample.value as number]);
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

describe('aggregator: how a metric merges across processes', () => {
  let target: MetricsDir;
  beforeEach(() => {
    target = makeMetricsDir();
  });
  afterEach(() => target.remove());

  /** Three stand-in processes, started in this order 2 ms apart, each with a gauge per aggregator. */
  async function threeProcesses(values: readonly number[]): Promise<void> {
    for (const [index, value] of values.entries()) {
      target.actAs(100 + index, 'native');
      for (const aggregator of ALL_AGGREGATORS) {
        const gauge = new Gauge({ name: `g_${aggregator}`, help: 'x', labelNames: ['queue'], aggregator, registers: [] });
        gauge.set({ queue: 'a' }, value);
        gauge.labels('b').inc(value * 10);
      }
      await pause(2);
    }
  }

  it('gives a gauge the live mode of its aggregator, merged as prom-client cluster mode merges the workers', async () => {
    await threeProcesses([4, -2, 7]);
    const files = fs.readdirSync(target.dir).filter((name) => name.startsWith('gauge_'));
    for (const [aggregator, mode] of [
      ['sum', 'livesum'],
      ['min', 'livemin'],
      ['max', 'livemax'],
      ['average', 'liveaverage'],
      ['first', 'livefirst'],
    ]) {
      assert.ok(files.includes(`gauge_${mode}_100.db`), `aggregator ${aggregator} writes mode ${mode}: ${files.join(' ')}`);
    }
    assert.deepEqual(merged(target.dir, 'g_sum'), [[{ queue: 'a' }, 9], [{ queue: 'b' }, 90]]);
    assert.deepEqual(merged(target.dir, 'g_min'), [[{ queue: 'a' }, -2], [{ queue: 'b' }, -20]]);
    assert.deepEqual(merged(target.dir, 'g_max'), [[{ queue: 'a' }, 7], [{ queue: 'b' }, 70]]);
    assert.deepEqual(merged(target.dir, 'g_average'), [[{ queue: 'a' }, 3], [{ queue: 'b' }, 30]]);
    // 'first': the process that started first, whatever order the files are read in.
    assert.deepEqual(merged(target.dir, 'g_first'), [[{ queue: 'a' }, 4], [{ queue: 'b' }, 40]]);

    // Live modes: a dead process leaves the merge, as a worker that no longer answers prom-client's IPC.
    markProcessDead(100, target.dir);
    assert.deepEqual(merged(target.dir, 'g_sum'), [[{ queue: 'a' }, 5], [{ queue: 'b' }, 50]]);
    assert.deepEqual(merged(target.dir, 'g_average'), [[{ queue: 'a' }, 2.5], [{ queue: 'b' }, 25]]);
    assert.deepEqual(merged(target.dir, 'g_first'), [[{ queue: 'a' }, -2], [{ queue: 'b' }, -20]]);
  });

  it('averages and picks first over the processes that hold a series: a removed series takes no part', async () => {
    target.actAs(100, 'native');
    const first = new Gauge({ name: 'g_avg', help: 'x', labelNames: ['queue'], aggregator: 'average', registers: [] });
    const firstPick = new Gauge({ name: 'g_first', help: 'x', labelNames: ['queue'], aggregator: 'first', registers: [] });
    first.set({ queue: 'a' }, 100);
    firstPick.set({ queue: 'a' }, 100);
    await pause(2);
    target.actAs(101, 'native');
    const second = new Gauge({ name: 'g_avg', help: 'x', labelNames: ['queue'], aggregator: 'average', registers: [] });
    const secondPick = new Gauge({ name: 'g_first', help: 'x', labelNames: ['queue'], aggregator: 'first', registers: [] });
    second.set({ queue: 'a' }, 2);
    secondPick.set({ queue: 'a' }, 2);
    assert.deepEqual(merged(target.dir, 'g_avg'), [[{ queue: 'a' }, 51]]);
    first.remove('a');
    firstPick.remove('a');
    assert.deepEqual(merged(target.dir, 'g_avg'), [[{ queue: 'a' }, 2]]);
    assert.deepEqual(merged(target.dir, 'g_first'), [[{ queue: 'a' }, 2]]);
    // Written again after remove(): the series takes part again, with its process's start.
    first.set({ queue: 'a' }, 10);
    firstPick.set({ queue: 'a' }, 10);
    assert.deepEqual(merged(target.dir, 'g_avg'), [[{ queue: 'a' }, 6]]);
    assert.deepEqual(merged(target.dir, 'g_first'), [[{ queue: 'a' }, 10]]);
  });

  it('lets multiprocessMode win over aggregator, and gives a gauge with neither livesum', () => {
    for (const pid of [100, 101]) {
      target.actAs(pid, 'native');
      new Gauge({ name: 'g_both', help: 'x', aggregator: 'max', multiprocessMode: 'all', registers: [] }).set(pid);
      new Gauge({ name: 'g_neither', help: 'x', registers: [] }).set(pid);
    }
    assert.deepEqual(merged(target.dir, 'g_both'), [[{ pid: '100' }, 100], [{ pid: '101' }, 101]]);
    assert.equal(new Gauge({ name: 'g_default', help: 'x', registers: [] }).multiprocessMode, 'livesum');
    assert.deepEqual(merged(target.dir, 'g_neither'), [[{}, 201]]);
    markProcessDead(100, target.dir);
    assert.deepEqual(merged(target.dir, 'g_neither'), [[{}, 101]], 'a dead worker leaves nothing behind');
  });

  it("keeps a metric with 'omit' out of the files and every merged exposition; get() still answers", async () => {
    target.actAs(100, 'native');
    const registry = new Registry();
    const counter = new Counter({ name: 'hidden_total', help: 'x', aggregator: 'omit', registers: [registry] });
    const gauge = new Gauge({ name: 'hidden_gauge', help: 'x', aggregator: 'omit', registers: [registry] });
    const summary = new Summary({ name: 'hidden_summary', help: 'x', aggregator: 'omit', registers: [registry] });
    new Counter({ name: 'shown_total', help: 'x', registers: [registry] }).inc();
    counter.inc(3);
    gauge.set(5);
    summary.observe(2);
    assert.deepEqual(fs.readdirSync(target.dir).filter((name) => name.endsWith('.db')), ['counter_100.db']);
    assert.equal(await registry.metrics(), '# HELP shown_total x\n# TYPE shown_total counter\nshown_total 1\n');
    assert.deepEqual((await counter.get()).values, [{ value: 3, labels: {} }]);
    assert.deepEqual((await gauge.get()).values, [{ value: 5, labels: {} }]);
    assert.equal((await counter.get()).aggregator, 'omit');
    const summaryValues = (await summary.get()).values;
    assert.equal(summaryValues.find((value) => value.metricName === 'hidden_summary_count')?.value, 1);
    assert.equal(summaryValues.find((value) => value.labels.quantile === 0.5)?.value, 2, 'quantiles of this process, in memory');
  });

  it('refuses at construction a merge that means nothing for counters, histograms and summaries, naming the fix', () => {
    for (const [kind, make] of [
      ['Counter', (aggregator: string) => new Counter({ name: 'c_total', help: 'x', aggregator: aggregator as never, registers: [] })],
      ['Histogram', (aggregator: string) => new Histogram({ name: 'h', help: 'x', aggregator: aggregator as never, registers: [] })],
      ['Summary', (aggregator: string) => new Summary({ name: 's', help: 'x', aggregator: aggregator as never, registers: [] })],
    ] as const) {
      for (const aggregator of ['first', 'min', 'max', 'average']) {
        assert.throws(
          () => make(aggregator),
          new RegExp(`^Error: ${kind} "\\w+": aggregator "${aggregator}" has no meaning across processes for a ${kind.toLowerCase()}, whose counts are summed; use "sum" \\(the default\\) or "omit"`),
        );
      }
      assert.throws(() => make('median'), new RegExp(`${kind} "\\w+": invalid aggregator "median" \\(one of sum, first, min, max, average, omit\\)`));
      assert.equal(make('sum').aggregator, 'sum');
    }
    assert.throws(
      () => new Gauge({ name: 'g', help: 'x', aggregator: 'median' as never, registers: [] }),
      /Gauge "g": invalid aggregator "median"/,
    );
  });

  it('refuses the same in memory mode, where prom-client would only fail later, in its aggregation', () => {
    target.remove();
    assert.throws(() => new Counter({ name: 'c_total', help: 'x', aggregator: 'max', registers: [] }), /aggregator "max" has no meaning/);
    // prom-client takes it at construction and fails only in AggregatorRegistry.aggregate.
    assert.doesNotThrow(() => new promClient.Counter({ name: 'c_total', help: 'x', aggregator: 'max', registers: [] }));
    target = makeMetricsDir();
  });

  it("leaves the directory readable by Python's collector, which shows liveaverage and livefirst per pid", function () {
    if (!pythonCollectorAvailable()) {
      console.log(`      (${PYTHON_COLLECTOR_MISSING})`);
      this.skip();
    }
    for (const pid of [100, 101]) {
      target.actAs(pid, 'native');
      for (const aggregator of ALL_AGGREGATORS) new Gauge({ name: `g_${aggregator}`, help: 'x', aggregator, registers: [] }).set(pid);
    }
    const text = pythonCollect(target.dir);
    assert.match(text, /^g_sum 201\.0$/m);
    assert.match(text, /^g_max 101\.0$/m);
    for (const aggregator of ['average', 'first']) {
      assert.match(text, new RegExp(`^g_${aggregator}\\{pid="100"\\} 100\\.0$`, 'm'));
      assert.match(text, new RegExp(`^g_${aggregator}\\{pid="101"\\} 101\\.0$`, 'm'));
    }
  });
});

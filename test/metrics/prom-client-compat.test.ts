// A user changes only the import: the same calls on prom-client 15 and on this library (memory
// mode) give the same get() objects and the same exposition.
import * as assert from 'node:assert/strict';
import * as promClient from 'prom-client';
import * as ours from '../../src/index';

/** The part of both libraries the scenarios use, typed by ours. */
type Library = Pick<typeof ours, 'Counter' | 'Gauge' | 'Histogram' | 'Summary' | 'Registry'>;
const libraries: Record<'prom-client' | 'ours', Library> = {
  'prom-client': promClient as unknown as Library,
  ours,
};

/** Runs `scenario` with both libraries, each with a fresh registry, and compares the outcome. */
async function sameOutcome(scenario: (lib: Library, registers: [ours.Registry]) => void | Promise<void>): Promise<void> {
  const outcomes = [];
  for (const lib of Object.values(libraries)) {
    const registry = new lib.Registry();
    await scenario(lib, [registry]);
    // prom-client separates families with a blank line; both are valid text format.
    outcomes.push({ json: await registry.getMetricsAsJSON(), text: (await registry.metrics()).replace(/\n\n/g, '\n') });
  }
  assert.deepEqual(outcomes[1].json, outcomes[0].json);
  assert.equal(outcomes[1].text, outcomes[0].text);
}

describe('prom-client compatibility (memory mode)', () => {
  it('counter: every inc and labels form, remove and reset', () =>
    sameOutcome((lib, registers) => {
      const plain = new lib.Counter({ name: 'plain_total', help: 'Plain.', registers });
      plain.inc();
      plain.inc(2.5);
      plain.inc(0);
      const counter = new lib.Counter({ name: 'http_requests_total', help: 'Requests.', labelNames: ['method', 'code'], registers });
      counter.inc({ method: 'GET', code: '200' });
      counter.inc({ method: 'GET', code: '200' }, 3);
      counter.labels('POST', '500').inc();
      const child = counter.labels({ method: 'PUT', code: '201' });
      child.inc(2);
      child.inc();
      counter.labels('DELETE', '404').inc(7);
      counter.remove('DELETE', '404');
      counter.inc({ method: 'PATCH', code: '200' });
      counter.remove({ method: 'PATCH', code: '200' });
      counter.inc({ method: 'PATCH', code: '200' }, 4);
      const reset = new lib.Counter({ name: 'reset_total', help: 'Reset.', labelNames: ['a'], registers });
      reset.inc({ a: 'x' }, 5);
      reset.reset();
      reset.inc({ a: 'y' });
      plain.reset();
      plain.inc(1.5);
    }));

  it('counter named without _total keeps its name', () =>
    sameOutcome((lib, registers) => {
      new lib.Counter({ name: 'events', help: 'Events.', registers }).inc(3);
    }));

  it('gauge: set, inc, dec in both forms, children, remove and reset', () =>
    sameOutcome((lib, registers) => {
      const plain = new lib.Gauge({ name: 'temperature', help: 'Temp.', registers });
      plain.set(20);
      plain.inc();
      plain.inc(2.5);
      plain.dec();
      plain.dec(0.5);
      const gauge = new lib.Gauge({ name: 'queue_length', help: 'Queue.', labelNames: ['queue'], registers });
      gauge.set({ queue: 'a' }, 10);
      gauge.inc({ queue: 'a' });
      gauge.inc({ queue: 'a' }, 5);
      gauge.dec({ queue: 'b' });
      gauge.dec({ queue: 'b' }, 2);
      const child = gauge.labels('c');
      child.set(-3);
      child.inc(4);
      child.dec(1);
      gauge.labels({ queue: 'd' }).set(1);
      gauge.remove('d');
      const reset = new lib.Gauge({ name: 'reset_gauge', help: 'Reset.', labelNames: ['a'], registers });
      reset.set({ a: 'x' }, 5);
      reset.reset();
      reset.set({ a: 'y' }, 2);
    }));

  it('histogram: observe forms, default and custom buckets, zero, remove', () =>
    sameOutcome((lib, registers) => {
      const plain = new lib.Histogram({ name: 'duration_seconds', help: 'Duration.', registers });
      for (const value of [0.001, 0.005, 0.0051, 0.3, 1, 7, 11, 0]) plain.observe(value);
      const histogram = new lib.Histogram({ name: 'size_bytes', help: 'Size.', labelNames: ['route'], buckets: [10, 100, 1000], registers });
      histogram.observe({ route: '/a' }, 5);
      histogram.observe({ route: '/a' }, 100);
      histogram.labels('/b').observe(5000);
      histogram.labels({ route: '/c' }).observe(10);
      histogram.zero({ route: '/d' });
      histogram.labels('/e').observe(1);
      histogram.remove('/e');
    }));

  it('summary: observe forms, custom percentiles, quantiles from the same digest', () =>
    sameOutcome((lib, registers) => {
      const plain = new lib.Summary({ name: 'latency', help: 'Latency.', registers });
      for (let i = 0; i < 50; i++) plain.observe((i * 37) % 50);
      const summary = new lib.Summary({ name: 'payload', help: 'Payload.', labelNames: ['kind'], percentiles: [0.1, 0.5, 0.75], registers });
      for (let i = 1; i <= 20; i++) summary.observe({ kind: 'json' }, i * 3);
      summary.labels('xml').observe(4);
      summary.labels({ kind: 'csv' }).observe(9);
    }));

  it('timers set and observe the seconds they return', async () => {
    const registers = [new ours.Registry()];
    const gauge = new ours.Gauge({ name: 'job_seconds', help: 'Job.', labelNames: ['job'], registers });
    const histogram = new ours.Histogram({ name: 'op_seconds', help: 'Op.', labelNames: ['op'], registers });
    const endGauge = gauge.startTimer({ job: 'a' });
    const endHistogram = histogram.startTimer();
    await new Promise((resolve) => setTimeout(resolve, 20));
    const gaugeSeconds = endGauge();
    const histogramSeconds = endHistogram({ op: 'read' });
    assert.ok(gaugeSeconds > 0 && histogramSeconds > 0);
    assert.deepEqual((await gauge.get()).values, [{ value: gaugeSeconds, labels: { job: 'a' } }]);
    const sum = (await histogram.get()).values.find((value) => value.metricName === 'op_seconds_sum');
    assert.deepEqual(sum, { value: histogramSeconds, labels: { op: 'read' }, metricName: 'op_seconds_sum', exemplar: undefined });
    const child = gauge.labels('b');
    const seconds = child.startTimer()();
    assert.equal((await gauge.get()).values[1].value, seconds);
  });

  it('setToCurrentTime writes unix seconds', async () => {
    const gauge = new ours.Gauge({ name: 'last_run', help: 'Last run.', registers: [] });
    const before = Date.now() / 1000;
    gauge.setToCurrentTime();
    const [sample] = (await gauge.get()).values;
    assert.ok(sample.value >= before && sample.value <= Date.now() / 1000);
  });

  it('get() runs the collect callback first, with the metric as this', async () => {
    let calls = 0;
    const gauge = new ours.Gauge({
      name: 'collected',
      help: 'Collected.',
      registers: [],
      collect() {
        calls++;
        this.set(calls * 10);
      },
    });
    assert.equal((await gauge.get()).values[0].value, 10);
    assert.equal((await gauge.get()).values[0].value, 20);
  });
});

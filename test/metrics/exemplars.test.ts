// Exemplars through the metric API: prom-client 15's forms and defaults (the same calls on both
// libraries give the same get() objects and OpenMetrics), every refusal at the call with nothing
// counted, the forms prom-client mishandles counting as typed, and in multiprocess mode the latest
// exemplar of each series in its file: after a flush, at this process's scrape, at every way out.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as promClient from 'prom-client';
import * as ours from '../../src/index';
import { Counter, Histogram, Registry, collectDirectory, renderOpenMetrics } from '../../src/index';
import { ExemplarFileReader, exemplarKeys as keysOf } from '../../src/store/exemplar-reader';
import { FLUSH_DELAY_MS } from '../../src/store/exemplar-log';
import { FILE_BACKENDS, makeMetricsDir, readDbEntries } from '../support/metrics-dir';
import type { MetricsDir } from '../support/metrics-dir';

type Library = Pick<typeof ours, 'Counter' | 'Histogram' | 'Registry'>;
const libraries: Record<'prom-client' | 'ours', Library> = { 'prom-client': promClient as unknown as Library, ours };
const NOW_MS = 1733040000123;

/** Runs `calls` with Date.now pinned (prom-client and ours both stamp Date.now() / 1000). */
function atPinnedTime<R>(nowMs: number, calls: () => R): R {
  const realNow = Date.now;
  Date.now = () => nowMs;
  try {
    return calls();
  } finally {
    Date.now = realNow;
  }
}

/** Entries in each exemplar file of `dir`: the files are created with the metrics, entries at a flush. */
function exemplarEntries(dir: string): Record<string, number> {
  const files = fs.readdirSync(dir).filter((name) => name.endsWith('.exemplars')).sort();
  return Object.fromEntries(
    files.map((name) => {
      const read = new ExemplarFileReader(path.join(dir, name)).read();
      assert.ok(read.status === 'ok', `${name}: ${JSON.stringify(read)}`);
      return [name, read.contents.count];
    }),
  );
}

/** The outcome of the same calls on both libraries, each with a fresh OpenMetrics registry. */
async function sameOutcome(scenario: (lib: Library, registers: [ours.Registry<ours.OpenMetricsContentType>]) => void): Promise<void> {
  const outcomes = [];
  for (const lib of Object.values(libraries)) {
    const registry = new lib.Registry(lib.Registry.OPENMETRICS_CONTENT_TYPE);
    atPinnedTime(NOW_MS, () => scenario(lib, [registry]));
    // Exemplar classes differ (prom-client's Exemplar, our plain objects): compare as JSON.
    outcomes.push({ json: JSON.parse(JSON.stringify(await registry.getMetricsAsJSON())) as unknown, text: await registry.metrics() });
  }
  assert.deepEqual(outcomes[1].json, outcomes[0].json);
  assert.equal(outcomes[1].text, outcomes[0].text);
}

describe('exemplars: prom-client compatibility (memory mode)', () => {
  it('counter: the data object with its defaults, the empty exemplar, unlabelled counters', () =>
    sameOutcome((lib, registers) => {
      const requests = new lib.Counter({ name: 'requests_total', help: 'Requests.', labelNames: ['route'], enableExemplars: true, registers });
      requests.inc({ labels: { route: '/a' }, value: 1, exemplarLabels: { traceId: 'abc' } });
      requests.inc({ labels: { route: '/b' }, value: 2.5, exemplarLabels: { traceId: 'def', spanId: '12"\\\n' } });
      requests.inc({ labels: { route: '/b' }, exemplarLabels: { traceId: 'ghi' } });
      requests.inc({ labels: { route: '/c' } });
      requests.inc({ labels: { route: '/c' }, value: 4 });
      requests.inc({ labels: { route: '/d' }, exemplarLabels: {} });
      requests.inc({ labels: { route: '/e' }, exemplarLabels: { traceId: 7 } });
      const plain = new lib.Counter({ name: 'plain_total', help: 'Plain.', enableExemplars: true, registers });
      plain.inc();
      plain.inc({ value: 2, exemplarLabels: { traceId: 'p' } });
    }));

  it('histogram: bucket choice at exact bounds, +Inf, no exemplar for {} or none, remove and reset', () =>
    sameOutcome((lib, registers) => {
      const latency = new lib.Histogram({
        name: 'latency_seconds',
        help: 'Latency.',
        labelNames: ['route'],
        buckets: [0.1, 0.5, 1],
        enableExemplars: true,
        registers,
      });
      latency.observe({ labels: { route: '/a' }, value: 0.1, exemplarLabels: { traceId: 'edge' } });
      latency.observe({ labels: { route: '/a' }, value: 0.42, exemplarLabels: { traceId: 'abc' } });
      latency.observe({ labels: { route: '/a' }, value: 0.3, exemplarLabels: {} });
      latency.observe({ labels: { route: '/a' }, value: 0.45 });
      latency.observe({ labels: { route: '/a' }, value: 7, exemplarLabels: { traceId: 'inf' } });
      latency.observe({ labels: { route: '/b' }, value: 0.2 });
      latency.observe({ labels: { route: '/c' }, value: 0.2, exemplarLabels: { traceId: 'gone' } });
      latency.remove('/c');
      const plain = new lib.Histogram({ name: 'plain_seconds', help: 'Plain.', buckets: [1], enableExemplars: true, registers });
      plain.observe({ value: 2, exemplarLabels: { traceId: 'before reset' } });
      plain.reset();
      plain.observe({ value: 0.5, exemplarLabels: { traceId: 'after' } });
    }));

  it('startTimer merges the start and end labels and exemplar labels, as prom-client does', async () => {
    const registry = new Registry(Registry.OPENMETRICS_CONTENT_TYPE);
    const histogram = new Histogram({ name: 'op_seconds', help: 'Op.', labelNames: ['op'], enableExemplars: true, registers: [registry] });
    const end = histogram.startTimer({ op: 'read' }, { traceId: 't1' });
    const seconds = end({}, { spanId: 's1' });
    histogram.startTimer({ op: 'write' })();
    const values = (await histogram.get()).values;
    const withExemplar = values.filter((value) => value.exemplar !== null && value.exemplar !== undefined);
    assert.deepEqual(
      withExemplar.map((value) => [value.labels, value.exemplar?.labelSet, value.exemplar?.value]),
      [[{ le: 0.005, op: 'read' }, { traceId: 't1', spanId: 's1' }, seconds]],
    );
    assert.equal(values.find((value) => value.metricName === 'op_seconds_count' && value.labels.op === 'write')?.value, 1);
  });
});

describe('exemplars: where this library differs from prom-client (documented)', () => {
  const registers = [new Registry(Registry.OPENMETRICS_CONTENT_TYPE)];

  it('counts the forms prom-client mishandles as their types say, without an exemplar', async () => {
    const counter = new Counter({ name: 'forms_total', help: 'x', labelNames: ['route'], enableExemplars: true, registers });
    counter.inc({ route: '/a' }, 3); // prom-client: +1 on the unlabelled series
    counter.labels('/a').inc(2); // prom-client: +1 on the unlabelled series
    counter.labels({ route: '/b' }).inc();
    const plain = new Counter({ name: 'plain_forms_total', help: 'x', enableExemplars: true, registers });
    plain.inc(5); // prom-client: +1
    const histogram = new Histogram({ name: 'forms_seconds', help: 'x', labelNames: ['route'], buckets: [1], enableExemplars: true, registers });
    histogram.observe({ route: '/a' }, 0.5); // prom-client: TypeError
    histogram.labels('/a').observe(2);
    histogram.labels('/b').startTimer()(); // prom-client: TypeError
    const plainHistogram = new Histogram({ name: 'plain_forms_seconds', help: 'x', buckets: [1], enableExemplars: true, registers });
    plainHistogram.observe(0.25); // prom-client: TypeError
    assert.deepEqual((await counter.get()).values, [
      { value: 5, labels: { route: '/a' } },
      { value: 1, labels: { route: '/b' } },
    ]);
    assert.deepEqual((await plain.get()).values, [{ value: 5, labels: {} }]);
    const counts = (await histogram.get()).values.filter((value) => value.metricName === 'forms_seconds_count').map((value) => [value.labels.route, value.value]);
    assert.deepEqual(counts, [
      ['/a', 2],
      ['/b', 1],
    ]);
    assert.equal((await plainHistogram.get()).values.find((value) => value.metricName === 'plain_forms_seconds_sum')?.value, 0.25);
  });

  it("gives a counter's exemplar the increment itself (prom-client gives value 0 the exemplar value 1)", async () => {
    const counter = new Counter({ name: 'zero_total', help: 'x', enableExemplars: true, registers });
    counter.inc({ value: 0, exemplarLabels: { traceId: 'z' } });
    assert.equal((await counter.get()).values[0].exemplar?.value, 0);
  });
});

describe('exemplars: refused at the call, nothing counted', () => {
  let metricsDir: MetricsDir;
  afterEach(() => metricsDir?.remove());

  for (const backend of FILE_BACKENDS) {
    it(`names the problem and the fix, and writes nothing (${backend} backend)`, () => {
      metricsDir = makeMetricsDir();
      const store = metricsDir.actAs(71, backend);
      const registers = [new Registry(Registry.OPENMETRICS_CONTENT_TYPE)];
      const counter = new Counter({ name: 'jobs_total', help: 'x', labelNames: ['queue'], enableExemplars: true, registers });
      const histogram = new Histogram({ name: 'job_seconds', help: 'x', labelNames: ['queue'], buckets: [1], enableExemplars: true, registers });
      const counterFile = path.join(metricsDir.dir, 'counter_71.db');
      const histogramFile = path.join(metricsDir.dir, 'histogram_71.db');
      const before = [readDbEntries(counterFile), readDbEntries(histogramFile)];
      const c = 'Counter "jobs_total"';
      const refusals: Array<[() => void, RegExp]> = [
        [() => counter.inc({ queue: 'a' } as never), new RegExp(`^Error: ${c}: with enableExemplars, inc\\(\\) takes one object \\{ labels, value, exemplarLabels \\}, got key "queue" \\(pass series labels as \\{ labels: \\{ queue: \\.\\.\\. \\} \\}\\)`)],
        [() => counter.inc({ labels: { queue: 'a' }, exemplarLabels: { 'trace-id': 'x' } as never }), /exemplar label name "trace-id" is invalid \(must match \^\[a-zA-Z_\]\[a-zA-Z0-9_\]\*\$\)/],
        [() => counter.inc({ labels: { queue: 'a' }, exemplarLabels: { traceId: {} } as never }), /^TypeError: Counter "jobs_total": exemplar label "traceId" must be a string or a number, got object/],
        [() => counter.inc({ labels: { queue: 'a' }, exemplarLabels: null as never }), /exemplarLabels must be an object of label names to values, got null/],
        [() => counter.inc({ labels: { queue: 'a' }, exemplarLabels: 'abc' as never }), /exemplarLabels must be an object of label names to values, got string/],
        [() => counter.inc({ labels: { queue: 'a' }, exemplarLabels: { traceId: 'x'.repeat(122) } }), /^RangeError: Counter "jobs_total": exemplar labels are 129 characters \(label names and values together, in code points\); OpenMetrics allows 128/],
        [() => counter.inc({ labels: { queue: 'a' }, exemplarLabels: { t: '🎉'.repeat(128) } }), /exemplar labels are 129 characters/],
        [() => counter.inc({ labels: { queue: 'a' }, value: -1, exemplarLabels: { traceId: 'x' } }), /it is not possible to decrease a counter/],
        [() => counter.inc({ labels: { queue: 'a' }, value: NaN, exemplarLabels: { traceId: 'x' } }), /value is not a finite number: NaN/],
        [() => counter.inc({ labels: 'a' as never, exemplarLabels: { traceId: 'x' } }), /"labels" must be an object of label names to values, got string/],
        [() => counter.inc({ labels: { queue: 'a', extra: 'b' } as never, exemplarLabels: { traceId: 'x' } }), /label "extra" is not one of its label names \(queue\)/],
        [() => counter.inc({ exemplarLabels: { traceId: 'x' } }), /labels "queue" are missing/],
        [() => histogram.observe({ labels: { queue: 'a' }, exemplarLabels: { traceId: 'x' } } as never), /^TypeError: Histogram "job_seconds": value is not a finite number: undefined/],
        [() => histogram.observe({ queue: 'a' } as never), /with enableExemplars, observe\(\) takes one object \{ labels, value, exemplarLabels \}, got key "queue"/],
        [() => histogram.observe({ labels: { queue: 'a' }, value: 1, exemplarLabels: { '0bad': 'x' } }), /exemplar label name "0bad" is invalid/],
      ];
      for (const [call, message] of refusals) assert.throws(call, message);
      assert.deepEqual([readDbEntries(counterFile), readDbEntries(histogramFile)], before, 'no entry created, nothing counted');
      ours.register.clear();
      store.flushExemplars();
      assert.deepEqual(exemplarEntries(metricsDir.dir), { 'counter_71.exemplars': 0, 'histogram_71.exemplars': 0 }, 'no exemplar either');
      // The same labels at the limit are taken: 7 + 121 = 128 code points, 1 + 127 astral ones.
      counter.inc({ labels: { queue: 'a' }, exemplarLabels: { traceId: 'x'.repeat(121) } });
      histogram.observe({ labels: { queue: 'a' }, value: 1, exemplarLabels: { t: '🎉'.repeat(127) } });
      assert.equal(readDbEntries(counterFile).find((entry) => entry.key.includes('"a"'))?.value, 1);
    });
  }
});

describe('exemplars in multiprocess mode', () => {
  let metricsDir: MetricsDir;
  afterEach(() => metricsDir?.remove());

  for (const backend of FILE_BACKENDS) {
    it(`keep the latest per series and bucket in this process's exemplar files (${backend} backend)`, async () => {
      metricsDir = makeMetricsDir();
      const store = metricsDir.actAs(72, backend);
      const registry = new Registry(Registry.OPENMETRICS_CONTENT_TYPE, { wholeDirectory: true });
      const registers = [registry];
      const counter = new Counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['queue'], enableExemplars: true, registers });
      const histogram = new Histogram({ name: 'job_seconds', help: 'Job time.', buckets: [0.1, 1], enableExemplars: true, registers });
      atPinnedTime(NOW_MS, () => {
        counter.inc({ labels: { queue: 'a' }, exemplarLabels: { traceId: 'first' } });
        histogram.observe({ value: 0.05, exemplarLabels: { traceId: 'fast' } });
      });
      atPinnedTime(NOW_MS + 1000, () => {
        counter.inc({ labels: { queue: 'a' }, value: 2, exemplarLabels: { traceId: 'second' } });
        counter.inc({ labels: { queue: 'b' } });
        histogram.observe({ value: 5, exemplarLabels: { traceId: 'slow' } });
      });
      // The calls wrote the counts; the exemplars wait for a flush (at most 250 ms).
      assert.deepEqual(exemplarEntries(metricsDir.dir), { 'counter_72.exemplars': 0, 'histogram_72.exemplars': 0 });
      assert.deepEqual((await counter.get()).values[0].exemplar, { labelSet: { traceId: 'second' }, value: 2, timestamp: (NOW_MS + 1000) / 1000 });
      // This process's own scrape flushes first.
      const text = await registry.metrics();
      assert.match(text, /^jobs_total\{queue="a"\} 3 # \{traceId="second"\} 2 1733040001\.123$/m);
      assert.match(text, /^jobs_total\{queue="b"\} 1$/m);
      assert.match(text, /^job_seconds_bucket\{le="0\.1"\} 1 # \{traceId="fast"\} 0\.05 1733040000\.123$/m);
      assert.match(text, /^job_seconds_bucket\{le="1\.0"\} 1$/m);
      assert.match(text, /^job_seconds_bucket\{le="\+Inf"\} 2 # \{traceId="slow"\} 5 1733040001\.123$/m);
      assert.deepEqual(exemplarEntries(metricsDir.dir), { 'counter_72.exemplars': 1, 'histogram_72.exemplars': 2 });
      const read = new ExemplarFileReader(path.join(metricsDir.dir, 'counter_72.exemplars')).read();
      assert.ok(read.status === 'ok');
      assert.deepEqual(keysOf(read.contents), ['["jobs", "jobs_total", {"queue": "a"}, "Jobs."]'], "the key is the counter entry's");
      // A text registry renders the same directory without exemplars, and the .db files are as before.
      registry.setContentType(Registry.PROMETHEUS_CONTENT_TYPE as never);
      assert.doesNotMatch(await registry.metrics(), /#.*traceId/);
      store.close();
    });
  }

  it('reach their file by the flush timer within FLUSH_DELAY_MS, without any scrape', async () => {
    metricsDir = makeMetricsDir();
    metricsDir.actAs(73, 'native');
    const counter = new Counter({ name: 'timed_total', help: 'x', enableExemplars: true, registers: [] });
    counter.inc({ exemplarLabels: { traceId: 'timer' } });
    const filePath = path.join(metricsDir.dir, 'counter_73.exemplars');
    assert.deepEqual(exemplarEntries(metricsDir.dir), { 'counter_73.exemplars': 0 }, 'the file is made with the counter, its entry at the flush');
    await new Promise((resolve) => setTimeout(resolve, FLUSH_DELAY_MS + 100));
    const read = new ExemplarFileReader(filePath).read();
    assert.ok(read.status === 'ok');
    assert.deepEqual(read.contents.exemplars[0]?.labels, { traceId: 'timer' });
  });

  it('flush unwritten exemplars at exit, process.exit(), an unhandled SIGTERM and in worker threads; SIGKILL loses no count', async function () {
    this.timeout(60_000);
    metricsDir = makeMetricsDir();
    const dir = metricsDir.dir;
    const run = (mode: string): Promise<{ pid: number; code: number | null; signal: NodeJS.Signals | null }> => {
      const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'children', 'exemplar-app.ts'), mode], {
        env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      child.stdout.on('data', (chunk: Buffer) => {
        if (!chunk.toString().includes('ready')) return;
        if (mode === 'signal') child.kill('SIGTERM');
        if (mode === 'kill') child.kill('SIGKILL');
      });
      return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ pid: child.pid as number, code, signal })));
    };
    const natural = await run('natural');
    const exit = await run('exit');
    const signal = await run('signal');
    const thread = await run('thread');
    const killed = await run('kill');
    assert.deepEqual([natural.code, exit.code, signal.signal, thread.code, killed.signal], [0, 3, 'SIGTERM', 0, 'SIGKILL'], 'each process ends as it would without us');
    const families = collectDirectory(dir);
    const text = renderOpenMetrics(families);
    for (const [mode, traceId] of [
      ['natural', 'natural'],
      ['exit', 'exit'],
      ['signal', 'signal'],
      ['thread', 'thread'],
    ]) {
      assert.match(text, new RegExp(`^app_latency_seconds_bucket\\{run="${traceId}",le="1\\.0"\\} 1 # \\{traceId="${traceId}"\\} 0\\.5 `, 'm'), `the ${mode} run's exemplar`);
    }
    // 500 counts from five processes: none lost, SIGKILL included; the latest exemplar of the series wins.
    assert.match(text, /^app_requests_total\{route="\/a"\} 500 # \{traceId="(natural|exit|signal|thread|kill)-99"\} 1 /m);
    const threadFiles = fs.readdirSync(dir).filter((name) => new RegExp(`^(counter|histogram)_${thread.pid}-\\d+\\.exemplars$`).test(name));
    assert.equal(threadFiles.length, 2, 'the worker thread wrote exemplar files of its own');
  });
});

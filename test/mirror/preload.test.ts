// `node --require pm2-prom-multiproc/register app.js` with real child processes, a real directory
// and the real collector: an unchanged prom-client app becomes a multiprocess one.

import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DirectoryCollector } from '../../src/collect';
import { markProcessDead } from '../../src/store';
import type { MetricFamily, Sample } from '../../src/collect';
import { createApp, installPackageImage } from './package-image';
import { storeFileNames, tempDir } from './store-files';


interface Worker {
  child: ChildProcess;
  pid: number;
  ready: Promise<void>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
}

/** Starts `script` of `appDir` with the preload, as PM2's node_args would. */
function startApp(appDir: string, script: string, env: Record<string, string>): Worker {
  const child = spawn(process.execPath, ['--require', 'pm2-prom-multiproc/register', script], {
    cwd: appDir,
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('ready\n')) resolve();
    });
    child.once('exit', () => reject(new Error(`app exited before it was ready; stderr: ${stderr}`)));
  });
  ready.catch(() => {});
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, pid: child.pid!, ready, exited, stderr: () => stderr };
}

function samplesNamed(families: MetricFamily[], name: string): Sample[] {
  return families.flatMap((family) => family.samples.filter((sample) => sample.name === name));
}

function valueOf(families: MetricFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  return samplesNamed(families, name).find((sample) => JSON.stringify(Object.entries(sample.labels).sort()) === wanted)?.value;
}

function pidsOf(families: MetricFamily[], name: string): number[] {
  return samplesNamed(families, name)
    .map((sample) => Number(sample.labels.pid))
    .sort((a, b) => a - b);
}

/** Collects `dir` until `done` holds (each collection is handed to `observe` first). */
async function collectUntil(
  dir: string,
  done: (families: MetricFamily[]) => boolean,
  observe: (families: MetricFamily[]) => void = () => {},
): Promise<MetricFamily[]> {
  // A file a worker is creating this instant is empty; the collector skips it with a warning.
  const collector = new DirectoryCollector(dir, {
    warn: (message) => assert.match(message, /is empty \(0 bytes; a writer may be creating it\)/),
  });
  const deadline = Date.now() + 20_000;
  for (;;) {
    const families = collector.collect();
    observe(families);
    if (done(families)) return families;
    if (Date.now() > deadline) assert.fail(`timed out; last collection:\n${JSON.stringify(families, null, 1).slice(0, 4000)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const requestsTotal = (families: MetricFamily[]) =>
  samplesNamed(families, 'app_requests_total').reduce((sum, sample) => sum + sample.value, 0);

describe('register preload (real processes)', function () {
  this.timeout(120_000);
  let root: string;
  /** An app with the prom-client this package uses; others are made by the test that needs them. */
  let app15: string;
  const running: Worker[] = [];

  const start = (appDir: string, script: string, dir: string | undefined, env: Record<string, string> = {}) => {
    const worker = startApp(appDir, script, {
      ...(dir === undefined ? {} : { PROMETHEUS_MULTIPROC_DIR: dir }),
      PROMETHEUS_MIRROR_INTERVAL_MS: '100',
      ...env,
    });
    running.push(worker);
    return worker;
  };

  before(() => {
    root = tempDir('mirror-preload-');
    installPackageImage(root);
    app15 = createApp(root, 'app15', 'repo');
  });
  afterEach(() => {
    for (const worker of running.splice(0)) worker.child.kill('SIGKILL');
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  const variants = [
    { title: 'prom-client 15, the version this package uses', version: 'repo', major: '15' },
    { title: "prom-client 14 in the app's own node_modules", version: '14', major: '14' },
  ] as const;
  for (const variant of variants) {
    it(`${variant.title}: exact merged totals, runtime metrics per live pid, no counter going down across a kill and restart`, async () => {
      const appDir = variant.version === 'repo' ? app15 : createApp(root, `app${variant.major}`, variant.version);
      const installed = JSON.parse(fs.readFileSync(path.join(appDir, 'node_modules', 'prom-client', 'package.json'), 'utf8')) as { version: string };
      assert.equal(installed.version.split('.')[0], variant.major);
      const dir = tempDir('mirror-dir-');
      try {
        const counts = [10, 20, 30];
        const workers = counts.map((count) => start(appDir, 'app.js', dir, { APP_REQUESTS: String(count), APP_STAY: '1' }));
        await Promise.all(workers.map((worker) => worker.ready));
        const livePids = workers.map((worker) => worker.pid).sort((a, b) => a - b);
        let families = await collectUntil(
          dir,
          // Each worker's files are written one after another: wait until all show its last values.
          (f) =>
            requestsTotal(f) === 60 &&
            valueOf(f, 'app_latency_seconds_count', { route: '/a' }) === 30 &&
            valueOf(f, 'app_payload_bytes_count') === 60 &&
            valueOf(f, 'app_payload_bytes', { quantile: '0.5' }) === 10 &&
            valueOf(f, 'app_in_flight') === 60 &&
            pidsOf(f, 'process_resident_memory_bytes').length === 3,
        );
        assert.equal(valueOf(families, 'app_requests_total', { route: '/a' }), 5 + 10 + 15);
        assert.equal(valueOf(families, 'app_requests_total', { route: '/b' }), 5 + 10 + 15);
        // i % 3 == 0 observed 0.05, the others 2: 4 + 7 + 10 fast ones.
        assert.equal(valueOf(families, 'app_latency_seconds_bucket', { route: '/a', le: '0.1' }), 2 + 4 + 5);
        assert.equal(valueOf(families, 'app_latency_seconds_count', { route: '/a' }), 30);
        assert.equal(valueOf(families, 'app_payload_bytes_count'), 60);
        assert.equal(valueOf(families, 'app_payload_bytes_sum'), 600);
        // Quantiles merged from the three workers' t-digests (every observation was 10).
        for (const quantile of ['0.01', '0.5', '0.999']) assert.equal(valueOf(families, 'app_payload_bytes', { quantile }), 10, quantile);
        // A gauge with prom-client's default aggregator, 'sum': summed over the live workers, as prom-client's cluster mode does.
        assert.equal(valueOf(families, 'app_in_flight'), 10 + 20 + 30);
        for (const runtime of ['process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
          assert.deepEqual(pidsOf(families, runtime), livePids, runtime);
        }
        assert.ok((valueOf(families, 'process_cpu_user_seconds_total') ?? 0) > 0);

        // What the PM2 module does when a worker dies: mark it dead; then PM2 starts a new one.
        const totals: number[] = [];
        const recordTotal = (f: MetricFamily[]) => totals.push(requestsTotal(f));
        workers[0].child.kill('SIGKILL');
        await workers[0].exited;
        markProcessDead(workers[0].pid, dir);
        families = await collectUntil(dir, () => true, recordTotal);
        assert.deepEqual(pidsOf(families, 'process_resident_memory_bytes'), livePids.filter((pid) => pid !== workers[0].pid));
        assert.equal(valueOf(families, 'app_in_flight'), 20 + 30, 'the dead worker left the sum');
        const restarted = start(appDir, 'app.js', dir, { APP_REQUESTS: '5', APP_STAY: '1' });
        await restarted.ready;
        families = await collectUntil(
          dir,
          (f) => requestsTotal(f) === 65 && pidsOf(f, 'process_resident_memory_bytes').includes(restarted.pid),
          recordTotal,
        );
        assert.ok(totals.every((total, i) => i === 0 || total >= totals[i - 1]), `totals went down: ${totals.join(' ')}`);
        assert.ok(totals[0] === 60, `the killed worker's 10 requests still count: ${totals[0]}`);
        assert.equal(valueOf(families, 'app_requests_total', { route: '/a' }), 30 + 3);
        for (const worker of [...workers, restarted]) assert.doesNotMatch(worker.stderr(), /^pm2-prom-multiproc: |Warning/m, worker.stderr());
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });
  }

  it("copies an unchanged prom-client 15 app's exemplars: per series the latest of every worker, none a scrape would refuse", async () => {
    const dir = tempDir('mirror-dir-');
    try {
      const outs = [0, 1].map((i) => path.join(dir, `../exemplars-${path.basename(dir)}-${i}.json`));
      const first = start(app15, 'app-exemplars.js', dir, { APP_REQUESTS: '5', APP_EXEMPLARS_OUT: outs[0] });
      await first.ready;
      // The second worker writes later, so its exemplars are the latest of every series.
      await new Promise((resolve) => setTimeout(resolve, 20));
      const second = start(app15, 'app-exemplars.js', dir, { APP_REQUESTS: '4', APP_EXEMPLARS_OUT: outs[1] });
      await second.ready;
      type Held = { labelSet: Record<string, string>; value: number; timestamp: number };
      const held = outs.map((out) => JSON.parse(fs.readFileSync(out, 'utf8')) as Record<string, Held>);
      for (const out of outs) fs.rmSync(out);
      const expected = (series: string): Held => (held[1][series].timestamp >= held[0][series].timestamp ? held[1][series] : held[0][series]);
      const exemplarOf = (families: MetricFamily[], name: string, labels: Record<string, string>) =>
        samplesNamed(families, name).find((sample) => JSON.stringify(sample.labels) === JSON.stringify(labels))?.exemplar;
      const families = await collectUntil(dir, (f) => exemplarOf(f, 'app_requests_total', { route: '/a' })?.labels.traceId === `${second.pid}-3`);
      const plain = (held: Held) => ({ labels: held.labelSet, value: held.value, timestamp: held.timestamp });
      assert.deepEqual(exemplarOf(families, 'app_requests_total', { route: '/a' }), plain(expected('app_requests_total /a')));
      for (const [le, bound] of [['0.1', '0.1'], ['1.0', '1'], ['+Inf', '-1']]) {
        assert.deepEqual(
          exemplarOf(families, 'app_latency_seconds_bucket', { route: '/a', le }),
          plain(expected(`app_latency_seconds_bucket /a ${bound}`)),
          `bucket le=${le}`,
        );
      }
      assert.equal(valueOf(families, 'app_requests_total', { route: '/a' }), 9);
      // Counted, but their exemplars are left out: prom-client would have broken the scrape with them.
      assert.equal(valueOf(families, 'app_requests_total', { route: '/dash' }), 2);
      assert.equal(valueOf(families, 'app_requests_total', { route: '/long' }), 2);
      assert.equal(exemplarOf(families, 'app_requests_total', { route: '/dash' }), undefined);
      assert.equal(exemplarOf(families, 'app_requests_total', { route: '/long' }), undefined);
      for (const worker of [first, second]) {
        assert.match(worker.stderr(), /prom-client metric "app_requests_total" cannot be mirrored in full: an exemplar was left out/);
        assert.equal(worker.stderr().split('\n').filter((line) => line.startsWith('pm2-prom-multiproc:')).length, 1, worker.stderr());
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('finds prom-client imported by an ES module app, or required only later', async () => {
    const appDir = app15;
    const dir = tempDir('mirror-dir-');
    try {
      const esm = start(appDir, 'app.mjs', dir, { APP_REQUESTS: '4' });
      const late = start(appDir, 'app.js', dir, { APP_REQUESTS: '6', APP_STAY: '1', APP_LATE_REQUIRE: '1' });
      await Promise.all([esm.ready, late.ready]);
      await collectUntil(dir, (f) => requestsTotal(f) === 10);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('mirrors a worker thread\'s own registry into its PID-THREADID files', async () => {
    const dir = tempDir('mirror-dir-');
    try {
      const worker = start(app15, 'app-threads.js', dir);
      await worker.ready;
      const families = await collectUntil(dir, (f) => requestsTotal(f) === 5);
      assert.equal(valueOf(families, 'app_requests_total', { route: '/thread' }), 3);
      assert.ok(storeFileNames(dir).includes(`counter_${worker.pid}-1.db`), storeFileNames(dir).join(' '));
      assert.equal(worker.stderr(), '');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('flushes once more at exit, without changing how the process ends', async () => {
    const appDir = app15;
    // An interval no test waits for: only the exit flush can write these values.
    const cases = [
      { how: 'natural end', env: {}, signal: undefined, expected: { code: 0, signal: null }, total: 3 },
      { how: 'process.exit(7)', env: { APP_EXIT_CODE: '7' }, signal: undefined, expected: { code: 7, signal: null }, total: 3 },
      { how: 'SIGTERM, no handler', env: { APP_STAY: '1' }, signal: 'SIGTERM', expected: { code: null, signal: 'SIGTERM' }, total: 3 },
      { how: 'SIGINT, no handler', env: { APP_STAY: '1' }, signal: 'SIGINT', expected: { code: null, signal: 'SIGINT' }, total: 3 },
      { how: "SIGTERM, the app's handler exits 3", env: { APP_STAY: '1', APP_SIGNAL_EXIT_CODE: '3' }, signal: 'SIGTERM', expected: { code: 3, signal: null }, total: 4 },
    ] as const;
    for (const testCase of cases) {
      const dir = tempDir('mirror-dir-');
      try {
        const worker = start(appDir, 'app.js', dir, { APP_REQUESTS: '3', PROMETHEUS_MIRROR_INTERVAL_MS: '3600000', ...testCase.env });
        await worker.ready;
        if (testCase.signal !== undefined) worker.child.kill(testCase.signal);
        assert.deepEqual(await worker.exited, testCase.expected, testCase.how);
        const families = new DirectoryCollector(dir).collect();
        assert.equal(requestsTotal(families), testCase.total, testCase.how);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }
  });

  it('takes gauge modes from PROMETHEUS_MIRROR_GAUGE_MODES, warning once about a bad entry', async () => {
    const dir = tempDir('mirror-dir-');
    try {
      const env = { APP_STAY: '1', PROMETHEUS_MIRROR_GAUGE_MODES: 'app_in_flight=all, bogus' };
      const workers = [start(app15, 'app.js', dir, { ...env, APP_REQUESTS: '3' }), start(app15, 'app.js', dir, { ...env, APP_REQUESTS: '4' })];
      await Promise.all(workers.map((worker) => worker.ready));
      // all: one sample per pid (the default would be their sum).
      await collectUntil(
        dir,
        (f) =>
          valueOf(f, 'app_in_flight', { pid: String(workers[0].pid) }) === 3 &&
          valueOf(f, 'app_in_flight', { pid: String(workers[1].pid) }) === 4 &&
          samplesNamed(f, 'app_in_flight').length === 2,
      );
      for (const worker of workers) {
        assert.match(worker.stderr(), /PROMETHEUS_MIRROR_GAUGE_MODES: "bogus" is not NAME=MODE/);
        assert.equal(worker.stderr().match(/^pm2-prom-multiproc: /gm)?.length, 1, worker.stderr());
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('leaves the app running, with one warning, when the installed package is broken', async () => {
    const brokenRoot = tempDir('mirror-broken-');
    const dir = tempDir('mirror-dir-');
    try {
      const packageDir = installPackageImage(brokenRoot);
      fs.rmSync(path.join(packageDir, 'dist', 'mirror', 'preload.js'));
      const appDir = createApp(brokenRoot, 'app', 'repo');
      const worker = start(appDir, 'app.js', dir, { APP_REQUESTS: '3' });
      assert.deepEqual(await worker.exited, { code: 0, signal: null });
      assert.match(worker.stderr(), /pm2-prom-multiproc\/register: mirroring is off: Cannot find module/);
    } finally {
      fs.rmSync(brokenRoot, { recursive: true, force: true });
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does nothing without PROMETHEUS_MULTIPROC_DIR', async () => {
    const appDir = app15;
    const dir = tempDir('mirror-dir-');
    try {
      const worker = start(appDir, 'app.js', undefined, { APP_REQUESTS: '3', TMPDIR: dir });
      assert.deepEqual(await worker.exited, { code: 0, signal: null });
      assert.equal(worker.stderr(), '');
      assert.deepEqual(storeFileNames(dir), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// A writer whose file or directory is replaced under it loses nothing: within seconds it notices
// (its timer compares the path's inode with its file's) and writes a new file with every current
// value, warning once per file. Before, it went on writing into the unlinked inode: its whole
// count vanished from every scrape, silently. Also: a relative PROMETHEUS_MULTIPROC_DIR is
// resolved once, so a chdir() later sends nothing elsewhere; a world-writable directory (which the
// module refuses to serve) is warned about by the app; a directory that disappears fails the
// next metric's constructor with today's message, never an update.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { Counter, Gauge, Histogram, Summary } from '../../src/metrics';
import { setLogger } from '../../src/logger';
import { refuseWorldWritable } from '../../src/store';
import { waitFor } from '../server/support';
import { FILE_BACKENDS, makeMetricsDir } from '../support/metrics-dir';
import { appRequest, exposedExemplars, exposedSeries, hitRoutes, setTemperature, startMetricsApp, stopApp } from './metrics-app';
import type { MetricsApp } from './metrics-app';
import { makeTempDir, removeDir } from './support';

const APP_FILES = ['counter', 'histogram', 'summary', 'gauge_livesum', 'gauge_all'];

/** The stderr lines of `app` that match `pattern`, naming which of its files each concerns. */
function warnedFiles(app: MetricsApp, pattern: RegExp): string[] {
  return app.child
    .stderr()
    .split('\n')
    .filter((line) => pattern.test(line))
    .map((line) => path.basename(/(?:metric|sketch|exemplar) file "([^"]+)"/.exec(line)?.[1] ?? line))
    .sort();
}

function filesOf(pid: number, types: readonly string[]): string[] {
  return types.map((type) => `${type}_${pid}.db`).sort();
}

/** Every file of the app: its .db files, its summary's sketches, its histogram's native buckets and its exemplars (the same backends). */
function allFilesOf(pid: number): string[] {
  return [...filesOf(pid, APP_FILES), `summary_${pid}.sketch`, `histogram_${pid}.nhdb`, `counter_${pid}.exemplars`, `histogram_${pid}.exemplars`].sort();
}

/** Waits until the merged scrape of `dir` shows exactly the latest exemplar of each series the app was given. */
async function exemplarsMerged(app: MetricsApp, dir: string, what: string): Promise<void> {
  await waitFor(what, () => (isDeepStrictEqual(exposedExemplars(dir).exemplars, app.model.exemplars) ? true : undefined), 15_000).catch((error: Error) => {
    throw new Error(`${error.message}; files: ${fs.readdirSync(dir).join(' ')}; stderr:\n${app.child.stderr()}`);
  });
}

const REPLACED = /^pm2-prom-multiproc: (metric|sketch|exemplar) file "[^"]+" was removed or replaced \(an rm, or a rename of its directory\): writing a new one with this process's current values$/;

describe('reliability: a replaced file or directory loses nothing', function () {
  this.timeout(120_000);
  let root: string;
  let app: MetricsApp | undefined;
  beforeEach(() => {
    root = makeTempDir('replaced');
  });
  afterEach(async () => {
    await stopApp(app);
    app = undefined;
    removeDir(root);
  });

  for (const backend of FILE_BACKENDS) {
    it(`${backend} backend: an rm of live files is noticed, and new files hold every current value`, async () => {
      const dir = fs.mkdtempSync(path.join(root, 'dir-'));
      app = await startMetricsApp(dir, { backend });
      await hitRoutes(app, 200);
      await setTemperature(app, 4);
      await exemplarsMerged(app, dir, 'every exemplar flushed');
      for (const type of ['counter', 'histogram']) fs.rmSync(path.join(dir, `${type}_${app.pid}.db`));
      fs.rmSync(path.join(dir, `counter_${app.pid}.exemplars`));
      const expected = app.model.exposed(app.pid);
      assert.notDeepEqual(exposedSeries(dir), expected, 'the removed counts are gone from the scrape');
      assert.notDeepEqual(exposedExemplars(dir).exemplars, app.model.exemplars, 'and the removed exemplars');
      await waitFor('new files with every value', () => (exposedSeries(dir).size === expected.size ? true : undefined), 15_000);
      assert.deepEqual(exposedSeries(dir), expected);
      await exemplarsMerged(app, dir, 'a new exemplar file with every latest exemplar');
      await hitRoutes(app, 20, 190);
      assert.deepEqual(exposedSeries(dir), app.model.exposed(app.pid), 'the new files take every later update');
      await exemplarsMerged(app, dir, 'the later exemplars in the new file');
      assert.deepEqual(warnedFiles(app, REPLACED), [...filesOf(app.pid, ['counter', 'histogram']), `counter_${app.pid}.exemplars`].sort());
      assert.equal(app.child.stderr().trim().split('\n').length, 3, app.child.stderr());
    });

    it(`${backend} backend: a directory swapped by a rename gets new files with every value and the owner record`, async () => {
      const dir = path.join(root, 'metrics');
      fs.mkdirSync(dir, { mode: 0o700 });
      app = await startMetricsApp(dir, { backend });
      await hitRoutes(app, 100);
      await setTemperature(app, 9);
      fs.renameSync(dir, `${dir}.old`);
      fs.mkdirSync(dir, { mode: 0o700 });
      const expected = app.model.exposed(app.pid);
      await waitFor('every file in the new directory', () => (exposedSeries(dir).size === expected.size ? true : undefined), 15_000);
      assert.deepEqual(exposedSeries(dir), expected);
      await exemplarsMerged(app, dir, 'every exemplar in the new directory');
      assert.ok(fs.existsSync(path.join(dir, `owner_${app.pid}.json`)), 'the owner record comes first, in the new directory too');
      await hitRoutes(app, 10, 100);
      assert.deepEqual(exposedSeries(dir), app.model.exposed(app.pid));
      await exemplarsMerged(app, dir, 'the later exemplars in the new directory');
      assert.deepEqual(warnedFiles(app, REPLACED), allFilesOf(app.pid));
    });
  }

  it('a directory removed keeps every value in memory, with one warning per file, until it is created again', async () => {
    const dir = path.join(root, 'metrics');
    fs.mkdirSync(dir, { mode: 0o700 });
    app = await startMetricsApp(dir, { backend: 'native' });
    // The first exemplars come once the directory is gone: their files opened with their metrics,
    // and are written again with the others (an exemplar log used to give up at its first flush).
    app.exemplars = false;
    await hitRoutes(app, 50);
    app.exemplars = true;
    fs.rmSync(dir, { recursive: true });
    const missing = /^pm2-prom-multiproc: (metric|sketch|exemplar) file "[^"]+" cannot be created: no such file or directory \(ENOENT\)\. .* To fix: create the directory .* again \(mode 0700\)\.$/;
    await waitFor('a warning per file that it cannot be written again', () => (warnedFiles(app as MetricsApp, missing).length === allFilesOf(0).length ? true : undefined), 15_000);
    await hitRoutes(app, 50, 50);
    fs.mkdirSync(dir, { mode: 0o700 });
    const expected = app.model.exposed(app.pid);
    await waitFor('every value in the directory made again', () => (exposedSeries(dir).size === expected.size ? true : undefined), 15_000).catch((error: Error) => {
      throw new Error(`${error.message}; files: ${fs.readdirSync(dir).join(' ')}; stderr:\n${app?.child.stderr()}`);
    });
    assert.deepEqual(exposedSeries(dir), expected);
    await exemplarsMerged(app, dir, 'every exemplar in the directory made again');
    assert.deepEqual(warnedFiles(app, REPLACED), allFilesOf(app.pid));
    assert.deepEqual(warnedFiles(app, missing), allFilesOf(app.pid));
  });

  it('a relative PROMETHEUS_MULTIPROC_DIR is resolved once: files opened after a chdir() go to the same directory', async () => {
    for (const where of ['app', 'elsewhere']) fs.mkdirSync(path.join(root, where, 'metrics'), { recursive: true, mode: 0o700 });
    app = await startMetricsApp('metrics', { backend: 'native', env: { APP_CWD: path.join(root, 'app') } });
    await hitRoutes(app, 3);
    await appRequest(app, `/chdir?to=${encodeURIComponent(path.join(root, 'elsewhere'))}`);
    assert.ok(fs.existsSync(path.join(root, 'app', 'metrics', `gauge_max_${app.pid}.db`)), fs.readdirSync(path.join(root, 'app', 'metrics')).join(' '));
    assert.deepEqual(fs.readdirSync(path.join(root, 'elsewhere', 'metrics')), []);
    assert.deepEqual(exposedSeries(path.join(root, 'app', 'metrics')), app.model.exposed(app.pid));
  });

  it('warns once that a world-writable directory without the sticky bit is refused by the module, in its words', async () => {
    const dir = fs.mkdtempSync(path.join(root, 'shared-'));
    fs.chmodSync(dir, 0o777);
    app = await startMetricsApp(dir, { backend: 'native' });
    await hitRoutes(app, 2);
    let moduleMessage = '';
    try {
      refuseWorldWritable(dir);
    } catch (error) {
      moduleMessage = (error as Error).message;
    }
    assert.equal(
      app.child.stderr(),
      `pm2-prom-multiproc: ${moduleMessage}. The PM2 module and serveClusterMetrics refuse to serve such a directory, so this process's metrics are not served until it is fixed\n`,
    );
  });
});

describe('reliability: configuration errors at construction, never at an update', () => {
  const warnings: string[] = [];
  beforeEach(() => setLogger({ info: () => undefined, warn: (message) => warnings.push(message), error: (message) => warnings.push(message) }));
  afterEach(() => {
    setLogger(undefined);
    warnings.length = 0;
  });

  for (const backend of FILE_BACKENDS) {
    it(`${backend} backend: after the directory is removed, a new label set is counted in memory and a new metric's constructor says what is wrong`, async () => {
      const metrics = makeMetricsDir();
      try {
        const store = metrics.actAs(5151, backend);
        const requests = new Counter({ name: 'gone_requests_total', help: 'Requests.', labelNames: ['route'], registers: [] });
        // Its exemplar file opens with it, like every other file: a flush opens no file.
        const jobs = new Counter({ name: 'gone_jobs_total', help: 'Jobs.', labelNames: ['route'], enableExemplars: true, registers: [] });
        // Their .sketch and .nhdb files open with them: a new label set opens no file.
        const latency = new Histogram({ name: 'gone_latency_seconds', help: 'Latency.', labelNames: ['route'], nativeHistogramBucketFactor: 1.1, registers: [] });
        const sizes = new Summary({ name: 'gone_size_bytes', help: 'Sizes.', labelNames: ['route'], registers: [] });
        requests.inc({ route: '/a' });
        fs.rmSync(metrics.dir, { recursive: true });
        requests.inc({ route: '/b' }, 2);
        requests.labels('/c').inc(3);
        latency.observe({ route: '/b' }, 0.5);
        latency.labels('/c').observe(2);
        sizes.observe({ route: '/b' }, 10);
        jobs.inc({ labels: { route: '/b' }, value: 2, exemplarLabels: { traceId: 'after' } });
        store.flushExemplars();
        assert.deepEqual(
          (await jobs.get()).values.map(({ labels, value, exemplar }) => [labels.route, value, exemplar?.labelSet]),
          [['/b', 2, { traceId: 'after' }]],
        );
        const native = (await latency.get()).nativeHistograms ?? [];
        assert.deepEqual(native.map((value) => [value.labels.route, value.count, value.sum]), [['/b', 1, 0.5], ['/c', 1, 2]]);
        const sizeValues = (await sizes.get()).values.map((value) => [value.metricName, value.labels.route, value.value]);
        // The quantiles from the sketch record held in memory: each is the one value observed.
        assert.deepEqual(sizeValues, [
          ...[0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999].map(() => [undefined, '/b', 10]),
          ['gone_size_bytes_sum', '/b', 10],
          ['gone_size_bytes_count', '/b', 1],
        ]);
        assert.deepEqual(
          (await requests.get()).values.map((value) => [value.labels.route, value.value]),
          [
            ['/a', 1],
            ['/b', 2],
            ['/c', 3],
          ],
        );
        assert.throws(() => new Gauge({ name: 'gone_level', help: 'Level.', registers: [] }), {
          message: `PROMETHEUS_MULTIPROC_DIR "${metrics.dir}": directory does not exist`,
        });
        // Its histogram_5151.db is open (the latency's): only its exemplar file is new.
        assert.throws(() => new Histogram({ name: 'gone_job_seconds', help: 'Job time.', enableExemplars: true, registers: [] }), {
          message: `PROMETHEUS_MULTIPROC_DIR "${metrics.dir}": directory does not exist`,
        });
        assert.deepEqual(warnings, []);
      } finally {
        metrics.remove();
      }
    });
  }
});

// A full disk or a file size limit never reaches the app: on real filesystems filled to the last
// block (a tmpfs, an ext4 image on a loop device) and under `ulimit -f`, an HTTP app keeps
// answering every request, its own get() stays exact, each file (its .db files, its summary's
// .sketch, its native histogram's .nhdb, its .exemplars) is warned about once with the cause and
// the fix, and once there is room again every series joins the file with its full values
// (quantiles, native buckets and the latest exemplar of each series and bucket included). Before
// space was reserved, the native backend died of SIGBUS at the first store into a sparse page, and
// the pwrite backend threw ENOSPC or EFBIG out of inc().
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { fillUp, mountExt4, mountRefusal, mountTmpfs } from '../support/mounts';
import { skipWhen } from '../support/skip';
import type { Mount } from '../support/mounts';
import { FILE_BACKENDS } from '../store/helpers';
import { waitFor } from '../server/support';
import { createApp, installPackageImage } from '../mirror/package-image';
import { appExemplars, appValues, exposedExemplars, exposedSeries, hitRoutes, setTemperature, startMetricsApp, stopApp } from './metrics-app';
import type { MetricsApp } from './metrics-app';
import { makeTempDir, removeDir, startChild, waitForMessage } from './support';
import { DirectoryCollector } from '../../src/collect';
import { SKETCH_RELATIVE_ACCURACY } from '../../src/store';
import { exactQuantile, observations } from '../support/distributions';

// Room for every file once the filler goes: the summary's sketches alone take 8.3 KiB a series
// (a 4 MiB file for the test's 350 routes).
const FILESYSTEMS: ReadonlyArray<{ name: string; mount: (dir: string) => Mount }> = [
  { name: 'tmpfs', mount: (dir) => mountTmpfs(dir, '8m') },
  { name: 'ext4 (loop device)', mount: (dir) => mountExt4(dir, 8) },
];

/**
 * The app's files, one warning each expected: `counter`, `gauge_all`, ... (`.db`), and the
 * summary's sketches, the histogram's native buckets and the exemplar files, which go through the
 * same backends.
 */
function appFileNames(pid: number, types: readonly string[]): string[] {
  return [
    ...types.map((type) => `${type}_${pid}.db`),
    `summary_${pid}.sketch`,
    `histogram_${pid}.nhdb`,
    `counter_${pid}.exemplars`,
    `histogram_${pid}.exemplars`,
  ];
}

/**
 * The latest exemplar of each series in the merged scrape of `dir` (the collector's, and the
 * app's registry's), exactly the model's, with the very timestamps of the app's get(); waits for
 * the flush (at most 250 ms) and the growth retry.
 */
async function assertExemplarsMerged(app: MetricsApp, dir: string, what: string): Promise<void> {
  const { own } = await appExemplars(app);
  assert.deepEqual(own.exemplars, app.model.exemplars, "the app's get() has every latest exemplar");
  await waitFor(what, () => (isDeepStrictEqual(exposedExemplars(dir).exemplars, app.model.exemplars) ? true : undefined), 20_000).catch((error: Error) => {
    throw new Error(`${error.message}: ${JSON.stringify([...exposedExemplars(dir).exemplars].slice(0, 5))}; stderr:\n${app.child.stderr()}`);
  });
  assert.deepEqual(exposedExemplars(dir), own, 'with the timestamps of the calls');
  assert.deepEqual((await appExemplars(app)).scrape, own, "the app's registry serves the same");
}

/**
 * The warnings of stderr, each line one: exactly one per file named in `files`, each with the
 * cause and the fix, and nothing else but the lines `allowed` matches.
 */
function assertOneWarningPerFile(stderr: string, dir: string, files: readonly string[], cause: RegExp, fix: string, allowed?: RegExp): void {
  const lines = stderr.split('\n').filter((line) => line !== '' && !(allowed?.test(line) ?? false));
  const named = files.map((file) => lines.filter((line) => line.includes(`"${path.join(dir, file)}"`)));
  assert.deepEqual(named.map((found) => found.length), files.map(() => 1), `one warning per file:\n${stderr}`);
  for (const [warning] of named) {
    assert.match(warning, /^pm2-prom-multiproc: (metric|sketch|exemplar) file "[^"]+" cannot grow: /);
    assert.match(warning, cause);
    assert.ok(warning.includes(`To fix: ${fix}`), warning);
  }
  assert.equal(lines.length, files.length, `no other output on stderr:\n${stderr}`);
}

/** `mount()`, or the test skipped saying why the machine refused. */
function mountOrSkip(context: Mocha.Context, what: string, mount: () => Mount): Mount {
  try {
    return mount();
  } catch (error) {
    skipWhen(context, `cannot mount a ${what} here: ${(error as Error).message}`);
    throw error;
  }
}

describe('reliability: a full disk or a file size limit never reaches the app', function () {
  this.timeout(120_000);
  let root: string;
  let mounted: Mount | undefined;
  let app: MetricsApp | undefined;
  let preloaded: ChildProcess | undefined;

  before(function () {
    skipWhen(this, mountRefusal());
    root = makeTempDir('full-disk');
  });
  afterEach(async () => {
    await stopApp(app);
    await stopApp(preloaded);
    app = undefined;
    preloaded = undefined;
    mounted?.unmount();
    mounted = undefined;
  });
  after(() => {
    if (root !== undefined) removeDir(root);
  });

  for (const filesystem of FILESYSTEMS) {
    for (const backend of FILE_BACKENDS) {
      it(`${backend} backend, ${filesystem.name} full: every request answered, get() exact, one warning per file, the series in the file once there is room`, async function () {
        mounted = mountOrSkip(this, filesystem.name, () => filesystem.mount(path.join(root, `${backend}-${filesystem.name.split(' ')[0]}`)));
        const dir = mounted.dir;
        const filler = fillUp(dir);
        app = await startMetricsApp(dir, { backend });
        await hitRoutes(app, 300);
        await setTemperature(app, 21.5);
        assert.deepEqual(await appValues(app), app.model.values(), "the app's own values are exact");
        const held = await appExemplars(app);
        assert.deepEqual(held.own.exemplars, app.model.exemplars, "the app's get() has every latest exemplar");
        assert.deepEqual(exposedSeries(dir), new Map(), 'nothing is in the files yet: there is no room');
        assert.deepEqual(exposedExemplars(dir).exemplars, new Map(), 'no exemplar either');
        assert.deepEqual(held.scrape.exemplars, new Map(), "nor in the app's registry, which merges the files");

        fs.rmSync(filler);
        const expected = app.model.exposed(app.pid);
        await waitFor('every series in the files, with its full value', () => {
          const exposed = exposedSeries(dir);
          return exposed.size === expected.size ? exposed : undefined;
        }, 20_000);
        assert.deepEqual(exposedSeries(dir), expected);
        await assertExemplarsMerged(app, dir, 'every exemplar in the files once there is room');
        // With room, new series go straight into the file again (their exemplars at the next flush).
        await hitRoutes(app, 50, 250);
        assert.deepEqual(exposedSeries(dir), app.model.exposed(app.pid));
        assert.deepEqual(await appValues(app), app.model.values());
        await assertExemplarsMerged(app, dir, 'the later exemplars in the files');

        assertOneWarningPerFile(
          app.child.stderr(),
          dir,
          appFileNames(app.pid, ['counter', 'histogram', 'summary', 'gauge_livesum', 'gauge_all']),
          /cannot grow: no space left on device \(ENOSPC\)\. New series of this process are kept in its memory/,
          `free space on the filesystem of ${dir}.`,
          /^pm2-prom-multiproc: cannot write the owner record of pid \d+ in .*ENOSPC/,
        );
      });
    }
  }

  for (const backend of FILE_BACKENDS) {
    it(`${backend} backend under ulimit -f: files stop at the limit, values stay exact, and join the files once it is lifted`, async () => {
      const dir = fs.mkdtempSync(path.join(root, `ulimit-${backend}-`));
      // 64 KiB: every file gets its first size, and none can grow past it.
      app = await startMetricsApp(dir, { backend, fileSizeLimitKiB: 64 });
      await hitRoutes(app, 1000);
      await setTemperature(app, -3);
      assert.deepEqual(await appValues(app), app.model.values());
      const exposed = exposedSeries(dir);
      assert.ok(exposed.size < app.model.exposed(app.pid).size, 'the files stopped at the limit');
      for (const [series, value] of exposed) {
        const exact = app.model.exposed(app.pid).get(series);
        // A native series' entry may be in the file while its bucket's waits in memory: until the
        // bucket joins, a scrape counts less, never more (no reset: the count only grows).
        if (series.startsWith('native ')) assert.ok(value === 0 || value === exact, `${series} in the file is ${value}, of ${exact}`);
        else assert.equal(value, exact, `${series} in the file is exact`);
      }

      const merged = exposedExemplars(dir).exemplars;
      assert.ok(merged.size < app.model.exemplars.size, 'the exemplar files stopped at the limit');
      for (const [series, exemplar] of merged) assert.equal(exemplar, app.model.exemplars.get(series), `${series}: the latest exemplar`);

      execFileSync('prlimit', ['--pid', String(app.pid), '--fsize=unlimited']);
      const expected = app.model.exposed(app.pid);
      await waitFor('every series in the files once the limit is lifted', () => (exposedSeries(dir).size === expected.size ? true : undefined), 20_000);
      assert.deepEqual(exposedSeries(dir), expected);
      await assertExemplarsMerged(app, dir, 'every exemplar in the files once the limit is lifted');
      assertOneWarningPerFile(
        app.child.stderr(),
        dir,
        appFileNames(app.pid, ['counter', 'histogram', 'summary']),
        /cannot grow: file too large \(EFBIG\)\. New series/,
        "raise the process's file size limit (ulimit -f; LimitFSIZE= under systemd).",
      );
    });
  }

  for (const backend of FILE_BACKENDS) {
    it(`${backend} backend under ulimit -f: a summary's get() gives the quantiles of series whose sketches wait in memory, equal to the collector's once they join`, async () => {
      const dir = fs.mkdtempSync(path.join(root, `summary-get-${backend}-`));
      const [series, count, seed, percentiles] = [24, 2000, 31, [0, 0.01, 0.5, 0.9, 0.99, 1]];
      // 64 KiB: the sketch file holds its first few records (8.3 KiB each); the others wait in memory.
      const child = startChild('summary-get-app.ts', [String(series), String(count), String(seed), JSON.stringify(percentiles)], {
        env: { PROMETHEUS_MULTIPROC_DIR: dir, PM2_PROM_MULTIPROC_BACKEND: backend },
        fileSizeLimitKiB: 64,
      });
      type Report = { pid: number; values: Array<{ labels: Record<string, string | number>; value: number; metricName?: string }> };
      const isReport = (message: unknown): message is Report => typeof message === 'object' && message !== null && 'values' in message;
      const reportAfter = async (seen: number): Promise<Report> => {
        if (seen > 0) child.process.kill('SIGUSR2');
        return waitForMessage(child, (message): message is Report => isReport(message) && child.messages.indexOf(message) >= seen);
      };
      /** series -> quantile -> value, from get() or from a scrape of the directory. */
      const quantilesOf = (samples: ReadonlyArray<{ labels: Record<string, string | number>; value: number }>): Map<string, Map<number, number>> => {
        const bySeries = new Map<string, Map<number, number>>();
        for (const { labels, value } of samples) {
          if (labels.quantile === undefined) continue;
          const quantiles = bySeries.get(String(labels.series)) ?? new Map<number, number>();
          quantiles.set(Number(labels.quantile), value);
          bySeries.set(String(labels.series), new Map([...quantiles].sort(([a], [b]) => a - b)));
        }
        return bySeries;
      };
      const scraped = (): Map<string, Map<number, number>> => {
        const family = new DirectoryCollector(dir).collect().find((candidate) => candidate.name === 'held_seconds');
        return quantilesOf((family?.samples ?? []).filter((sample) => sample.name === 'held_seconds'));
      };
      try {
        const first = await reportAfter(0);
        const own = quantilesOf(first.values.filter((value) => value.metricName === undefined));
        assert.equal(own.size, series, 'every series has its quantiles in get()');
        for (let i = 0; i < series; i++) {
          const sorted = observations('lognormal', i, count, seed).sort((a, b) => a - b);
          for (const q of percentiles) {
            const value = own.get(`s${i}`)?.get(q) ?? NaN;
            const exact = exactQuantile(sorted, q);
            if (q === 0 || q === 1) assert.equal(value, exact, `s${i} q=${q}: the exact extreme`);
            else assert.ok(Math.abs(value - exact) <= SKETCH_RELATIVE_ACCURACY * (1 + 1e-12) * exact, `s${i} q=${q}: ${value}, exact ${exact}`);
          }
        }
        const inFile = scraped().size;
        assert.ok(inFile < series / 2, `most sketch records wait in memory (${inFile} of ${series} in the file)`);

        execFileSync('prlimit', ['--pid', String(first.pid), '--fsize=unlimited']);
        await waitFor('every sketch record in the file once the limit is lifted', () => (scraped().size === series ? true : undefined), 20_000);
        const again = await reportAfter(child.messages.length);
        assert.deepEqual(quantilesOf(again.values), own, 'get() answers the same once the records joined the file');
        assert.deepEqual(scraped(), own, "the collector renders get()'s quantiles of a directory only this process wrote");
        assert.match(child.stderr(), /sketch file "[^"]+summary_\d+\.sketch" cannot grow: file too large \(EFBIG\)/);
      } finally {
        child.process.kill('SIGTERM');
        await child.ended;
      }
    });
  }

  it('the register preload on a full tmpfs: the app lives on, and its registry is mirrored once there is room', async function () {
    mounted = mountOrSkip(this, 'tmpfs', () => mountTmpfs(path.join(root, 'preload'), '1m'));
    const dir = mounted.dir;
    const filler = fillUp(dir);
    installPackageImage(root);
    const appDir = createApp(root, 'app', 'repo');
    // As in production: plain node, the installed package's preload, the app's own prom-client.
    preloaded = spawn(process.execPath, ['--require', 'pm2-prom-multiproc/register', 'app.js'], {
      cwd: appDir,
      env: { PATH: process.env.PATH, PROMETHEUS_MULTIPROC_DIR: dir, PROMETHEUS_MIRROR_INTERVAL_MS: '100', APP_REQUESTS: '20', APP_STAY: '1' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    preloaded.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // Several passes on the full disk: a native writer used to die of SIGBUS in the first one.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    assert.deepEqual([preloaded.exitCode, preloaded.signalCode], [null, null], `the app is alive; stderr:\n${stderr}`);
    fs.rmSync(filler);
    await waitFor('the mirrored counts in the files', () => {
      const requests = [...exposedSeries(dir)].filter(([series]) => series.startsWith('app_requests_total'));
      return requests.length === 2 && requests.every(([, value]) => value === 10) ? true : undefined;
    }, 20_000);
    assert.match(stderr, /cannot grow: no space left on device \(ENOSPC\)/);
  });
});

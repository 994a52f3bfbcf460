// Real pid reuse (/proc/sys/kernel/ns_last_pid): a process that gets a dead worker's pid is
// never taken for it. A new worker starts from zero and hands the dead one's files to the dead
// (their counts stay in the totals, their live gauges go, their `all` gauges keep a pid label of
// their own); an unrelated process does not keep the dead worker's live gauges in the scrape;
// an exit reported for the pid is final, however often the pid comes back.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Housekeeper, compactDirectory } from '../../src/host';
import type { Logger } from '../../src/logger';
import { parseFileName } from '../../src/store/format';
import { skipWhen } from '../support/skip';
import { pidReuseRefusal, startWithPid } from '../support/pid-reuse';
import { AppModel, appValues, exposedSeries, hit, hitRoutes, setTemperature, startMetricsApp, stopApp } from './metrics-app';
import type { MetricsApp } from './metrics-app';
import { makeTempDir, removeDir } from './support';
import type { Child } from './support';

const quietLog: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** Starts the metrics app with exactly `pid` (the dead worker's). */
function withPid(pid: number): (start: () => Child) => Promise<Child> {
  return async (start) => {
    let started: Child | undefined;
    await startWithPid(pid, () => {
      started = start();
      return started.process;
    });
    return started as Child;
  };
}

/** The dead-named `all` gauge file of `pid` in `dir`: its owner is the pid label its samples get. */
function deadOwnerOfAllGauges(dir: string, pid: number): string {
  const names = fs.readdirSync(dir).map((name) => parseFileName(name)).filter((name) => name?.dead === true && name.pid === pid && name.mode === 'all');
  assert.equal(names.length, 1, fs.readdirSync(dir).join(' '));
  return names[0]?.owner ?? '';
}

describe('reliability: a reused pid is never taken for the dead worker that had it', function () {
  this.timeout(120_000);
  let dir: string;
  const running: Array<MetricsApp | ChildProcess> = [];

  before(function () {
    skipWhen(this, pidReuseRefusal());
  });
  beforeEach(() => {
    dir = makeTempDir('pid-reuse');
  });
  afterEach(async () => {
    for (const process of running.splice(0)) await stopApp(process);
    removeDir(dir);
  });

  const start = async (pid?: number): Promise<MetricsApp> => {
    const app = await startMetricsApp(dir, { backend: 'native', start: pid === undefined ? undefined : withPid(pid) });
    running.push(app);
    return app;
  };

  it("a new worker with the pid starts from zero; the dead one's counts stay, its live gauges go, its `all` gauges keep their own pid label", async () => {
    const dead = await start();
    await hitRoutes(dead, 5);
    await setTemperature(dead, 7);
    await stopApp(dead);

    const reborn = await start(dead.pid);
    assert.deepEqual(await appValues(reborn), new AppModel().values(), 'none of the dead worker\'s values is the new one\'s');
    const expected = dead.model.exposed(dead.pid);
    expected.set('app_routes', 0);
    expected.set(`app_temperature{pid="${dead.pid}"}`, 0);
    expected.set(`app_temperature{pid="${deadOwnerOfAllGauges(dir, dead.pid)}"}`, 7);
    assert.deepEqual(exposedSeries(dir), expected);

    await hit(reborn, '/r0', 1);
    expected.set('app_requests_total{route="/r0"}', (expected.get('app_requests_total{route="/r0"}') ?? 0) + 1);
    expected.set('app_jobs_total{route="/r0"}', (expected.get('app_jobs_total{route="/r0"}') ?? 0) + 1);
    expected.set('app_job_seconds_count{route="/r0"}', 2);
    expected.set('app_latency_seconds_count{route="/r0"}', 2);
    expected.set('native app_latency_seconds_count{route="/r0"}', 2);
    expected.set('app_size_bytes_sum{route="/r0"}', 20);
    expected.set('app_routes', 1);
    assert.deepEqual(exposedSeries(dir), expected);
    // The dead worker's files are dead by their name although its pid lives: compaction folds them.
    const report = compactDirectory(dir);
    assert.equal(report.absorbed, 7, 'its counter, histogram and summary files, its sketches, its native buckets and its two exemplar files');
    assert.deepEqual(exposedSeries(dir), expected);
  });

  it("an unrelated process with the pid does not keep the dead worker's live gauges: its start tells them apart", async () => {
    // The module runs before the worker dies (a directory found with no live owner is wiped).
    const housekeeper = new Housekeeper({ log: quietLog });
    housekeeper.keep([dir]);
    const dead = await start();
    await hitRoutes(dead, 3);
    const exited = once(dead.child.process, 'exit');
    dead.child.process.kill('SIGKILL');
    await exited;
    const sleeper = await startWithPid(dead.pid, () => spawn('sleep', ['600'], { stdio: 'ignore' }));
    running.push(sleeper);
    assert.equal(exposedSeries(dir).get('app_routes'), 3, 'the live gauge is there until the reconcile');

    housekeeper.reconcile();
    const expected = dead.model.exposed(dead.pid);
    expected.delete('app_routes');
    assert.deepEqual(exposedSeries(dir), expected, 'the live gauge went; every count stays');
    assert.equal(housekeeper.deadPidsMarked, 1);
    assert.ok(fs.existsSync(path.join(dir, 'counter_archive.db')), 'its counts were folded: it is dead to compaction too');
  });

  it('an exit reported for the pid is final each time the pid comes back (Housekeeper.processEnded, as PM2 events and the cluster helper call it)', async () => {
    const housekeeper = new Housekeeper({ log: quietLog });
    housekeeper.keep([dir]);
    const first = await start();
    await hitRoutes(first, 2);
    await stopApp(first);
    housekeeper.processEnded(first.pid, 'exited');
    assert.equal(exposedSeries(dir).get('app_routes'), undefined);

    const second = await start(first.pid);
    await hitRoutes(second, 4);
    housekeeper.processEnded(first.pid, 'exited');
    assert.equal(exposedSeries(dir).get('app_routes'), 4, 'an exit of the earlier process leaves the live owner of the pid alone');
    await stopApp(second);
    housekeeper.processEnded(second.pid, 'exited');
    assert.equal(exposedSeries(dir).get('app_routes'), undefined, "the second worker's live gauge goes on its own exit");
    assert.equal(housekeeper.deadPidsMarked, 2);
  });
});

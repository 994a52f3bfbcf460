import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DeadPidSweeper } from '../../src/host/dead-pid-sweeper';
import { isProcessAlive } from '../../src/store';
import { prepareDirectory } from '../../src/host/prepare-directory';
import type { Logger } from '../../src/logger';
import { deadPid, makeTempDir, startSleeper, writeCounter, writeGauge } from '../server/support';

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warn: (m) => lines.push(`warn ${m}`), error: (m) => lines.push(`error ${m}`) };
}

describe('server: directory care (safe clean, dead pids)', () => {
  let root: string;
  let sleeper: Awaited<ReturnType<typeof startSleeper>>;
  let dead: number;

  before(async () => {
    root = makeTempDir('care');
    sleeper = await startSleeper();
    dead = await deadPid();
  });

  after(() => {
    sleeper.kill('SIGKILL');
    fs.rmSync(root, { recursive: true, force: true });
  });

  it('tells live pids from dead ones', () => {
    assert.equal(isProcessAlive(sleeper.pid), true);
    assert.equal(isProcessAlive(dead), false);
    assert.equal(isProcessAlive(1), true, 'pid 1 exists; EPERM must count as alive when not root');
  });

  it('creates a missing directory with mode 0700', () => {
    const dir = path.join(root, 'new', 'metrics');
    assert.equal(prepareDirectory(dir), 'created');
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(prepareDirectory(dir), 'empty');
  });

  it('wipes a stale directory (no owner alive) but leaves files it does not know', () => {
    const dir = fs.mkdtempSync(path.join(root, 'stale-'));
    writeCounter(dir, dead, 'jobs', {}, 5);
    writeGauge(dir, dead, 'all', 'temperature', 3);
    fs.writeFileSync(path.join(dir, 'README.txt'), 'not a metric file');
    assert.equal(prepareDirectory(dir), 'wiped');
    assert.deepEqual(fs.readdirSync(dir), ['README.txt']);
  });

  it('never wipes a directory with a live writer: every file stays', () => {
    const dir = fs.mkdtempSync(path.join(root, 'live-'));
    writeCounter(dir, dead, 'jobs', {}, 5);
    writeGauge(dir, dead, 'livesum', 'busy', 1);
    writeCounter(dir, sleeper.pid, 'jobs', {}, 2);
    const before = fs.readdirSync(dir).sort();
    assert.equal(prepareDirectory(dir), 'kept');
    assert.deepEqual(fs.readdirSync(dir).sort(), before);
  });

  it('refuses a path that is not a directory, naming it', () => {
    const file = path.join(root, 'plain-file');
    fs.writeFileSync(file, '');
    assert.throws(() => prepareDirectory(file), new RegExp(`"${file}": not a directory`));
    assert.throws(() => prepareDirectory(path.join(file, 'sub')), /cannot create metrics directory .*plain-file\/sub/);
  });

  it('marks a dead pid once: live gauges go, counters and other gauges stay; live pids are untouched', () => {
    const dir = fs.mkdtempSync(path.join(root, 'sweep-'));
    for (const pid of [dead, sleeper.pid]) {
      writeCounter(dir, pid, 'jobs', {}, 1);
      writeGauge(dir, pid, 'livesum', 'busy', 1);
      writeGauge(dir, pid, 'max', 'peak', 1);
    }
    const log = recordingLog();
    const sweeper = new DeadPidSweeper(log);
    assert.equal(sweeper.markDead(sleeper.pid, [dir], 'exited'), false);
    assert.equal(sweeper.markDead(dead, [dir], 'exited'), true);
    assert.equal(sweeper.markDead(dead, [dir], 'exited'), false);
    sweeper.reconcile([dir]);
    assert.equal(sweeper.deadPidsMarked, 1);
    assert.deepEqual(fs.readdirSync(dir).sort(), [
      `counter_${dead}.db`,
      `counter_${sleeper.pid}.db`,
      `gauge_livesum_${sleeper.pid}.db`,
      `gauge_max_${dead}.db`,
      `gauge_max_${sleeper.pid}.db`,
    ].sort());
    assert.deepEqual(log.lines, [`pid ${dead} exited: its live gauges are removed from ${dir}`]);
  });

  it('reconciles: every dead owner is marked without any event', async () => {
    const dir = fs.mkdtempSync(path.join(root, 'reconcile-'));
    const another = await deadPid();
    for (const pid of [dead, another, sleeper.pid]) writeGauge(dir, pid, 'liveall', 'up', 1);
    const sweeper = new DeadPidSweeper(recordingLog());
    sweeper.reconcile([dir, path.join(root, 'missing')]);
    assert.deepEqual(fs.readdirSync(dir), [`gauge_liveall_${sleeper.pid}.db`]);
    assert.equal(sweeper.deadPidsMarked, 2);
  });
});

// The module writes the owner record of a live process that writes none (Python's client), from
// the environment PM2 started it with or from PM2's list, so that its files keep its app after
// it ends; never over a record, never for a process younger than its files (a reused pid).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { renderText } from '../../src/collect';
import { OwnerRecorder } from '../../src/host';
import { ServedDirectories } from '../../src/host/served-directories';
import type { Logger } from '../../src/logger';
import { ownerRecordName, processStartTicks, readOwnerRecord } from '../../src/store';
import { writeOwnerRecord } from '../../src/store/owner-record';
import { makeTempDir, sampleLines, writeCounter } from '../server/support';

const NS_LAST_PID = '/proc/sys/kernel/ns_last_pid';

describe('host: owner records for processes that write none', function () {
  this.timeout(60_000);
  const warnings: string[] = [];
  const log: Logger = { info: () => undefined, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) };
  const children: ChildProcess[] = [];
  let dir: string;

  /** A live process with this environment, as PM2 starts one (pm_id, name) or not. */
  async function startProcess(env: NodeJS.ProcessEnv): Promise<ChildProcess & { pid: number }> {
    const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { env: { PATH: process.env.PATH, ...env }, stdio: 'ignore' });
    children.push(child);
    await once(child, 'spawn');
    return child as ChildProcess & { pid: number };
  }

  async function stop(child: ChildProcess): Promise<void> {
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  }

  const scrape = (served = new ServedDirectories(log, { recorder: new OwnerRecorder(log) })): string[] =>
    sampleLines(renderText(served.collect([{ dir }])), 'py_requests_total');

  beforeEach(() => {
    warnings.length = 0;
    dir = makeTempDir('recorder');
  });
  afterEach(async () => {
    for (const child of children.splice(0)) if (child.exitCode === null && child.signalCode === null) await stop(child);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('records the app a process inherited from PM2, so its files keep it after it dies and across a module restart', async () => {
    // A worker a PM2 app forked (gunicorn's): not in PM2's list, but with its app's environment.
    const worker = await startProcess({ pm_id: '7', name: 'pyapp' });
    writeCounter(dir, worker.pid, 'py_requests', {}, 3);
    assert.deepEqual(scrape(), ['py_requests_total{pm2_app="pyapp"} 3']);
    assert.deepEqual(readOwnerRecord(dir, worker.pid), { pid: worker.pid, start: processStartTicks(worker.pid), app: 'pyapp' });
    await stop(worker);
    assert.deepEqual(scrape(), ['py_requests_total{pm2_app="pyapp"} 3'], 'dead, read by a new module');
  });

  it('records a process outside PM2 without an app: no label, then or ever', async () => {
    const outsider = await startProcess({ name: 'not-pm2' });
    writeCounter(dir, outsider.pid, 'py_requests', {}, 4);
    assert.deepEqual(scrape(), ['py_requests_total 4']);
    assert.deepEqual(readOwnerRecord(dir, outsider.pid), { pid: outsider.pid, start: processStartTicks(outsider.pid) });
    await stop(outsider);
    assert.deepEqual(scrape(), ['py_requests_total 4']);
  });

  it("records what PM2's list says of a process it lists, before its first file, and never replaces a record", async () => {
    const listed = await startProcess({});
    const recorder = new OwnerRecorder(log);
    recorder.recordListed(dir, listed.pid, 'listed-app');
    assert.deepEqual(readOwnerRecord(dir, listed.pid), { pid: listed.pid, start: processStartTicks(listed.pid), app: 'listed-app' });
    writeCounter(dir, listed.pid, 'py_requests', {}, 5);
    assert.deepEqual(scrape(new ServedDirectories(log, { recorder })), ['py_requests_total{pm2_app="listed-app"} 5']);

    const own = await startProcess({ pm_id: '1', name: 'from-env' });
    writeOwnerRecord(dir, { pid: own.pid, app: 'its-own' });
    recorder.recordListed(dir, own.pid, 'listed-app');
    writeCounter(dir, own.pid, 'py_requests', {}, 6);
    scrape(new ServedDirectories(log, { recorder }));
    assert.deepEqual(readOwnerRecord(dir, own.pid), { pid: own.pid, app: 'its-own' });
  });

  it('writes no record for a process younger than its files: they were left by an earlier process with its pid', async function () {
    let writable = false;
    try {
      fs.accessSync(NS_LAST_PID, fs.constants.W_OK);
      writable = true;
    } catch {
      // not root, or no pid namespace control
    }
    if (!writable) {
      console.log(`      (skipped: ${NS_LAST_PID} is not writable here (root only); it gives the next process a chosen pid)`);
      this.skip();
    }
    let reused: (ChildProcess & { pid: number }) | undefined;
    for (let attempt = 0; attempt < 5 && reused === undefined; attempt++) {
      const pidMax = Number(fs.readFileSync('/proc/sys/kernel/pid_max', 'utf8'));
      const next = Number(fs.readFileSync(NS_LAST_PID, 'utf8')) + 5000;
      // Past pid_max the kernel wraps to low pids: take one there that is likely free.
      const pid = next < pidMax - 1 ? next : 5000 + attempt * 997;
      // The predecessor's file, well before the process that will get its pid starts.
      writeCounter(dir, pid, 'py_requests', {}, 8);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      fs.writeFileSync(NS_LAST_PID, String(pid - 1));
      const child = await startProcess({ pm_id: '2', name: 'newcomer' });
      if (child.pid === pid) reused = child;
      else fs.rmSync(path.join(dir, `counter_${pid}.db`)); // another process took the pid first
    }
    assert.ok(reused !== undefined, 'a process got the chosen pid');
    const served = new ServedDirectories(log, { recorder: new OwnerRecorder(log) });
    for (let round = 0; round < 2; round++) {
      assert.deepEqual(scrape(served), ['py_requests_total 8'], "the old file is not credited to the newcomer's app");
    }
    assert.ok(!fs.existsSync(path.join(dir, ownerRecordName(reused.pid))), 'no record was written');
    assert.deepEqual(
      warnings.filter((warning) => warning.includes('older than itself')),
      [`pid ${reused.pid} has files in ${dir} older than itself (left by an earlier process with its pid): they are credited to no app (no pm2_app label)`],
      'said once',
    );
  });
});

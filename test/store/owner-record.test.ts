import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ProcessStore,
  ownerRecordName,
  processStartTicks,
  readOwnerRecord,
  removeOrphanOwnerRecords,
  wipeIfStale,
} from '../../src/store';
import { makeTempDir } from './helpers';

/** Starts children/owner-writer.ts in `dir` with `env`; resolves once it wrote its counter. */
async function startWriter(dir: string, env: NodeJS.ProcessEnv): Promise<{ pid: number; start: number; end(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'children', 'owner-writer.ts'), dir], {
    env,
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const [line] = (await once(child.stdout.setEncoding('utf8'), 'data')) as [string];
  const { pid, start } = JSON.parse(line) as { pid: number; start: number };
  return {
    pid,
    start,
    end: async () => {
      child.stdin.end();
      await once(child, 'close');
    },
  };
}

describe('owner records (owner_PID.json)', () => {
  let dir: string;
  let remove: () => void;
  beforeEach(() => ({ dir, remove } = makeTempDir()));
  afterEach(() => remove());

  it('are written by a process before its first file, with its start as /proc counts it and its PM2 app', async () => {
    const underPm2 = await startWriter(dir, { ...process.env, pm_id: '3', name: 'api' });
    const plain = await startWriter(dir, { ...process.env, pm_id: '', name: 'not-pm2' });
    try {
      assert.deepEqual(readOwnerRecord(dir, underPm2.pid), { pid: underPm2.pid, start: underPm2.start, app: 'api' });
      assert.deepEqual(readOwnerRecord(dir, plain.pid), { pid: plain.pid, start: plain.start });
      assert.equal(fs.statSync(path.join(dir, ownerRecordName(plain.pid))).mode & 0o777, 0o600);
      assert.ok(fs.readdirSync(dir).every((name) => !name.endsWith('.tmp')), 'no temp file is left');
    } finally {
      await Promise.all([underPm2.end(), plain.end()]);
    }
    assert.equal(processStartTicks(underPm2.pid), undefined, 'an exited process has no start');
  });

  it('are not written by a store standing in for another pid', () => {
    const store = new ProcessStore(dir, { pid: 4242 });
    store.file('counter');
    store.close();
    assert.deepEqual(fs.readdirSync(dir), ['counter_4242.db']);
  });

  it('read a process start from /proc, the same at every read, never before its parent', () => {
    const self = processStartTicks(process.pid);
    assert.ok(self !== undefined && Number.isSafeInteger(self), `this process has a start: ${String(self)}`);
    assert.equal(processStartTicks(process.pid), self, 'the same process, the same start');
    assert.notEqual(processStartTicks(process.ppid), undefined);
    assert.ok((processStartTicks(process.ppid) as number) <= self, 'a parent starts no later than its child');
  });

  it('are read defensively: another pid, bad JSON, a huge file or a link give no record', () => {
    const write = (pid: number, text: string): void => fs.writeFileSync(path.join(dir, ownerRecordName(pid)), text);
    write(11, '{"pid":12,"start":5}');
    write(13, '{"pid":13,"start":');
    write(14, `{"pid":14,"app":"${'x'.repeat(5000)}"}`);
    write(15, '{"pid":15,"start":1.5,"app":7}');
    fs.symlinkSync(path.join(dir, ownerRecordName(15)), path.join(dir, ownerRecordName(16)));
    assert.equal(readOwnerRecord(dir, 11), undefined);
    assert.equal(readOwnerRecord(dir, 13), undefined);
    assert.equal(readOwnerRecord(dir, 14), undefined);
    assert.deepEqual(readOwnerRecord(dir, 15), { pid: 15 });
    assert.equal(readOwnerRecord(dir, 16), undefined);
    assert.equal(readOwnerRecord(dir, 17), undefined);
  });

  it('go with their files: a wipe removes them, and a dead pid loses its record once it owns no file', async () => {
    const writer = await startWriter(dir, process.env);
    await writer.end();
    const record = ownerRecordName(writer.pid);
    assert.deepEqual(removeOrphanOwnerRecords(dir), [], 'its counter file is still there');
    fs.rmSync(path.join(dir, `counter_${writer.pid}.db`));
    fs.writeFileSync(path.join(dir, ownerRecordName(process.pid)), JSON.stringify({ pid: process.pid }));
    assert.deepEqual(removeOrphanOwnerRecords(dir), [path.join(dir, record)], 'a live pid keeps its record');
    const again = await startWriter(dir, process.env);
    await again.end();
    fs.rmSync(path.join(dir, ownerRecordName(process.pid)));
    assert.equal(wipeIfStale(dir), 'wiped');
    assert.deepEqual(fs.readdirSync(dir), []);
  });
});

// The cluster helper with real pid reuse: a worker that gets the pid of one that exited before
// loses its live gauges on its own `exit` event too. The helper used to remember the pid as
// marked already, and left them until the next reconcile.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { skipWhen } from '../support/skip';
import { pidReuseRefusal } from '../support/pid-reuse';
import { httpGet, makeTempDir, sampleValue, waitFor } from '../server/support';

/** The primary of children/primary.ts, with its JSON lines as they come. */
class Primary {
  readonly messages: Array<Record<string, number | string>> = [];
  /** Workers forked so far, each of which counted its start once. */
  forked = 0;
  private readonly child: ChildProcessWithoutNullStreams;
  stderr = '';

  constructor(dir: string) {
    this.child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'children', 'primary.ts'), dir]);
    this.child.stderr.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    createInterface({ input: this.child.stdout }).on('line', (line) => this.messages.push(JSON.parse(line) as Record<string, number | string>));
  }

  async next(key: string): Promise<number | string> {
    const message = await waitFor(`the primary's "${key}"`, () => {
      const index = this.messages.findIndex((candidate) => key in candidate);
      return index < 0 ? undefined : this.messages.splice(index, 1)[0];
    }, 30_000);
    return message[key];
  }

  async fork(pid = 0): Promise<number> {
    this.child.stdin.write(`fork ${pid}\n`);
    const forked = Number(await this.next('forked'));
    this.forked++;
    return forked;
  }

  async kill(pid: number): Promise<void> {
    this.child.stdin.write(`kill ${pid}\n`);
    assert.equal(Number(await this.next('exited')), pid);
  }

  /** A worker with exactly `pid`: workers that got another pid are killed again. */
  async forkWithPid(pid: number): Promise<void> {
    for (let attempt = 0; attempt < 100; attempt++) {
      const got = await this.fork(pid);
      if (got === pid) return;
      await this.kill(got);
    }
    throw new Error(`no worker got pid ${pid} in 100 tries: other processes kept taking it`);
  }

  stop(): void {
    this.child.kill('SIGKILL');
  }
}

describe('cluster: a worker that reuses an exited worker\'s pid', function () {
  this.timeout(120_000);
  let dir: string;
  let primary: Primary | undefined;

  before(function () {
    skipWhen(this, pidReuseRefusal());
    dir = path.join(makeTempDir('cluster-reuse'), 'metrics');
  });
  after(() => {
    primary?.stop();
    if (dir !== undefined) fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  it('loses its live gauges on its own exit event, as the first one did', async () => {
    primary = new Primary(dir);
    const url = String(await primary.next('url'));
    const up = async (): Promise<number | undefined> => sampleValue((await httpGet(url)).text, 'worker_up');
    const pid = await primary.fork();
    assert.equal(await up(), 1);
    await primary.kill(pid);
    assert.equal(await up(), undefined, 'the first worker is marked dead on its exit event');

    await primary.forkWithPid(pid);
    assert.equal(await up(), 1, 'the worker with the reused pid writes its gauge');
    await primary.kill(pid);
    assert.equal(await up(), undefined, `its gauge goes on its exit event; primary stderr:\n${primary.stderr}`);
    assert.equal(sampleValue((await httpGet(url)).text, 'worker_starts_total'), primary.forked, "every worker's count stays");
  });
});

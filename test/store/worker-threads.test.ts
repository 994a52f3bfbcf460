import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { encodeKey } from '../../src/store/format';
import { ProcessStore } from '../../src/store';
import { readFileSamples } from '../support/file-samples';
import { FILE_BACKENDS, makeTempDir } from './helpers';

const WORK_KEY = encodeKey('work', 'work_total', {}, 'Work done.');

/** Runs children/thread-writer.ts on a real worker thread; resolves with its owner string. */
function runThread(dir: string, backend: string, amount: number): Promise<string> {
  const script = path.join(__dirname, 'children', 'thread-writer.ts');
  const worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(script)});`, {
    eval: true,
    workerData: { dir, backend, amount },
  });
  return new Promise((resolve, reject) => {
    worker.once('message', (owner: string) => resolve(owner));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with ${code} before reporting`)));
  });
}

for (const backend of FILE_BACKENDS) {
  describe(`worker threads (${backend} backend)`, () => {
    let dir: string;
    let remove: () => void;
    beforeEach(() => ({ dir, remove } = makeTempDir()));
    afterEach(() => remove());

    it('write one file each, beside the main thread file, under PID-THREADID', async () => {
      const main = new ProcessStore(dir, { backend });
      const mainFile = main.file('counter');
      mainFile.add(mainFile.slotOf(WORK_KEY), 1);
      const owners = await Promise.all([runThread(dir, backend, 10), runThread(dir, backend, 100)]);
      main.close();

      assert.equal(main.owner, String(process.pid));
      for (const owner of owners) assert.match(owner, new RegExp(`^${process.pid}-\\d+$`));
      assert.notEqual(owners[0], owners[1]);
      assert.deepEqual(
        fs.readdirSync(dir).sort(),
        [...[main.owner, ...owners].map((owner) => `counter_${owner}.db`), `owner_${process.pid}.json`].sort(),
      );
      const valueOf = (owner: string): number | undefined =>
        readFileSamples(path.join(dir, `counter_${owner}.db`)).get(WORK_KEY)?.value;
      assert.deepEqual([main.owner, ...owners].map(valueOf), [1, 10, 100]);
    });
  });
}

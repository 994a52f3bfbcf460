import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { encodeKey } from '../../src/store/format';
import { readFileSamples } from '../support/file-samples';
import { FILE_BACKENDS, makeTempDir, runChild } from './helpers';

for (const backend of FILE_BACKENDS) {
  describe(`a process killed by SIGKILL (${backend} backend)`, () => {
    let dir: string;
    let remove: () => void;
    beforeEach(() => ({ dir, remove } = makeTempDir()));
    afterEach(() => remove());

    it('leaves every increment it made in its file', async () => {
      const increments = 100_000;
      const child = await runChild('increment-then-kill.ts', [dir, backend, String(increments)]);
      assert.equal(child.signal, 'SIGKILL', child.stderr);
      const samples = readFileSamples(path.join(dir, `counter_${child.pid}.db`));
      assert.deepEqual(samples.get(encodeKey('jobs', 'jobs_total', {}, 'Jobs done.')), { value: increments, timestamp: 0 });
    });
  });
}

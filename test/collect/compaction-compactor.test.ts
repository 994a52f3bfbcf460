import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DirectoryCompactor } from '../../src/collect/compactor';
import { deadPid, scrape, workerLifetime } from './compaction-support/workers';
import { makeTempDir, removeDir } from './support/files';

function recordingLog(): { lines: string[]; info(message: string): void; warn(message: string): void } {
  const lines: string[] = [];
  return { lines, info: (message) => lines.push(`info ${message}`), warn: (message) => lines.push(`warn ${message}`) };
}

describe('DirectoryCompactor (the module runs it after each reconcile)', () => {
  let root: string;
  beforeEach(() => {
    root = makeTempDir('pm2-prom-compactor-');
  });
  afterEach(() => removeDir(root));

  it('compacts every directory, logs what it did, and logs a problem once until it changes', () => {
    const first = fs.mkdtempSync(path.join(root, 'a-'));
    const second = fs.mkdtempSync(path.join(root, 'b-'));
    workerLifetime(first, 0);
    workerLifetime(second, 1);
    const before = scrape(first);
    const damaged = path.join(second, `counter_${deadPid(2)}.db`);
    fs.writeFileSync(damaged, Buffer.alloc(4));
    const missing = path.join(root, 'missing');
    const log = recordingLog();
    const compactor = new DirectoryCompactor(log);

    compactor.compact([first, missing, second]);
    assert.equal(scrape(first), before);
    assert.deepEqual(log.lines, [
      `info compacted ${first}: 7 files of dead pids folded into 7 archives, 0 other files removed`,
      `warn compaction of ${missing}: PROMETHEUS_MULTIPROC_DIR "${missing}": directory does not exist`,
      `info compacted ${second}: 7 files of dead pids folded into 7 archives, 0 other files removed`,
      `warn compaction of ${second}: ${damaged} left as it is: it is 4 bytes, shorter than its header`,
    ]);

    log.lines.length = 0;
    compactor.compact([first, missing, second]);
    assert.deepEqual(log.lines, [], 'nothing new: nothing logged');

    fs.rmSync(damaged);
    workerLifetime(second, 3);
    compactor.compact([first, missing, second]);
    assert.deepEqual(log.lines, [`info compacted ${second}: 7 files of dead pids folded into 7 archives, 0 other files removed`]);
  });
});

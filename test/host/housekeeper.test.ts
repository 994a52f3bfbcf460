import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Housekeeper } from '../../src/host';
import type { Logger } from '../../src/logger';
import { deadPid, scrape, workerLifetime } from './compaction-support/workers';
import { makeTempDir, removeDir } from '../collect/support/files';

function recordingLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return {
    lines,
    info: (message) => lines.push(`info ${message}`),
    warn: (message) => lines.push(`warn ${message}`),
    error: (message) => lines.push(`error ${message}`),
  };
}

describe('Housekeeper (the module and the cluster helper compact after each reconcile)', () => {
  let root: string;
  beforeEach(() => {
    root = makeTempDir('pm2-prom-housekeeper-');
  });
  afterEach(() => removeDir(root));

  it('compacts every directory, logs what it did, and logs a problem once until it changes', () => {
    const first = fs.mkdtempSync(path.join(root, 'a-'));
    const second = fs.mkdtempSync(path.join(root, 'b-'));
    const missing = fs.mkdtempSync(path.join(root, 'missing-'));
    const log = recordingLog();
    const housekeeper = new Housekeeper({ log });
    // Kept while empty: preparing a directory whose writers are all dead would wipe it.
    housekeeper.keep([first, missing, second]);
    // A directory removed while it is kept (an operator's rm -r) fails its compaction alone.
    fs.rmSync(missing, { recursive: true });
    workerLifetime(first, 0);
    workerLifetime(second, 1);
    const before = scrape(first);
    const damaged = path.join(second, `counter_${deadPid(2)}.db`);
    fs.writeFileSync(damaged, Buffer.alloc(4));
    log.lines.length = 0;

    housekeeper.compact();
    assert.equal(scrape(first), before);
    assert.deepEqual(log.lines, [
      `info compacted ${first}: 9 files of dead pids folded into 9 archives, 0 other files removed`,
      `warn compaction of ${missing}: PROMETHEUS_MULTIPROC_DIR "${missing}": directory does not exist`,
      `info compacted ${second}: 9 files of dead pids folded into 9 archives, 0 other files removed`,
      `warn compaction of ${second}: ${damaged} left as it is: it is 4 bytes, shorter than its header`,
    ]);

    log.lines.length = 0;
    housekeeper.compact();
    assert.deepEqual(log.lines, [], 'nothing new: nothing logged');

    fs.rmSync(damaged);
    workerLifetime(second, 3);
    housekeeper.compact();
    assert.deepEqual(log.lines, [`info compacted ${second}: 9 files of dead pids folded into 9 archives, 0 other files removed`]);
  });
});

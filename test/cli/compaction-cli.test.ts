import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { deadPid, scrape, workerLifetime, writeWorker } from '../host/compaction-support/workers';
import { runCli } from '../collect/support/cli';
import { makeTempDir, removeDir } from '../collect/support/files';

describe('pm2-prom-multiproc compact DIR', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('pm2-prom-compaction-cli-');
  });
  afterEach(() => removeDir(dir));

  it("folds dead pids' files into archives, says what it did, and drops all gauges when asked", () => {
    writeWorker(dir, { pid: process.pid, threadId: 1 }, 7).close();
    workerLifetime(dir, 0, { allGauge: true });
    workerLifetime(dir, 1, { allGauge: true });
    const before = scrape(dir);

    const kept = runCli(['compact', dir]);
    assert.equal(kept.stderr, '');
    assert.equal(kept.status, 0);
    assert.equal(kept.stdout, `${dir}: 18 files of dead pids absorbed into 9 archives, 0 files removed\n`);
    assert.equal(scrape(dir), before);
    assert.ok(fs.existsSync(path.join(dir, `gauge_all_${deadPid(0)}.db`)), "all gauges are kept, as Python's");

    const dropped = runCli(['compact', dir, '--drop-all-gauges']);
    assert.equal(dropped.status, 0);
    assert.equal(dropped.stdout, `${dir}: 0 files of dead pids absorbed into 0 archives, 2 files removed\n`);
    assert.ok(!fs.existsSync(path.join(dir, `gauge_all_${deadPid(0)}.db`)));
  });

  it('exits 1 naming each file it left, and 2 on bad usage', () => {
    fs.writeFileSync(path.join(dir, `counter_${deadPid(0)}.db`), Buffer.alloc(4));
    const result = runCli(['compact', dir]);
    assert.equal(result.status, 1);
    assert.match(result.stderr, new RegExp(`counter_${deadPid(0)}\\.db left as it is: it is 4 bytes, shorter than its header`));

    assert.equal(runCli(['compact']).status, 2);
    assert.match(runCli(['compact', dir, '--fast']).stderr, /compact: unknown option --fast/);
    assert.match(runCli(['compact', path.join(dir, 'missing')]).stderr, /metrics directory .*missing does not exist/);
  });
});

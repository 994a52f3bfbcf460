// A metrics directory the collector may not search (chmod 000, not root): collect() and the CLI
// warn, count it and go on, as for a missing one. CI runs as root, whom no mode stops: there the
// collector runs as `nobody` in a child process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { makeTempDir, removeDir, writeDbFile } from './support/files';
import { runCli } from './support/cli';

const CHILD = path.join(__dirname, 'children', 'collect-once.ts');
/** Debian's `nobody`. */
const NOBODY = { uid: 65534, gid: 65534 };

describe('collect: a directory the collector may not search', function () {
  this.timeout(60_000);
  let dir: string;
  let user: { uid?: number; gid?: number };

  before(function () {
    const root = process.getuid?.() === 0;
    user = root ? NOBODY : {};
    dir = makeTempDir('pm2-prom-unsearchable-');
    writeDbFile(path.join(dir, 'counter_101.db'), [{ metric: 'jobs', sample: 'jobs_total', value: 3 }]);
    writeDbFile(path.join(dir, 'counter_archive.db'), [{ metric: 'jobs', sample: 'jobs_total', value: 4 }]);
    // Owned by the user the collector runs as: it is the mode that keeps it out, as in the issue.
    if (root) fs.chownSync(dir, NOBODY.uid, NOBODY.gid);
    fs.chmodSync(dir, 0o000);
    // The child runs this checkout's code: a checkout inside a directory only root may enter (as
    // under `mktemp -d`) keeps nobody out of it before the directory under test does.
    const reach = spawnSync(process.execPath, ['-e', 'require("fs").accessSync(process.argv[1], require("fs").constants.R_OK)', CHILD], { ...user, encoding: 'utf8' });
    if (reach.status !== 0) {
      console.log(`      (nobody, whom the collector runs as, cannot read this checkout (${path.dirname(CHILD)}): not tested here; check it out where others may read)`);
      this.skip();
    }
    const probe = spawnSync(process.execPath, ['-e', 'require("fs").readdirSync(process.argv[1])', dir], { ...user, encoding: 'utf8' });
    if (probe.status === 0) {
      console.log(`      (this user lists a chmod 000 directory (${root ? 'nobody' : 'a capability'}): nothing to test)`);
      this.skip();
    }
  });
  after(() => {
    fs.chmodSync(dir, 0o700);
    removeDir(dir);
  });

  it('collect() warns, counts the directory in its health and returns what it could', () => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', CHILD, dir], { ...user, encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    const outcome = JSON.parse(child.stdout) as { thrown?: string; families: string[]; warnings: string[]; health: Record<string, number> };
    assert.equal(outcome.thrown, undefined, 'collect() does not throw');
    assert.deepEqual(outcome.families, []);
    assert.deepEqual(outcome.warnings, [`cannot list metrics directory ${dir}: EACCES: permission denied, scandir '${dir}'`]);
    assert.equal(outcome.health.pm2_prom_multiproc_collector_unreadable_directories, 1);
    assert.equal(outcome.health.pm2_prom_multiproc_collector_files, 0);
  });

  it('the CLI says why on stderr and exits 1, with no stack trace', () => {
    const result = runCli(['collect', dir], user);
    assert.equal(result.stderr, `pm2-prom-multiproc: cannot list metrics directory ${dir}: EACCES: permission denied, scandir '${dir}'\n`);
    assert.equal(result.stdout, '');
    assert.equal(result.status, 1);
  });
});

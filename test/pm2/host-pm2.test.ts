// The module borrows pm2 and @pm2/io from the PM2 that runs it (the package depends on neither):
// found from process.argv[1], PM2's container script. Under a real daemon this is exercised by
// every test/pm2 test; here, the finding itself and the error outside PM2.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { hostPm2, pm2PackageOf } from '../../src/pm2/host-pm2';
import { makeTempDir } from '../server/support';

const PM2_ROOT = path.dirname(require.resolve('pm2/package.json'));
const PM2_VERSION = (JSON.parse(fs.readFileSync(path.join(PM2_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

describe('the host PM2', () => {
  it('is the pm2 package holding the container script PM2 starts a module with', () => {
    for (const container of ['ProcessContainerFork.js', 'ProcessContainer.js']) {
      assert.deepEqual(pm2PackageOf(path.join(PM2_ROOT, 'lib', container)), { root: PM2_ROOT, version: PM2_VERSION });
    }
  });

  it('is found through a symbolic link, as a global install links its bin', () => {
    const dir = makeTempDir('pm2-link');
    try {
      const link = path.join(dir, 'ProcessContainerFork.js');
      fs.symlinkSync(path.join(PM2_ROOT, 'lib', 'ProcessContainerFork.js'), link);
      assert.deepEqual(pm2PackageOf(link), { root: PM2_ROOT, version: PM2_VERSION });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is nothing for a script outside PM2, a missing file or no script', () => {
    assert.equal(pm2PackageOf(require.resolve('mocha/bin/mocha.js')), undefined);
    assert.equal(pm2PackageOf('/no/such/file.js'), undefined);
    assert.equal(pm2PackageOf(undefined), undefined);
  });

  it('refuses to load outside PM2, saying how the module is started', () => {
    assert.throws(() => hostPm2(), {
      message: `the PM2 module must be started by PM2 (pm2 install pm2-prom-multiproc, or npm start in a clone): process.argv[1] (${process.argv[1]}) lies in no pm2 package`,
    });
  });
});

// The module under a real PM2 daemon (its own PM2_HOME), configured only with `pm2 set`: it refuses
// a world-writable directory with one clear log line, then serves HTTPS with a hashed basic auth.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { hashBasicAuthSetting } from '../../src/server/basic-auth';
import { ensureBuilt, freePort, startSleeper, waitFor, writeCounter } from '../server/support';
import { IsolatedPm2 } from '../pm2/support';
import { basicAuthHeader, makeSelfSignedCertificate, makeTempDir, removeDir, request } from './support';

const MODULE = 'pm2-prom-multiproc';

describe('reliability: access settings under a real PM2 daemon', function () {
  this.timeout(180_000);
  const pm2 = new IsolatedPm2();
  const scratch = makeTempDir('pm2-access');
  let port: number;
  let owner: ChildProcess | undefined;

  before(async () => {
    ensureBuilt();
    port = await freePort();
    pm2.run('set', `${MODULE}:host`, '127.0.0.1');
    pm2.run('set', `${MODULE}:port`, String(port));
  });
  after(() => {
    owner?.kill('SIGKILL');
    try {
      pm2.kill();
    } finally {
      removeDir(scratch);
    }
  });

  it('refuses a world-writable metrics directory, then serves HTTPS with a hashed password', async () => {
    const shared = path.join(scratch, 'shared');
    fs.mkdirSync(shared);
    fs.chmodSync(shared, 0o777);
    pm2.run('set', `${MODULE}:dir`, shared);
    pm2.startFromEcosystem(MODULE);
    const refusal = await waitFor('the refusal in the module log', () =>
      pm2.logs(MODULE).split('\n').find((line) => line.includes('is writable by every user without the sticky bit')),
    );
    assert.match(refusal, new RegExp(`metrics directory "${shared}" .*run chmod o-w`));

    const dir = path.join(scratch, 'metrics');
    fs.mkdirSync(dir, { mode: 0o700 });
    // Owned by a live process, so the module's safe clean keeps it.
    const sleeper = await startSleeper();
    owner = sleeper;
    writeCounter(dir, sleeper.pid, 'guarded_jobs', {}, 5);
    const { certPath, keyPath } = makeSelfSignedCertificate(scratch);
    const ca = fs.readFileSync(certPath);
    const setting = hashBasicAuthSetting('prom', 'hunter2:x');
    pm2.run('set', `${MODULE}:basic_auth_hash`, setting);
    pm2.run('set', `${MODULE}:tls_cert`, certPath);
    pm2.run('set', `${MODULE}:tls_key`, keyPath);
    pm2.run('set', `${MODULE}:dir`, dir);

    const url = `https://127.0.0.1:${port}/metrics`;
    const scrape = await waitFor('the module to serve HTTPS with the new settings', async () => {
      const answer = await request(url, { ca, authorization: basicAuthHeader('prom:hunter2:x') });
      return answer.status === 200 && answer.body.includes('guarded_jobs_total') ? answer : undefined;
    }, 60_000).catch((error: Error) => {
      throw new Error(`${error.message}\n${JSON.stringify(pm2.list())}\nmodule log:\n${pm2.logs(MODULE).split('\n').slice(-15).join('\n')}`);
    });
    assert.match(scrape.body, /^guarded_jobs_total 5$/m);
    assert.equal((await request(url, { ca, authorization: basicAuthHeader('prom:hunter2') })).status, 401);
    assert.equal((await request(url, { ca })).status, 401);
    assert.doesNotMatch(pm2.logs(MODULE), /hunter2/, 'the password never reaches the logs');
  });
});

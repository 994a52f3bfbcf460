// Bad settings under a real PM2 daemon: each is logged in one clear line and the module waits
// instead of crash-looping; `pm2 set` fixes it. Then the real `pm2 install .` of this folder.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import path from 'node:path';
import { ensureBuilt, freePort, httpGet, makeTempDir, sampleValue, waitFor } from '../server/support';
import { IsolatedPm2 } from './support';

const MODULE = 'pm2-prom-multiproc';

describe('pm2: settings, bad settings and `pm2 install .`', function () {
  const pm2 = new IsolatedPm2();
  const scratch = makeTempDir('settings');
  let blocker: net.Server;
  let busyPort: number;
  let port: number;

  const moduleProcess = () => pm2.list().find((p) => p.name === MODULE);
  const healthz = async (): Promise<number> => (await httpGet(`http://127.0.0.1:${port}/healthz`)).status;
  const logLine = (pattern: RegExp): Promise<string> =>
    waitFor(`a log line matching ${pattern}`, () => pm2.logs(MODULE).split('\n').find((line) => pattern.test(line)));

  /** The module keeps the same pid, online, for a while: no crash loop. */
  async function assertSteady(): Promise<void> {
    const before = moduleProcess();
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const after = moduleProcess();
    assert.equal(after?.status, 'online');
    assert.equal(after?.pid, before?.pid);
    assert.equal(after?.restarts, before?.restarts);
  }

  before(async () => {
    ensureBuilt();
    blocker = net.createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    busyPort = (blocker.address() as net.AddressInfo).port;
    port = await freePort();
    pm2.run('set', `${MODULE}:host`, '127.0.0.1');
    pm2.run('set', `${MODULE}:port`, String(busyPort));
    pm2.startFromEcosystem(MODULE);
  });

  after(() => {
    blocker.close();
    pm2.kill();
    fs.rmSync(scratch, { recursive: true, force: true });
  });

  it('logs a port in use and keeps running, then serves once `pm2 set` gives a free port', async () => {
    const line = await logLine(/cannot listen/);
    assert.equal(
      line,
      `${MODULE}: error: cannot listen on 127.0.0.1:${busyPort}: the port is already in use by another process; ` +
        `retrying every 15 s (or choose another port: pm2 set ${MODULE}:port NUMBER)`,
    );
    await assertSteady();
    pm2.run('set', `${MODULE}:port`, String(port));
    await waitFor('the module on the free port', async () => ((await healthz()) === 200 ? true : undefined));
  });

  it('lists every bad setting in one line, never echoing the password, and waits', async () => {
    pm2.run('set', `${MODULE}:dir`, 'relative/metrics');
    pm2.run('set', `${MODULE}:basic_auth`, 'hunter2');
    const line = await logLine(/basic_auth must be/);
    assert.equal(
      line,
      `${MODULE}: error: invalid settings: "dir" must be an absolute path (or empty for the default), got "relative/metrics" ` +
        `(pm2 set ${MODULE}:dir VALUE); basic_auth must be "user:password" (no ":" found) (pm2 set ${MODULE}:basic_auth user:password); ` +
        'not serving until the settings are fixed',
    );
    assert.doesNotMatch(pm2.logs(MODULE), /hunter2/);
    await assertSteady();
  });

  it('logs an unusable directory and serves the rest, behind basic auth', async () => {
    const notADirectory = path.join(scratch, 'plain-file');
    fs.writeFileSync(notADirectory, '');
    pm2.run('set', `${MODULE}:dir`, notADirectory);
    pm2.run('set', `${MODULE}:basic_auth`, 'prom:hunter2');
    await waitFor('the module back', async () => ((await healthz()) === 200 ? true : undefined));
    await logLine(new RegExp(`"${notADirectory}": not a directory; this directory is not served until it is usable`));
    const url = `http://127.0.0.1:${port}/metrics`;
    assert.equal((await httpGet(url)).status, 401);
    const authorized = await httpGet(url, { authorization: `Basic ${Buffer.from('prom:hunter2').toString('base64')}` });
    assert.equal(authorized.status, 200);
    assert.equal(sampleValue(authorized.text, 'pm2_prom_multiproc_directories'), 0);
    assert.ok(authorized.text.includes(`pm2_up{id="0",name="${MODULE}"`));
  });

  it('installs from this folder with `pm2 install .` as a real PM2 module, keeping its settings', async () => {
    pm2.run('delete', MODULE);
    pm2.run('set', `${MODULE}:dir`, path.join(scratch, 'metrics'));
    pm2.run('install', '.');
    await waitFor('the installed module', async () => ((await healthz()) === 200 ? true : undefined));
    const installed = moduleProcess();
    assert.equal(installed?.isModule, true);
    assert.equal(fs.statSync(path.join(scratch, 'metrics')).mode & 0o777, 0o700);
  });
});

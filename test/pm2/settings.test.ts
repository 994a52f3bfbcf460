// Bad settings under a real PM2 daemon: each is logged in one clear line and the module keeps
// serving with its last good settings instead of crash-looping; `pm2 set` fixes it. Reconcile,
// discovery, then the real `pm2 install .`.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import { once } from 'node:events';
import path from 'node:path';
import {
  deadPid,
  ensureBuilt,
  freePort,
  httpGet,
  makeTempDir,
  sampleValue,
  sendRequests,
  waitFor,
  writeCounter,
  writeGauge,
} from '../server/support';
import { IsolatedPm2 } from './support';

const MODULE = 'pm2-prom-multiproc';

describe('pm2: settings, bad settings and `pm2 install .`', function () {
  // Real daemons on a shared CI machine: PM2 commands take a second or more each.
  this.timeout(180_000);
  const pm2 = new IsolatedPm2();
  const scratch = makeTempDir('settings');
  const moduleDir = path.join(scratch, 'metrics');
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

  it('lists every bad setting in one line, never echoing the password, and keeps serving with the last good settings', async () => {
    pm2.run('set', `${MODULE}:dir`, 'relative/metrics');
    pm2.run('set', `${MODULE}:basic_auth`, 'hunter2');
    const line = await logLine(/basic_auth must be/);
    assert.match(
      line,
      new RegExp(
        `^${MODULE}: error: invalid settings: "dir" must be an absolute path \\(or empty for the default\\), got "relative/metrics" ` +
          `\\(pm2 set ${MODULE}:dir VALUE\\); basic_auth must be "user:password" \\(no ":" found\\) \\(pm2 set ${MODULE}:basic_auth user:password\\); ` +
          'these settings are refused: serving with the last good settings \\(of [^;]+; the refused ones differ in basic_auth, dir\\) until they are fixed$',
      ),
    );
    assert.doesNotMatch(pm2.logs(MODULE), /hunter2/);
    await assertSteady();
    assert.equal(await healthz(), 200, 'still serving');
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

  it('reconciles on its timer: a dead writer that PM2 never ran loses its live gauge', async () => {
    pm2.run('set', `${MODULE}:dir`, moduleDir);
    pm2.run('set', `${MODULE}:basic_auth`, '');
    pm2.run('set', `${MODULE}:reconcile_interval`, '1');
    // `pm2 set` returns once the module is restarted; when it answers, its start-up reconcile is
    // done, so what follows can only be caught by the timer.
    await waitFor('the module with its new settings', async () => ((await healthz()) === 200 ? true : undefined));
    await logLine(new RegExp(`metrics directory ${moduleDir} created`));
    assert.equal(fs.statSync(moduleDir).mode & 0o777, 0o700);
    const dead = await deadPid();
    writeGauge(moduleDir, dead, 'livesum', 'outsider_busy', 1);
    writeCounter(moduleDir, dead, 'outsider_jobs', {}, 7);
    await waitFor('the reconcile', () => (fs.existsSync(path.join(moduleDir, `gauge_livesum_${dead}.db`)) ? undefined : true));
    await logLine(new RegExp(`pid ${dead} is gone \\(reconcile\\): its live gauges are removed from ${moduleDir}`));
    const exposition = (await httpGet(`http://127.0.0.1:${port}/metrics`)).text;
    assert.equal(sampleValue(exposition, 'outsider_jobs_total'), 7);
    assert.equal(sampleValue(exposition, 'outsider_busy'), undefined);
  });

  it('discovers every app directory, labels samples by app, and warns about a cluster without one', async () => {
    const otherDir = path.join(scratch, 'other');
    fs.mkdirSync(otherDir, { mode: 0o700 });
    const [otherPort, barePort] = [await freePort(), await freePort()];
    const demo = path.join('examples', 'demo-app.js');
    pm2.runWithEnv({ PORT: String(otherPort), PROMETHEUS_MULTIPROC_DIR: otherDir }, 'start', demo, '--name', 'other', '-i', '1');
    pm2.runWithEnv({ PORT: String(barePort) }, 'start', demo, '--name', 'bare', '-i', '1');
    await sendRequests(`http://127.0.0.1:${otherPort}/`, 3);
    const exposition = (await httpGet(`http://127.0.0.1:${port}/metrics`)).text;
    assert.equal(sampleValue(exposition, 'pm2_prom_multiproc_directories'), 2);
    assert.equal(
      sampleValue(exposition, 'demo_http_requests_total', { method: 'GET', route: '/', status: '200', pm2_app: 'other' }),
      3,
    );
    assert.equal(sampleValue(exposition, 'outsider_jobs_total'), 7, 'the default directory has no app: no label');
    await logLine(/warning: app "bare" runs in cluster mode without PROMETHEUS_MULTIPROC_DIR/);
  });
  it('installs from this folder with `pm2 install .` as a real PM2 module, keeping its settings', async () => {
    pm2.run('delete', MODULE);
    pm2.run('install', '.');
    await waitFor('the installed module', async () => ((await healthz()) === 200 ? true : undefined));
    const installed = moduleProcess();
    assert.equal(installed?.isModule, true);
  });

});

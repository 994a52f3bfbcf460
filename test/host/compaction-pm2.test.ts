// The PM2 module compacts on its reconcile schedule: under a real PM2 daemon, workers of the demo
// app are SIGKILLed again and again; their files end in archives and no request is lost.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isProcessAlive } from '../../src/store';
import { parseFileName } from '../../src/store/format';
import { IsolatedPm2 } from '../pm2/support';
import { ensureBuilt, freePort, httpGet, sampleValue, sendRequests, waitFor } from '../server/support';

const MODULE = 'pm2-prom-multiproc';
const REQUESTS = { method: 'GET', route: '/', status: '200', pm2_app: 'demo-app' };
const WORKERS = 2;

describe('pm2: the module compacts dead workers on its reconcile schedule', function () {
  this.timeout(240_000);
  const pm2 = new IsolatedPm2({ DEMO_INSTANCES: String(WORKERS) });
  const dir = path.join(pm2.home, 'prom-multiproc');
  let metricsUrl: string;
  let appUrl: string;

  const requestsTotal = async (): Promise<number | undefined> => sampleValue((await httpGet(metricsUrl)).text, 'demo_http_requests_total', REQUESTS);

  /** Owners of the demo app's counter files, alive or not (archives excluded). */
  const counterOwners = (): number[] =>
    fs
      .readdirSync(dir)
      .map((name) => parseFileName(name))
      .filter((name) => name?.type === 'counter' && name.pid !== undefined)
      .map((name) => name?.pid ?? 0);

  before(async () => {
    ensureBuilt();
    const metricsPort = await freePort();
    const appPort = await freePort();
    pm2.extraEnvSet({ DEMO_PORT: String(appPort) });
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    appUrl = `http://127.0.0.1:${appPort}/`;
    pm2.run('set', `${MODULE}:port`, String(metricsPort));
    pm2.run('set', `${MODULE}:reconcile_interval`, '1');
    pm2.startFromEcosystem(MODULE);
    await waitFor('the module to answer /healthz', async () => ((await httpGet(metricsUrl.replace('/metrics', '/healthz'))).status === 200 ? true : undefined));
    pm2.startFromEcosystem('demo-app');
  });

  after(() => pm2.kill());

  it('folds every killed worker into the archives and keeps the exact total', async () => {
    let expected = 0;
    for (let round = 0; round < 3; round++) {
      await waitFor(`${WORKERS} live demo workers`, () => (counterOwners().filter(isProcessAlive).length === WORKERS ? true : undefined), 60_000);
      await sendRequests(appUrl, 50);
      expected += 50;
      const [victim] = counterOwners().filter(isProcessAlive);
      process.kill(victim, 'SIGKILL');
      await waitFor(`pid ${victim}'s files to be compacted`, () => (counterOwners().includes(victim) ? undefined : true), 60_000);
      assert.equal(await requestsTotal(), expected, `after worker ${victim} was killed and compacted`);
    }
    // The workers recorded their app: their files went into its archive, and keep its label.
    assert.ok(fs.existsSync(path.join(dir, 'counter_archive@demo-app.db')), fs.readdirSync(dir).join(' '));
    assert.deepEqual(counterOwners().filter((pid) => !isProcessAlive(pid)), [], 'no dead worker keeps a counter file');
    assert.match(pm2.logs(MODULE), /compacted .*prom-multiproc: \d+ files of dead pids folded into \d+ archives/);
    await sendRequests(appUrl, 10);
    assert.equal(await requestsTotal(), expected + 10);
  });
});

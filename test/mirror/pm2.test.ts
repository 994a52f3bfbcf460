// The zero-change path under a real PM2: an unchanged prom-client app in cluster mode (4
// instances) with only node_args added, served merged by the module's /metrics.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IsolatedPm2 } from '../pm2/support';
import { ensureBuilt, freePort, httpGet, sampleLines, sampleValue, waitFor } from '../server/support';
import { createApp, installPackageImage } from './package-image';
import { tempDir } from './store-files';

const MODULE = 'pm2-prom-multiproc';
const APP = 'mirrored-app';
const REQUESTS_PER_WORKER = 10;

function pidsOf(exposition: string, name: string): number[] {
  return sampleLines(exposition, name)
    .map((line) => Number(/pid="(\d+)"/.exec(line)?.[1]))
    .sort((a, b) => a - b);
}

describe('register preload under PM2 (cluster mode, 4 instances, the module serving /metrics)', function () {
  this.timeout(180_000);
  const pm2 = new IsolatedPm2();
  let root: string;
  let metricsUrl: string;

  const scrape = async (): Promise<string> => (await httpGet(metricsUrl)).text;
  const appPids = (): number[] =>
    pm2
      .list()
      .filter((p) => p.name === APP && p.status === 'online')
      .map((p) => p.pid)
      .sort((a, b) => a - b);

  /** The stderr of every instance: cluster mode logs to `NAME-error-INSTANCE.log`. */
  const appErrors = (): string => {
    const logs = path.join(pm2.home, 'logs');
    return fs
      .readdirSync(logs)
      .filter((name) => name.startsWith(`${APP}-error`))
      .map((name) => fs.readFileSync(path.join(logs, name), 'utf8'))
      .join('');
  };

  before(async () => {
    ensureBuilt();
    root = tempDir('mirror-pm2-');
    installPackageImage(root);
    const appDir = createApp(root, 'app', 'repo');
    // The app's deployment: the one line the zero-change path adds is node_args. PM2 starts cluster
    // workers in its daemon's directory, so the preload is given by absolute path.
    const settings = {
      name: APP,
      script: 'app.js',
      cwd: appDir,
      exec_mode: 'cluster',
      instances: 4,
      env: {
        PROMETHEUS_MULTIPROC_DIR: path.join(pm2.home, 'prom-multiproc'),
        APP_REQUESTS: String(REQUESTS_PER_WORKER),
        APP_STAY: '1',
      },
    };
    fs.writeFileSync(
      path.join(appDir, 'ecosystem.config.js'),
      `module.exports = { apps: [{ ...${JSON.stringify(settings)}, node_args: ['--require', require.resolve('pm2-prom-multiproc/register')] }] };\n`,
    );
    const port = await freePort();
    metricsUrl = `http://127.0.0.1:${port}/metrics`;
    pm2.run('set', `${MODULE}:port`, String(port));
    pm2.run('set', `${MODULE}:reconcile_interval`, '1');
    pm2.startFromEcosystem(MODULE);
    await waitFor('the module to answer /healthz', async () => ((await httpGet(metricsUrl.replace('/metrics', '/healthz'))).status === 200 ? true : undefined));
    pm2.run('start', path.join(appDir, 'ecosystem.config.js'));
  });

  afterEach(async function () {
    if (this.currentTest?.state !== 'failed') return;
    // What a reader of a failure needs: the app's PM2 logs, the process list, the last scrape.
    console.error(`--- ${APP} stderr:\n${appErrors()}\n--- pm2 jlist: ${JSON.stringify(pm2.list())}`);
    console.error(`--- /metrics:\n${await scrape().catch((error: Error) => error.message)}`);
  });

  after(() => {
    pm2.kill();
    fs.rmSync(root, { recursive: true, force: true });
  });

  it("serves the exact totals of all workers and each live worker's runtime metrics; a killed worker's counts stay", async () => {
    const perRoute = REQUESTS_PER_WORKER / 2;
    let exposition = await waitFor('4 workers mirrored', async () => {
      const text = await scrape();
      return sampleValue(text, 'app_requests_total', { route: '/a', pm2_app: APP }) === 4 * perRoute && pidsOf(text, 'process_resident_memory_bytes').length === 4
        ? text
        : undefined;
    });
    let pids = appPids();
    assert.equal(pids.length, 4);
    assert.deepEqual(pidsOf(exposition, 'process_resident_memory_bytes'), pids);
    assert.deepEqual(pidsOf(exposition, 'nodejs_heap_size_used_bytes'), pids);
    assert.equal(sampleValue(exposition, 'app_payload_bytes_count', { pm2_app: APP }), 4 * REQUESTS_PER_WORKER);

    const totals: number[] = [];
    process.kill(pids[0], 'SIGKILL');
    exposition = await waitFor('PM2 to restart the killed worker and the module to drop its live gauges', async () => {
      const text = await scrape();
      totals.push(sampleValue(text, 'app_requests_total', { route: '/a', pm2_app: APP }) ?? 0);
      const now = appPids();
      return now.length === 4 && !now.includes(pids[0]) && sampleValue(text, 'app_requests_total', { route: '/a', pm2_app: APP }) === 5 * perRoute &&
        pidsOf(text, 'process_resident_memory_bytes').join() === now.join()
        ? text
        : undefined;
    });
    assert.ok(totals.every((total, i) => i === 0 || total >= totals[i - 1]), `totals went down: ${totals.join(' ')}`);
    pids = appPids();
    assert.deepEqual(pidsOf(exposition, 'process_resident_memory_bytes'), pids);
    assert.equal(appErrors(), '');
  });
});

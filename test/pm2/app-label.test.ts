// pm2_app under a real PM2 daemon with a real Prometheus scraping every second, while apps start,
// restart and are deleted: a Node app in cluster mode, a second one with its own directory, a
// Python app (Python's own client, which writes no owner record) in the first app's directory, and
// an app that sets a pm2_app label itself. Every series keeps the labels it started with (no
// churn), is credited to the app that wrote it, and sums to exactly the requests sent.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ensureBuilt, freePort, httpGet, makeTempDir, sampleLines, sendRequests, waitFor } from '../server/support';
import { PrometheusServer, skipWithoutPrometheus } from '../support/prometheus';
import { NO_PYTHON_CLIENT, PYTHON, pythonClientEnv } from '../support/python-client';
import { IsolatedPm2 } from './support';

const MODULE = 'pm2-prom-multiproc';
const DEMO = path.join('examples', 'demo-app.js');
const FIXTURES = path.join(__dirname, 'fixtures');

describe('pm2: every sample is credited to the app that wrote it (pm2_app)', function () {
  this.timeout(300_000);
  const pm2 = new IsolatedPm2();
  const shared = path.join(pm2.home, 'prom-multiproc');
  const scratch = makeTempDir('app-label');
  const ownDir = path.join(scratch, 'app-b');
  const sent = { app: 0, appB: 0, py: 0 };
  const ports = { metrics: 0, app: 0, appB: 0, py: 0 };
  let prometheus: PrometheusServer | undefined;
  let startedAt = 0;
  let pythonRan = false;

  const scrape = async (): Promise<string> => (await httpGet(`http://127.0.0.1:${ports.metrics}/metrics`)).text;
  /** The sample lines of a metric on the module's /metrics now. */
  const lines = async (name: string): Promise<string[]> => sampleLines(await scrape(), name).sort();
  const send = async (port: number, count: number): Promise<void> => sendRequests(`http://127.0.0.1:${port}/`, count);
  /** Waits until an app just started answers; that one request is counted as sent. */
  const answering = async (what: string, port: number): Promise<number> =>
    waitFor(what, async () => (await httpGet(`http://127.0.0.1:${port}/`).then((response) => (response.status === 200 ? 1 : undefined), () => undefined)));
  const appLine = (app: string, total: number): string => `demo_http_requests_total{method="GET",route="/",status="200",pm2_app="${app}"} ${total}`;

  before(async function () {
    skipWithoutPrometheus(this);
    ensureBuilt();
    fs.mkdirSync(ownDir, { mode: 0o700 });
    for (const key of Object.keys(ports) as Array<keyof typeof ports>) ports[key] = await freePort();
    pm2.run('set', `${MODULE}:port`, String(ports.metrics));
    // A compaction every second: dead processes' files move into archives while Prometheus scrapes.
    pm2.run('set', `${MODULE}:reconcile_interval`, '1');
    pm2.startFromEcosystem(MODULE);
    await waitFor('the module', async () => ((await httpGet(`http://127.0.0.1:${ports.metrics}/healthz`)).status === 200 ? true : undefined));
    prometheus = await PrometheusServer.start(['  - job_name: pm2', `    static_configs: [{ targets: ["127.0.0.1:${ports.metrics}"] }]`]);
    startedAt = Date.now();
  });

  after(async () => {
    await prometheus?.stop();
    pm2.kill(scratch);
  });

  it('labels one app alone, and keeps its series as they were when a second app starts', async () => {
    pm2.runWithEnv({ PORT: String(ports.app), PROMETHEUS_MULTIPROC_DIR: shared }, 'start', DEMO, '--name', 'app', '-i', '2');
    sent.app += await answering('the app', ports.app);
    await send(ports.app, 99);
    sent.app += 99;
    assert.deepEqual(await lines('demo_http_requests_total'), [appLine('app', 100)], 'one app: labelled all the same');

    pm2.runWithEnv({ PORT: String(ports.appB), PROMETHEUS_MULTIPROC_DIR: ownDir }, 'start', DEMO, '--name', 'app-b', '-i', '1');
    sent.appB += await answering('the second app', ports.appB);
    await send(ports.appB, 49);
    sent.appB += 49;
    await send(ports.app, 30);
    sent.app += 30;
    assert.deepEqual(await lines('demo_http_requests_total'), [appLine('app', 130), appLine('app-b', 50)]);
  });

  it("credits a Python app's files to it in the first app's directory, over its restart, a module restart and its deletion", async function () {
    const pythonEnv = pythonClientEnv();
    if (pythonEnv === undefined) {
      console.log(`      (skipped: ${NO_PYTHON_CLIENT})`);
      this.skip();
    }
    pythonRan = true;
    const env = { PORT: String(ports.py), PROMETHEUS_MULTIPROC_DIR: shared, PYTHONPATH: pythonEnv.PYTHONPATH ?? '' };
    pm2.runWithEnv(env, 'start', path.join(FIXTURES, 'py_app.py'), '--name', 'pyapp', '--interpreter', PYTHON);
    const pyLine = (total: number): string => `py_requests_total{route="/",pm2_app="pyapp"} ${total}`;
    sent.py += await answering('the Python app', ports.py);
    await send(ports.py, 39);
    sent.py += 39;
    assert.deepEqual(await lines('py_requests_total'), [pyLine(40)]);
    assert.deepEqual(await lines('demo_http_requests_total'), [appLine('app', 130), appLine('app-b', 50)], 'the Node app is untouched');

    const [before] = pm2.list().filter((process) => process.name === 'pyapp');
    pm2.run('restart', 'pyapp');
    sent.py += await answering('the Python app back', ports.py);
    await send(ports.py, 24);
    sent.py += 24;
    // Its first process is dead: the module folds its files into the app's own archive.
    await waitFor('the dead Python process compacted', () => (fs.existsSync(path.join(shared, `counter_${before.pid}.db`)) ? undefined : true));
    assert.ok(fs.existsSync(path.join(shared, 'counter_archive@pyapp.db')), fs.readdirSync(shared).join(' '));
    assert.deepEqual(await lines('py_requests_total'), [pyLine(65)]);

    pm2.run('restart', MODULE);
    const afterRestart = await waitFor('the module back', async () => {
      const response = await httpGet(`http://127.0.0.1:${ports.metrics}/metrics`).catch(() => undefined);
      return response?.status === 200 ? sampleLines(response.text, 'py_requests_total') : undefined;
    });
    assert.deepEqual(afterRestart, [pyLine(65)], 'a restarted module credits the same app');

    const [last] = pm2.list().filter((process) => process.name === 'pyapp');
    pm2.run('delete', 'pyapp');
    await waitFor('the deleted Python app compacted', () => (fs.existsSync(path.join(shared, `counter_${last.pid}.db`)) ? undefined : true));
    assert.deepEqual(await lines('py_requests_total'), [pyLine(65)], 'deleted: its counter keeps counting, as its own');
    assert.deepEqual(await lines('demo_http_requests_total'), [appLine('app', 130), appLine('app-b', 50)]);
  });

  it('keeps a pm2_app label the app set itself as exported_pm2_app, and restarted apps keep their labels', async () => {
    pm2.runWithEnv({ PROMETHEUS_MULTIPROC_DIR: shared }, 'start', path.join(FIXTURES, 'own-label-app.js'), '--name', 'jobs');
    const jobs = await waitFor('the jobs app', async () => {
      const found = await lines('jobs_total');
      return found.length === 2 ? found : undefined;
    });
    assert.deepEqual(jobs, ['jobs_total{exported_pm2_app="app-a",pm2_app="jobs"} 5', 'jobs_total{exported_pm2_app="app-b",pm2_app="jobs"} 7']);

    pm2.run('restart', 'app');
    sent.app += await answering('the restarted app', ports.app);
    await send(ports.app, 19);
    sent.app += 19;
    assert.deepEqual(await lines('demo_http_requests_total'), [appLine('app', sent.app), appLine('app-b', sent.appB)]);
  });

  it('left Prometheus one series per app and metric, never reset, each summing to the requests sent', async () => {
    const server = prometheus as PrometheusServer;
    const expectNow = async (expression: string, expected: number): Promise<void> => {
      await waitFor(`${expression} == ${expected} in Prometheus`, async () => ((await server.value(expression)) === expected ? true : undefined), 30_000).catch(
        async (error: Error) => {
          throw new Error(`${error.message}: ${JSON.stringify(await server.query(expression))}`);
        },
      );
    };
    await expectNow('sum(demo_http_requests_total{pm2_app="app"})', sent.app);
    await expectNow('sum(demo_http_requests_total{pm2_app="app-b"})', sent.appB);
    const since = Math.floor(startedAt / 1000);
    /** Every label set a metric had since the test began, without the target's own labels. */
    const labelSets = async (selector: string): Promise<string[]> =>
      (await server.series(selector, since))
        .map((labels) => JSON.stringify(Object.fromEntries(Object.entries(labels).filter(([name]) => name !== 'job' && name !== 'instance').sort())))
        .sort();
    assert.deepEqual(await labelSets('demo_http_requests_total'), [
      JSON.stringify({ __name__: 'demo_http_requests_total', method: 'GET', pm2_app: 'app', route: '/', status: '200' }),
      JSON.stringify({ __name__: 'demo_http_requests_total', method: 'GET', pm2_app: 'app-b', route: '/', status: '200' }),
    ]);
    assert.deepEqual(await labelSets('jobs_total'), [
      JSON.stringify({ __name__: 'jobs_total', exported_pm2_app: 'app-a', pm2_app: 'jobs' }),
      JSON.stringify({ __name__: 'jobs_total', exported_pm2_app: 'app-b', pm2_app: 'jobs' }),
    ]);
    assert.equal(await server.value('sum(jobs_total)'), 12);
    const range = `${Math.ceil((Date.now() - startedAt) / 1000) + 5}s`;
    // A double count at any moment would stay in the highest total seen (which never equals the
    // requests sent then); a dropped or moved series would show as a reset.
    await expectNow(`max_over_time(sum(demo_http_requests_total{pm2_app="app"})[${range}:1s])`, sent.app);
    assert.equal(await server.value(`sum(resets(demo_http_requests_total[${range}]))`), 0);
    if (pythonRan) {
      await expectNow('sum(py_requests_total)', sent.py);
      assert.deepEqual(await labelSets('py_requests_total'), [JSON.stringify({ __name__: 'py_requests_total', pm2_app: 'pyapp', route: '/' })]);
      await expectNow(`max_over_time(sum(py_requests_total)[${range}:1s])`, sent.py);
      assert.equal(await server.value(`sum(resets(py_requests_total[${range}]))`), 0);
    }
  });
});

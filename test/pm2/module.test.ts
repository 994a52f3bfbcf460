// The module under a real PM2 daemon with the demo app of ecosystem.config.js in cluster mode:
// exact sums, SIGKILLed workers, module restarts, a restart of everything, a real Prometheus.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ensureBuilt, freePort, httpGet, sampleLines, sampleValue, sendRequests, waitFor } from '../server/support';
import { isProcessAlive } from '../../src/store';
import { PrometheusServer, skipWithoutPrometheus } from '../support/prometheus';
import { IsolatedPm2, type ListedProcess } from './support';
import { decodeFamilies, labelsOf, nativeOf } from '../support/protobuf';

const MODULE = 'pm2-prom-multiproc';
// Every sample of the demo app's files carries the app that wrote it, one app or many.
const REQUESTS = { method: 'GET', route: '/', status: '200', pm2_app: 'demo-app' };
/** The module's @pm2/io metrics as PM2's process view would show them: its own health again. */
const HEALTH_READ_BACK = /^pm2_(scrape_duration|directories_served|files_read|corrupt_files|dead_pids_marked)[{ ]/m;
/** What Prometheus 2.42 sends with --enable-feature=native-histograms. */
const PROMETHEUS_NATIVE_ACCEPT =
  'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

function livePids(exposition: string): string[] {
  return sampleLines(exposition, 'demo_http_requests_in_flight').map((line) => /pid="(\d+)"/.exec(line)?.[1] ?? '');
}

describe('pm2: the module with the demo app in cluster mode (4 instances)', function () {
  // Real daemons on a shared CI machine: PM2 commands take a second or more each.
  this.timeout(180_000);
  const pm2 = new IsolatedPm2({ DEMO_INSTANCES: '4' });
  let metricsUrl: string;
  let appUrl: string;
  let metricsPort: number;
  let expected = 0;

  const scrape = async (): Promise<string> => (await httpGet(metricsUrl)).text;
  const requestsTotal = async (): Promise<number | undefined> => sampleValue(await scrape(), 'demo_http_requests_total', REQUESTS);
  const demoWorkers = (): ListedProcess[] => pm2.list().filter((p) => p.name === 'demo-app');

  async function startModule(): Promise<void> {
    pm2.startFromEcosystem(MODULE);
    await waitFor('the module to answer /healthz', async () => ((await httpGet(metricsUrl.replace('/metrics', '/healthz'))).status === 200 ? true : undefined));
  }

  async function startDemo(): Promise<void> {
    pm2.startFromEcosystem('demo-app');
    await waitFor('4 demo workers with their live gauge', async () => (livePids(await scrape()).length === 4 ? true : undefined));
  }

  /** The demo workers alive now, from their live gauge files (cheaper than asking PM2). */
  function workerPidsOnDisk(): number[] {
    const dir = path.join(pm2.home, 'prom-multiproc');
    return fs
      .readdirSync(dir)
      .map((name) => /^gauge_liveall_(\d+)\.db$/.exec(name)?.[1])
      .filter((pid): pid is string => pid !== undefined)
      .map(Number)
      .filter(isProcessAlive);
  }

  /** SIGKILLs one demo worker and waits until PM2 has restarted it; returns the dead pid. */
  async function killOneWorker(): Promise<number> {
    const [victim] = workerPidsOnDisk();
    process.kill(victim, 'SIGKILL');
    await waitFor('PM2 to restart the killed worker', () => {
      const pids = workerPidsOnDisk();
      return pids.length === 4 && !pids.includes(victim) ? true : undefined;
    });
    return victim;
  }

  before(async () => {
    ensureBuilt();
    metricsPort = await freePort();
    const appPort = await freePort();
    pm2.extraEnvSet({ DEMO_PORT: String(appPort) });
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    appUrl = `http://127.0.0.1:${appPort}/`;
    pm2.run('set', `${MODULE}:port`, String(metricsPort));
    // No periodic reconcile during these tests: a dead worker is marked by PM2's exit event, or by
    // the reconcile at module start (the timer has its own test in settings.test.ts).
    pm2.run('set', `${MODULE}:reconcile_interval`, '3600');
    await startModule();
    await startDemo();
  });

  after(() => pm2.kill());

  it('serves the exact sum of N requests spread over 4 workers, with the pm2-metrics process view', async () => {
    await sendRequests(appUrl, 400);
    expected = 400;
    const exposition = await scrape();
    assert.equal(sampleValue(exposition, 'demo_http_requests_total', REQUESTS), expected);
    assert.equal(sampleValue(exposition, 'demo_http_request_duration_seconds_count', { route: '/', pm2_app: 'demo-app' }), expected);
    const workers = demoWorkers();
    assert.equal(workers.length, 4);
    for (const worker of workers) {
      const labels = { id: String(worker.pmId), name: 'demo-app' };
      const line = sampleLines(exposition, 'pm2_up').find((l) => l.includes(`id="${labels.id}"`));
      assert.match(line ?? '', /^pm2_up\{id="\d+",name="demo-app",instance="\d",version="[^"]*",interpreter="node",node_version="[\d.]+"\} 1$/);
    }
    for (const name of ['pm2_cpu', 'pm2_memory', 'pm2_uptime', 'pm2_instances', 'pm2_restarts']) {
      assert.equal(sampleLines(exposition, name).length, 5, `${name}: 4 workers and the module`);
    }
    // @pm2/io metrics reach PM2 about a second after a process starts.
    await waitFor('@pm2/io heap metrics of 4 workers and the module', async () =>
      sampleLines(await scrape(), 'pm2_used_heap_size').length === 5 ? true : undefined,
    );
    assert.equal(sampleValue(exposition, 'pm2_prom_multiproc_directories'), 1);
    // Asked as Prometheus asks when it scrapes native histograms: protobuf, the same counts.
    const protobuf = await httpGet(metricsUrl, { accept: PROMETHEUS_NATIVE_ACCEPT, 'accept-encoding': 'gzip' });
    assert.equal(protobuf.headers['content-type'], 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited');
    const families = decodeFamilies(gunzipSync(protobuf.body));
    const duration = families.find((family) => family.name === 'demo_http_request_duration_seconds')?.metric.find((metric) => labelsOf(metric).route === '/');
    assert.ok(duration?.histogram !== undefined);
    assert.equal(nativeOf(duration.histogram).count, expected);
    const requests = families.find((family) => family.name === 'demo_http_requests_total')?.metric.find((metric) => labelsOf(metric).status === '200');
    assert.equal(requests?.counter?.value, expected);
  });

  it('keeps counting a worker killed with SIGKILL and drops its live gauge', async () => {
    const dead = await killOneWorker();
    await waitFor('the dead worker to leave the live gauge', async () => {
      const pids = livePids(await scrape());
      return pids.length === 4 && !pids.includes(String(dead)) ? true : undefined;
    });
    assert.equal(await requestsTotal(), expected, 'the total never goes down');
    assert.match(pm2.logs(MODULE), new RegExp(`pid ${dead} of demo-app \\(pm_id \\d+\\) ended \\(exit\\): its live gauges are removed`));
    await sendRequests(appUrl, 100);
    expected += 100;
    const exposition = await scrape();
    assert.equal(sampleValue(exposition, 'demo_http_requests_total', REQUESTS), expected);
    assert.equal(sampleValue(exposition, 'pm2_prom_multiproc_dead_pids_marked_total'), 1);
    assert.match(exposition, /^# HELP pm2_prom_multiproc_dead_pids_marked_total Dead processes whose live gauges were removed since the service started \(once in each directory a process wrote to\)\.$/m);
    // The same health reaches `pm2 monit` through @pm2/io ...
    await waitFor('the module health in PM2', () => {
      const [module] = (JSON.parse(pm2.run('jlist')) as Array<{ name: string; pm2_env: { axm_monitor?: Record<string, { value: unknown }> } }>).filter(
        (entry) => entry.name === MODULE,
      );
      return module?.pm2_env.axm_monitor?.['Dead pids marked']?.value === 1 ? true : undefined;
    });
    // ... and is exported once: not again in PM2's process view of the module, which still shows
    // the module's other @pm2/io metrics.
    const later = await scrape();
    assert.ok(sampleLines(later, 'pm2_used_heap_size').some((line) => line.includes(`name="${MODULE}"`)), later);
    assert.doesNotMatch(later, HEALTH_READ_BACK);
  });

  it('catches a worker that died while the module was down, and loses nothing over a module restart', async () => {
    pm2.run('stop', MODULE);
    const dead = await killOneWorker();
    await sendRequests(appUrl, 60);
    expected += 60;
    pm2.run('start', MODULE);
    const exposition = await waitFor('the module back', async () => {
      const response = await httpGet(metricsUrl);
      return response.status === 200 ? response.text : undefined;
    });
    // The start-up reconcile ran before the first scrape: no event was needed.
    assert.deepEqual(livePids(exposition).includes(String(dead)), false);
    assert.equal(livePids(exposition).length, 4);
    assert.equal(sampleValue(exposition, 'demo_http_requests_total', REQUESTS), expected);
    assert.match(pm2.logs(MODULE), new RegExp(`pid ${dead} is gone \\(reconcile\\): its live gauges are removed`));
    assert.match(pm2.logs(MODULE), /metrics directory .* in use by live processes: kept/);
  });

  it('follows a graceful `pm2 reload`: every old worker leaves the live gauge, no count is lost', async () => {
    const oldPids = workerPidsOnDisk();
    pm2.run('reload', 'demo-app');
    await waitFor('4 new workers and none of the old in the live gauge', async () => {
      const pids = livePids(await scrape());
      return pids.length === 4 && pids.every((pid) => !oldPids.includes(Number(pid))) ? true : undefined;
    });
    assert.equal(await requestsTotal(), expected);
  });

  it('starts from a clean directory after `pm2 kill` and a new start', async () => {
    const dir = path.join(pm2.home, 'prom-multiproc');
    pm2.run('kill');
    assert.ok(fs.readdirSync(dir).length > 0, 'the dead processes left their files');
    await startModule();
    assert.equal(fs.readdirSync(dir).filter((name) => name.endsWith('.db')).length, 0);
    assert.equal(await requestsTotal(), undefined);
    await startDemo();
    await sendRequests(appUrl, 120);
    expected = 120;
    assert.equal(await requestsTotal(), expected);
    assert.match(pm2.logs(MODULE), /found stale \(no owner alive\): its files were removed/);
  });

  describe('scraped by a real Prometheus server', () => {
    let prometheus: PrometheusServer | undefined;

    before(function () {
      skipWithoutPrometheus(this);
    });

    after(async () => prometheus?.stop());

    it('answers sum(...) queries with the exact totals, and sees the module health once', async () => {
      prometheus = await PrometheusServer.start(['  - job_name: pm2', `    static_configs: [{ targets: ["127.0.0.1:${metricsPort}"] }]`]);
      const started = Date.now();
      assert.deepEqual((await prometheus.scrapedSince(started)).map((target) => [target.health, target.lastError]), [['up', '']]);
      assert.equal(await prometheus.value('sum(demo_http_requests_total)'), expected);
      assert.equal(await prometheus.value('sum(demo_http_request_duration_seconds_count{route="/"})'), expected);
      assert.equal(await prometheus.value('count(demo_http_requests_in_flight)'), 4);
      assert.equal(await prometheus.value('sum(pm2_up{name="demo-app"})'), 4);
      assert.deepEqual(await prometheus.query('{__name__=~"pm2_(scrape_duration|directories_served|files_read|corrupt_files|dead_pids_marked)"}'), []);
      assert.equal(await prometheus.value('pm2_prom_multiproc_directories'), 1);
    });
  });
});

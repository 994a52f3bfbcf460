// End to end with a real Prometheus 2.42 (--enable-feature=exemplar-storage) scraping the cluster
// helper's endpoint, once in OpenMetrics and once in protobuf (with native-histograms, which makes
// Prometheus ask for it; the workers then also write a native histogram): four worker processes
// count and observe with fresh trace ids, one is killed with SIGKILL midway (its files compacted
// while Prometheus scrapes). Every exemplar Prometheus stored is one a worker wrote, on its series,
// with its value and a timestamp taken during its call, each classic histogram exemplar in a bucket
// whose bound holds it; the last one per series is the latest written by any worker; no scrape
// failed and Prometheus refused no exemplar as out of order.
import * as assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { serveClusterMetrics } from '../../src/cluster';
import type { ClusterMetricsServer } from '../../src/cluster';
import { freePort, makeTempDir, waitFor } from '../server/support';
import { PrometheusServer, skipWithoutPrometheus } from '../support/prometheus';
import { BLOCKS, readmeBlock } from '../package/readme';

/** The flags README.md tells to start Prometheus with, so that what it says is what this test runs. */
const README_FLAGS = [...readmeBlock(BLOCKS.exemplarStorage).matchAll(/--enable-feature=\S+/g)].map((match) => match[0]);

const WORKERS = 4;
const WRITE_SECONDS = Number(process.env.EXEMPLAR_E2E_SECONDS ?? 6);

interface Written {
  traceId: string;
  series: string;
  value: number;
  at: [number, number];
}
interface Latest {
  traceId: string;
  value: number;
  timestamp: number;
}
interface WorkerMessage {
  writes: Written[];
  latest?: Record<string, Latest>;
  /** The answer to "pause": no write after those sent. */
  paused?: boolean;
}
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

function seriesName(labels: Record<string, string>): string {
  return labels.le === undefined ? `${labels.__name__}{route="${labels.route}"}` : `${labels.__name__}{route="${labels.route}",le="${labels.le}"}`;
}

const SCRAPES = [
  { format: 'OpenMetrics', flags: README_FLAGS, native: false },
  { format: 'protobuf', flags: [...README_FLAGS, '--enable-feature=native-histograms'], native: true },
] as const;

for (const { format, flags, native } of SCRAPES) describe(`exemplars scraped in ${format} by a real Prometheus from four worker processes`, function () {
  this.timeout(180_000);
  let root: string;
  let metrics: ClusterMetricsServer | undefined;
  let prometheus: PrometheusServer | undefined;
  const workers: ChildProcess[] = [];
  const envBefore = process.env.PROMETHEUS_MULTIPROC_DIR;

  before(function () {
    skipWithoutPrometheus(this);
  });

  after(async () => {
    for (const worker of workers) if (worker.exitCode === null && worker.signalCode === null) worker.kill('SIGKILL');
    await prometheus?.stop();
    await metrics?.close();
    // serveClusterMetrics sets it for the workers it would fork; this process's other tests must not see it.
    if (envBefore === undefined) delete process.env.PROMETHEUS_MULTIPROC_DIR;
    else process.env.PROMETHEUS_MULTIPROC_DIR = envBefore;
    if (root !== undefined) fs.rmSync(root, { recursive: true, force: true });
    workers.length = 0;
  });

  it('stores the trace ids the workers wrote, each in the bucket that holds its value, and the latest of each series last', async () => {
    root = makeTempDir('exemplars-e2e');
    const dir = path.join(root, 'metrics');
    fs.mkdirSync(dir, { mode: 0o700 });
    metrics = await serveClusterMetrics({ dir, port: await freePort(), reconcileIntervalMs: 500, log: { info: () => {}, warn: (m) => console.log(m), error: (m) => console.log(m) } });

    const written = new Map<string, Written>();
    const finals: Array<Record<string, Latest>> = [];
    const stopped: Array<Promise<void>> = [];
    for (let i = 0; i < WORKERS; i++) {
      const worker = fork(path.join(__dirname, 'children', 'exemplar-worker.ts'), [], {
        execArgv: ['--import', 'tsx'],
        env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir, NATIVE: native ? '1' : '0' },
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      worker.on('message', (message: WorkerMessage) => {
        for (const write of message.writes) written.set(write.traceId, write);
        if (message.latest !== undefined) finals.push(message.latest);
      });
      stopped.push(new Promise((resolve) => worker.once('exit', () => resolve())));
      workers.push(worker);
    }

    const target = new URL(metrics.url);
    const scrapeStart = Date.now();
    prometheus = await PrometheusServer.start(['  - job_name: exemplars', `    static_configs: [{ targets: ["${target.host}"] }]`], flags);
    const running = prometheus;
    await running.scrapedSince(scrapeStart);
    const started = Date.now() / 1000;

    await sleep((WRITE_SECONDS * 1000) / 3);
    const victim = workers[0];
    // Every write it made reported first: a write between its last report and the kill would
    // reach the file (flushed every 250 ms) unknown to this test.
    const paused = new Promise<void>((resolve) => victim.on('message', (message: WorkerMessage) => (message.paused === true ? resolve() : undefined)));
    victim.send('pause');
    await paused;
    victim.kill('SIGKILL');
    await waitFor('the killed worker compacted into the archives', () => (fs.existsSync(path.join(dir, 'counter_archive.exemplars')) ? true : undefined));
    await sleep((WRITE_SECONDS * 2000) / 3);
    for (const worker of workers.slice(1)) worker.send('stop');
    await Promise.all(stopped);
    // Two more scrapes see the exemplars the workers flushed as they ended.
    await sleep(2500);

    const [health] = await running.scrapedSince(Date.now());
    assert.deepEqual([health.health, health.lastError], ['up', ''], 'every scrape parsed');
    if (native) {
      // Scraped in protobuf: only that format carries native buckets into the TSDB.
      assert.equal((await running.histograms('service_seconds{job="exemplars"}')).length, 2, 'the native histogram is stored as one');
    }
    const stored = await running.exemplars('{job="exemplars"}', started - 60);
    const bySeries = new Map(stored.map((series) => [seriesName(series.seriesLabels), series.exemplars]));
    // 2 counter series, 2 x 4 buckets (and 2 native series): every one got exemplars, many over the run.
    assert.equal(bySeries.size, 2 + 2 * 4 + (native ? 2 : 0), [...bySeries.keys()].join(' '));
    let total = 0;
    for (const [series, exemplars] of bySeries) {
      for (const exemplar of exemplars) {
        total++;
        const write = written.get(exemplar.labels.traceId);
        assert.ok(write !== undefined, `${series}: trace id ${exemplar.labels.traceId} was written by a worker`);
        assert.deepEqual(Object.keys(exemplar.labels), ['traceId']);
        assert.equal(write.series, series, `trace id ${exemplar.labels.traceId} is on the series it was written for`);
        assert.equal(exemplar.value, write.value, `${series}: the value written with ${exemplar.labels.traceId}`);
        // Prometheus keeps milliseconds: the call's own Date.now() / 1000.
        assert.ok(exemplar.timestamp * 1000 >= write.at[0] && exemplar.timestamp * 1000 <= write.at[1], `${series}: ${exemplar.timestamp} within ${write.at.join('..')}`);
        const le = /le="([^"]+)"/.exec(series)?.[1];
        if (le !== undefined) assert.ok(exemplar.value <= (le === '+Inf' ? Infinity : Number(le)), `${series} holds ${exemplar.value}`);
      }
      assert.ok(exemplars.length >= 2, `${series}: ${exemplars.length} exemplars stored over the run`);
    }
    // The last exemplar of each series is the latest any worker wrote (the survivors outlived the victim).
    for (const [series, exemplars] of bySeries) {
      const candidates = finals.map((latest) => latest[series]).filter((latest) => latest !== undefined);
      const newest = Math.max(...candidates.map((latest) => latest.timestamp));
      const expected = candidates.filter((latest) => latest.timestamp === newest).map((latest) => latest.traceId);
      const last = exemplars.reduce((a, b) => (b.timestamp > a.timestamp ? b : a));
      assert.ok(expected.includes(last.labels.traceId), `${series}: last stored ${last.labels.traceId}, latest written ${expected.join(' or ')}`);
      assert.equal(last.timestamp, newest, `${series}: its timestamp`);
    }
    for (const counter of ['prometheus_target_scrapes_exemplar_out_of_order_total', 'prometheus_tsdb_exemplar_out_of_order_exemplars_total']) {
      assert.equal(await running.ownMetric(counter), 0, `${counter}: no exemplar refused as out of order, compaction included`);
    }
    console.log(`      ${written.size} exemplars written, ${total} stored by Prometheus in ${bySeries.size} series`);
  });
});

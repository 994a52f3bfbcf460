// End to end with the real server: Prometheus 2.42 with --enable-feature=native-histograms scrapes
// 4 real cluster workers through the cluster helper (protobuf, negotiated from its Accept header)
// and the same directory as text. Its HTTP API must show the exact merge of every observation
// (count, sum, each bucket; quantiles within a bucket's width), the same counters, gauges,
// summaries and classic histograms in both formats, and nothing dropping or resetting when a
// worker is killed with SIGKILL and its files are compacted.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { DirectoryCollector, TEXT_CONTENT_TYPE, renderText } from '../../src/collect';
import { upperBound } from '../../src/store';
import { expectedMerge } from '../support/native-reference';
import { PrometheusServer, skipWithoutPrometheus } from '../support/prometheus';
import type { QueryResult } from '../support/prometheus';
import { ensureBuilt, freePort, makeTempDir, projectRoot, waitFor } from '../server/support';

const WORKERS = 4;
const PER_WORKER = 250;
/** The last worker's budget is small: it lowers its schema, so the merge runs at its schema. */
const BUDGETS = [160, 160, 160, 12];

/** What worker `w` observes: zeros and binary fractions over 2^-10..2^5, so sums are exact. */
function plannedValues(w: number): number[] {
  return Array.from({ length: PER_WORKER }, (_, j) => (j % 50 === 0 ? 0 : (1 + ((j * 7 + w) % 16) / 16) * 2 ** (((j * 5 + w * 3) % 14) - 10)));
}

const COMPARED = ['rpc_requests_total', 'queue_depth', 'worker_index', 'payload_bytes', 'payload_bytes_count', 'payload_bytes_sum', 'latency_seconds_bucket', 'latency_seconds_count', 'latency_seconds_sum'];

/** Series of a job, by name and labels without job and instance. */
function byIdentity(results: readonly QueryResult[]): Map<string, string> {
  const series = new Map<string, string>();
  for (const { metric, value } of results) {
    const identity = Object.entries(metric).filter(([name]) => name !== 'job' && name !== 'instance');
    series.set(JSON.stringify(identity.sort()), String(value));
  }
  return series;
}

describe('native histograms of 4 cluster workers, scraped by a real Prometheus 2.42', function () {
  this.timeout(240_000);
  let dir: string;
  let primary: ChildProcess | undefined;
  let output = '';
  let textServer: http.Server | undefined;
  let prometheus: PrometheusServer | undefined;
  const schemas = new Map<number, number>();
  const pids: number[] = [];

  before(async function () {
    skipWithoutPrometheus(this);
    ensureBuilt();
    dir = makeTempDir('native-e2e');
    const metricsDir = path.join(dir, 'metrics');
    fs.mkdirSync(metricsDir, { mode: 0o700 });
    const planPath = path.join(dir, 'plan.json');
    fs.writeFileSync(planPath, JSON.stringify({ workers: BUDGETS.map((maxBuckets, w) => ({ maxBuckets, values: plannedValues(w) })) }));
    const metricsPort = await freePort();
    primary = spawn(process.execPath, [path.join(projectRoot, 'test', 'cluster', 'fixtures', 'native-cluster-app.js')], {
      env: { ...process.env, NATIVE_PLAN: planPath, METRICS_DIR: metricsDir, METRICS_PORT: String(metricsPort) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    primary.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    primary.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor('4 workers that observed their values', () => {
      for (const match of output.matchAll(/worker (\d+) \{"ready":(\d+),"schema":(-?\d+)\}/g)) {
        schemas.set(Number(match[2]), Number(match[3]));
        if (!pids.includes(Number(match[1]))) pids.push(Number(match[1]));
      }
      return schemas.size === WORKERS ? true : undefined;
    });
    assert.ok((schemas.get(WORKERS - 1) ?? 3) < 3, `the small budget lowered the last worker's schema (${output})`);

    // The same directory as text, whatever the Accept header says.
    const collector = new DirectoryCollector(metricsDir);
    textServer = http.createServer((_request, response) => {
      response.setHeader('Content-Type', TEXT_CONTENT_TYPE);
      response.end(renderText(collector.collect()));
    });
    const textPort = await freePort();
    await new Promise<void>((resolve) => textServer?.listen(textPort, '127.0.0.1', resolve));

    const started = Date.now();
    const job = (name: string, port: number): string[] => [`  - job_name: ${name}`, `    static_configs: [{ targets: ["127.0.0.1:${port}"] }]`];
    prometheus = await PrometheusServer.start([...job('protobuf', metricsPort), ...job('text', textPort)], ['--enable-feature=native-histograms']);
    const targets = await prometheus.scrapedSince(started);
    assert.deepEqual(
      targets.map((target) => [target.job, target.health, target.lastError]).sort(),
      [
        ['protobuf', 'up', ''],
        ['text', 'up', ''],
      ],
    );
    const running = prometheus;
    await waitFor('the native histogram in the TSDB', async () => ((await running.histograms('rpc_seconds{job="protobuf"}')).length === 1 ? true : undefined));
  });

  after(async () => {
    await prometheus?.stop();
    if (primary !== undefined && primary.exitCode === null) {
      primary.kill('SIGTERM');
      await new Promise((resolve) => primary?.once('exit', resolve));
    }
    await new Promise((resolve) => (textServer ? textServer.close(resolve) : resolve(undefined)));
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('stores the exact merge: histogram_count, histogram_sum and every bucket; quantiles within their bucket', async () => {
    const running = prometheus as PrometheusServer;
    const all = Array.from({ length: WORKERS }, (_, w) => plannedValues(w));
    const expected = expectedMerge(all.map((observations, w) => ({ observations, schema: schemas.get(w) ?? 3, zeroThreshold: 2 ** -128 })));
    assert.equal(await running.value('histogram_count(rpc_seconds{job="protobuf"})'), WORKERS * PER_WORKER);
    assert.equal(await running.value('histogram_sum(rpc_seconds{job="protobuf"})'), expected.sum);
    assert.equal(expected.sum, all.flat().reduce((a, b) => a + b, 0));

    const [series] = await running.histograms('rpc_seconds{job="protobuf"}');
    assert.equal(series.count, WORKERS * PER_WORKER);
    const stored = series.buckets;
    const wanted = [
      [-expected.zeroThreshold, expected.zeroThreshold, expected.zeroCount],
      ...[...expected.positive].sort(([a], [b]) => a - b).map(([index, count]) => [upperBound(index - 1, expected.schema), upperBound(index, expected.schema), count]),
    ];
    assert.equal(stored.length, wanted.length, JSON.stringify(stored));
    stored.forEach(([lower, upper, count], i) => {
      const [wantLower, wantUpper, wantCount] = wanted[i];
      // Prometheus computes bounds with its own table, within a few ulp of ours.
      assert.ok(Math.abs(lower - wantLower) <= 1e-12 * Math.abs(wantLower) && Math.abs(upper - wantUpper) <= 1e-12 * Math.abs(wantUpper), `bucket ${i}: ${lower}..${upper} vs ${wantLower}..${wantUpper}`);
      assert.equal(count, wantCount, `bucket ${i} (${lower}..${upper})`);
    });

    const sorted = all.flat().sort((a, b) => a - b);
    for (const q of [0.5, 0.99]) {
      const exact = sorted[Math.ceil(q * sorted.length) - 1];
      const holding = wanted.find(([lower, upper]) => exact > lower && exact <= upper) ?? [0, 0];
      const width = holding[1] - holding[0];
      const got = (await running.value(`histogram_quantile(${q}, rpc_seconds{job="protobuf"})`)) ?? NaN;
      assert.ok(Math.abs(got - exact) <= width, `quantile ${q}: ${got}, exact ${exact}, bucket width ${width} at schema ${expected.schema}`);
    }
  });

  it('scrapes counters, gauges, summaries and classic histograms in protobuf as they read in text', async () => {
    const running = prometheus as PrometheusServer;
    const selector = (job: string): string => `{__name__=~"${COMPARED.join('|')}",job="${job}"}`;
    const protobuf = byIdentity(await running.query(selector('protobuf')));
    const text = byIdentity(await running.query(selector('text')));
    // A counter per worker's code, one summed gauge, a per-pid gauge per worker, the summary's
    // 7 merged quantiles, _count and _sum, the classic histogram's 4 buckets, _count and _sum.
    assert.equal(protobuf.size, WORKERS + 1 + WORKERS + 7 + 2 + 4 + 2, [...protobuf.keys()].join('\n'));
    assert.deepEqual(protobuf, text);
    // The native histogram's classic part, as text scrapers see it, agrees with the native one.
    assert.equal(await running.value('rpc_seconds_count{job="text"}'), await running.value('histogram_count(rpc_seconds{job="protobuf"})'));
    assert.equal(await running.value('rpc_seconds_sum{job="text"}'), await running.value('histogram_sum(rpc_seconds{job="protobuf"})'));
    assert.deepEqual(await running.query('rpc_seconds_count{job="protobuf"}'), [], 'Prometheus keeps only the native series of a native histogram');
  });

  it('drops nothing and reads no reset when a worker is killed with SIGKILL and its files are compacted', async () => {
    const running = prometheus as PrometheusServer;
    const victim = pids[0];
    const killedAt = Date.now();
    process.kill(victim, 'SIGKILL');
    const metricsDir = path.join(dir, 'metrics');
    await waitFor('the dead worker folded into the archive', () =>
      fs.existsSync(path.join(metricsDir, 'histogram_archive.nhdb')) && !fs.existsSync(path.join(metricsDir, `histogram_${victim}.nhdb`)) ? true : undefined,
    );
    // A few scrapes after the compaction.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const seconds = Math.floor((Date.now() - killedAt) / 1000);
    const counts = await running.recentValues('histogram_count(rpc_seconds{job="protobuf"})', seconds);
    assert.ok(counts.length >= seconds - 1, `a value every second: ${counts.join(' ')}`);
    assert.deepEqual([...new Set(counts)], [WORKERS * PER_WORKER], 'the count never moved');
    // Prometheus's own reset detection: an increase over the window is 0, not the whole count.
    assert.equal(await running.value(`histogram_count(increase(rpc_seconds{job="protobuf"}[${seconds}s]))`), 0);
    assert.equal(await running.value(`sum(increase(rpc_requests_total{job="protobuf"}[${seconds}s]))`), 0);
  });
});

// The whole scrape, IPC or HTTP included, with real cluster workers: prom-client's
// AggregatorRegistry.clusterMetrics() (asks every worker over IPC, merges, renders) against
// GET /metrics of serveClusterMetrics (reads the workers' files, merges, renders), plain and
// gzipped, and ten concurrent scrapes sharing one collection. Medians, with ratios.
// Run alone: node --import tsx bench/server.bench.ts
import cluster from 'node:cluster';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { medianMs } from './timing';

const WORKERS = 4;
const SIZES = [1_000, 10_000];
const ROUNDS = 9;
const routeOf = (series: number): string => `/api/v1/resource/${series}`;

function get(url: string, headers: http.OutgoingHttpHeaders): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers, agent: false }, (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve(Buffer.concat(chunks)));
      })
      .on('error', reject);
  });
}

/** A worker: the same labelled counter in prom-client (answers IPC) and in our library (a file). */
async function runWorker(): Promise<void> {
  const promClient = await import('prom-client');
  const ours = await import('../src');
  const series = Number(process.env.BENCH_SERIES);
  const labelNames = ['method', 'route'];
  // Constructing one installs prom-client's IPC listener that answers the primary's requests.
  new promClient.AggregatorRegistry();
  const theirs = new promClient.Counter({ name: 'http_requests_total', help: 'Requests.', labelNames });
  const mine = new ours.Counter({ name: 'http_requests_total', help: 'Requests.', labelNames });
  for (let i = 0; i < series; i++) {
    theirs.inc({ method: 'GET', route: routeOf(i) }, i);
    mine.inc({ method: 'GET', route: routeOf(i) }, i);
  }
  process.send?.('ready');
}

async function forkWorkers(series: number): Promise<void> {
  process.env.BENCH_SERIES = String(series);
  const ready = Array.from({ length: WORKERS }, () => {
    const worker = cluster.fork();
    return new Promise<void>((resolve) => worker.once('message', () => resolve()));
  });
  await Promise.all(ready);
}

async function stopWorkers(): Promise<void> {
  const exits = Object.values(cluster.workers ?? {}).map(
    (worker) => new Promise<void>((resolve) => worker?.once('exit', () => resolve())).then(() => undefined),
  );
  for (const worker of Object.values(cluster.workers ?? {})) worker?.kill('SIGKILL');
  await Promise.all(exits);
}

async function runPrimary(): Promise<void> {
  const { AggregatorRegistry } = await import('prom-client');
  const { serveClusterMetrics } = await import('../src/cluster');
  const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };
  const aggregator = new AggregatorRegistry();
  const ms = (value: number): string => `${value.toFixed(2).padStart(9)} ms`;
  const ratio = (slow: number, fast: number): string => `${(slow / fast).toFixed(1)}x`;
  console.log(`one scrape, ${WORKERS} cluster workers, counter series; median of ${ROUNDS} rounds`);
  for (const series of SIZES) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'server-bench-'));
    const metrics = await serveClusterMetrics({ dir: path.join(root, 'metrics'), port: 0, log: quiet });
    await forkWorkers(series);
    const sample = (await get(metrics.url, {})).toString();
    if (!sample.includes(`route="${routeOf(series - 1)}"`)) throw new Error('the endpoint lacks series: bench setup is wrong');
    const gzipped = await get(metrics.url, { 'accept-encoding': 'gzip' });
    if (!gunzipSync(gzipped).toString().includes(`route="${routeOf(series - 1)}"`)) throw new Error('the gzip body lacks series');

    const promClient = await medianMs(() => aggregator.clusterMetrics(), ROUNDS);
    const plain = await medianMs(() => get(metrics.url, {}), ROUNDS);
    const gzip = await medianMs(() => get(metrics.url, { 'accept-encoding': 'gzip' }), ROUNDS);
    const concurrent = await medianMs(() => Promise.all(Array.from({ length: 10 }, () => get(metrics.url, {}))), ROUNDS);
    console.log(`\n${WORKERS} x ${series.toLocaleString('en-US')} series (${(sample.length / 1024).toFixed(0)} KiB, gzip ${(gzipped.length / 1024).toFixed(0)} KiB)`);
    console.log(`  prom-client clusterMetrics() (IPC)   ${ms(promClient)}`);
    console.log(`  ours, GET /metrics                   ${ms(plain)}   ratio prom-client / ours ${ratio(promClient, plain)}`);
    console.log(`  ours, GET /metrics gzip              ${ms(gzip)}`);
    console.log(`  ours, 10 concurrent GETs (all done)  ${ms(concurrent)}   (${ratio(concurrent, plain)} one GET)`);

    await stopWorkers();
    await metrics.close();
    fs.rmSync(root, { recursive: true, force: true });
  }
}

if (cluster.isPrimary) {
  runPrimary().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
} else {
  runWorker().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}

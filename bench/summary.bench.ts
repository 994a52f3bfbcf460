// The merge cost of summary quantiles: collect + render of 8 workers x 1,000 summary series (100
// observations each), without rotation and with 600 s x 5 age buckets, cold and warm, against the
// same directory without its sketch files (what the quantiles add) and prom-client's
// AggregatorRegistry.aggregate + metrics() over the same observations (IPC not included). Medians.
// Run alone: node --import tsx bench/summary.bench.ts
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AggregatorRegistry, Registry as PromClientRegistry, Summary as PromClientSummary } from 'prom-client';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { DirectoryCollector, renderText } from '../src/collect';
import { useStore } from '../src/metrics/active-store';
import { Registry, Summary } from '../src/index';
import { ProcessStore } from '../src/store';
import { medianMs } from './timing';

const WORKERS = 8;
const SERIES = 1_000;
const OBSERVATIONS = 100;
const ROUNDS = 9;
const CONFIGS = { 'no rotation': {}, '600 s x 5 age buckets': { maxAgeSeconds: 600, ageBuckets: 5 } } as const;

/** Observation j of series i in worker w: latency-like, 1 ms to 1 s, different per worker. */
const observed = (worker: number, series: number, j: number): number => Math.exp(-5 + 2.5 * Math.sin(worker * 7 + series * 0.31 + j * 0.77) + worker * 0.1);
const routeOf = (series: number): string => `/api/v1/resource/${series}`;

function writeWorker(dir: string, worker: number, config: object): void {
  const store = new ProcessStore(dir, { backend: 'native', pid: 1000 + worker, threadId: 0 });
  useStore(store);
  const summary = new Summary({ name: 'request_seconds', help: 'Requests.', labelNames: ['route'], registers: [new Registry()], ...config });
  for (let i = 0; i < SERIES; i++) {
    const child = summary.labels(routeOf(i));
    for (let j = 0; j < OBSERVATIONS; j++) child.observe(observed(worker, i, j));
  }
  useStore(undefined);
  store.close();
}

async function promClientPayloads(config: object): Promise<MetricObjectWithValues<MetricValue<string>>[][]> {
  const payloads: MetricObjectWithValues<MetricValue<string>>[][] = [];
  for (let worker = 0; worker < WORKERS; worker++) {
    const registry = new PromClientRegistry();
    const summary = new PromClientSummary({ name: 'request_seconds', help: 'Requests.', labelNames: ['route'], registers: [registry], ...config });
    for (let i = 0; i < SERIES; i++) for (let j = 0; j < OBSERVATIONS; j++) summary.observe({ route: routeOf(i) }, observed(worker, i, j));
    payloads.push((await registry.getMetricsAsJSON()) as MetricObjectWithValues<MetricValue<string>>[]);
  }
  return payloads;
}

const ms = (value: number): string => `${value.toFixed(1)} ms`;

async function main(): Promise<void> {
  console.log(`collect + render, ${WORKERS} workers x ${SERIES.toLocaleString('en-US')} summary series x ${OBSERVATIONS} observations; median of ${ROUNDS} rounds`);
  for (const [title, config] of Object.entries(CONFIGS)) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-prom-bench-summary-'));
    const countsOnly = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-prom-bench-summary-counts-'));
    try {
      for (let worker = 0; worker < WORKERS; worker++) writeWorker(dir, worker, config);
      let sketchBytes = 0;
      for (const name of fs.readdirSync(dir)) {
        if (name.endsWith('.sketch')) sketchBytes += fs.statSync(path.join(dir, name)).size;
        else if (name.endsWith('.db')) fs.copyFileSync(path.join(dir, name), path.join(countsOnly, name));
      }
      const collector = new DirectoryCollector(dir);
      const warm = await medianMs(() => renderText(collector.collect()), ROUNDS);
      const cold = await medianMs(() => renderText(new DirectoryCollector(dir).collect()), ROUNDS);
      const countsCollector = new DirectoryCollector(countsOnly);
      const warmCounts = await medianMs(() => renderText(countsCollector.collect()), ROUNDS);
      const payloads = await promClientPayloads(config);
      const promClient = await medianMs(() => AggregatorRegistry.aggregate(payloads).metrics(), ROUNDS);
      const quantileLines = renderText(collector.collect()).split('\n').filter((line) => line.includes('quantile=')).length;
      if (quantileLines !== SERIES * 7) throw new Error(`expected ${SERIES * 7} quantile samples, got ${quantileLines}`);

      console.log(`\n${title}: sketch files ${(sketchBytes / 2 ** 20).toFixed(1)} MiB (${(sketchBytes / WORKERS / SERIES / 1024).toFixed(1)} KiB per series and worker)`);
      console.log(`  ours, warm (same collector)              ${ms(warm)}`);
      console.log(`  ours, cold (new collector)               ${ms(cold)}`);
      console.log(`  ours, warm, _count/_sum only (no sketches) ${ms(warmCounts)}   (quantiles add ${ms(warm - warmCounts)})`);
      console.log(`  prom-client aggregate + metrics()        ${ms(promClient)}   (prom-client / ours warm ${(promClient / warm).toFixed(2)}x)`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
      fs.rmSync(countsOnly, { recursive: true, force: true });
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

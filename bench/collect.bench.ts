// The scrape path: collect + render of 8 workers x 1,000 and 8 x 10,000 counter series, cold
// (a new collector) and warm (the same collector again), against prom-client's
// AggregatorRegistry.aggregate + metrics() over the same data (IPC not included), and Python's
// MultiProcessCollector when /usr/bin/python3 has prometheus_client >= 0.18. Medians, with ratios.
// Also times prom-client's own formatter over our merged families (the reason for our renderer),
// and a warm scrape right after a worker restart (one new file: the only one parsed).
// Run alone: node --import tsx bench/collect.bench.ts
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AggregatorRegistry, Counter, Registry } from 'prom-client';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { DirectoryCollector, renderText } from '../src/collect';
import type { MetricFamily } from '../src/collect';
import { encodeKey } from '../src/store/format';
import { ProcessStore } from '../src/store';
import { median, medianMs } from './timing';

const WORKERS = 8;
const SIZES = [1_000, 10_000];
const ROUNDS = 9;

const routeOf = (series: number): string => `/api/v1/resource/${series}`;

/** A worker's counter file, written by the real store: `series` series, the same in every worker. */
function writeWorkerFile(dir: string, series: number, pid: number, worker: number): void {
  const store = new ProcessStore(dir, { backend: 'pwrite', pid, threadId: 0 });
  const file = store.file('counter');
  for (let i = 0; i < series; i++) {
    const key = encodeKey('http_requests', 'http_requests_total', { method: 'GET', route: routeOf(i) }, 'Requests.');
    file.add(file.slotOf(key), worker + i);
  }
  store.close();
}

/** Median ms of a warm scrape right after a restarted worker's new file joined the directory. */
function afterRestartMs(dir: string, series: number, collector: DirectoryCollector): number {
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    writeWorkerFile(dir, series, 5000 + round, round);
    const start = process.hrtime.bigint();
    renderText(collector.collect());
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(times);
}

/** What each prom-client worker would send the master over IPC: getMetricsAsJSON(). */
async function promClientWorkerPayloads(series: number): Promise<MetricObjectWithValues<MetricValue<string>>[][]> {
  const payloads: MetricObjectWithValues<MetricValue<string>>[][] = [];
  for (let worker = 0; worker < WORKERS; worker++) {
    const registry = new Registry();
    const counter = new Counter({ name: 'http_requests_total', help: 'Requests.', labelNames: ['method', 'route'], registers: [registry] });
    for (let i = 0; i < series; i++) counter.inc({ method: 'GET', route: routeOf(i) }, worker + i);
    payloads.push((await registry.getMetricsAsJSON()) as MetricObjectWithValues<MetricValue<string>>[]);
  }
  return payloads;
}

/** prom-client's formatter over our merged families (what reusing it would cost). */
function renderWithPromClient(families: MetricFamily[]): Promise<string> {
  const registry = new Registry();
  for (const family of families) {
    const exposedName = family.type === 'counter' ? `${family.name}_total` : family.name;
    const values = family.samples.map((sample) => ({ metricName: sample.name, labels: sample.labels, value: sample.value }));
    registry.registerMetric({
      name: exposedName,
      get: async () => ({ name: exposedName, help: family.help, type: family.type, values, aggregator: 'sum' }),
    } as unknown as Counter);
  }
  return registry.metrics();
}

/** Median ms of Python's collect + generate_latest, or why it was not measured. */
function pythonMs(dir: string): number | string {
  const python = '/usr/bin/python3';
  if (!fs.existsSync(python)) return 'no /usr/bin/python3';
  const script = `
import sys, time, statistics
from importlib.metadata import version
v = tuple(int(p) for p in version('prometheus_client').split('.')[:2])
if v < (0, 18):
    print('prometheus_client %s reads only the 0.16 layout' % version('prometheus_client')); sys.exit(3)
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
times = []
for _ in range(${ROUNDS} + 1):
    start = time.perf_counter()
    registry = CollectorRegistry()
    MultiProcessCollector(registry, path=sys.argv[1])
    generate_latest(registry)
    times.append((time.perf_counter() - start) * 1000)
print(statistics.median(times[1:]))
`;
  const result = spawnSync(python, ['-c', script, dir], { encoding: 'utf8' });
  if (result.status !== 0) {
    const reason = `${result.stdout}${result.stderr}`.trim().split('\n').pop() ?? '';
    return /No module named|PackageNotFoundError/.test(reason) ? 'prometheus_client not installed' : reason;
  }
  return Number(result.stdout.trim());
}

const ms = (value: number): string => `${value.toFixed(2)} ms`;
const ratio = (slow: number, fast: number): string => `${(slow / fast).toFixed(1)}x`;

async function main(): Promise<void> {
  console.log(`collect + render, ${WORKERS} workers, counter series; median of ${ROUNDS} rounds`);
  for (const series of SIZES) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-prom-bench-collect-'));
    try {
      for (let worker = 0; worker < WORKERS; worker++) writeWorkerFile(dir, series, 1000 + worker, worker);
      const payloads = await promClientWorkerPayloads(series);

      const cold = await medianMs(() => renderText(new DirectoryCollector(dir).collect()), ROUNDS);
      const collector = new DirectoryCollector(dir);
      const warm = await medianMs(() => renderText(collector.collect()), ROUNDS);
      const warmCollectOnly = await medianMs(() => collector.collect(), ROUNDS);
      const families = collector.collect();
      const ourRender = await medianMs(() => renderText(families), ROUNDS);
      const promClientRender = await medianMs(() => renderWithPromClient(families), ROUNDS);
      const promClient = await medianMs(() => AggregatorRegistry.aggregate(payloads).metrics(), ROUNDS);
      const python = pythonMs(dir);
      if (collector.stats.series !== series) throw new Error(`expected ${series} merged series, got ${collector.stats.series}`);
      // Last: it adds files to the directory.
      const afterRestart = afterRestartMs(dir, series, collector);

      console.log(`\n${WORKERS} x ${series.toLocaleString('en-US')} series`);
      console.log(`  ours, cold (new collector)          ${ms(cold)}`);
      console.log(`  ours, warm (same collector)         ${ms(warm)}   (collect ${ms(warmCollectOnly)}, render ${ms(ourRender)})`);
      console.log(`  ours, warm + a restarted worker's new file ${ms(afterRestart)}`);
      console.log(`  prom-client aggregate + metrics()   ${ms(promClient)}`);
      console.log(`  python MultiProcessCollector        ${typeof python === 'number' ? ms(python) : `not measured: ${python}`}`);
      console.log(`  ratios: prom-client / warm ${ratio(promClient, warm)}, prom-client / cold ${ratio(promClient, cold)}, cold / warm ${ratio(cold, warm)}`);
      if (typeof python === 'number') console.log(`          python / warm ${ratio(python, warm)}, python / cold ${ratio(python, cold)}`);
      console.log(`  renderer: prom-client's formatter ${ms(promClientRender)} vs ours ${ms(ourRender)} (${ratio(promClientRender, ourRender)})`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

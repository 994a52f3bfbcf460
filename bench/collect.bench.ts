// The scrape path: collect + render of 8 workers x 1,000 and 8 x 10,000 counter series, cold
// (a new collector) and warm (the same collector again), against prom-client's
// AggregatorRegistry.aggregate + metrics() over the same data (IPC not included). Medians, with ratios.
// Also times prom-client's own formatter over our merged families (the reason for our renderer),
// a warm scrape right after a worker restart (one new file: the only one parsed), and what a
// long-lived collector holds. Then, when ../shared/peers/client_python is there, whole processes
// against Python's MultiProcessCollector on directories written by Python's client: time and peak
// RSS of `pm2-prom-multiproc collect DIR` and of Python's collector, rounds interleaved.
// Run alone: node --import tsx bench/collect.bench.ts   (BENCH_PYTHON_LARGE=0 skips the large directory)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AggregatorRegistry, Counter, Registry } from 'prom-client';
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { DirectoryCollector, renderText } from '../src/collect';
import type { MetricFamily } from '../src/collect';
import { HEADER_BYTES, encodeKey, keyPadding } from '../src/store/format';
import { ProcessStore } from '../src/store';
import { median, medianMs } from './timing';
import { measureProcess, spread, wholeProcessUnavailable } from './whole-process';
import type { ProcessFigures } from './whole-process';

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
      if (collector.stats.series !== series) throw new Error(`expected ${series} merged series, got ${collector.stats.series}`);
      // Last: it adds files to the directory.
      const afterRestart = afterRestartMs(dir, series, collector);

      console.log(`\n${WORKERS} x ${series.toLocaleString('en-US')} series`);
      console.log(`  ours, cold (new collector)          ${ms(cold)}`);
      console.log(`  ours, warm (same collector)         ${ms(warm)}   (collect ${ms(warmCollectOnly)}, render ${ms(ourRender)})`);
      console.log(`  ours, warm + a restarted worker's new file ${ms(afterRestart)}`);
      console.log(`  prom-client aggregate + metrics()   ${ms(promClient)}`);
      console.log(`  ratios: prom-client / warm ${ratio(promClient, warm)}, prom-client / cold ${ratio(promClient, cold)}, cold / warm ${ratio(cold, warm)}`);
      console.log(`  renderer: prom-client's formatter ${ms(promClientRender)} vs ours ${ms(ourRender)} (${ratio(promClientRender, ourRender)})`);
      if (series === 10_000) reportHeldMemory(dir);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  versusPython();
}

/** dist/cli.js, built first when src/ is newer: whole processes run what users run. */
function builtCli(): string {
  const root = path.join(__dirname, '..');
  const cli = path.join(root, 'bin', 'pm2-prom-multiproc.js');
  const built = path.join(root, 'dist', 'cli.js');
  const newest = (dir: string): number =>
    Math.max(...fs.readdirSync(dir, { withFileTypes: true }).map((entry) => {
      const full = path.join(dir, entry.name);
      return entry.isDirectory() ? newest(full) : fs.statSync(full).mtimeMs;
    }));
  if (!fs.existsSync(built) || fs.statSync(built).mtimeMs < newest(path.join(root, 'src'))) {
    const build = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`npm run build failed:\n${build.stdout}${build.stderr}`);
  }
  return cli;
}

/**
 * What a long-lived collector holds after five scrapes and a GC, and after 20 s idle (when V8's
 * memory reducer has shrunk the young generation), against a bare Node measured the same way.
 */
function reportHeldMemory(dir: string): void {
  const collectModule = path.join(path.dirname(builtCli()), '..', 'dist', 'collect');
  const script = `
const [modulePath, dir] = process.argv.slice(1);
let collector;
if (dir) { const { DirectoryCollector, renderText } = require(modulePath); collector = new DirectoryCollector(dir); for (let i = 0; i < 5; i++) renderText(collector.collect()); }
const take = () => { const m = process.memoryUsage(); return { rss: m.rss, heap: m.heapUsed, buffers: m.arrayBuffers }; };
global.gc(); const afterGc = take();
setTimeout(() => { global.gc(); console.log(JSON.stringify({ afterGc, afterIdle: take(), series: collector?.stats.series })); }, 20000);`;
  type Held = { afterGc: Record<string, number>; afterIdle: Record<string, number> };
  const run = (args: string[]): Held => {
    const result = spawnSync(process.execPath, ['--expose-gc', '-e', script, collectModule, ...args], { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`held-memory child failed:\n${result.stderr}`);
    return JSON.parse(result.stdout) as Held;
  };
  const bare = run([]);
  const held = run([dir]);
  const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  for (const when of ['afterGc', 'afterIdle'] as const) {
    console.log(
      `  long-lived collector, ${when === 'afterGc' ? 'five scrapes then GC' : 'then 20 s idle and GC'}: RSS ${mib(held[when].rss)}, ` +
        `${mib(held[when].rss - bare[when].rss)} above a bare Node (${mib(bare[when].rss)}); heap ${mib(held[when].heap)}, array buffers ${mib(held[when].buffers)}`,
    );
  }
}

const PYTHON_PEER = path.resolve(__dirname, '..', '..', 'shared', 'peers', 'client_python');
const PYTHON_COLLECT = [
  'import sys',
  'from prometheus_client import CollectorRegistry, generate_latest, multiprocess',
  'r = CollectorRegistry(); multiprocess.MultiProcessCollector(r, path=sys.argv[1])',
  'sys.stdout.buffer.write(generate_latest(r))',
].join('\n');
const PYTHON_SHAPES = [
  { counters: 10_000, histograms: 1_000, rounds: 7 },
  { counters: 125_000, histograms: 12_500, rounds: 3 },
];

/** Whole processes, ours and Python's, on directories Python's client wrote; rounds interleaved. */
function versusPython(): void {
  console.log(`\nwhole processes against Python's collector (${PYTHON_PEER})`);
  if (!fs.existsSync(PYTHON_PEER)) {
    console.log('  skipped: ../shared/peers/client_python is not there (a clone outside the team has no ../shared)');
    return;
  }
  const unavailable = wholeProcessUnavailable();
  if (unavailable !== undefined) {
    console.log(`  skipped: ${unavailable}`);
    return;
  }
  const cli = builtCli();
  const bare = measureProcess(process.execPath, ['-e', '0'], 5);
  console.log(`  bare node -e 0: ${spread(bare.seconds, 3)} s, ${spread(bare.peakMiB, 0)} MiB`);
  const shapes = process.env.BENCH_PYTHON_LARGE === '0' ? PYTHON_SHAPES.slice(0, 1) : PYTHON_SHAPES;
  for (const shape of shapes) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-prom-bench-python-'));
    try {
      const write = spawnSync('python3', [path.join(__dirname, 'write_python_dir.py'), dir, String(WORKERS), String(shape.counters), String(shape.histograms)], {
        encoding: 'utf8',
        env: { ...process.env, PYTHONPATH: PYTHON_PEER },
      });
      if (write.status !== 0) throw new Error(`Python's client could not write ${dir}:\n${write.stderr}`);
      const ours: ProcessFigures = { seconds: [], peakMiB: [] };
      const python: ProcessFigures = { seconds: [], peakMiB: [] };
      const timeRatios: number[] = [];
      const memoryRatios: number[] = [];
      for (let round = 0; round < shape.rounds; round++) {
        const our = measureProcess(process.execPath, [cli, 'collect', dir], 1);
        const their = measureProcess('python3', ['-c', PYTHON_COLLECT, dir], 1, { PYTHONPATH: PYTHON_PEER });
        ours.seconds.push(...our.seconds);
        ours.peakMiB.push(...our.peakMiB);
        python.seconds.push(...their.seconds);
        python.peakMiB.push(...their.peakMiB);
        timeRatios.push(our.seconds[0] / their.seconds[0]);
        memoryRatios.push(our.peakMiB[0] / their.peakMiB[0]);
      }
      const what = `${WORKERS} x (${shape.counters.toLocaleString('en-US')} counters + ${shape.histograms.toLocaleString('en-US')} histograms)`;
      console.log(`\n  ${what}, cold \`collect\`, ${shape.rounds} interleaved rounds`);
      console.log(`    ours:   ${spread(ours.seconds, 2)} s, peak RSS ${spread(ours.peakMiB, 0)} MiB`);
      console.log(`    python: ${spread(python.seconds, 2)} s, peak RSS ${spread(python.peakMiB, 0)} MiB`);
      console.log(`    ours / python: time ${spread(timeRatios, 2)}x, peak RSS ${spread(memoryRatios, 2)}x`);
      if (shape.counters > 10_000) console.log(`    warm scrape, long-lived collector, values changed: ${ms(warmAfterChanges(dir, shape.rounds * 3))}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
}

/** Median ms of collect + render by one collector after a value of every file changed. */
function warmAfterChanges(dir: string, rounds: number): number {
  const collector = new DirectoryCollector(dir);
  renderText(collector.collect());
  const files = fs.readdirSync(dir).map((name) => path.join(dir, name));
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    // The first entry's value of every file: its key length follows the header.
    for (const file of files) {
      const fd = fs.openSync(file, 'r+');
      const header = Buffer.alloc(12);
      fs.readSync(fd, header, 0, 12, 0);
      const keyLength = header.readInt32LE(8);
      const value = Buffer.alloc(8);
      value.writeDoubleLE(round + 1);
      fs.writeSync(fd, value, 0, 8, HEADER_BYTES + 4 + keyLength + keyPadding(keyLength));
      fs.closeSync(fd);
    }
    const start = process.hrtime.bigint();
    renderText(collector.collect());
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(times);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

// Native histograms on the scrape path: collect + protobuf render of 8 workers x 1,000 native
// histogram series, warm, against collect + text render of the same number of classic histogram
// series (prom-client's default buckets) observing the same values, in the same rounds,
// interleaved; for series with as many populated buckets as the classic ones, and for wide ones.
// Cold scrapes and the split into collect and render are printed too.
// Run alone: node --import tsx bench/native.bench.ts
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DirectoryCollector, renderProtobuf, renderText } from '../src/collect';
import { useStore } from '../src/metrics/active-store';
import { Histogram } from '../src/metrics/histogram';
import { ProcessStore, bucketsOfSpans, defaultBackend } from '../src/store';
import { median, medianMs } from './timing';

const WORKERS = 8;
const SERIES = 1_000;
const ROUNDS = 15;

/** What every series of every worker observes, scaled per worker by `spread`. */
interface Shape {
  name: string;
  values: number[];
  /** Worker w observes each value times 1 + w * spread (workers' latencies differ a little). */
  spread: number;
}

const SHAPES: readonly Shape[] = [
  // Twelve populated buckets per series, as the classic histogram has (11 bounds and +Inf).
  { name: 'as many buckets as the classic series', values: Array.from({ length: 40 }, (_, i) => 0.01 * 2 ** ((i % 12) / 8)), spread: 0 },
  // A wide latency spread: 40 values over 2^-8..2^3 s, workers a little apart.
  { name: 'wide: 11 powers of two', values: Array.from({ length: 40 }, (_, i) => (1 + (i % 8) / 8) * 2 ** ((i % 11) - 8)), spread: 1 / 64 },
];

function writeWorkers(dir: string, native: boolean, shape: Shape): void {
  for (let worker = 0; worker < WORKERS; worker++) {
    const store = new ProcessStore(dir, { pid: 1000 + worker, threadId: 0, backend: defaultBackend() });
    useStore(store);
    const options = native ? { buckets: [], nativeHistogramBucketFactor: 1.1 } : {};
    const histogram = new Histogram({ name: 'rpc_seconds', help: 'RPC latency.', labelNames: ['route'], registers: [], ...options });
    for (let series = 0; series < SERIES; series++) {
      const child = histogram.labels(`/api/v1/resource/${series}`);
      for (const value of shape.values) child.observe(value * (1 + worker * shape.spread));
    }
    useStore(undefined);
    store.close();
  }
}

const ms = (value: number): string => `${value.toFixed(2)} ms`;

async function measure(shape: Shape): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-prom-bench-native-'));
  try {
    const nativeDir = path.join(root, 'native');
    const classicDir = path.join(root, 'classic');
    fs.mkdirSync(nativeDir);
    fs.mkdirSync(classicDir);
    writeWorkers(nativeDir, true, shape);
    writeWorkers(classicDir, false, shape);
    const nativeScrape = (collector: DirectoryCollector): Uint8Array => renderProtobuf(collector.collect());
    const classicScrape = (collector: DirectoryCollector): string => renderText(collector.collect());

    const nativeCold = await medianMs(() => nativeScrape(new DirectoryCollector(nativeDir)), 5);
    const classicCold = await medianMs(() => classicScrape(new DirectoryCollector(classicDir)), 5);
    const nativeCollector = new DirectoryCollector(nativeDir);
    const classicCollector = new DirectoryCollector(classicDir);
    const nativeFamilies = nativeCollector.collect();
    const classicFamilies = classicCollector.collect();
    const nativeSeries = nativeFamilies[0].nativeHistograms ?? [];
    if (nativeSeries.length !== SERIES) throw new Error(`expected ${SERIES} native series, got ${nativeSeries.length}`);
    const buckets = bucketsOfSpans(nativeSeries[0].histogram.positiveSpans, nativeSeries[0].histogram.positiveDeltas).length;

    // Interleaved, so that the load of other processes falls on both alike; ratio per round.
    const nativeTimes: number[] = [];
    const classicTimes: number[] = [];
    const ratios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const nativeMs = await medianMs(() => nativeScrape(nativeCollector), 3, { warmUp: round === 0 });
      const classicMs = await medianMs(() => classicScrape(classicCollector), 3, { warmUp: round === 0 });
      nativeTimes.push(nativeMs);
      classicTimes.push(classicMs);
      ratios.push(nativeMs / classicMs);
    }
    const nativeCollect = await medianMs(() => nativeCollector.collect(), ROUNDS);
    const classicCollect = await medianMs(() => classicCollector.collect(), ROUNDS);
    const nativeRender = await medianMs(() => renderProtobuf(nativeFamilies), ROUNDS);
    const classicRender = await medianMs(() => renderText(classicFamilies), ROUNDS);

    console.log(`\n${shape.name}: ${WORKERS} workers x ${SERIES.toLocaleString('en-US')} histogram series, ${shape.values.length} observations each, ${buckets} populated native buckets merged (schema 3); medians of ${ROUNDS} rounds`);
    console.log(`  native, collect + protobuf, warm    ${ms(median(nativeTimes))}   (collect ${ms(nativeCollect)}, render ${ms(nativeRender)}, ${renderProtobuf(nativeFamilies).length} bytes)`);
    console.log(`  classic, collect + text, warm       ${ms(median(classicTimes))}   (collect ${ms(classicCollect)}, render ${ms(classicRender)}, ${renderText(classicFamilies).length} bytes)`);
    console.log(`  ratio native / classic, warm        ${median(ratios).toFixed(2)}x (per round: ${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)})`);
    console.log(`  cold: native ${ms(nativeCold)}, classic ${ms(classicCold)} (${(nativeCold / classicCold).toFixed(2)}x)`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  for (const shape of SHAPES) await measure(shape);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});

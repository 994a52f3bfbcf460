// One mirror pass (prom-client registry -> store) beside one prom-client register.metrics() on the
// same registry, and the share of a core the default 1 s interval costs.
// Run alone: node --import tsx bench/mirror.bench.ts

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { ProcessStore } from '../src/store';
import type { BackendKind } from '../src/store';
import { mirrorRegistry } from '../src/mirror';
import { DEFAULT_INTERVAL_MS } from '../src/mirror/start-mirror';
import { medianMs } from './timing';

const ROUNDS = 11;
const SERIES_PER_METRIC = 100;

/**
 * `series` series: 45% counter and 45% gauge series, 10% histogram series (default buckets, 13
 * samples each), `SERIES_PER_METRIC` per metric. Returns the registry and a function that
 * changes every series, as a busy app does between two passes.
 */
function busyRegistry(series: number): { registry: Registry; touchAll: () => void } {
  const registry = new Registry();
  const updates: Array<() => void> = [];
  const metrics = (share: number) => Math.max(1, Math.round((series * share) / SERIES_PER_METRIC));
  for (let m = 0; m < metrics(0.45); m++) {
    const counter = new Counter({ name: `c${m}_total`, help: 'C.', labelNames: ['id'], registers: [registry] });
    updates.push(() => { for (let i = 0; i < SERIES_PER_METRIC; i++) counter.inc({ id: String(i) }); });
  }
  for (let m = 0; m < metrics(0.45); m++) {
    const gauge = new Gauge({ name: `g${m}`, help: 'G.', labelNames: ['id'], registers: [registry] });
    updates.push(() => { for (let i = 0; i < SERIES_PER_METRIC; i++) gauge.inc({ id: String(i) }); });
  }
  for (let m = 0; m < metrics(0.1); m++) {
    const histogram = new Histogram({ name: `h${m}`, help: 'H.', labelNames: ['id'], registers: [registry] });
    updates.push(() => { for (let i = 0; i < SERIES_PER_METRIC; i++) histogram.observe({ id: String(i) }, i / 100); });
  }
  const touchAll = () => { for (const update of updates) update(); };
  touchAll();
  return { registry, touchAll };
}

/** Median ms of `body` over ROUNDS rounds; `between` runs outside the timing. */
interface Row {
  series: number;
  backend: BackendKind;
  firstPassMs: number;
  passChangedMs: number;
  passUnchangedMs: number;
  promClientMetricsMs: number;
}

async function measure(series: number, backend: BackendKind): Promise<Row> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-prom-mirror-bench-'));
  const store = new ProcessStore(dir, { backend });
  const { registry, touchAll } = busyRegistry(series);
  const mirror = mirrorRegistry(registry, { store, intervalMs: 3_600_000 });
  try {
    const start = process.hrtime.bigint();
    await mirror.pass();
    const firstPassMs = Number(process.hrtime.bigint() - start) / 1e6;
    return {
      series,
      backend,
      firstPassMs,
      passChangedMs: await medianMs(() => mirror.pass(), ROUNDS, { warmUp: false, beforeRound: touchAll }),
      passUnchangedMs: await medianMs(() => mirror.pass(), ROUNDS, { warmUp: false }),
      promClientMetricsMs: await medianMs(() => registry.metrics(), ROUNDS, { warmUp: false }),
    };
  } finally {
    mirror.stop();
    store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  for (const series of [1_000, 10_000]) rows.push(await measure(series, 'native'));
  rows.push(await measure(10_000, 'pwrite'));
  console.log('series  backend  first pass  pass, all changed  pass, none changed  prom-client metrics()  ratio (changed / metrics())');
  for (const row of rows) {
    console.log(
      `${String(row.series).padStart(6)}  ${row.backend.padEnd(7)}  ${row.firstPassMs.toFixed(2).padStart(8)} ms` +
        `  ${row.passChangedMs.toFixed(2).padStart(14)} ms  ${row.passUnchangedMs.toFixed(2).padStart(15)} ms` +
        `  ${row.promClientMetricsMs.toFixed(2).padStart(18)} ms  ${(row.passChangedMs / row.promClientMetricsMs).toFixed(3)}`,
    );
  }
  for (const row of rows.filter((r) => r.series === 10_000)) {
    const share = (row.passChangedMs / DEFAULT_INTERVAL_MS) * 100;
    console.log(`10,000 series, ${row.backend}, every series changed each second: ${share.toFixed(2)}% of one core`);
  }
}

void main();

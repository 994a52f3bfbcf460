// What crediting each sample to its app (pm2_app) costs the PM2 module's warm scrape: the same
// directory of 8 workers x 1,000 and 8 x 10,000 counter series, merged and rendered by the
// module's service without attribution (as the cluster helper does, and as the module did for
// one app), with attribution for one app, and for two apps sharing the directory (4 workers
// each, the same names: twice the series out, one set per app, against one merged set without
// attribution). Rounds interleaved, medians, ratios to the one-app directory without attribution.
// Run alone: node --import tsx bench/app-label.bench.ts
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { renderText } from '../src/collect';
import { MetricsService, OwnerRecorder } from '../src/host';
import { encodeKey } from '../src/store/format';
import { ProcessStore } from '../src/store';
import { writeOwnerRecord } from '../src/store/owner-record';
import { median } from './timing';

const WORKERS = 8;
const SIZES = [1_000, 10_000];
const ROUNDS = 15;
const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A dead worker of `app`: its counter file (written by the real store) and its owner record. */
function writeWorker(dir: string, series: number, pid: number, app: string): void {
  writeOwnerRecord(dir, { pid, app });
  const store = new ProcessStore(dir, { backend: 'pwrite', pid, threadId: 0 });
  const file = store.file('counter');
  for (let i = 0; i < series; i++) {
    file.add(file.slotOf(encodeKey('http_requests', 'http_requests_total', { method: 'GET', route: `/api/v1/resource/${i}` }, 'Requests.')), i);
  }
  store.close();
}

function directory(series: number, appOf: (worker: number) => string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'app-label-bench-'));
  for (let worker = 0; worker < WORKERS; worker++) writeWorker(dir, series, 4_000_000 + worker, appOf(worker));
  return dir;
}

console.log(`warm scrape (collect + render) by the module's service, ${WORKERS} workers; median of ${ROUNDS} interleaved rounds`);
for (const series of SIZES) {
  const oneApp = directory(series, () => 'api');
  const twoApps = directory(series, (worker) => (worker % 2 === 0 ? 'api' : 'worker'));
  const cases = [
    { name: 'no attribution', dir: oneApp, service: new MetricsService(quiet) },
    { name: 'attribution, one app', dir: oneApp, service: new MetricsService(quiet, undefined, { recorder: new OwnerRecorder(quiet) }) },
    { name: 'no attribution, 2 apps', dir: twoApps, service: new MetricsService(quiet) },
    { name: 'attribution, two apps', dir: twoApps, service: new MetricsService(quiet, undefined, { recorder: new OwnerRecorder(quiet) }) },
  ];
  const times = cases.map(() => [] as number[]);
  for (const entry of cases) renderText(entry.service.collect([{ dir: entry.dir }]));
  for (let round = 0; round < ROUNDS; round++) {
    cases.forEach((entry, index) => {
      const start = process.hrtime.bigint();
      renderText(entry.service.collect([{ dir: entry.dir }]));
      times[index].push(Number(process.hrtime.bigint() - start) / 1e6);
    });
  }
  const base = median(times[0]);
  for (const [index, entry] of cases.entries()) {
    const ms = median(times[index]);
    console.log(`  ${WORKERS} x ${series}: ${entry.name.padEnd(22)} ${ms.toFixed(2).padStart(8)} ms  ${(ms / base).toFixed(2)}x`);
  }
  for (const dir of [oneApp, twoApps]) fs.rmSync(dir, { recursive: true, force: true });
}

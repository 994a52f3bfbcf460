// Summary quantiles merged across real worker processes: four workers observe known distributions,
// and the merged percentiles are within the sketch's relative accuracy of the exact quantiles of
// the union; prom-client's own AggregatorRegistry, given the same observations in the same run,
// is shown beside them. Then windows expiring, a worker dying, a pid reused and compaction.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { AggregatorRegistry } from 'prom-client';
import { DirectoryCollector, renderOpenMetrics, renderText } from '../../src/collect';
import type { MetricFamily } from '../../src/collect';
import { compactDirectory } from '../../src/host';
import { SKETCH_RELATIVE_ACCURACY } from '../../src/store';
import { DISTRIBUTIONS, exactQuantile, observations } from '../support/distributions';
import type { DistributionName } from '../support/distributions';
import { PYTHON_COLLECTOR_MISSING, pythonCollect, pythonCollectorAvailable } from '../support/python-collector';
import { makeTempDir, removeDir } from './support/files';
import { PROMTOOL_MISSING, assertPromtoolAccepts, promtoolAvailable } from './support/promtool';

const PERCENTILES = [0.01, 0.05, 0.5, 0.9, 0.95, 0.99, 0.999];
const WORKERS = 4;
/** Observations per worker; the skewed case gives its workers 8x, 4x, 2x and 1x of a quarter of it. */
const COUNT = 20_000;
const WINDOWED = { maxAgeSeconds: 600, ageBuckets: 5 };
const SEED = 17;

interface Worker {
  child: ChildProcess;
  pid: number;
  /** prom-client's getMetricsAsJSON() of the same observations in that worker. */
  promClient: unknown[];
  exited: Promise<void>;
}

function startWorker(dir: string, distribution: DistributionName, worker: number, count: number, options: object = {}, seed = SEED): Promise<Worker> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', path.join(__dirname, 'children', 'summary-worker.ts'), distribution, String(worker), String(count), String(seed), JSON.stringify(options)],
    { env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir }, stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`worker ${worker} exited early (${code ?? signal})`)));
    readline.createInterface({ input: child.stdout as NodeJS.ReadableStream }).once('line', (line) => {
      const report = JSON.parse(line) as { pid: number; promClient: unknown[] };
      resolve({ child, pid: report.pid, promClient: report.promClient, exited });
    });
  });
}

async function stopWorkers(workers: readonly Worker[]): Promise<void> {
  for (const worker of workers) worker.child.stdin?.end();
  await Promise.all(workers.map((worker) => worker.exited));
}

function countsOf(distribution: DistributionName): number[] {
  return distribution === 'skewed' ? [8, 4, 2, 1].map((share) => (COUNT * share) / 4) : Array.from({ length: WORKERS }, () => COUNT);
}

/** The merged samples of request_seconds{route="/api"} by sample name and quantile. */
function summaryOf(families: readonly MetricFamily[]): { quantiles: Map<number, number>; count: number; sum: number } | undefined {
  const family = families.find((candidate) => candidate.name === 'request_seconds');
  if (family === undefined) return undefined;
  const quantiles = new Map<number, number>();
  let count = NaN;
  let sum = NaN;
  for (const sample of family.samples) {
    if (sample.labels.route !== '/api') continue;
    if (sample.name === 'request_seconds') quantiles.set(Number(sample.labels.quantile), sample.value);
    if (sample.name === 'request_seconds_count') count = sample.value;
    if (sample.name === 'request_seconds_sum') sum = sample.value;
  }
  return { quantiles, count, sum };
}

function relativeError(estimate: number, exact: number): number {
  return exact === 0 ? Math.abs(estimate) : Math.abs(estimate - exact) / Math.abs(exact);
}

/** prom-client's cluster aggregation of its workers' summaries: its quantile values. */
async function promClientQuantiles(workers: readonly Worker[]): Promise<Map<number, number>> {
  const registry = AggregatorRegistry.aggregate(workers.map((worker) => worker.promClient));
  const metric = (await registry.getMetricsAsJSON()).find((candidate) => candidate.name === 'request_seconds');
  const quantiles = new Map<number, number>();
  for (const value of metric?.values ?? []) if (value.labels.quantile !== undefined) quantiles.set(Number(value.labels.quantile), value.value);
  return quantiles;
}

function percent(error: number): string {
  return `${(error * 100).toFixed(error < 0.1 ? 2 : 0)}%`;
}

describe('summary quantiles merged across worker processes', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('pm2-prom-quantiles-');
  });
  afterEach(() => removeDir(dir));

  for (const distribution of Object.keys(DISTRIBUTIONS) as DistributionName[]) {
    it(`${distribution}: every percentile within ${SKETCH_RELATIVE_ACCURACY * 100}% of the exact quantile of the union (prom-client's AggregatorRegistry beside it)`, async () => {
      const counts = countsOf(distribution);
      const workers = await Promise.all(counts.map((count, worker) => startWorker(dir, distribution, worker, count)));
      try {
        const union = counts.flatMap((count, worker) => observations(distribution, worker, count, SEED)).sort((a, b) => a - b);
        const families = new DirectoryCollector(dir).collect();
        const merged = summaryOf(families);
        assert.ok(merged !== undefined, 'the summary is in the merge');
        assert.equal(merged.count, union.length);
        const exactSum = union.reduce((total, value) => total + value, 0);
        assert.ok(relativeError(merged.sum, exactSum) < 1e-9, `sum ${merged.sum} vs ${exactSum}`);
        const theirs = await promClientQuantiles(workers);
        const rows: string[] = [];
        let worstOurs = 0;
        let worstTheirs = 0;
        for (const q of PERCENTILES) {
          const exact = exactQuantile(union, q);
          const ours = merged.quantiles.get(q);
          assert.ok(ours !== undefined, `quantile ${q} is exposed`);
          const ourError = relativeError(ours, exact);
          const theirError = relativeError(theirs.get(q) ?? NaN, exact);
          worstOurs = Math.max(worstOurs, ourError);
          worstTheirs = Math.max(worstTheirs, theirError);
          // The bound of the sketch, with room for the rounding of ln() at a bucket's edge.
          assert.ok(ourError <= SKETCH_RELATIVE_ACCURACY * (1 + 1e-12), `q=${q}: ${ours} vs exact ${exact} (${percent(ourError)})`);
          rows.push(`q=${q}: exact ${exact.toPrecision(5)}, ours ${ours.toPrecision(5)} (${percent(ourError)}), prom-client ${theirs.get(q)?.toPrecision(5)} (${percent(theirError)})`);
        }
        console.log(`      ${distribution}, ${union.length} observations in ${WORKERS} processes: worst error ours ${percent(worstOurs)}, prom-client's AggregatorRegistry ${percent(worstTheirs)}`);
        for (const row of rows) console.log(`        ${row}`);
        // prom-client sums the workers' quantiles (its default aggregator): far from any quantile of the union.
        assert.ok(worstTheirs > 10 * SKETCH_RELATIVE_ACCURACY, `prom-client's worst error ${percent(worstTheirs)}`);

        if (promtoolAvailable()) {
          assertPromtoolAccepts(renderText(families));
          assertPromtoolAccepts(renderOpenMetrics(families));
        } else {
          console.log(`      (${PROMTOOL_MISSING})`);
        }
        if (pythonCollectorAvailable()) {
          // Python's collector reads the same directory (it never opens the .sketch files): _count and _sum, exact.
          const python = pythonCollect(dir);
          assert.match(python, new RegExp(`^request_seconds_count\\{route="/api"\\} ${union.length}\\.0$`, 'm'));
          const pythonSum = Number(/^request_seconds_sum\{route="\/api"\} (\S+)$/m.exec(python)?.[1]);
          assert.ok(relativeError(pythonSum, exactSum) < 1e-9, `Python's sum ${pythonSum} vs ${exactSum}`);
          assert.doesNotMatch(python, /quantile/);
        } else {
          console.log(`      (${PYTHON_COLLECTOR_MISSING})`);
        }
      } finally {
        await stopWorkers(workers);
      }
    });
  }

  it("counts a window only while it is among the last ageBuckets: a stale window never counts, its process alive or not; _count and _sum stay", async () => {
    const windowMs = (WINDOWED.maxAgeSeconds * 1000) / WINDOWED.ageBuckets;
    // The workers observe within one window (of 120 s) only if none begins while they start up.
    while (windowMs - (Date.now() % windowMs) < 15_000) await new Promise((resolve) => setTimeout(resolve, 1000));
    const workers = await Promise.all([0, 1].map((worker) => startWorker(dir, 'lognormal', worker, 5000, WINDOWED)));
    try {
      const now = Date.now();
      const windowEnd = (Math.floor(now / windowMs) + 1) * windowMs;
      const union = [0, 1].flatMap((worker) => observations('lognormal', worker, 5000, SEED)).sort((a, b) => a - b);
      const at = (moment: number) => summaryOf(new DirectoryCollector(dir, { now: () => moment }).collect());
      const current = at(now);
      assert.ok(relativeError(current?.quantiles.get(0.5) ?? NaN, exactQuantile(union, 0.5)) <= SKETCH_RELATIVE_ACCURACY);
      // The window they were written in is among the last five until four more windows have begun.
      const lastMoment = windowEnd + (WINDOWED.ageBuckets - 1) * windowMs - 1;
      assert.deepEqual(at(lastMoment)?.quantiles, current?.quantiles);
      const expired = at(lastMoment + 1);
      assert.deepEqual([...(expired?.quantiles.values() ?? [])], PERCENTILES.map(() => 0), "prom-client's value for an empty window");
      assert.equal(expired?.count, 10_000);
      assert.equal(expired?.sum, current?.sum);
    } finally {
      await stopWorkers(workers);
    }
  });

  it('leaves a series out once its window is empty with pruneAgedBuckets, as prom-client does', async () => {
    const workers = [await startWorker(dir, 'uniform', 0, 100, { ...WINDOWED, pruneAgedBuckets: true })];
    try {
      assert.equal(summaryOf(new DirectoryCollector(dir).collect())?.count, 100);
      const later = Date.now() + WINDOWED.maxAgeSeconds * 1000;
      assert.equal(summaryOf(new DirectoryCollector(dir, { now: () => later }).collect()), undefined);
    } finally {
      await stopWorkers(workers);
    }
  });

  it("keeps a dead worker's observations until they age out, as they would in one process", async () => {
    const workers = await Promise.all([0, 1, 2, 3].map((worker) => startWorker(dir, 'bimodal', worker, 5000, WINDOWED)));
    const collector = new DirectoryCollector(dir);
    const before = summaryOf(collector.collect());
    const [victim, ...rest] = workers;
    victim.child.kill('SIGKILL');
    await victim.exited;
    try {
      assert.deepEqual(summaryOf(collector.collect()), before, 'a SIGKILLed worker loses nothing of what it observed');
      const quantilesAt = (moment: number) => summaryOf(new DirectoryCollector(dir, { now: () => moment }).collect())?.quantiles;
      // Every worker's window expires at once: windows are aligned on the wall clock for all processes.
      assert.deepEqual([...(quantilesAt(Date.now() + WINDOWED.maxAgeSeconds * 1000)?.values() ?? [])], PERCENTILES.map(() => 0));
    } finally {
      await stopWorkers(rest);
    }
  });

  it("merges a reused pid: the new process hands the old file to the dead and starts its own, the merge covers every life and a changed configuration's percentiles", async function () {
    let first: Worker | undefined;
    let second: Worker | undefined;
    try {
      first = await startWorker(dir, 'uniform', 0, 3000);
      await stopWorkers([first]);
      const inode = fs.statSync(path.join(dir, `summary_${first.pid}.sketch`)).ino;
      second = await startWithPid(first.pid, () => startWorker(dir, 'uniform', 1, 3000));
      if (second === undefined) {
        console.log(`      (could not get pid ${first.pid} again through /proc/sys/kernel/ns_last_pid: pid reuse not tested)`);
        this.skip();
      }
      await stopWorkers([second]);
      const names = fs.readdirSync(dir).filter((name) => name.endsWith('.sketch')).sort();
      assert.deepEqual(names, [`summary_${first.pid}.dead${inode}.sketch`, `summary_${first.pid}.sketch`], "the first life's file handed to the dead");
      const union = [0, 1].flatMap((worker) => observations('uniform', worker, 3000, SEED)).sort((a, b) => a - b);
      const merged = summaryOf(new DirectoryCollector(dir).collect());
      assert.equal(merged?.count, 6000);
      for (const q of PERCENTILES) assert.ok(relativeError(merged?.quantiles.get(q) ?? NaN, exactQuantile(union, q)) <= SKETCH_RELATIVE_ACCURACY, `q=${q}`);

      // A third life with other percentiles: its own file, the union of both percentile lists shown.
      const third = await startWithPid(first.pid, () => startWorker(dir, 'uniform', 2, 3000, { percentiles: [0.5, 0.75] }));
      if (third === undefined) return;
      await stopWorkers([third]);
      const all = [0, 1, 2].flatMap((worker) => observations('uniform', worker, 3000, SEED)).sort((a, b) => a - b);
      const again = summaryOf(new DirectoryCollector(dir).collect());
      assert.deepEqual([...(again?.quantiles.keys() ?? [])], [0.01, 0.05, 0.5, 0.75, 0.9, 0.95, 0.99, 0.999]);
      for (const q of again?.quantiles.keys() ?? []) {
        assert.ok(relativeError(again?.quantiles.get(q) ?? NaN, exactQuantile(all, q)) <= SKETCH_RELATIVE_ACCURACY, `q=${q}`);
      }
    } finally {
      await stopWorkers([first, second].filter((worker): worker is Worker => worker !== undefined));
    }
  });

  it('compacts dead workers: the merged quantiles are the same before and after, expired windows are dropped', async () => {
    const workers: Worker[] = [];
    for (const [worker, options] of [[0, {}], [1, {}], [2, WINDOWED], [3, WINDOWED]] as const) {
      workers.push(await startWorker(dir, 'lognormal', worker, 4000, options));
    }
    const live = await startWorker(dir, 'lognormal', 4, 4000);
    try {
      await stopWorkers(workers);
      const before = renderText(new DirectoryCollector(dir).collect());
      const report = compactDirectory(dir, { deadPids: workers.map((worker) => worker.pid) });
      assert.deepEqual(report.problems, []);
      const sketches = fs.readdirSync(dir).filter((name) => name.endsWith('.sketch')).sort();
      assert.deepEqual(sketches, [`summary_${live.pid}.sketch`, 'summary_archive.sketch']);
      assert.equal(renderText(new DirectoryCollector(dir).collect()), before, 'the same exposition, byte for byte');
      // Once the windowed workers' windows expired, only the never-rotating ones still count.
      const later = Date.now() + WINDOWED.maxAgeSeconds * 1000;
      const union = [0, 1, 4].flatMap((worker) => observations('lognormal', worker, 4000, SEED)).sort((a, b) => a - b);
      const merged = summaryOf(new DirectoryCollector(dir, { now: () => later }).collect());
      assert.equal(merged?.count, 20_000, '_count and _sum keep every observation');
      // Windows of mixed configurations in one series: the never-rotating ones cover all time.
      for (const q of PERCENTILES) assert.ok(relativeError(merged?.quantiles.get(q) ?? NaN, exactQuantile(union, q)) <= SKETCH_RELATIVE_ACCURACY, `q=${q}`);
    } finally {
      await stopWorkers([live]);
    }
  });
});

/**
 * Starts a process through `start` with pid `pid`, by setting the kernel's last pid just below it
 * (root only; other processes starting meanwhile may take it: tried a few times), or undefined.
 */
async function startWithPid(pid: number, start: () => Promise<Worker>): Promise<Worker | undefined> {
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      fs.writeFileSync('/proc/sys/kernel/ns_last_pid', String(pid - 1));
    } catch {
      return undefined;
    }
    const worker = await start();
    if (worker.pid === pid) return worker;
    await stopWorkers([worker]);
  }
  return undefined;
}

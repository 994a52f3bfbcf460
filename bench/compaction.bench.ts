// Compaction: 1,000 worker lifetimes (each writes, then dies) beside 8 live workers, compacted every
// 100 deaths as the module's schedule would. Scrape time (collect + render, warm collector and
// cold) of that directory against a directory holding only the 8 live workers, measured in the
// same run, rounds interleaved; the uncompacted directory for scale; what one compaction costs.
// Run alone: node --import tsx bench/compaction.bench.ts
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DirectoryCollector, renderText } from '../src/collect';
import { compactDirectory } from '../src/host/compaction';
import { nextMillisecond, workerLifetime, writeWorker } from '../test/host/compaction-support/workers';
import { median } from './timing';

const LIVE_WORKERS = 8;
const LIFETIMES = 1000;
const COMPACT_EVERY = 100;
/** Scrapes of a few milliseconds: many rounds for a steady median. */
const ROUNDS = 201;
/** The uncompacted directory takes hundreds of milliseconds a scrape: it is there for scale. */
const SLOW_ROUNDS = 9;

function timeMs(run: () => unknown): number {
  const start = process.hrtime.bigint();
  run();
  return Number(process.hrtime.bigint() - start) / 1e6;
}

function makeDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `pm2-prom-bench-compaction-${name}-`));
}

function addLiveWorkers(dir: string): void {
  for (let thread = 1; thread <= LIVE_WORKERS; thread++) writeWorker(dir, { pid: process.pid, threadId: thread }, thread).close();
}

/** Median ms per scrape of each directory; rounds alternate between them so drift hits all. */
function scrapeMedians(dirs: readonly string[], warm: boolean, rounds: number): number[] {
  const collectors = dirs.map((dir) => new DirectoryCollector(dir));
  const scrape = (index: number): number =>
    timeMs(() => renderText((warm ? collectors[index] : new DirectoryCollector(dirs[index])).collect()));
  for (let round = 0; round < Math.min(rounds, 20); round++) dirs.forEach((_, index) => scrape(index));
  const times = dirs.map((): number[] => []);
  for (let round = 0; round < rounds; round++) dirs.forEach((_, index) => times[index].push(scrape(index)));
  return times.map(median);
}

const liveOnly = makeDir('live');
const compacted = makeDir('compacted');
const uncompacted = makeDir('uncompacted');
try {
  for (const dir of [liveOnly, compacted, uncompacted]) addLiveWorkers(dir);
  nextMillisecond();
  const compactionMs: number[] = [];
  for (let lifetime = 0; lifetime < LIFETIMES; lifetime++) {
    workerLifetime(compacted, lifetime);
    workerLifetime(uncompacted, lifetime);
    if ((lifetime + 1) % COMPACT_EVERY === 0) compactionMs.push(timeMs(() => compactDirectory(compacted)));
  }
  const sameOutput = renderText(new DirectoryCollector(compacted).collect()) === renderText(new DirectoryCollector(uncompacted).collect());
  const count = (dir: string): number => fs.readdirSync(dir).length;

  const [liveWarm, compactedWarm] = scrapeMedians([liveOnly, compacted], true, ROUNDS);
  const [liveCold, compactedCold] = scrapeMedians([liveOnly, compacted], false, ROUNDS);
  const [uncompactedWarm] = scrapeMedians([uncompacted], true, SLOW_ROUNDS);
  const [uncompactedCold] = scrapeMedians([uncompacted], false, SLOW_ROUNDS);
  const filesBeforeFullCompaction = count(uncompacted);
  const fullCompactionMs = timeMs(() => compactDirectory(uncompacted));

  const row = (label: string, warm: number, cold: number, files: number): string =>
    `${label.padEnd(44)} ${String(files).padStart(6)} ${warm.toFixed(3).padStart(10)} ${cold.toFixed(3).padStart(10)}` +
    `${(warm / liveWarm).toFixed(2).padStart(8)}x ${(cold / liveCold).toFixed(2).padStart(8)}x`;
  console.log(
    `${LIVE_WORKERS} live workers, ${LIFETIMES} dead worker lifetimes; median ms per scrape (collect + render) ` +
      `over ${ROUNDS} interleaved rounds (${SLOW_ROUNDS} for the uncompacted directory)`,
  );
  console.log(`${'directory'.padEnd(44)} ${'files'.padStart(6)} ${'warm ms'.padStart(10)} ${'cold ms'.padStart(10)} ${'warm'.padStart(9)} ${'cold'.padStart(9)}`);
  console.log(row('live workers only', liveWarm, liveCold, count(liveOnly)));
  console.log(row(`live + ${LIFETIMES} dead, compacted every ${COMPACT_EVERY}`, compactedWarm, compactedCold, count(compacted)));
  console.log(row(`live + ${LIFETIMES} dead, never compacted`, uncompactedWarm, uncompactedCold, filesBeforeFullCompaction));
  console.log(`compacted and uncompacted merges identical: ${sameOutput ? 'yes' : 'NO'}`);
  console.log(`compaction of ${COMPACT_EVERY} dead workers: median ${median(compactionMs).toFixed(1)} ms`);
  console.log(
    `compaction of the uncompacted directory (${LIFETIMES} dead workers at once): ${fullCompactionMs.toFixed(1)} ms, ` +
      `${filesBeforeFullCompaction} files -> ${count(uncompacted)}`,
  );
  if (!sameOutput) process.exitCode = 1;
} finally {
  for (const dir of [liveOnly, compacted, uncompacted]) fs.rmSync(dir, { recursive: true, force: true });
}

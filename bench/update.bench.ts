// The update path through the metric API: ns per call for prom-client 15 in memory and for this
// library on the native, pwrite and memory backends, measured in the same run, with ratios.
// Each target runs in its own child process so that no call site sees two implementations.
// Run alone: node --import tsx bench/update.bench.ts (BENCH_CASES=TEXT: only the cases named with it)
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { CASES, libraryOf } from './update-cases';
import type { Target } from './update-cases';
import { median } from './timing';
import { ensureBuilt } from '../test/server/support';

const TARGETS: readonly Target[] = ['prom-client', 'native', 'pwrite', 'memory'];
/** BENCH_CASES=exemplar runs only the cases whose name holds that text. */
const CASE_NAMES = Object.keys(CASES).filter((name) => name.includes(process.env.BENCH_CASES ?? ''));
const ROUNDS = 15;
const CASE_WIDTH = 60;
/** Each round runs for about this long, so slow and fast cases take similar time. */
const ROUND_NS = 10e6;

/** Ratios of our cases to our classic histogram.observe(v), measured in the same rounds. */
const AGAINST_CLASSIC = ['native histogram.observe(v)', 'native+classic histogram.observe(v)'].filter((name) => CASE_NAMES.includes(name));

/** How many updates make one round of `loop` last about ROUND_NS (this also warms it up). */
function callsPerRound(loop: (n: number) => void): number {
  for (let calls = 1000; ; calls *= 4) {
    const start = process.hrtime.bigint();
    loop(calls);
    const elapsed = Number(process.hrtime.bigint() - start);
    if (elapsed > ROUND_NS / 4) return Math.max(1, Math.round((calls * ROUND_NS) / elapsed));
  }
}

/** Request from the coordinator: run one round of a case, answer with ns per update. */
interface RoundRequest {
  case: string;
}

/** In a child process: sets up every case for one target, then runs rounds on request. */
function serveTarget(target: Target): void {
  const { lib, dir } = libraryOf(target);
  const loops = new Map(Object.entries(CASES).map(([name, makeLoop]) => [name, makeLoop(lib)]));
  const calls = new Map([...loops].map(([name, loop]) => [name, callsPerRound(loop)]));
  process.on('message', (request: RoundRequest) => {
    const loop = loops.get(request.case);
    const n = calls.get(request.case) ?? 1;
    if (loop === undefined) throw new Error(`Unknown case ${request.case}`);
    const start = process.hrtime.bigint();
    loop(n);
    process.send?.(Number(process.hrtime.bigint() - start) / n);
  });
  process.on('disconnect', () => {
    if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
  process.send?.('ready');
}

/** A target's process, answering one round at a time. */
class TargetProcess {
  private readonly child: ChildProcess;
  private pending: { resolve: (reply: unknown) => void; reject: (error: Error) => void } | undefined;

  constructor(readonly target: Target) {
    this.child = fork(__filename, [target], { execArgv: ['--import', 'tsx'] });
    this.child.on('message', (reply) => this.settle()?.resolve(reply));
    this.child.on('exit', (code) => this.settle()?.reject(new Error(`${target} exited with ${String(code)}`)));
  }

  private settle(): TargetProcess['pending'] {
    const pending = this.pending;
    this.pending = undefined;
    return pending;
  }

  private ask(request: RoundRequest | undefined): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      if (request !== undefined) this.child.send(request);
    });
  }

  ready(): Promise<unknown> {
    return this.ask(undefined);
  }

  async round(name: string): Promise<number> {
    return (await this.ask({ case: name })) as number;
  }

  stop(): void {
    this.child.disconnect();
  }
}

/**
 * Rounds interleave the targets case by case, a few milliseconds each, so that load from other
 * processes falls on all of them alike; a ratio is taken between rounds run back to back.
 */
async function report(): Promise<void> {
  // Built once here: the targets' processes would otherwise each rebuild a stale dist/ at once,
  // one loading files another is rewriting.
  ensureBuilt();
  const processes = TARGETS.map((target) => new TargetProcess(target));
  await Promise.all(processes.map((target) => target.ready()));
  const samples = new Map<string, number[]>();
  const ratios = new Map<string, number[]>();
  const classicRatios = new Map<string, number[]>();
  const push = (map: Map<string, number[]>, key: string, value: number): void => {
    map.set(key, [...(map.get(key) ?? []), value]);
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of CASE_NAMES) {
      const times = new Map<Target, number>();
      for (const target of processes) times.set(target.target, await target.round(name));
      for (const [target, ns] of times) {
        push(samples, `${target} ${name}`, ns);
        push(ratios, `${target} ${name}`, ns / (times.get('prom-client') ?? NaN));
      }
    }
    // Our classic case ran in this round too, in the same process: its time is the reference.
    for (const name of AGAINST_CLASSIC) {
      for (const target of processes.filter((process) => process.target !== 'prom-client')) {
        const classic = samples.get(`${target.target} histogram.observe(v)`)?.at(-1) ?? NaN;
        push(classicRatios, `${target.target} ${name}`, (samples.get(`${target.target} ${name}`)?.at(-1) ?? NaN) / classic);
      }
    }
  }
  for (const target of processes) target.stop();

  const oursTargets = TARGETS.filter((target) => target !== 'prom-client');
  console.log(`ns per update, median of ${ROUNDS} rounds; ratio = median of (ours / prom-client) over rounds run back to back (< 1: faster).`);
  console.log([`case`.padEnd(CASE_WIDTH), ...TARGETS.map((t) => `${t} ns`.padStart(15)), ...oursTargets.map((t) => `${t}/prom`.padStart(13))].join(''));
  for (const name of CASE_NAMES) {
    const cells = TARGETS.map((target) => median(samples.get(`${target} ${name}`) ?? []).toFixed(1).padStart(15));
    const ratioCells = oursTargets.map((target) => median(ratios.get(`${target} ${name}`) ?? []).toFixed(2).padStart(13));
    console.log([name.padEnd(CASE_WIDTH), ...cells, ...ratioCells].join(''));
  }
  if (AGAINST_CLASSIC.length > 0) console.log('\nours / our classic histogram.observe(v), median over rounds (same process, same round):');
  for (const name of AGAINST_CLASSIC) {
    const cells = oursTargets.map((target) => `${target} ${median(classicRatios.get(`${target} ${name}`) ?? []).toFixed(2)}`.padStart(16));
    console.log([name.padEnd(40), ...cells].join(''));
  }
}

const requested = process.argv[2] as Target | undefined;
if (requested === undefined) void report();
else if (TARGETS.includes(requested)) serveTarget(requested);
else throw new Error(`Unknown target "${requested}" (one of ${TARGETS.join(', ')})`);

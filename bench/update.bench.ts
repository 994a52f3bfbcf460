// The update path through the metric API: ns per call for prom-client 15 in memory and for this
// library on the native, pwrite and memory backends, measured in the same run, with ratios.
// Each target runs in its own child process so that no call site sees two implementations.
// Run alone: node --import tsx bench/update.bench.ts
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as promClient from 'prom-client';
import * as ours from '../src/index';
import { useStore } from '../src/metrics/active-store';
import { ProcessStore } from '../src/store';
import { median } from './timing';

const TARGETS = ['prom-client', 'native', 'pwrite', 'memory'] as const;
type Target = (typeof TARGETS)[number];
const ROUNDS = 15;
/** Each round runs for about this long, so slow and fast cases take similar time. */
const ROUND_NS = 10e6;

/** The part of both libraries the cases use, typed by ours. */
type Library = Pick<typeof ours, 'Counter' | 'Gauge' | 'Histogram' | 'Summary'>;

/** Latency-like observations, the same in every target: 1.5 ms to 0.37 s, repeating every 4,096. */
const OBSERVED = Float64Array.from({ length: 4096 }, (_, i) => Math.exp(-3.5 + 2.5 * Math.sin(i * 0.7)));

/** One case: returns a loop doing `n` updates (its own function, so its call sites stay monomorphic). */
const CASES: Record<string, (lib: Library) => (n: number) => void> = {
  'counter.inc()': (lib) => {
    const counter = new lib.Counter({ name: 'plain_total', help: 'x', registers: [] });
    return (n) => {
      for (let i = 0; i < n; i++) counter.inc();
    };
  },
  "counter.labels('a','b').inc()": (lib) => {
    const counter = new lib.Counter({ name: 'by_values_total', help: 'x', labelNames: ['a', 'b'], registers: [] });
    return (n) => {
      for (let i = 0; i < n; i++) counter.labels('x', 'y').inc();
    };
  },
  'counter.inc({a, b})': (lib) => {
    const counter = new lib.Counter({ name: 'by_object_total', help: 'x', labelNames: ['a', 'b'], registers: [] });
    return (n) => {
      for (let i = 0; i < n; i++) counter.inc({ a: 'x', b: 'y' });
    };
  },
  'child.inc()': (lib) => {
    const child = new lib.Counter({ name: 'child_total', help: 'x', labelNames: ['a', 'b'], registers: [] }).labels('x', 'y');
    return (n) => {
      for (let i = 0; i < n; i++) child.inc();
    };
  },
  'gauge.set(v)': (lib) => {
    const gauge = new lib.Gauge({ name: 'level', help: 'x', registers: [] });
    return (n) => {
      for (let i = 0; i < n; i++) gauge.set(i);
    };
  },
  'histogram.observe(v)': (lib) => {
    const histogram = new lib.Histogram({ name: 'latency', help: 'x', registers: [] });
    return (n) => {
      for (let i = 0; i < n; i++) histogram.observe((i & 15) * 0.05);
    };
  },
  // prom-client 15 has no native buckets: it runs its classic histogram (default buckets) here,
  // the peer the issue measures against.
  'native histogram.observe(v)': (lib) => {
    const histogram = new lib.Histogram({ name: 'native_latency', help: 'x', registers: [], ...nativeOptions(lib, []) });
    return (n) => {
      for (let i = 0; i < n; i++) histogram.observe((i & 15) * 0.05);
    };
  },
  'native+classic histogram.observe(v)': (lib) => {
    const histogram = new lib.Histogram({ name: 'both_latency', help: 'x', registers: [], ...nativeOptions(lib, undefined) });
    return (n) => {
      for (let i = 0; i < n; i++) histogram.observe((i & 15) * 0.05);
    };
  },
  // prom-client: a t-digest insert (and a compress every 1,000). Ours in a directory: count, sum and
  // one bucket of the sketch; in memory: prom-client's own t-digest.
  'summary.observe(v)': (lib) => {
    const summary = new lib.Summary({ name: 'sizes', help: 'x', registers: [] });
    return (n) => {
      for (let i = 0; i < n; i++) summary.observe(OBSERVED[i & 4095]);
    };
  },
  'summary.observe(v), 600 s x 5': (lib) => {
    const summary = new lib.Summary({ name: 'windowed', help: 'x', maxAgeSeconds: 600, ageBuckets: 5, registers: [] });
    return (n) => {
      for (let i = 0; i < n; i++) summary.observe(OBSERVED[i & 4095]);
    };
  },
  'summary child.observe(v), 600 s x 5': (lib) => {
    const child = new lib.Summary({ name: 'by_route', help: 'x', labelNames: ['route'], maxAgeSeconds: 600, ageBuckets: 5, registers: [] }).labels('/a');
    return (n) => {
      for (let i = 0; i < n; i++) child.observe(OBSERVED[i & 4095]);
    };
  },
};

/** Native buckets (schema 3) for our Histogram, with these classic buckets; nothing for prom-client. */
function nativeOptions(lib: Library, buckets: number[] | undefined): { nativeHistogramBucketFactor?: number; buckets?: number[] } {
  if (lib.Histogram !== ours.Histogram) return {};
  return buckets === undefined ? { nativeHistogramBucketFactor: 1.1 } : { nativeHistogramBucketFactor: 1.1, buckets };
}

/** Ratios of our cases to our classic histogram.observe(v), measured in the same rounds. */
const AGAINST_CLASSIC = ['native histogram.observe(v)', 'native+classic histogram.observe(v)'];

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
  let lib: Library = ours;
  let dir: string | undefined;
  if (target === 'prom-client') lib = promClient as unknown as Library;
  else if (target === 'memory') useStore(undefined);
  else {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-prom-bench-'));
    useStore(new ProcessStore(dir, { backend: target }));
  }
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
  const processes = TARGETS.map((target) => new TargetProcess(target));
  await Promise.all(processes.map((target) => target.ready()));
  const samples = new Map<string, number[]>();
  const ratios = new Map<string, number[]>();
  const classicRatios = new Map<string, number[]>();
  const push = (map: Map<string, number[]>, key: string, value: number): void => {
    map.set(key, [...(map.get(key) ?? []), value]);
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of Object.keys(CASES)) {
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
  console.log([`case`.padEnd(38), ...TARGETS.map((t) => `${t} ns`.padStart(15)), ...oursTargets.map((t) => `${t}/prom`.padStart(13))].join(''));
  for (const name of Object.keys(CASES)) {
    const cells = TARGETS.map((target) => median(samples.get(`${target} ${name}`) ?? []).toFixed(1).padStart(15));
    const ratioCells = oursTargets.map((target) => median(ratios.get(`${target} ${name}`) ?? []).toFixed(2).padStart(13));
    console.log([name.padEnd(38), ...cells, ...ratioCells].join(''));
  }
  console.log('\nours / our classic histogram.observe(v), median over rounds (same process, same round):');
  for (const name of AGAINST_CLASSIC) {
    const cells = oursTargets.map((target) => `${target} ${median(classicRatios.get(`${target} ${name}`) ?? []).toFixed(2)}`.padStart(16));
    console.log([name.padEnd(40), ...cells].join(''));
  }
}

const requested = process.argv[2] as Target | undefined;
if (requested === undefined) void report();
else if (TARGETS.includes(requested)) serveTarget(requested);
else throw new Error(`Unknown target "${requested}" (one of ${TARGETS.join(', ')})`);

// The update path through the metric API: ns per call for prom-client 15 in memory and for this
// library on the native, pwrite and memory backends, measured in the same run, with ratios.
// Each target runs in its own child process so that no call site sees two implementations; the
// targets take turns over several passes so that load from elsewhere hits them alike.
// Run alone: node --import tsx bench/update.bench.ts
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as promClient from 'prom-client';
import * as ours from '../src/index';

const TARGETS = ['prom-client', 'native', 'pwrite', 'memory'] as const;
type Target = (typeof TARGETS)[number];
const PASSES = 3;
const ROUNDS = 5;
/** Each round runs for about this long, so slow and fast cases take similar time. */
const ROUND_NS = 15e6;

/** The part of both libraries the cases use, typed by ours. */
type Library = Pick<typeof ours, 'Counter' | 'Gauge' | 'Histogram'>;

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
};

function median(values: number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

/** Median ns per update of `loop` over ROUNDS rounds, after a warm-up that sizes the rounds. */
function nsPerUpdate(loop: (n: number) => void): number {
  let calls = 1000;
  for (;;) {
    const start = process.hrtime.bigint();
    loop(calls);
    const elapsed = Number(process.hrtime.bigint() - start);
    if (elapsed > ROUND_NS / 4) {
      calls = Math.max(1, Math.round((calls * ROUND_NS) / elapsed));
      break;
    }
    calls *= 4;
  }
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    loop(calls);
    samples.push(Number(process.hrtime.bigint() - start) / calls);
  }
  return median(samples);
}

/** In a child process: measures every case for one target and prints them as JSON. */
function measureTarget(target: Target): void {
  let dir: string | undefined;
  let lib: Library = ours;
  if (target === 'prom-client') lib = promClient as unknown as Library;
  else if (target === 'memory') ours.useStore(undefined);
  else {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-prom-bench-'));
    ours.useStore(new ours.ProcessStore(dir, { backend: target }));
  }
  const results: Record<string, number> = {};
  for (const [name, makeLoop] of Object.entries(CASES)) results[name] = nsPerUpdate(makeLoop(lib));
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  process.stdout.write(JSON.stringify(results));
}

function runTarget(target: Target): Record<string, number> {
  const result = spawnSync(process.execPath, ['--import', 'tsx', __filename, target], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${target} failed: ${result.stderr}`);
  return JSON.parse(result.stdout) as Record<string, number>;
}

/** Per target and case, the median over passes of each pass's median. */
function measureAll(): Map<Target, Record<string, number>> {
  const passes = new Map<Target, Array<Record<string, number>>>(TARGETS.map((target) => [target, []]));
  for (let pass = 0; pass < PASSES; pass++) {
    // Rotate the order so that no target always runs first (or last).
    for (let i = 0; i < TARGETS.length; i++) {
      const target = TARGETS[(i + pass) % TARGETS.length];
      passes.get(target)?.push(runTarget(target));
    }
  }
  const medians = new Map<Target, Record<string, number>>();
  for (const [target, results] of passes) {
    medians.set(target, Object.fromEntries(Object.keys(CASES).map((name) => [name, median(results.map((result) => result[name]))])));
  }
  return medians;
}

function report(): void {
  const byTarget = measureAll();
  const base = byTarget.get('prom-client') ?? {};
  const ours = TARGETS.filter((target) => target !== 'prom-client');
  const header = ['case'.padEnd(32), ...TARGETS.map((t) => `${t} ns`.padStart(15)), ...ours.map((t) => `${t}/prom`.padStart(13))];
  console.log(`ns per update: median of ${PASSES} passes x ${ROUNDS} rounds, each target in its own process; ratio < 1 is faster than prom-client.`);
  console.log(header.join(''));
  for (const name of Object.keys(CASES)) {
    const cells = TARGETS.map((target) => (byTarget.get(target)?.[name] ?? NaN).toFixed(1).padStart(15));
    const ratios = ours.map((target) => ((byTarget.get(target)?.[name] ?? NaN) / base[name]).toFixed(2).padStart(13));
    console.log([name.padEnd(32), ...cells, ...ratios].join(''));
  }
}

const requested = process.argv[2] as Target | undefined;
if (requested === undefined) report();
else if (TARGETS.includes(requested)) measureTarget(requested);
else throw new Error(`Unknown target "${requested}" (one of ${TARGETS.join(', ')})`);

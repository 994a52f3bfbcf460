// The cost of a new series: ns per `counter.labels(<new value>).inc()` over 50,000 new label
// values in a fresh directory (key encoding, the append, the file's growth with its space
// reserved), for prom-client 15 in memory and for this library on each backend, measured in the
// same run; and on the native backend once its file can grow no more (a soft `ulimit -f`), where
// new series wait in process memory. Each target runs in its own process; the rounds interleave.
// Run alone: node --import tsx bench/new-series.bench.ts
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as promClient from 'prom-client';
import * as ours from '../src/index';
import { useStore } from '../src/metrics/active-store';
import { setLogger } from '../src/logger';
import { ProcessStore } from '../src/store';
import type { BackendKind } from '../src/store';
import { median } from './timing';

const TARGETS = ['prom-client', 'native', 'pwrite', 'memory', 'native, file at its limit'] as const;
type Target = (typeof TARGETS)[number];
const SERIES = 50_000;
const ROUNDS = 7;
/** The soft file size limit of the last target: every file stops at its first 64 KiB. */
const LIMIT_KIB = 64;

/** One round in this process: SERIES new series of a new counter in a new directory; ns each. */
function round(target: Target, index: number): number {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-prom-bench-series-'));
  try {
    let Counter: typeof ours.Counter = ours.Counter;
    if (target === 'prom-client') Counter = promClient.Counter as unknown as typeof ours.Counter;
    else if (target === 'memory') useStore(undefined);
    else useStore(new ProcessStore(dir, { backend: (target === 'pwrite' ? 'pwrite' : 'native') as BackendKind }));
    const counter = new Counter({ name: `series_${index}_total`, help: 'x', labelNames: ['id'], registers: [] });
    const start = process.hrtime.bigint();
    for (let i = 0; i < SERIES; i++) counter.labels(String(i)).inc();
    return Number(process.hrtime.bigint() - start) / SERIES;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** In a child: runs the rounds it is told to, answering with ns per new series. */
function serveTarget(target: Target): void {
  // The limited target warns once per file that it cannot grow: that is the point, not news.
  setLogger({ info: () => undefined, warn: () => undefined, error: (message) => console.error(message) });
  let index = 0;
  process.stdin.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.split('\n')) if (line !== '') process.stdout.write(`${round(target, index++)}\n`);
  });
}

function report(): void {
  const samples = new Map<Target, number[]>(TARGETS.map((target) => [target, []]));
  for (let index = 0; index < ROUNDS; index++) {
    for (const target of TARGETS) {
      const command = [process.execPath, '--import', 'tsx', __filename, target];
      // A fresh process per round: no round sees the JIT state or the heap of another.
      const shell = target === 'native, file at its limit' ? `ulimit -S -f ${LIMIT_KIB} && exec "$@"` : 'exec "$@"';
      const output = execFileSync('bash', ['-c', shell, 'bash', ...command], { input: 'round\n', encoding: 'utf8' });
      samples.get(target)?.push(Number(output.trim()));
    }
  }
  const peer = median(samples.get('prom-client') ?? []);
  console.log(`ns per new series (counter.labels(<new value>).inc(), ${SERIES} in a fresh directory), median of ${ROUNDS} rounds.`);
  for (const target of TARGETS) {
    const values = samples.get(target) ?? [];
    const ns = median(values);
    const range = `${Math.min(...values).toFixed(0)}-${Math.max(...values).toFixed(0)}`;
    console.log(`${target.padEnd(28)}${ns.toFixed(0).padStart(8)} ns  (${range})  x${(ns / peer).toFixed(2)} of prom-client`);
  }
}

const requested = process.argv[2] as Target | undefined;
if (requested === undefined) report();
else if (TARGETS.includes(requested)) serveTarget(requested);
else throw new Error(`Unknown target "${requested}" (one of ${TARGETS.join(', ')})`);

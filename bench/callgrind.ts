// Instructions per update under valgrind's callgrind, for when times wobble on a shared machine:
// each case runs N1 and then N2 times in a fresh process per target, and the steady-state cost is
// (instructions(N2) - instructions(N1)) / (N2 - N1), start-up and JIT warm-up cancelled out.
// Optimizing compiles run on the main thread (--no-concurrent-recompilation): valgrind serializes
// threads, so a background compile would land at an arbitrary point of either run.
// Not part of `npm run bench` (minutes under valgrind). Run:
//   node --import tsx bench/callgrind.ts [CASE_SUBSTRING]     (default: the exemplar cases)
// Needs valgrind (Debian: apt-get install valgrind).
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { CASES, libraryOf } from './update-cases';
import type { Target } from './update-cases';

const TARGETS: readonly Target[] = ['prom-client', 'native'];
const N1 = 200_000;
const N2 = 600_000;

/** Under valgrind: sets up one case, runs it `calls` times, exits. */
function runCase(name: string, target: Target, calls: number): void {
  const { lib, dir } = libraryOf(target);
  const loop = CASES[name](lib);
  loop(calls);
  if (dir !== undefined) fs.rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

function instructions(name: string, target: Target, calls: number): number {
  const result = spawnSync(
    'valgrind',
    ['--tool=callgrind', '--callgrind-out-file=/dev/null', process.execPath, '--no-concurrent-recompilation', '--import', 'tsx', __filename, 'run', name, target, String(calls)],
    { encoding: 'utf8' },
  );
  const match = /Collected : (\d+)/.exec(result.stderr);
  if (result.status !== 0 || match === null) throw new Error(`valgrind failed for ${name} on ${target}:\n${result.stderr.slice(-2000)}`);
  return Number(match[1]);
}

function report(filter: string): void {
  if (spawnSync('valgrind', ['--version']).status !== 0) {
    console.log('skipped: valgrind is not installed (apt-get install valgrind)');
    return;
  }
  const names = Object.keys(CASES).filter((name) => name.includes(filter));
  console.log(`instructions per update, (I(${N2}) - I(${N1})) / ${N2 - N1}, callgrind`);
  for (const name of names) {
    const perCall = TARGETS.map((target) => (instructions(name, target, N2) - instructions(name, target, N1)) / (N2 - N1));
    const cells = TARGETS.map((target, i) => `${target} ${perCall[i].toFixed(0)}`).join('  ');
    console.log(`${name.padEnd(60)} ${cells}  native/prom-client ${(perCall[1] / perCall[0]).toFixed(2)}`);
  }
}

const [mode, name, target, calls] = process.argv.slice(2);
if (mode === 'run') runCase(name, target as Target, Number(calls));
else report(mode ?? 'exemplarLabels');

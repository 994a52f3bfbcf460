// Runs a command as a whole process, again and again: wall time and peak RSS (from GNU time),
// medians and ranges. Used to compare our collector with Python's on the same files.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { median } from './timing';

const GNU_TIME = '/usr/bin/time';

export interface ProcessFigures {
  seconds: number[];
  peakMiB: number[];
}

/** Why whole processes cannot be measured here, or undefined when they can. */
export function wholeProcessUnavailable(): string | undefined {
  return fs.existsSync(GNU_TIME) ? undefined : `${GNU_TIME} is missing (apt-get install time)`;
}

/** Runs `command` `rounds` times (output discarded); throws with its stderr when it fails. */
export function measureProcess(command: string, args: readonly string[], rounds: number, env: NodeJS.ProcessEnv = {}): ProcessFigures {
  const figures: ProcessFigures = { seconds: [], peakMiB: [] };
  for (let round = 0; round < rounds; round++) {
    const result = spawnSync(GNU_TIME, ['-f', 'FIGURES %e %M', command, ...args], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
      maxBuffer: 1 << 30,
    });
    const match = /FIGURES (\S+) (\d+)\s*$/.exec(result.stderr);
    if (result.status !== 0 || match === null) throw new Error(`${command} ${args.join(' ')} failed:\n${result.stderr}`);
    figures.seconds.push(Number(match[1]));
    figures.peakMiB.push(Number(match[2]) / 1024);
  }
  return figures;
}

/** `median (min-max)` of a list, with `digits` decimals. */
export function spread(values: readonly number[], digits: number): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${median(values).toFixed(digits)} (${sorted[0].toFixed(digits)}-${sorted[sorted.length - 1].toFixed(digits)})`;
}

// Runs the real command line as a child process (through tsx on src/cli.ts).

import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const CLI = path.join(__dirname, '..', '..', '..', 'src', 'cli.ts');

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the command with `args`, as this process's user or as another (`uid`, `gid`: run as root). */
export function runCli(args: readonly string[], user: { uid?: number; gid?: number } = {}): CliResult {
  const result = runCliBytes(args, user);
  return { ...result, stdout: result.stdout.toString('utf8') };
}

/** The same, with stdout as it was written (binary output: collect --protobuf). */
export function runCliBytes(args: readonly string[], user: { uid?: number; gid?: number } = {}): Omit<CliResult, 'stdout'> & { stdout: Buffer } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { timeout: 60_000, ...user });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr.toString('utf8') };
}

// Python's prometheus_client for the tests that run it: the team's copy of the current client
// (../shared/peers/client_python beside the repository; a fresh clone elsewhere has none), or
// whatever the interpreter imports itself. Tests skip, saying why, when there is neither.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The interpreter (env PYTHON, default python3). */
export const PYTHON = process.env.PYTHON ?? 'python3';
export const SHARED_CLIENT = path.resolve(__dirname, '..', '..', '..', 'shared', 'peers', 'client_python');

let found: NodeJS.ProcessEnv | null | undefined;

/** The environment in which PYTHON imports prometheus_client, or undefined when it cannot. */
export function pythonClientEnv(): NodeJS.ProcessEnv | undefined {
  if (found === undefined) {
    const candidates = [
      ...(fs.existsSync(SHARED_CLIENT) ? [{ ...process.env, PYTHONPATH: SHARED_CLIENT }] : []),
      process.env,
    ];
    found = candidates.find((env) => spawnSync(PYTHON, ['-c', 'import prometheus_client'], { env }).status === 0) ?? null;
  }
  return found ?? undefined;
}

export const NO_PYTHON_CLIENT = `${PYTHON} cannot import prometheus_client and ${SHARED_CLIENT} is absent (set PYTHON to one that can)`;

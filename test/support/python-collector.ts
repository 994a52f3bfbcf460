// Python's own MultiProcessCollector over a directory, from the team's copy of the current Python
// client (../shared/peers/client_python, or PYTHON_CLIENT_PATH): tests that use it skip with
// PYTHON_COLLECTOR_MISSING when it is absent (a fresh clone outside the team has no ../shared).
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const CLIENT = process.env.PYTHON_CLIENT_PATH ?? path.join(__dirname, '..', '..', '..', 'shared', 'peers', 'client_python');
const PYTHON = process.env.PYTHON ?? 'python3';

export const PYTHON_COLLECTOR_MISSING =
  `Python's client is not at ${CLIENT} (set PYTHON_CLIENT_PATH to a prometheus_client checkout): ` +
  "not checked against Python's collector";

const COLLECT = `
import sys
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
registry = CollectorRegistry()
multiprocess.MultiProcessCollector(registry, path=sys.argv[1])
sys.stdout.write(generate_latest(registry).decode())
`;

export function pythonCollectorAvailable(): boolean {
  return fs.existsSync(path.join(CLIENT, 'prometheus_client', 'multiprocess.py'));
}

/** The text exposition Python's MultiProcessCollector makes of `dir`; fails the test if Python fails. */
export function pythonCollect(dir: string): string {
  const result = spawnSync(PYTHON, ['-c', COLLECT, dir], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: CLIENT } });
  assert.equal(result.error, undefined, `cannot run ${PYTHON}: ${String(result.error)}`);
  assert.equal(result.status, 0, `Python's collector failed on ${dir}:\n${result.stderr}`);
  return result.stdout;
}

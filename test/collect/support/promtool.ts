// Runs the real `promtool check metrics` over an exposition, when promtool is installed.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';

let available: boolean | undefined;

export function promtoolAvailable(): boolean {
  available ??= spawnSync('promtool', ['--version'], { stdio: 'ignore' }).status === 0;
  return available;
}

export const PROMTOOL_MISSING =
  'promtool is not installed (Debian: apt-get install prometheus): exposition not validated by promtool';

/**
 * Asserts promtool parses `text` without error. Lint findings (exit 3) fail the test too, except
 * those matching `allowedLint` (names the test data cannot change, like Python's fixture's g_sum).
 */
export function assertPromtoolAccepts(text: string, allowedLint: readonly RegExp[] = []): void {
  const result = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  const output = `${result.stdout}${result.stderr}`.trim();
  if (result.status === 0) return;
  assert.equal(result.status, 3, `promtool rejected the exposition:\n${output}\n--- exposition ---\n${text}`);
  const findings = output.split('\n').filter((line) => !allowedLint.some((pattern) => pattern.test(line)));
  assert.deepEqual(findings, [], `promtool lint findings:\n${output}`);
}

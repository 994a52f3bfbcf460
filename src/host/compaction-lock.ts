// One compaction at a time per directory: a lock file naming the compacting pid. A lock left by
// a compaction that was killed names a dead pid and is taken over.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { isProcessAlive } from '../store';

/** Not `*.db`: neither this library's collector nor Python's reads it. */
export const COMPACTION_LOCK_NAME = '.compaction.lock';

/** Takes the lock of `dir` or throws naming the live compaction that holds it. */
export function acquireCompactionLock(dir: string): { release(): void } {
  const lockPath = path.join(dir, COMPACTION_LOCK_NAME);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockPath, `${process.pid}\n`, { flag: 'wx', mode: 0o600 });
      return { release: () => fs.rmSync(lockPath, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = lockHolder(lockPath);
    if (holder === 'starting') throw new Error(`another compaction is starting in ${dir} (${lockPath} is its lock)`);
    // Our own pid can only be a stale lock of a killed compaction whose pid we got by reuse:
    // compactions are synchronous, so this process never runs two.
    if (holder !== 'gone' && holder !== process.pid && isProcessAlive(holder)) {
      throw new Error(`another compaction (pid ${holder}) is running in ${dir}; ${lockPath} is its lock`);
    }
    fs.rmSync(lockPath, { force: true });
  }
  throw new Error(`cannot take ${lockPath}: another compaction keeps taking it`);
}

/** A lock with no pid written yet is kept this long before it counts as left by a killed writer. */
const UNWRITTEN_LOCK_MS = 60_000;

/** The pid in the lock; 'starting' while its writer has not written it yet; 'gone' when stale. */
function lockHolder(lockPath: string): number | 'starting' | 'gone' {
  let text: string;
  let modified: number;
  try {
    text = fs.readFileSync(lockPath, 'utf8');
    modified = fs.statSync(lockPath).mtimeMs;
  } catch {
    return 'gone';
  }
  const pid = Number(text.trim());
  if (text.trim() !== '' && Number.isSafeInteger(pid) && pid > 0) return pid;
  return Date.now() - modified < UNWRITTEN_LOCK_MS ? 'starting' : 'gone';
}

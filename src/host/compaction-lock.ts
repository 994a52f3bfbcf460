// One compaction at a time per directory: a lock file naming the compacting pid and its start. A
// lock left by a compaction that was killed names a dead process and is taken over, even when an
// unrelated process holds its pid by now (the start tells them apart); so is, after a few
// seconds, a lock that names no pid (its writer was killed between creating it and writing it).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAlive, processStartTicks } from '../store';

/** Not `*.db`: neither this library's collector nor Python's reads it. */
export const COMPACTION_LOCK_NAME = '.compaction.lock';

/** Takes the lock of `dir` or throws naming the live compaction that holds it. */
export function acquireCompactionLock(dir: string): { release(): void } {
  const lockPath = path.join(dir, COMPACTION_LOCK_NAME);
  const start = processStartTicks(process.pid);
  const holderText = start === undefined ? `${process.pid}\n` : `${process.pid} ${start}\n`;
  for (let attempt = 0; attempt < 2; attempt++) {
    if (createLock(lockPath, holderText)) return { release: () => fs.rmSync(lockPath, { force: true }) };
    const holder = lockHolder(lockPath);
    if (holder === 'starting') throw new Error(`another compaction is starting in ${dir} (${lockPath} is its lock)`);
    // Our own pid can only be a stale lock of a killed compaction whose pid we got by reuse:
    // compactions are synchronous, so this process never runs two.
    if (holder !== 'gone' && holder.pid !== process.pid && isAlive(holder)) {
      throw new Error(`another compaction (pid ${holder.pid}) is running in ${dir}; ${lockPath} is its lock`);
    }
    fs.rmSync(lockPath, { force: true });
  }
  throw new Error(`cannot take ${lockPath}: another compaction keeps taking it`);
}

/**
 * Creates the lock holding `holder` (this process's pid and start); false when one exists. A lock
 * created but not written (ENOSPC, say) is removed before the error is thrown: it would block
 * every compaction.
 */
function createLock(lockPath: string, holder: string): boolean {
  let fd: number;
  try {
    fd = fs.openSync(lockPath, fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
  try {
    fs.writeSync(fd, holder);
  } catch (error) {
    fs.closeSync(fd);
    fs.rmSync(lockPath, { force: true });
    throw new Error(`cannot write the compaction lock ${lockPath}: ${(error as Error).message}`);
  }
  fs.closeSync(fd);
  return true;
}

/**
 * A lock with no pid in it is kept this long before it counts as left by a killed writer: a live
 * writer writes its pid microseconds after creating the lock.
 */
const UNWRITTEN_LOCK_MS = 2_000;

/**
 * The pid in the lock and its start (a lock of an older version has none); 'starting' while its
 * writer has not written it yet; 'gone' when stale.
 */
function lockHolder(lockPath: string): { pid: number; start?: number } | 'starting' | 'gone' {
  let text: string;
  let modified: number;
  try {
    text = fs.readFileSync(lockPath, 'utf8');
    modified = fs.statSync(lockPath).mtimeMs;
  } catch {
    return 'gone';
  }
  const [pidText, startText] = text.trim().split(' ');
  const pid = Number(pidText);
  const start = startText === undefined ? undefined : Number(startText);
  if (pidText !== '' && Number.isSafeInteger(pid) && pid > 0) return { pid, start: Number.isSafeInteger(start) ? start : undefined };
  // A time in the future (a clock set back) must not make it young for ever.
  return Math.abs(Date.now() - modified) < UNWRITTEN_LOCK_MS ? 'starting' : 'gone';
}

// Keeps metric directories true to the processes alive: the safe clean at start (a stale
// directory is wiped, a live one only loses its dead pids' live gauges) and the marking of dead
// pids, from exit events or from a periodic reconcile that catches the events nobody saw.
import fs from 'node:fs';
import path from 'node:path';
import { markProcessDead } from '../collect';
import { isProcessAlive } from '../collect/liveness';
import { parseFileName } from '../store/format';
import { checkDirectory } from '../store/mmap-file';
import type { Logger } from './logger';

export { isProcessAlive };

/** The metric files of a directory (`*.db`), with the pid that owns each when its name says. */
function listMetricFiles(dir: string): Array<{ name: string; pid: number | undefined }> {
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.db'))
    .map((name) => ({ name, pid: parseFileName(name)?.pid }));
}

/** The pids that own at least one file in `dir`. */
export function pidsOwningFiles(dir: string): Set<number> {
  const pids = new Set<number>();
  for (const file of listMetricFiles(dir)) {
    if (file.pid !== undefined) pids.add(file.pid);
  }
  return pids;
}

export type PreparedState = 'created' | 'empty' | 'wiped' | 'kept';

/**
 * Makes `dir` ready to serve: creates it (0700) when missing; wipes its `*.db` files when no owner
 * is alive (a stale directory from before a restart of everything); otherwise keeps every file and
 * leaves the dead pids to the sweeper. Throws a clear Error when the directory cannot be used.
 */
export function prepareDirectory(dir: string): PreparedState {
  let created = false;
  if (!fs.existsSync(dir)) {
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      created = true;
    } catch (error) {
      throw new Error(`cannot create metrics directory "${dir}": ${(error as Error).message}`);
    }
  }
  checkDirectory(dir);
  refuseWorldWritable(dir);
  if (created) return 'created';
  const files = listMetricFiles(dir);
  const anyOwnerAlive = files.some((file) => file.pid !== undefined && isProcessAlive(file.pid));
  if (files.length === 0) return 'empty';
  if (anyOwnerAlive) return 'kept';
  // Only the files listed above go: a file created since then belongs to a live process.
  for (const file of files) removeFileEntry(path.join(dir, file.name));
  return 'wiped';
}

/**
 * Refuses a directory every local user may write to without the sticky bit: any of them could
 * then delete or replace the metric files of the others.
 */
function refuseWorldWritable(dir: string): void {
  const mode = fs.statSync(dir).mode;
  if ((mode & 0o002) !== 0 && (mode & 0o1000) === 0) {
    throw new Error(
      `metrics directory "${dir}" is writable by every user without the sticky bit (mode ` +
        `${(mode & 0o7777).toString(8)}): any local user could delete or replace its metric files; ` +
        `run chmod o-w "${dir}" (or chmod +t "${dir}" for a shared directory)`,
    );
  }
}

/** Removes a file or a symbolic link (never what it points to); a directory named *.db stays. */
function removeFileEntry(filePath: string): void {
  try {
    fs.unlinkSync(filePath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EISDIR') throw error;
  }
}

/** Marks dead pids once each (per directory) and counts them for the module's own health. */
export class DeadPidSweeper {
  private readonly marked = new Map<string, Set<number>>();
  private markedCount = 0;

  constructor(private readonly log: Logger) {}

  /** How many (directory, pid) pairs were marked dead since start. */
  get deadPidsMarked(): number {
    return this.markedCount;
  }

  /**
   * Marks `pid` dead in every directory where it owns files, unless it is still alive: the files
   * of a live process are never touched. Returns whether anything was marked.
   */
  markDead(pid: number, dirs: Iterable<string>, reason: string): boolean {
    if (isProcessAlive(pid)) return false;
    let markedAny = false;
    for (const dir of dirs) {
      if (this.ownsFiles(pid, dir) && this.markIn(dir, pid, reason)) markedAny = true;
    }
    return markedAny;
  }

  /** Marks dead every pid that owns files in `dirs` and is no longer alive. */
  reconcile(dirs: Iterable<string>): void {
    for (const dir of dirs) {
      let owners: Set<number>;
      try {
        owners = pidsOwningFiles(dir);
      } catch (error) {
        this.log.warn(`reconcile skipped ${dir}: ${(error as Error).message}`);
        continue;
      }
      const marked = this.markedIn(dir);
      // Forget pids whose files are gone, or that are alive again under a reused pid.
      for (const pid of marked) {
        if (!owners.has(pid) || isProcessAlive(pid)) marked.delete(pid);
      }
      for (const pid of owners) {
        if (!isProcessAlive(pid)) this.markIn(dir, pid, 'is gone (reconcile)');
      }
    }
  }

  private markIn(dir: string, pid: number, reason: string): boolean {
    const marked = this.markedIn(dir);
    if (marked.has(pid)) return false;
    markProcessDead(pid, dir);
    marked.add(pid);
    this.markedCount += 1;
    this.log.info(`pid ${pid} ${reason}: its live gauges are removed from ${dir}`);
    return true;
  }

  private markedIn(dir: string): Set<number> {
    let pids = this.marked.get(dir);
    if (pids === undefined) {
      pids = new Set();
      this.marked.set(dir, pids);
    }
    return pids;
  }

  private ownsFiles(pid: number, dir: string): boolean {
    try {
      return pidsOwningFiles(dir).has(pid);
    } catch {
      return false;
    }
  }
}

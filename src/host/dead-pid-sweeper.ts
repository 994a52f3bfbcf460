// Marks dead pids in the directories a host serves: once each per directory, logged and counted
// for the module's own health. The files of a live process are never touched.
import { isProcessAlive, markProcessDead, pidsOwningFiles } from '../store';
import type { Logger } from '../logger';

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

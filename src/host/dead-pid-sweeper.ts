// Marks dead pids in the directories a host serves: once per process (a pid reused by another
// writer that dies too is marked again), logged and counted for the module's own health. The
// files of a live process are never touched.
import { isOwnerAlive, markProcessDead, pidsOwningFiles, readOwnerRecord } from '../store';
import type { Logger } from '../logger';

/** The owner marked dead under a pid: the start its record named, or null without a record. */
type MarkedOwner = number | null;

export class DeadPidSweeper {
  private readonly marked = new Map<string, Map<number, MarkedOwner>>();
  private markedCount = 0;

  constructor(private readonly log: Logger) {}

  /** How many (directory, process) pairs were marked dead since start. */
  get deadPidsMarked(): number {
    return this.markedCount;
  }

  /**
   * A process is known to have exited (a PM2 or cluster event): its live gauges go in every
   * directory where it owns files, unless the pid belongs to a live owner again (a new writer
   * that got the pid and wrote its own record). Its exit is final whatever else holds the pid:
   * an unrelated process does not keep the gauges. Returns whether anything was marked.
   */
  markDead(pid: number, dirs: Iterable<string>, reason: string): boolean {
    let markedAny = false;
    for (const dir of dirs) {
      if (this.ownsFiles(pid, dir) && !isOwnerAlive(dir, pid) && this.markIn(dir, pid, reason, true)) markedAny = true;
    }
    return markedAny;
  }

  /** Marks dead every pid that owns files in `dirs` and whose owner is no longer alive. */
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
      for (const pid of marked.keys()) {
        if (!owners.has(pid) || isOwnerAlive(dir, pid)) marked.delete(pid);
      }
      for (const pid of owners) {
        if (!isOwnerAlive(dir, pid)) this.markIn(dir, pid, 'is gone (reconcile)', false);
      }
    }
  }

  /**
   * Removes pid's live gauges in `dir`, counting and logging each owner once. An exit event
   * (`always`) removes them even when this owner was marked before: without owner records two
   * writers that had the pid one after the other look the same, and the second one's gauges must
   * go too.
   */
  private markIn(dir: string, pid: number, reason: string, always: boolean): boolean {
    const marked = this.markedIn(dir);
    const owner = readOwnerRecord(dir, pid)?.start ?? null;
    const known = marked.get(pid) === owner;
    if (known && !always) return false;
    const removed = markProcessDead(pid, dir);
    if (known && removed.length === 0) return false;
    marked.set(pid, owner);
    this.markedCount += 1;
    this.log.info(`pid ${pid} ${reason}: its live gauges are removed from ${dir}`);
    return true;
  }

  private markedIn(dir: string): Map<number, MarkedOwner> {
    let pids = this.marked.get(dir);
    if (pids === undefined) {
      pids = new Map();
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

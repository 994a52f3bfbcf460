// The care of the metrics directories one host serves, for the PM2 module and the cluster helper
// alike: each directory is prepared once (created, or wiped when stale), a process that ended is
// marked dead, and a periodic reconcile marks the dead that no event reported, then folds dead
// processes' files into archives so that the directory stays small however often workers recycle.
// The adapters (src/pm2, src/cluster) only translate their events into these calls.
import type { Logger } from '../logger';
import { compactDirectory } from './compaction';
import type { CompactionOptions } from './compaction';
import { DeadPidSweeper } from './dead-pid-sweeper';
import { prepareDirectory } from './prepare-directory';
import type { PreparedState } from './prepare-directory';

const PREPARED_OUTCOMES: Readonly<Record<PreparedState, string>> = {
  created: 'created',
  empty: 'ready (empty)',
  wiped: 'found stale (no owner alive): its files were removed',
  kept: 'in use by live processes: kept, dead pids are marked',
};

export interface HousekeeperOptions extends Pick<CompactionOptions, 'deadAllGauges'> {
  log: Logger;
}

export class Housekeeper {
  private readonly log: Logger;
  private readonly sweeper: DeadPidSweeper;
  private readonly compaction: Pick<CompactionOptions, 'deadAllGauges'>;
  private kept: string[] = [];
  private readonly prepared = new Set<string>();
  /** The problem last logged per directory, for preparing it and for compacting it. */
  private readonly lastPreparationProblem = new Map<string, string>();
  private readonly lastCompactionProblems = new Map<string, string>();
  private timer: NodeJS.Timeout | undefined;

  constructor(options: HousekeeperOptions) {
    this.log = options.log;
    this.sweeper = new DeadPidSweeper(options.log);
    this.compaction = { deadAllGauges: options.deadAllGauges };
  }

  /** The directories kept now. */
  get directories(): readonly string[] {
    return this.kept;
  }

  /** How many (directory, pid) pairs were marked dead since start, for the service's health. */
  get deadPidsMarked(): number {
    return this.sweeper.deadPidsMarked;
  }

  /** Prepares `dir` (once; throws a clear Error when it cannot be used) and keeps it from now on. */
  adopt(dir: string): void {
    if (!this.prepared.has(dir)) {
      const state = prepareDirectory(dir);
      this.prepared.add(dir);
      this.lastPreparationProblem.delete(dir);
      this.log.info(`metrics directory ${dir} ${PREPARED_OUTCOMES[state]}`);
    }
    if (!this.kept.includes(dir)) this.kept.push(dir);
  }

  /**
   * Keeps exactly `dirs` from now on, preparing each new one once. A directory that cannot be
   * used is left out, logged when its problem first appears or changes, and tried again at the
   * next call. Returns the directories kept.
   */
  keep(dirs: Iterable<string>): readonly string[] {
    this.kept = [];
    for (const dir of dirs) {
      try {
        this.adopt(dir);
      } catch (error) {
        const message = (error as Error).message;
        if (this.lastPreparationProblem.get(dir) !== message) {
          this.lastPreparationProblem.set(dir, message);
          this.log.error(`${message}; this directory is not served until it is usable`);
        }
      }
    }
    return this.kept;
  }

  /** A process ended (an exit event): its live gauges go, unless its pid is alive again. */
  processEnded(pid: number, why: string): void {
    this.sweeper.markDead(pid, this.kept, why);
  }

  /** Marks dead every owner of files that is no longer alive (the events nobody saw). */
  sweep(): void {
    this.sweeper.reconcile(this.kept);
  }

  /**
   * Compacts each directory in turn; a directory that fails is logged and the others go on. What
   * was folded is logged as info; problems are logged once until they change.
   */
  compact(): void {
    for (const dir of this.kept) {
      let problems: string[];
      try {
        const report = compactDirectory(dir, this.compaction);
        if (report.absorbed > 0 || report.removed > 0) {
          this.log.info(
            `compacted ${dir}: ${report.absorbed} files of dead pids folded into ${report.archivesWritten} archives, ` +
              `${report.removed} other files removed`,
          );
        }
        problems = report.problems;
      } catch (error) {
        problems = [(error as Error).message];
      }
      const text = problems.join('; ');
      if (text === (this.lastCompactionProblems.get(dir) ?? '')) continue;
      this.lastCompactionProblems.set(dir, text);
      if (text !== '') this.log.warn(`compaction of ${dir}: ${text}`);
    }
  }

  /** The whole cycle: mark the dead, then fold their files into archives. */
  reconcile(): void {
    this.sweep();
    this.compact();
  }

  /**
   * Reconciles every `intervalMs`, after `refresh` (the adapter learning its current directories)
   * when given. Never throws into the timer: a failure is logged and the next tick tries again.
   * The timer does not keep the process alive.
   */
  schedule(intervalMs: number, refresh?: () => Promise<unknown>): void {
    this.stop();
    this.timer = setInterval(() => {
      Promise.resolve(refresh?.())
        .then(() => this.reconcile())
        .catch((error: unknown) => this.log.warn(`reconcile failed: ${(error as Error).message}`));
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}

// Compaction as a long-running module does it: over every directory it serves, after each
// reconcile, never throwing into the caller's timer, each problem logged once until it changes.

import { compactDirectory } from './compaction';
import type { CompactionOptions } from './compaction';

/** Where the compactor reports (the module's logger fits). */
export interface CompactionLog {
  info(message: string): void;
  warn(message: string): void;
}

export class DirectoryCompactor {
  /** The problems last logged per directory ('' when there were none). */
  private readonly lastProblems = new Map<string, string>();

  constructor(
    private readonly log: CompactionLog,
    private readonly options: Pick<CompactionOptions, 'deadAllGauges'> = {},
  ) {}

  /** Compacts each directory in turn; a directory that fails is logged and the others go on. */
  compact(dirs: Iterable<string>): void {
    for (const dir of dirs) {
      let problems: string[];
      try {
        const report = compactDirectory(dir, this.options);
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
      if (text === (this.lastProblems.get(dir) ?? '')) continue;
      this.lastProblems.set(dir, text);
      if (text !== '') this.log.warn(`compaction of ${dir}: ${text}`);
    }
  }
}

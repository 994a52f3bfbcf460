// Owner records for the processes that write none themselves (Python's client, writers older than
// records): the module writes one while such a process lives, so that its files stay credited to
// its app after it ends, and across restarts of the module. The app is what the process would
// have recorded itself, from the environment it started with (PM2 gives every process it starts
// `pm_id` and `name`, and their children inherit them), or, where that cannot be read, what PM2's
// process list says. A record is never replaced, and never written for a process whose files in
// the directory are older than the process: that pid was reused, and the files are not its own.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  isProcessAlive,
  ownerRecordFromEnvironment,
  ownerRecordName,
  parseFileName,
  processStartTicks,
  writeOwnerRecordIfAbsent,
} from '../store';
import type { OwnerRecord } from '../store';
import type { Logger } from '../logger';

/** The app PM2's process list gives a live pid, if it lists it. */
export type AppOfListedPid = (pid: number) => string | undefined;

/** Linux's USER_HZ, the unit of /proc/PID/stat's start time, on every architecture PM2 runs on. */
const CLOCK_TICKS_PER_SECOND = 100;
/** A file this much older than a process's start is surely older (clock steps, timestamp rounding). */
const START_SLACK_MS = 2000;

export class OwnerRecorder {
  /** Directory and pid of processes found younger than their files, with the start they had. */
  private readonly refused = new Map<string, number>();
  private readonly failedDirs = new Set<string>();
  private bootTimeMs: number | undefined;

  constructor(
    private readonly log: Logger,
    private readonly appOfListedPid: AppOfListedPid = () => undefined,
  ) {}

  /** A process PM2 lists as running `app` with this directory: recorded unless it has a record. */
  recordListed(dir: string, pid: number, app: string): void {
    if (fs.existsSync(path.join(dir, ownerRecordName(pid)))) return;
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      return; // the scrape and the housekeeper report a directory they cannot read
    }
    const files = names.filter((name) => name.endsWith('.db') && parseFileName(name)?.pid === pid);
    this.record(dir, { pid, app }, files);
  }

  /**
   * A live process owns `files` in `dir` and has no record: records what its environment says
   * (or PM2's list). Returns whether a record was written; nothing is when the app cannot be told.
   */
  recordUnknown(dir: string, pid: number, files: readonly string[]): boolean {
    const fromEnvironment = ownerRecordFromEnvironment(pid);
    const listedApp = this.appOfListedPid(pid);
    if (fromEnvironment === undefined && listedApp === undefined) return false;
    return this.record(dir, fromEnvironment ?? { pid, app: listedApp }, files);
  }

  private record(dir: string, known: OwnerRecord, files: readonly string[]): boolean {
    const { pid } = known;
    if (!isProcessAlive(pid)) return false;
    const start = processStartTicks(pid);
    const key = `${dir}\0${pid}`;
    if (start !== undefined && this.refused.get(key) === start) return false;
    if (start !== undefined && this.olderFile(dir, files, start) !== undefined) {
      this.refused.set(key, start);
      this.log.warn(
        `pid ${pid} has files in ${dir} older than itself (left by an earlier process with its pid): ` +
          'they are credited to no app (no pm2_app label)',
      );
      return false;
    }
    const record: OwnerRecord = { pid };
    if (start !== undefined) record.start = start;
    if (known.app !== undefined) record.app = known.app;
    try {
      const written = writeOwnerRecordIfAbsent(dir, record);
      this.failedDirs.delete(dir);
      return written;
    } catch (error) {
      if (!this.failedDirs.has(dir)) {
        this.failedDirs.add(dir);
        this.log.warn(
          `cannot write owner records in ${dir} (${(error as Error).message}): the files of processes that write none ` +
            '(Python\'s client) get no pm2_app label until the module may write there',
        );
      }
      return false;
    }
  }

  /** A file of `files` born before the process that started at `startTicks`, if any. */
  private olderFile(dir: string, files: readonly string[], startTicks: number): string | undefined {
    const bootTimeMs = this.bootTime();
    if (bootTimeMs === undefined) return undefined;
    const startMs = bootTimeMs + (startTicks * 1000) / CLOCK_TICKS_PER_SECOND;
    return files.find((name) => {
      try {
        const stat = fs.lstatSync(path.join(dir, name));
        // Where the file system keeps no birth time, the last change tells as much of a dead writer's file.
        const born = stat.birthtimeMs > 0 ? stat.birthtimeMs : stat.mtimeMs;
        return born < startMs - START_SLACK_MS;
      } catch {
        return false;
      }
    });
  }

  /** When the system booted, in ms since the epoch: from /proc/uptime (/proc/stat's btime is whole seconds). */
  private bootTime(): number | undefined {
    if (this.bootTimeMs === undefined) {
      try {
        const uptimeSeconds = Number.parseFloat(fs.readFileSync('/proc/uptime', 'utf8'));
        if (Number.isFinite(uptimeSeconds)) this.bootTimeMs = Date.now() - uptimeSeconds * 1000;
      } catch {
        // No /proc: no start times either, so nothing to compare.
      }
    }
    return this.bootTimeMs;
  }
}

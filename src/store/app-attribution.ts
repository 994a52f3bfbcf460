// Which PM2 app wrote a metric file: the one answer that the scrape (the pm2_app label) and
// compaction (the archive a dead process's file goes into) both ask, so that a series keeps its
// label when its files are folded into an archive. A process's own file is the app its owner
// record names (owner_PID.json); an archive or a claimed file is the app its name carries;
// anything else (a file handed to the dead, `counter_123.dead5678.db`, among them), or an app
// whose name cannot be written in a file name, is no app's: no label rather than a guess.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeAppName } from './format';
import type { FileName } from './format';
import { ownerRecordName, readOwnerRecord } from './owner-record';
import type { OwnerRecord } from './owner-record';

interface KnownRecord {
  ino: number;
  mtimeMs: number;
  size: number;
  record: OwnerRecord | undefined;
}

/** The apps of one directory's files; records are read once and then checked by one lstat a round. */
export class AppAttribution {
  private readonly records = new Map<number, KnownRecord>();
  /** The pids whose record was checked in this round. */
  private readonly checked = new Set<number>();

  constructor(readonly dir: string) {}

  /** A new round (a scrape): each record is checked again, once; those not asked for are forgotten. */
  newRound(): void {
    for (const pid of this.records.keys()) if (!this.checked.has(pid)) this.records.delete(pid);
    this.checked.clear();
  }

  /** The app credited with the samples of the file of this name, or undefined when none is known. */
  appOf(name: FileName): string | undefined {
    if (name.archive === true || name.claimGeneration !== undefined) return name.app;
    // Handed to the dead by the pid's next owner, whose record the pid's is now: no guess.
    if (name.pid === undefined || name.dead === true) return undefined;
    const app = this.recordOf(name.pid)?.app;
    // An app no archive could be named after would lose its label at compaction: none from the start.
    return app !== undefined && encodeAppName(app) !== undefined ? app : undefined;
  }

  /** The owner record of `pid` in the directory, or undefined when there is none (or no valid one). */
  recordOf(pid: number): OwnerRecord | undefined {
    const known = this.records.get(pid);
    if (known !== undefined && this.checked.has(pid)) return known.record;
    this.checked.add(pid);
    let stat: fs.Stats | undefined;
    try {
      stat = fs.lstatSync(path.join(this.dir, ownerRecordName(pid)), { throwIfNoEntry: false });
    } catch {
      stat = undefined;
    }
    if (stat === undefined || !stat.isFile()) {
      this.records.delete(pid);
      return undefined;
    }
    // A record is only ever replaced by a rename (a new inode) or written once: unchanged, it says the same.
    if (known !== undefined && known.ino === stat.ino && known.mtimeMs === stat.mtimeMs && known.size === stat.size) return known.record;
    const record = readOwnerRecord(this.dir, pid);
    this.records.set(pid, { ino: stat.ino, mtimeMs: stat.mtimeMs, size: stat.size, record });
    return record;
  }

  /** Forgets what was read of `pid`'s record: it was just written. */
  forget(pid: number): void {
    this.records.delete(pid);
    this.checked.delete(pid);
  }
}

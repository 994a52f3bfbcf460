// Compaction: folds the files of dead processes into one archive file per type (and gauge mode)
// and app, in the same byte format, so a directory stays bounded however often workers are
// recycled. A summary's sketch file is claimed and folded the same way into
// summary_archive[@APP].sketch, keeping the windows that have not expired yet (sketch-fold.ts), and
// a counter's or histogram's exemplar file into counter_archive[@APP].exemplars, keeping the latest
// exemplar of each series (exemplar-fold.ts). A dead process's file goes into the archive of the app credited with it
// (AppAttribution: its owner record's app, or none), and its claim carries that app in its name,
// so a scrape credits the same app before, during and after the move.
//
// Crash safety. The process may be killed between any two system calls below; the directory is
// then always in one of these states, and scrapes and the next compaction read it right:
//  1. A dead process's file is CLAIMED first: renamed from `counter_123.db` to
//     `counter_123.g<G+1>.i<inode>.db`, G being the archive's generation. A claimed file is read by
//     scrapes like any other (Python's too), but no process opens it again: a new process that
//     gets pid 123 creates a fresh `counter_123.db`, which is never mistaken for the claimed one.
//  2. The old archive's entries and every claim of a generation above G are folded, written to a
//     temp file (not *.db, so nobody reads it), fsynced, and renamed over the archive with
//     generation G+1 in its trailer. That rename is the one instant the values move from the
//     claims into the archive.
//  3. A claim whose generation is at most its archive's is in the archive: scrapes skip it
//     (withoutAbsorbedClaims) and the next compaction deletes it, so deleting claims, which
//     comes last, changes nothing a scrape sees.
// Only Python's collector, which knows nothing of generations, counts a claim twice, and only
// while a compaction killed between steps 2 and 3 waits for the next one.
// A pid found dead is checked again once its file is claimed: a process that got the pid in
// between may have opened the file, so the file is given back (linked to its old name, then the
// claim unlinked; a kill between the two leaves a claim with its original's inode, which the
// next compaction drops). Writers of this version never open a file they did not create: one
// that finds its pid's file hands it to the dead (`counter_123.dead5678.db`, see deadFileName),
// a name that is dead whatever holds the pid, is never opened again, and says nothing of
// generations, so it is claimed like any dead file, never given back, and safe to appear while a
// compaction runs (it is claimed by the next). A scrape by another process that overlaps a compaction sees an
// archive generation move or a file vanish, and the collector scrapes again.

import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  ARCHIVE_GAUGE_MODES,
  AppAttribution,
  ExemplarFileReader,
  GAUGE_MODE_TRAITS,
  SketchFileReader,
  archiveNameOf,
  checkDirectory,
  claimFileName,
  hasMetricFileExtension,
  isOwnerAlive,
  markProcessDead,
  originalFileName,
  parseFileName,
  readArchiveGeneration,
  readMetricFile,
  removeOrphanOwnerRecords,
} from '../store';
import type { ArchiveGaugeMode, FileName } from '../store';
import { ArchiveFold } from './archive-fold';
import { ExemplarFold } from './exemplar-fold';
import { acquireCompactionLock } from './compaction-lock';
import { SketchFold } from './sketch-fold';
import { NativeArchiveFold } from './native-archive-fold';

/** A change compaction made to the directory, reported to `onStep` right after it is made. */
export type CompactionStep =
  | 'temp-removed'
  | 'claimed'
  | 'unclaimed'
  | 'archive-written'
  | 'archive-renamed'
  | 'claim-deleted'
  | 'gauges-removed';

export interface CompactionOptions {
  /**
   * The pids the caller knows to be dead (PM2's exited processes, say). Without it, every pid
   * whose owner is gone is dead (isOwnerAlive: the pid is missing, or held by another process
   * than the one its owner record names); with it, only these, and only when gone too. Files a
   * writer handed to the dead are dead either way.
   */
  deadPids?: Iterable<number>;
  /**
   * `all` gauges of dead pids: 'keep' (Python's behaviour: a sample per pid, forever) or 'drop'
   * (their files are deleted, so their samples go). Default 'keep'.
   */
  deadAllGauges?: 'keep' | 'drop';
  /** Called after each change to the directory, with the file it concerns (fault-injection tests). */
  onStep?: (step: CompactionStep, fileName: string) => void;
}

export interface CompactionReport {
  /** Files of dead processes folded into archives by this run. */
  absorbed: number;
  /** Archives written by this run. */
  archivesWritten: number;
  /** Other files deleted: live and dropped `all` gauges of dead pids, claims a killed run left. */
  removed: number;
  /** Files left as they were, and groups that could not be compacted, with the reason. */
  problems: string[];
}

/** A metric file found in the directory, with what its name says. */
interface DirectoryFile {
  fileName: string;
  name: FileName;
  /** The app credited with its samples, whose archive it goes into. */
  app: string | undefined;
}

/** Temp files are named after their archive: `.counter_archive.db.tmp`. */
const TEMP_SUFFIX = '.tmp';

/**
 * Compacts `dir` once: dead processes' counters, histograms, summaries and sum/min/max/mostrecent
 * gauges go into archives; their live gauges (and, if asked, `all` gauges) are removed. Never
 * touches a file of a live process. Throws when the directory cannot be used or another compaction
 * holds it; a problem with one archive or one file is reported and the rest goes on.
 */
export function compactDirectory(dir: string, options: CompactionOptions = {}): CompactionReport {
  checkDirectory(dir);
  const lock = acquireCompactionLock(dir);
  try {
    return new Compaction(dir, options).run();
  } finally {
    lock.release();
  }
}

class Compaction {
  private readonly report: CompactionReport = { absorbed: 0, archivesWritten: 0, removed: 0, problems: [] };
  private readonly knownDead: Set<number> | undefined;
  private readonly deadCache = new Map<number, boolean>();
  private readonly step: (step: CompactionStep, fileName: string) => void;

  constructor(
    private readonly dir: string,
    private readonly options: CompactionOptions,
  ) {
    this.knownDead = options.deadPids === undefined ? undefined : new Set(options.deadPids);
    this.step = options.onStep ?? (() => undefined);
  }

  run(): CompactionReport {
    const names = fs.readdirSync(this.dir);
    this.removeTempFiles(names);
    const attribution = new AppAttribution(this.dir);
    const listed: DirectoryFile[] = [];
    const groups = new Map<string, DirectoryFile[]>();
    for (const fileName of names) {
      const name = hasMetricFileExtension(fileName) ? parseFileName(fileName) : undefined;
      if (name === undefined) continue;
      const file = { fileName, name, app: attribution.appOf(name) };
      listed.push(file);
      if (!archives(name)) continue;
      // The archive's name says its type, mode and app: one group per archive name.
      const archiveName = archiveNameOf({ ...name, app: file.app });
      const group = groups.get(archiveName);
      if (group === undefined) groups.set(archiveName, [file]);
      else group.push(file);
    }
    for (const [archiveName, files] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
      try {
        this.compactGroup(archiveName, files);
      } catch (error) {
        this.report.problems.push(`${archiveName} not compacted: ${(error as Error).message}`);
      }
    }
    this.removeDeadGauges(listed);
    this.report.removed += removeOrphanOwnerRecords(this.dir).length;
    return this.report;
  }

  /** A kill after 'archive-written' leaves the temp file; it holds nothing a scrape needs. */
  private removeTempFiles(names: readonly string[]): void {
    for (const fileName of names) {
      if (!isArchiveTempName(fileName)) continue;
      fs.rmSync(path.join(this.dir, fileName), { force: true });
      this.step('temp-removed', fileName);
    }
  }

  private compactGroup(archiveName: string, files: readonly DirectoryFile[]): void {
    const archivePath = path.join(this.dir, archiveName);
    const archiveExists = fs.existsSync(archivePath);
    const generation = archiveExists ? readArchiveGeneration(archivePath) : 0;
    if (archiveExists && generation === 0) throw new Error(`${archivePath} has no readable generation trailer`);

    const pending: string[] = [];
    for (const file of files) {
      const claimed = file.name.claimGeneration;
      if (claimed === undefined) continue;
      if (claimed <= generation || this.wasGivenBack(file)) {
        this.remove(file.fileName, 'claim-deleted');
        this.report.removed++;
      } else {
        pending.push(file.fileName);
      }
    }
    for (const file of files) {
      if (file.name.claimGeneration !== undefined || !this.isDeadFile(file.name)) continue;
      const claimName = this.claim(file, generation + 1);
      if (claimName !== undefined) pending.push(claimName);
    }
    if (pending.length === 0) return;

    // Folded in the collector's order (sorted names, and `..._archive.db` sorts after every
    // pid), so ties of min, max and mostrecent go the same way before and after compaction.
    pending.sort();
    const kind = files[0].name;
    // Sketches: dead processes' windows are kept until they expire, judged as of now. Native
    // histogram files are given in name order with their names: sums then add up in the collector's order.
    const fold =
      kind.sketch === true
        ? new SketchFold(Date.now())
        : kind.native === true
          ? new NativeArchiveFold()
          : kind.exemplars === true
            ? new ExemplarFold()
            : new ArchiveFold(kind.type, kind.mode as ArchiveGaugeMode | undefined);
    let newGeneration = generation + 1;
    for (const claimName of pending) {
      fold.addFile(path.join(this.dir, claimName));
      newGeneration = Math.max(newGeneration, parseFileName(claimName)?.claimGeneration ?? 0);
    }
    if (archiveExists) fold.addFile(archivePath);
    const mode = fs.statSync(path.join(this.dir, archiveExists ? archiveName : pending[0])).mode & 0o777;
    this.replaceArchive(archiveName, fold.encode(newGeneration), mode);
    this.report.archivesWritten++;
    this.report.absorbed += pending.length;
    for (const claimName of pending) this.remove(claimName, 'claim-deleted');
  }

  /**
   * Renames a dead process's file to its claimed name, then checks the pid again: a process that
   * got the pid meanwhile may have opened the file before the rename, so the file is given back.
   */
  private claim(file: DirectoryFile, generation: number): string | undefined {
    const from = path.join(this.dir, file.fileName);
    const problem = wholeFileProblem(from, file.name);
    if (problem !== undefined) {
      if (problem !== 'missing') this.report.problems.push(`${from} left as it is: it ${problem}`);
      return undefined;
    }
    const claimName = claimFileName(file.name, generation, fs.lstatSync(from).ino, file.app);
    const claimPath = path.join(this.dir, claimName);
    try {
      fs.renameSync(from, claimPath);
    } catch (error) {
      // A new process with the pid handed it to the dead meanwhile: the next compaction claims it.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    this.step('claimed', claimName);
    if (file.name.dead === true || file.name.pid === undefined || !isOwnerAlive(this.dir, file.name.pid)) return claimName;
    try {
      // link, unlike rename, never replaces a file the new process may have created meanwhile.
      fs.linkSync(claimPath, from);
    } catch (error) {
      // The new process created its own file after the rename, so it never had this one open.
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return claimName;
      throw error;
    }
    fs.unlinkSync(claimPath);
    this.step('unclaimed', file.fileName);
    return undefined;
  }

  /** A claim still linked under its original name was being given back when a kill came. */
  private wasGivenBack(file: DirectoryFile): boolean {
    const original = path.join(this.dir, originalFileName(file.name));
    try {
      const claimStat = fs.lstatSync(path.join(this.dir, file.fileName));
      const originalStat = fs.lstatSync(original);
      return claimStat.ino === originalStat.ino && claimStat.dev === originalStat.dev;
    } catch {
      return false;
    }
  }

  private replaceArchive(archiveName: string, bytes: Buffer, mode: number): void {
    const tempName = tempNameOf(archiveName);
    const tempPath = path.join(this.dir, tempName);
    const fd = fs.openSync(
      tempPath,
      fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW,
      mode,
    );
    try {
      let written = 0;
      while (written < bytes.length) written += fs.writeSync(fd, bytes, written, bytes.length - written, written);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    this.step('archive-written', tempName);
    fs.renameSync(tempPath, path.join(this.dir, archiveName));
    syncDirectory(this.dir);
    this.step('archive-renamed', archiveName);
  }

  /** Live gauges of dead pids (as markProcessDead does) and, if asked, their `all` gauges. */
  private removeDeadGauges(listed: readonly DirectoryFile[]): void {
    const deadWithLiveGauges = new Set<number>();
    for (const { fileName, name } of listed) {
      if (name.type !== 'gauge' || name.pid === undefined || name.mode === undefined) continue;
      const traits = GAUGE_MODE_TRAITS[name.mode];
      // A dead-named live gauge (writers delete theirs) goes alone: its pid may be alive.
      if (traits.live && name.dead !== true && this.isDeadFile(name)) deadWithLiveGauges.add(name.pid);
      const keptPerPid = !traits.live && traits.reduction === 'per-process';
      if ((traits.live && name.dead === true) || (keptPerPid && this.options.deadAllGauges === 'drop' && this.isDeadFile(name))) {
        this.remove(fileName, 'gauges-removed');
        this.report.removed++;
      }
    }
    for (const pid of deadWithLiveGauges) {
      const removed = markProcessDead(pid, this.dir);
      this.report.removed += removed.length;
      if (removed.length > 0) this.step('gauges-removed', removed.map((file) => path.basename(file)).join(' '));
    }
  }

  private remove(fileName: string, step: CompactionStep): void {
    fs.rmSync(path.join(this.dir, fileName), { force: true });
    this.step(step, fileName);
  }

  /** Whether the writer of a file is gone: a dead-named file, or a dead owner of the pid's files. */
  private isDeadFile(name: FileName): boolean {
    if (name.dead === true) return true;
    if (name.pid === undefined) return false;
    let dead = this.deadCache.get(name.pid);
    if (dead === undefined) {
      dead = (this.knownDead === undefined || this.knownDead.has(name.pid)) && !isOwnerAlive(this.dir, name.pid);
      this.deadCache.set(name.pid, dead);
    }
    return dead;
  }
}

function tempNameOf(archiveName: string): string {
  return `.${archiveName}${TEMP_SUFFIX}`;
}

function isArchiveTempName(fileName: string): boolean {
  if (!fileName.startsWith('.') || !fileName.endsWith(TEMP_SUFFIX)) return false;
  return parseFileName(fileName.slice(1, -TEMP_SUFFIX.length))?.archive === true;
}

/** Whether files of this kind are folded into archives (per-process and live gauges are not). */
function archives(name: FileName): boolean {
  return name.mode === undefined || (ARCHIVE_GAUGE_MODES as readonly string[]).includes(name.mode);
}

/** Why a file cannot be folded whole ('missing' when it is gone), or undefined when it can. */
function wholeFileProblem(filePath: string, kind: FileName): string | undefined {
  if (kind.sketch === true) {
    const result = new SketchFileReader(filePath).read(Date.now(), true);
    return result.status === 'missing' ? 'missing' : result.problem;
  }
  if (kind.exemplars === true) {
    // A damaged slot only loses its own exemplar: the rest of the file is folded.
    const result = new ExemplarFileReader(filePath).read();
    return result.status === 'missing' ? 'missing' : result.status === 'unreadable' ? result.problem : undefined;
  }
  const native = kind.native === true;
  const result = readMetricFile(filePath);
  if (result.status === 'missing') return 'missing';
  if (result.status === 'unreadable') return result.problem;
  if (result.contents.problem !== undefined || !native) return result.contents.problem;
  // A native file is folded only when every entry reads as the collector would merge it.
  try {
    new NativeArchiveFold().addFile(filePath);
    return undefined;
  } catch (error) {
    return `holds what a merge skips (${(error as Error).message})`;
  }
}

/** Makes the renames in `dir` durable before the files they replace are deleted. */
function syncDirectory(dir: string): void {
  const fd = fs.openSync(dir, fs.constants.O_RDONLY);
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

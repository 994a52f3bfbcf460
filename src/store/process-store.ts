// The writable side of the store: the files of one process (or worker thread), one per metric
// type and gauge mode, each a key -> slot index over a mapped (or written-through) image, and the
// exemplar logs of its counters and histograms with their exemplar files.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { threadId as currentThreadId } from 'node:worker_threads';
import { defaultBackend, openWithBackend } from './backends/loader';
import type { BackendKind, MetricFile } from './backends/metric-file';
import { MetricFileError } from './backends/file-descriptor';
import { MAINTENANCE_INTERVAL_MS } from './backends/stored-file';
import { checkDirectory, worldWritableProblem } from './directory';
import { EXEMPLAR_LAYOUT } from './exemplar-format';
import type { ExemplarFileType } from './exemplar-format';
import { ExemplarLog } from './exemplar-log';
import { flushOnExit } from '../exit-flush';
import { exemplarFileNameFor, fileNameFor, nativeHistogramFileName, ownerFor, sketchFileNameFor } from './format';
import type { FileLayout } from './format';
import { SKETCH_LAYOUT } from './sketch-format';
import type { FileType } from './format';
import { GAUGE_MODES, isGaugeMode } from './gauge-modes';
import type { GaugeMode } from './gauge-modes';
import { logger } from '../logger';
import { currentOwnerRecord, ownerRecordName, writeOwnerRecord } from './owner-record';
import { handOverPredecessorFiles } from './predecessor-files';

export interface ProcessStoreOptions {
  /** Default: 'memory' without a directory, else defaultBackend(). */
  backend?: BackendKind;
  /** Default: process.pid. */
  pid?: number;
  /** Default: worker_threads.threadId (0 on the main thread). */
  threadId?: number;
  /** Mode of created files, before the umask. Default 0o600. */
  fileMode?: number;
}

/** Directories this process warned about being world-writable (once each). */
const warnedWorldWritable = new Set<string>();

/** The files of one process (or worker thread) in one directory, opened lazily. */
export class ProcessStore {
  /** Absolute: a relative directory is resolved once, here, so a later chdir() changes nothing. */
  readonly dir: string | undefined;
  /** '123', or '123-4' for worker thread 4: threads of one pid each write their own files. */
  readonly owner: string;
  readonly backend: BackendKind;
  /**
   * When the owner started, in wall-clock seconds: the stamp of its `livefirst`/`liveaverage`
   * gauges. This process's (or thread's) start; a store for a stand-in pid starts when it is made.
   */
  readonly startSeconds: number;
  private readonly fileMode: number;
  private readonly files = new Map<string, MetricFile>();
  private readonly exemplarLogs = new Map<ExemplarFileType, ExemplarLog>();
  /** Removes the exit flush of the exemplar logs; set once the first log writes files. */
  private removeExitFlush: (() => void) | undefined;
  /** Whether this store writes owner_PID.json: only as this very process, not as a stand-in pid. */
  private readonly writesOwnerRecord: boolean;
  /** The inode of the owner record this store wrote last, to tell whether it is still there. */
  private ownerRecordInode: number | undefined;
  private ownerRecordWarned = false;
  private timer: NodeJS.Timeout | undefined;

  /**
   * `dir` undefined means single-process mode: the memory backend, no files. Throws a clear Error
   * when the directory cannot be used (missing, not a directory, not writable).
   */
  constructor(dir: string | undefined, options: ProcessStoreOptions = {}) {
    const backend = options.backend ?? (dir === undefined ? 'memory' : defaultBackend());
    if (dir === undefined && backend !== 'memory') {
      throw new Error(`The ${backend} backend writes files: it needs a directory (PROMETHEUS_MULTIPROC_DIR)`);
    }
    if (dir !== undefined && backend === 'memory') {
      throw new Error(`The memory backend writes no files: do not give it a directory ("${dir}")`);
    }
    if (dir !== undefined) checkDirectory(dir);
    this.dir = dir === undefined ? undefined : path.resolve(dir);
    this.backend = backend;
    this.owner = ownerFor(options.pid ?? process.pid, options.threadId ?? currentThreadId);
    this.fileMode = options.fileMode ?? 0o600;
    const asThisProcess = (options.pid ?? process.pid) === process.pid && (options.threadId ?? currentThreadId) === currentThreadId;
    this.startSeconds = (asThisProcess ? performance.timeOrigin : Date.now()) / 1000;
    this.writesOwnerRecord = dir !== undefined && (options.pid === undefined || options.pid === process.pid);
    if (this.dir !== undefined) warnIfWorldWritable(this.dir);
  }

  /**
   * counter_OWNER.db, gauge_MODE_OWNER.db ...; created (0600, O_NOFOLLOW) on first call. Throws
   * for configuration errors only (the directory gone, a link or another user's file at the
   * name); a full disk leaves the file in memory until it has room.
   */
  file(type: FileType, mode?: GaugeMode): MetricFile {
    if (type !== 'gauge' && mode !== undefined) {
      throw new Error(`A ${type} file has no gauge mode (got "${mode}")`);
    }
    if (mode !== undefined && !isGaugeMode(mode)) {
      throw new Error(`Gauge mode "${String(mode)}" is not one of ${GAUGE_MODES.join(', ')}`);
    }
    return this.fileNamed(fileNameFor(type, this.owner, mode));
  }

  /** summary_OWNER.sketch: the quantile sketches of this owner's summaries; created on first call. */
  sketchFile(): MetricFile {
    return this.fileNamed(sketchFileNameFor(this.owner), SKETCH_LAYOUT);
  }

  /** histogram_OWNER.nhdb: this owner's native histogram entries, created on first call. */
  nativeHistogramFile(): MetricFile {
    return this.fileNamed(nativeHistogramFileName(this.owner));
  }

  /**
   * The exemplar log of a type: the latest exemplar of each series (or bucket), written to
   * counter_OWNER.exemplars (histogram_...) at its next flush. The file is created on first call,
   * as file() creates the others, and throws for the same configuration errors: the metric that
   * enables exemplars is refused, never a later flush.
   */
  exemplars(type: ExemplarFileType): ExemplarLog {
    let log = this.exemplarLogs.get(type);
    if (log === undefined) {
      // Written through with pwrite even where the store maps its files: a slot is written at a
      // flush, never on the hot path, and a mapped file that a third party truncates kills its
      // writer with SIGBUS at the next store (a flush runs on a timer, in no call of the app's).
      const file = this.dir === undefined ? undefined : this.fileNamed(exemplarFileNameFor(type, this.owner), EXEMPLAR_LAYOUT, 'pwrite');
      log = new ExemplarLog(file, `the ${type}s of ${this.owner}`);
      this.exemplarLogs.set(type, log);
      if (this.dir !== undefined) this.removeExitFlush ??= flushOnExit(() => this.flushExemplars());
    }
    return log;
  }

  /** Writes every exemplar held back into its file now (before this process renders a scrape). */
  flushExemplars(): void {
    for (const log of this.exemplarLogs.values()) log.flush();
  }

  private fileNamed(name: string, layout?: FileLayout, backend = this.backend): MetricFile {
    let file = this.files.get(name);
    if (file === undefined) {
      if (this.dir !== undefined && this.timer === undefined) this.startWriting(this.dir);
      file = this.open(name, layout, backend);
      this.files.set(name, file);
    }
    return file;
  }

  close(): void {
    for (const log of this.exemplarLogs.values()) log.close();
    this.exemplarLogs.clear();
    this.removeExitFlush?.();
    this.removeExitFlush = undefined;
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    for (const file of this.files.values()) file.close();
    this.files.clear();
  }

  private open(name: string, layout: FileLayout | undefined, backend: BackendKind): MetricFile {
    if (this.dir === undefined) return openWithBackend(backend, '', { fileMode: this.fileMode, beforeCreate: () => undefined }, layout);
    try {
      const options = { fileMode: this.fileMode, beforeCreate: () => this.ensureOwnerRecord() };
      return openWithBackend(backend, path.join(this.dir, name), options, layout);
    } catch (error) {
      // A directory removed or changed since: the same clear message as at the start.
      if (error instanceof MetricFileError) checkDirectory(this.dir);
      throw error;
    }
  }

  /**
   * Before the first file: files a dead predecessor with this owner's pid left go to the dead
   * (see predecessor-files.ts; a store standing in for another pid, as tools and tests use, only
   * hands over the files it creates), and the timer that looks after the files starts. It is
   * unref'd (it never keeps the process alive) and costs one lstat per file every few seconds.
   */
  private startWriting(dir: string): void {
    this.ensureOwnerRecord();
    if (this.writesOwnerRecord) handOverPredecessorFiles(dir, this.owner);
    this.timer = setInterval(() => {
      // A record the disk refused is tried again: the module tells this process by it.
      if (this.ownerRecordInode === undefined) this.ensureOwnerRecord();
      for (const file of this.files.values()) file.maintain();
    }, MAINTENANCE_INTERVAL_MS);
    this.timer.unref();
  }

  /**
   * owner_PID.json, before any file is created (the first time, and again after a file was lost
   * with its directory): from it the module tells this process from a later one that gets the same
   * pid, and learns its PM2 app. It is an aid, not a condition: when the directory refuses it,
   * the metrics are written all the same, and a predecessor's record is removed so that nobody
   * takes this process for it; the module then falls back to what `kill(pid, 0)` tells.
   */
  private ensureOwnerRecord(): void {
    if (!this.writesOwnerRecord || this.dir === undefined) return;
    const recordPath = path.join(this.dir, ownerRecordName(process.pid));
    try {
      if (this.ownerRecordInode !== undefined && fs.lstatSync(recordPath, { throwIfNoEntry: false })?.ino === this.ownerRecordInode) return;
      writeOwnerRecord(this.dir, currentOwnerRecord(), this.fileMode);
      this.ownerRecordInode = fs.lstatSync(recordPath).ino;
      this.ownerRecordWarned = false;
    } catch (error) {
      this.ownerRecordInode = undefined;
      try {
        fs.rmSync(recordPath, { force: true });
      } catch {
        // The directory refuses everything: no file of this process can be created in it either.
      }
      if (this.ownerRecordWarned) return;
      this.ownerRecordWarned = true;
      logger().warn(
        `cannot write the owner record of pid ${process.pid} in ${this.dir} (${(error as Error).message}): its metrics are ` +
          'still written, but until the record is written (tried again every few seconds) a later process reusing the ' +
          'pid can only be told apart by PM2 exit events',
      );
    }
  }
}

/**
 * The PM2 module and the cluster helper refuse a directory any user may write to without the
 * sticky bit; a writer only warns (its app must keep running), with the same words and fix.
 */
function warnIfWorldWritable(dir: string): void {
  if (warnedWorldWritable.has(dir)) return;
  const problem = worldWritableProblem(dir);
  if (problem === undefined) return;
  warnedWorldWritable.add(dir);
  logger().warn(`${problem}. The PM2 module and serveClusterMetrics refuse to serve such a directory, so this process's metrics are not served until it is fixed`);
}

// The writable side of the store: the files of one process (or worker thread), one per metric
// type and gauge mode, each a key -> slot index over a mapped (or written-through) image, and the
// exemplar logs of its counters and histograms with their exemplar files.

import * as path from 'node:path';
import { threadId as currentThreadId } from 'node:worker_threads';
import { defaultBackend, openWithBackend } from './backends/loader';
import type { BackendKind, MetricFile } from './backends/metric-file';
import { checkDirectory } from './directory';
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
import { currentOwnerRecord, writeOwnerRecord } from './owner-record';

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

/** The files of one process (or worker thread) in one directory, opened lazily. */
export class ProcessStore {
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
  private ownerRecordDue: boolean;

  /** `dir` undefined means single-process mode: the memory backend, no files. */
  constructor(dir: string | undefined, options: ProcessStoreOptions = {}) {
    const backend = options.backend ?? (dir === undefined ? 'memory' : defaultBackend());
    if (dir === undefined && backend !== 'memory') {
      throw new Error(`The ${backend} backend writes files: it needs a directory (PROMETHEUS_MULTIPROC_DIR)`);
    }
    if (dir !== undefined && backend === 'memory') {
      throw new Error(`The memory backend writes no files: do not give it a directory ("${dir}")`);
    }
    if (dir !== undefined) checkDirectory(dir);
    this.dir = dir;
    this.backend = backend;
    this.owner = ownerFor(options.pid ?? process.pid, options.threadId ?? currentThreadId);
    this.fileMode = options.fileMode ?? 0o600;
    const asThisProcess = (options.pid ?? process.pid) === process.pid && (options.threadId ?? currentThreadId) === currentThreadId;
    this.startSeconds = (asThisProcess ? performance.timeOrigin : Date.now()) / 1000;
    this.ownerRecordDue = dir !== undefined && (options.pid === undefined || options.pid === process.pid);
  }

  /** counter_OWNER.db, gauge_MODE_OWNER.db ...; created (0600, O_NOFOLLOW) on first call. */
  file(type: FileType, mode?: GaugeMode): MetricFile {
    if (type !== 'gauge' && mode !== undefined) {
      throw new Error(`A ${type} file has no gauge mode (got "${mode}")`);
    }
    if (mode !== undefined && !isGaugeMode(mode)) {
      throw new Error(`Gauge mode "${String(mode)}" is not one of ${GAUGE_MODES.join(', ')}`);
    }
    return this.open(fileNameFor(type, this.owner, mode));
  }

  /** summary_OWNER.sketch: the quantile sketches of this owner's summaries; created on first call. */
  sketchFile(): MetricFile {
    return this.open(sketchFileNameFor(this.owner), SKETCH_LAYOUT);
  }

  /** histogram_OWNER.nhdb: this owner's native histogram entries, created on first call. */
  nativeHistogramFile(): MetricFile {
    return this.open(nativeHistogramFileName(this.owner));
  }

  /**
   * The exemplar log of a type: the latest exemplar of each series (or bucket), written to
   * counter_OWNER.exemplars (histogram_...) at its next flush; the file is created at the first.
   */
  exemplars(type: ExemplarFileType): ExemplarLog {
    let log = this.exemplarLogs.get(type);
    if (log === undefined) {
      const openFile = this.dir === undefined ? undefined : (): MetricFile => this.open(exemplarFileNameFor(type, this.owner), EXEMPLAR_LAYOUT);
      log = new ExemplarLog(openFile, `the ${type}s of ${this.owner}`);
      this.exemplarLogs.set(type, log);
      if (this.dir !== undefined) this.removeExitFlush ??= flushOnExit(() => this.flushExemplars());
    }
    return log;
  }

  /** Writes every exemplar held back into its file now (before this process renders a scrape). */
  flushExemplars(): void {
    for (const log of this.exemplarLogs.values()) log.flush();
  }

  private open(name: string, layout?: FileLayout): MetricFile {
    let file = this.files.get(name);
    if (file === undefined) {
      this.writeOwnerRecord();
      const filePath = this.dir === undefined ? '' : path.join(this.dir, name);
      file = openWithBackend(this.backend, filePath, this.fileMode, layout);
      this.files.set(name, file);
    }
    return file;
  }

  close(): void {
    for (const log of this.exemplarLogs.values()) log.close();
    this.exemplarLogs.clear();
    this.removeExitFlush?.();
    this.removeExitFlush = undefined;
    for (const file of this.files.values()) file.close();
    this.files.clear();
  }

  /**
   * Before the first file: owner_PID.json, from which the module tells this process from a later
   * one that gets the same pid, and learns its PM2 app. It is an aid, not a condition: when the
   * directory refuses it, the metrics are written all the same and the module falls back to what
   * `kill(pid, 0)` and PM2's process list tell.
   */
  private writeOwnerRecord(): void {
    if (!this.ownerRecordDue || this.dir === undefined) return;
    this.ownerRecordDue = false;
    try {
      writeOwnerRecord(this.dir, currentOwnerRecord(), this.fileMode);
    } catch (error) {
      logger().warn(
        `cannot write the owner record of pid ${process.pid} in ${this.dir} (${(error as Error).message}): its metrics are ` +
          'still written, but a later process reusing the pid can only be told apart by PM2 exit events',
      );
    }
  }
}

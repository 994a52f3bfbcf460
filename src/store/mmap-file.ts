// The writable side of the store: the files of one process (or worker thread), one per metric
// type and gauge mode, each a key -> slot index over a mapped (or written-through) image.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { threadId as currentThreadId } from 'node:worker_threads';
import { GAUGE_MODES, fileNameFor, ownerFor } from './format';
import type { FileType, GaugeMode } from './format';
import { defaultBackend, openWithBackend } from './backends/loader';

export { defaultBackend } from './backends/loader';

export type BackendKind = 'native' | 'pwrite' | 'memory';

/** One writable .db file of this process or thread (exactly one writer per file). */
export interface MetricFile {
  /** '' for the memory backend. */
  readonly path: string;
  readonly backend: BackendKind;
  /**
   * Slot of `key` (value byte offset / 8), appending a whole zeroed entry first when absent.
   * Validates the key before writing anything; grows the file when needed.
   */
  slotOf(key: string): number;
  /** value += amount; the timestamp is untouched. */
  add(slot: number, amount: number): void;
  set(slot: number, value: number): void;
  /** `timestamp` in unix seconds, for the mostrecent gauge modes. */
  setWithTimestamp(slot: number, value: number, timestamp: number): void;
  get(slot: number): number;
  timestampOf(slot: number): number;
  /** Every key of this file with its slot, in file order. */
  entries(): Array<{ key: string; slot: number }>;
  /** Releases the file; updates after this are dropped, reads and new keys throw. */
  close(): void;
}

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
  private readonly fileMode: number;
  private readonly files = new Map<string, MetricFile>();

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
  }

  /** counter_OWNER.db, gauge_MODE_OWNER.db ...; created (0600, O_NOFOLLOW) on first call. */
  file(type: FileType, mode?: GaugeMode): MetricFile {
    if (type !== 'gauge' && mode !== undefined) {
      throw new Error(`A ${type} file has no gauge mode (got "${mode}")`);
    }
    if (mode !== undefined && !GAUGE_MODES.includes(mode)) {
      throw new Error(`Gauge mode "${String(mode)}" is not one of ${GAUGE_MODES.join(', ')}`);
    }
    const name = fileNameFor(type, this.owner, mode);
    let file = this.files.get(name);
    if (file === undefined) {
      const filePath = this.dir === undefined ? '' : path.join(this.dir, name);
      file = openWithBackend(this.backend, filePath, this.fileMode);
      this.files.set(name, file);
    }
    return file;
  }

  close(): void {
    for (const file of this.files.values()) file.close();
    this.files.clear();
  }
}

/** Throws a clear Error when `dir` is missing, not a directory, or not writable. */
export function checkDirectory(dir: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`PROMETHEUS_MULTIPROC_DIR "${dir}": directory does not exist`);
    throw new Error(`PROMETHEUS_MULTIPROC_DIR "${dir}": ${(error as Error).message}`);
  }
  if (!stat.isDirectory()) throw new Error(`PROMETHEUS_MULTIPROC_DIR "${dir}": not a directory`);
  try {
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    throw new Error(`PROMETHEUS_MULTIPROC_DIR "${dir}": directory is not writable by this process`);
  }
}

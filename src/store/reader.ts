// Read-only, defensive reading of one .db file written by any process (Node or Python).
// Incremental: keys never move in a file, so a warm read re-reads the bytes but parses only the
// entries appended since the last read. Nothing read from the file sizes an allocation unchecked.

import * as fs from 'node:fs';
import { HEADER_BYTES, MAX_FILE_BYTES, VALUE_BYTES, matchesLegacyLayout, parseEntries } from './format';

/** What one read of a file found. Arrays are owned by the reader and reused by the next read. */
export interface FileContents {
  /** Keys in file order. While `layoutVersion` is unchanged, a later read only appends to them. */
  readonly keys: readonly string[];
  /** Float64 index of each key's value in `numbers` (value byte offset / 8); timestamp at +1. */
  readonly slots: Int32Array;
  /** Byte offset where each entry (its key length) starts. */
  readonly starts: Int32Array;
  /** The bytes [0, used) of the file seen as float64s (little-endian, as the format is). */
  readonly numbers: Float64Array;
  /** Changes whenever earlier keys were dropped and parsed again (file replaced or rewritten). */
  readonly layoutVersion: number;
  /** Why the bytes after the last key could not be read, when they could not. */
  readonly problem: string | undefined;
  /** `used` from the header and the file's size, both in bytes. */
  readonly used: number;
  readonly size: number;
}

export type ReadResult =
  | { status: 'ok'; contents: FileContents }
  /** Gone between the directory listing and the read (e.g. removed by markProcessDead). */
  | { status: 'missing' }
  /** Nothing of the file can be used; `problem` says why. */
  | { status: 'unreadable'; problem: string };

/** How every reader of metric files opens them: never through a link, never blocking. */
export const READ_ONLY_FLAGS =
  fs.constants.O_RDONLY |
  fs.constants.O_NOFOLLOW |
  // A FIFO named *.db would block a plain open forever; regular files ignore the flag.
  fs.constants.O_NONBLOCK;

export const LEGACY_FILE_PROBLEM =
  'was written by prometheus_client 0.16 or older (8-byte values without timestamps); ' +
  'this layout is refused, not misread: upgrade the Python client to >= 0.18';

/** Reads one file again and again, keeping what it parsed; one instance per path. */
export class MetricFileReader {
  private bytes = new Uint8Array(0);
  private numbers = new Float64Array(0);
  private keys: string[] = [];
  private slots: Int32Array = new Int32Array(64);
  /** Each entry's start offset and key length: checked on every read to catch a rewrite. */
  private starts: Int32Array = new Int32Array(64);
  private keyLengths: Int32Array = new Int32Array(64);
  private parsedEnd = HEADER_BYTES;
  private stuckProblem: string | undefined;
  private layoutVersion = 0;
  private device = -1;
  private inode = -1;
  private lastSize = 0;

  constructor(readonly path: string) {}

  read(): ReadResult {
    let fd: number;
    try {
      fd = fs.openSync(this.path, READ_ONLY_FLAGS);
    } catch (error) {
      this.forget();
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { status: 'missing' };
      if (code === 'ELOOP') return { status: 'unreadable', problem: 'is a symbolic link (never followed)' };
      return { status: 'unreadable', problem: `cannot be opened (${code ?? String(error)})` };
    }
    try {
      return this.readOpen(fd);
    } catch (error) {
      this.forget();
      return { status: 'unreadable', problem: `cannot be read (${(error as Error).message})` };
    } finally {
      fs.closeSync(fd);
    }
  }

  private readOpen(fd: number): ReadResult {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) {
      this.forget();
      return { status: 'unreadable', problem: 'is not a regular file' };
    }
    const size = stat.size;
    if (stat.dev !== this.device || stat.ino !== this.inode || size < this.lastSize) this.forget();
    this.device = stat.dev;
    this.inode = stat.ino;
    this.lastSize = size;
    // A writer creates its file empty and sizes it right after: until then it holds nothing, and
    // a scrape in between must neither skip it as corrupt nor warn.
    if (size === 0) return { status: 'ok', contents: this.contents(HEADER_BYTES, size) };
    if (size < HEADER_BYTES) return { status: 'unreadable', problem: `is ${size} bytes, shorter than its header` };
    if (size > MAX_FILE_BYTES) {
      return { status: 'unreadable', problem: `is ${size} bytes, over the ${MAX_FILE_BYTES}-byte limit` };
    }

    const header = Buffer.alloc(HEADER_BYTES);
    if (fs.readSync(fd, header, 0, HEADER_BYTES, 0) !== HEADER_BYTES) {
      return { status: 'unreadable', problem: 'shrank while being read' };
    }
    let used = header.readInt32LE(0);
    // A writer that has sized a new file but not yet written its header: nothing in it yet.
    if (used === 0) used = HEADER_BYTES;
    if (used < HEADER_BYTES) return { status: 'unreadable', problem: `header says used=${used}, below the header size` };
    if (used > size) {
      return { status: 'unreadable', problem: `header says used=${used} but the file is ${size} bytes (truncated?)` };
    }
    if (used < this.parsedEnd) this.forget();

    this.ensureCapacity(used);
    if (readFully(fd, this.bytes, used) !== used) {
      this.forget();
      return { status: 'unreadable', problem: 'shrank while being read' };
    }
    if (!this.layoutHolds()) this.forget();
    this.parseNew(used);
    if (this.stuckProblem !== undefined && matchesLegacyLayout(this.bytes, used)) {
      this.forget();
      return { status: 'unreadable', problem: LEGACY_FILE_PROBLEM };
    }
    return { status: 'ok', contents: this.contents(used, size) };
  }

  private contents(used: number, size: number): FileContents {
    return {
      keys: this.keys,
      slots: this.slots,
      starts: this.starts,
      numbers: this.numbers,
      layoutVersion: this.layoutVersion,
      problem: this.stuckProblem,
      used,
      size,
    };
  }

  /** Drops every parsed key: the next parse starts from the first entry. */
  private forget(): void {
    if (this.keys.length === 0 && this.parsedEnd === HEADER_BYTES && this.stuckProblem === undefined) return;
    this.keys = [];
    this.parsedEnd = HEADER_BYTES;
    this.stuckProblem = undefined;
    this.layoutVersion++;
  }

  private ensureCapacity(used: number): void {
    if (this.bytes.byteLength >= used) return;
    // Grows by doubling, as the writers do, but never past what the file holds (used <= size).
    const capacity = Math.min(Math.max(used, this.bytes.byteLength * 2, 4096), MAX_FILE_BYTES);
    const buffer = new ArrayBuffer(Math.max(capacity, used));
    this.bytes = new Uint8Array(buffer);
    this.numbers = new Float64Array(buffer, 0, buffer.byteLength >>> 3);
  }

  /** Every known entry still starts where it did with the same key length (keys never move). */
  private layoutHolds(): boolean {
    const view = new DataView(this.bytes.buffer);
    for (let i = 0; i < this.keys.length; i++) {
      if (view.getInt32(this.starts[i], true) !== this.keyLengths[i]) return false;
    }
    return true;
  }

  private parseNew(used: number): void {
    // Bytes before `used` never change layout, so an error found once stays until a rewrite.
    if (this.stuckProblem !== undefined || this.parsedEnd >= used) return;
    const { entries, end, error } = parseEntries(this.bytes, this.parsedEnd, used);
    const total = this.keys.length + entries.length;
    if (total > this.slots.length) this.growIndex(total);
    const view = new DataView(this.bytes.buffer);
    let start = this.parsedEnd;
    for (const entry of entries) {
      const index = this.keys.length;
      this.keys.push(entry.key);
      this.slots[index] = entry.valueOffset >>> 3;
      this.starts[index] = start;
      this.keyLengths[index] = view.getInt32(start, true);
      start = entry.valueOffset + VALUE_BYTES;
    }
    this.parsedEnd = end;
    if (error !== undefined) this.stuckProblem = `${error.message}; the rest of the file is skipped`;
  }

  private growIndex(atLeast: number): void {
    const length = Math.max(atLeast, this.slots.length * 2);
    this.slots = grownCopy(this.slots, length);
    this.starts = grownCopy(this.starts, length);
    this.keyLengths = grownCopy(this.keyLengths, length);
  }
}

/** One-shot read of a file (for tools): a fresh reader, no cache kept. */
export function readMetricFile(path: string): ReadResult {
  return new MetricFileReader(path).read();
}

function readFully(fd: number, target: Uint8Array, length: number): number {
  let done = 0;
  while (done < length) {
    const count = fs.readSync(fd, target, done, length - done, done);
    if (count === 0) break;
    done += count;
  }
  return done;
}

function grownCopy(source: Int32Array, length: number): Int32Array {
  const target = new Int32Array(length);
  target.set(source);
  return target;
}

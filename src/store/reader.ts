// Read-only, defensive reading of one .db file written by any process (Node or Python), or of a
// summary's .sketch file (the same container, other bodies).
// Incremental: keys never move in a file, so a warm read re-reads the bytes but parses only the
// entries appended since the last read. What it reads and holds follows the entries really in the
// file, never what its header claims: new bytes are read in growing pieces up to the first entry
// that is not whole and valid, and that verdict is kept until the file changes.

import * as fs from 'node:fs';
import { DB_LAYOUT, HEADER_BYTES, MAX_FILE_BYTES, kindOfFile, legacyLayoutEnd, walkEntries } from './format';
import type { FileLayout } from './format';
import { INVALID_KEY, KEY_LIMIT_REACHED, KeyIndex } from './key-index';

/**
 * What one read of a file found. The arrays are owned by the reader and reused by its next read;
 * `numbers` lies in the reader's ReadBuffer, valid until the next read of any reader sharing it.
 */
export interface FileContents {
  /** Entries parsed. While `layoutVersion` is unchanged, a later read only appends to them. */
  readonly count: number;
  /** The id of each entry's key in `keys`. */
  readonly keyIds: Int32Array;
  readonly keys: KeyIndex;
  /** Float64 index of each key's value (or body) in `numbers` (byte offset / 8); timestamp at +1. */
  readonly slots: Int32Array;
  /** Byte offset where each entry (its key length) starts. */
  readonly starts: Int32Array;
  /** The bytes of the file read so far seen as float64s (little-endian, as the format is). */
  readonly numbers: Float64Array;
  /** Changes whenever earlier keys were dropped and parsed again (file replaced or rewritten). */
  readonly layoutVersion: number;
  /** Why the entries after the last one parsed are skipped, when the file is damaged there. */
  readonly problem: string | undefined;
  /** Which limit left the rest of the file unread this time, when one did. */
  readonly limit: string | undefined;
  /** `used` from the header and the file's size, both in bytes. */
  readonly used: number;
  readonly size: number;
  /** Bytes of the file this read went through. */
  readonly bytesRead: number;
}

export type ReadResult =
  | { status: 'ok'; contents: FileContents }
  /** Gone between the directory listing and the read (e.g. removed by markProcessDead). */
  | { status: 'missing' }
  /** Nothing of the file can be used; `problem` says why. */
  | { status: 'unreadable'; problem: string };

/** The text of entry `index`'s key (for tools: the collector works with key ids). */
export function entryKey(contents: FileContents, index: number): string {
  return contents.keys.text(contents.keyIds[index]);
}

/**
 * The bytes of the file being read. Readers that read one after another (a collector's) share
 * one, so that holding a directory costs one file's bytes, not every file's.
 */
export class ReadBuffer {
  bytes = new Uint8Array(0);
  words = new Int32Array(0);
  numbers = new Float64Array(0);

  /** Makes room for `length` bytes, keeping the first `keep`. */
  ensure(length: number, keep: number): void {
    if (this.bytes.byteLength >= length) return;
    // Doubles, as the writers' files do, but never past the largest file a reader accepts.
    const capacity = Math.min(Math.max(length, this.bytes.byteLength * 2, 1 << 16), MAX_FILE_BYTES);
    const buffer = new ArrayBuffer((Math.max(capacity, length) + 7) & ~7);
    const bytes = new Uint8Array(buffer);
    bytes.set(this.bytes.subarray(0, keep));
    this.bytes = bytes;
    this.words = new Int32Array(buffer);
    this.numbers = new Float64Array(buffer);
  }
}

export interface ReaderOptions {
  /** Shared by the readers of one collector, so that every file's keys get the same ids. */
  keys?: KeyIndex;
  buffer?: ReadBuffer;
  /** The kind of file: Python's `.db` unless told otherwise. */
  layout?: FileLayout;
}

/** How every reader of metric files opens them: never through a link, never blocking. */
export const READ_ONLY_FLAGS =
  fs.constants.O_RDONLY |
  fs.constants.O_NOFOLLOW |
  // A FIFO named *.db would block a plain open forever; regular files ignore the flag.
  fs.constants.O_NONBLOCK;

/** New bytes are read in pieces of at least this, doubling what was read so far each time. */
const FIRST_PIECE_BYTES = 1 << 16;

export const LEGACY_FILE_PROBLEM =
  'was written by prometheus_client 0.16 or older (8-byte values without timestamps); ' +
  'this layout is refused, not misread: upgrade the Python client to >= 0.18';

/** Reads one file again and again, keeping what it parsed; one instance per path. */
export class MetricFileReader {
  private readonly keys: KeyIndex;
  private readonly buffer: ReadBuffer;
  private readonly layout: FileLayout;
  private keyIds = new Int32Array(64);
  private slots = new Int32Array(64);
  /** Each entry's start offset: its key length there is checked on every read to catch a rewrite. */
  private starts = new Int32Array(64);
  private count = 0;
  private parsedEnd = HEADER_BYTES;
  /** Why the entries from parsedEnd on are skipped; kept until the file changes. */
  private stuckProblem: string | undefined;
  /** Why the whole file is refused; kept until the file changes. */
  private refusal: string | undefined;
  /** Why this read stopped early (a limit); found again on every read. */
  private limitProblem: string | undefined;
  private layoutVersion = 0;
  private device = -1;
  private inode = -1;
  private lastSize = 0;
  private lastModified = 0;

  constructor(
    readonly path: string,
    options: ReaderOptions = {},
  ) {
    this.keys = options.keys ?? new KeyIndex();
    this.buffer = options.buffer ?? new ReadBuffer();
    this.layout = options.layout ?? DB_LAYOUT;
  }

  /** Reads the file; `maxBytes`: past this many bytes of it, the rest is left unread (a limit). */
  read(maxBytes = Infinity): ReadResult {
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
      return this.readOpen(fd, maxBytes);
    } catch (error) {
      this.forget();
      return { status: 'unreadable', problem: `cannot be read (${(error as Error).message})` };
    } finally {
      fs.closeSync(fd);
    }
  }

  private readOpen(fd: number, maxBytes: number): ReadResult {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) {
      this.forget();
      return { status: 'unreadable', problem: 'is not a regular file' };
    }
    const size = stat.size;
    if (stat.dev !== this.device || stat.ino !== this.inode || size < this.lastSize) this.forget();
    if (size !== this.lastSize || stat.mtimeMs !== this.lastModified) {
      // A changed file gets a new verdict (a repaired one is merged again).
      this.stuckProblem = undefined;
      this.refusal = undefined;
    }
    this.device = stat.dev;
    this.inode = stat.ino;
    this.lastSize = size;
    this.lastModified = stat.mtimeMs;
    this.limitProblem = undefined;
    if (this.refusal !== undefined) return { status: 'unreadable', problem: this.refusal };
    // A writer creates its file empty and sizes it right after: until then it holds nothing, and
    // a scrape in between must neither skip it as corrupt nor warn.
    if (size === 0) return { status: 'ok', contents: this.contents(HEADER_BYTES, size, 0) };
    if (size < HEADER_BYTES) return { status: 'unreadable', problem: `is ${size} bytes, shorter than its header` };
    if (size > MAX_FILE_BYTES) {
      return { status: 'unreadable', problem: `is ${size} bytes, over the ${MAX_FILE_BYTES}-byte limit` };
    }

    const buffer = this.buffer;
    buffer.ensure(HEADER_BYTES, 0);
    if (readRange(fd, buffer.bytes, 0, HEADER_BYTES) !== HEADER_BYTES) {
      return { status: 'unreadable', problem: 'shrank while being read' };
    }
    const header = new DataView(buffer.bytes.buffer);
    let used = header.getInt32(0, true);
    // A writer that has sized a new file but not yet written its header: nothing in it yet.
    if (used === 0) used = HEADER_BYTES;
    else if (this.layout.magic !== undefined && header.getUint32(4, true) !== this.layout.magic) {
      return { status: 'unreadable', problem: `does not start like ${kindOfFile(this.layout)}` };
    }
    if (used < HEADER_BYTES) return { status: 'unreadable', problem: `header says used=${used}, below the header size` };
    if (used > size) {
      return { status: 'unreadable', problem: `header says used=${used} but the file is ${size} bytes (truncated?)` };
    }
    if (used < this.parsedEnd) this.forget();

    // The entries already known: their values are read again and their layout checked.
    let available = Math.max(HEADER_BYTES, Math.min(this.parsedEnd, maxBytes));
    buffer.ensure(available, HEADER_BYTES);
    if (readRange(fd, buffer.bytes, HEADER_BYTES, available) !== available) {
      this.forget();
      return { status: 'unreadable', problem: 'shrank while being read' };
    }
    if (available < this.parsedEnd || !this.layoutHolds()) this.forget();

    const verdictKnown = this.stuckProblem !== undefined;
    // New bytes, in pieces: a header claiming far more than the entries really there (a sparse
    // file) costs what is there, as the walk stops at the first entry that is not whole and valid.
    while (this.stuckProblem === undefined && this.limitProblem === undefined && this.parsedEnd < used) {
      if (available >= maxBytes) {
        this.limitProblem = `the limit of bytes read per scrape is reached at byte ${this.parsedEnd}`;
        break;
      }
      const end = Math.min(used, maxBytes, Math.max(available * 2, available + FIRST_PIECE_BYTES));
      available = this.readMore(fd, available, end);
      if (available < 0) {
        this.forget();
        return { status: 'unreadable', problem: 'shrank while being read' };
      }
      this.parseNew(available, used);
    }
    if (!verdictKnown && this.stuckProblem !== undefined && this.layout === DB_LAYOUT && this.isLegacy(fd, available, used, maxBytes)) {
      this.forget();
      this.refusal = LEGACY_FILE_PROBLEM;
      return { status: 'unreadable', problem: LEGACY_FILE_PROBLEM };
    }
    return { status: 'ok', contents: this.contents(used, size, available) };
  }

  /** Reads bytes [from, to) after the `from` already in the buffer; the new end, or -1. */
  private readMore(fd: number, from: number, to: number): number {
    this.buffer.ensure(to, from);
    return readRange(fd, this.buffer.bytes, from, to) === to ? to : -1;
  }

  /** Whether the whole file parses as prometheus_client 0.16's layout (read on in pieces). */
  private isLegacy(fd: number, available: number, used: number, maxBytes: number): boolean {
    let position: number | undefined = HEADER_BYTES;
    for (;;) {
      position = legacyLayoutEnd(this.buffer.bytes, position, available, used);
      if (position === undefined) return false;
      if (position === used) return true;
      // No more bytes to read (or allowed): what is there does not parse whole.
      if (available >= Math.min(used, maxBytes)) return false;
      available = this.readMore(fd, available, Math.min(used, maxBytes, available * 2));
      if (available < 0) return false;
    }
  }

  /**
   * Reads bytes [offset, offset + length) of the file again into the last read's contents (a
   * sketch block caught mid-change); false when the file is gone, replaced or shorter. Call it
   * before any other read of the same buffer.
   */
  reread(offset: number, length: number): boolean {
    if (offset < HEADER_BYTES || offset + length > this.buffer.bytes.byteLength) return false;
    let fd: number;
    try {
      fd = fs.openSync(this.path, READ_ONLY_FLAGS);
    } catch {
      return false;
    }
    try {
      const stat = fs.fstatSync(fd);
      if (stat.dev !== this.device || stat.ino !== this.inode) return false;
      return readRange(fd, this.buffer.bytes, offset, offset + length) === offset + length;
    } catch {
      return false;
    } finally {
      fs.closeSync(fd);
    }
  }

  private contents(used: number, size: number, bytesRead: number): FileContents {
    return {
      count: this.count,
      keyIds: this.keyIds,
      keys: this.keys,
      slots: this.slots,
      starts: this.starts,
      numbers: this.buffer.numbers,
      layoutVersion: this.layoutVersion,
      problem: this.stuckProblem,
      limit: this.limitProblem,
      used,
      size,
      bytesRead,
    };
  }

  /** Drops every parsed entry: the next parse starts from the first one. */
  private forget(): void {
    this.stuckProblem = undefined;
    this.refusal = undefined;
    if (this.count === 0 && this.parsedEnd === HEADER_BYTES) return;
    this.count = 0;
    this.parsedEnd = HEADER_BYTES;
    this.layoutVersion++;
  }

  /** Every known entry still starts where it did with the same key length (keys never move). */
  private layoutHolds(): boolean {
    const { words } = this.buffer;
    const { keys, keyIds, starts } = this;
    for (let i = 0; i < this.count; i++) {
      if (words[starts[i] >>> 2] !== keys.lengthOf(keyIds[i])) return false;
    }
    return true;
  }

  private parseNew(available: number, used: number): void {
    const { keys } = this;
    const { bytes, words } = this.buffer;
    let limited = false;
    const visit = (keyStart: number, keyLength: number, valueOffset: number): 'next' | 'invalid' | 'stop' => {
      const id = keys.idOf(words, keyStart, keyLength);
      if (id === INVALID_KEY) return 'invalid';
      if (id === KEY_LIMIT_REACHED) {
        limited = true;
        return 'stop';
      }
      const index = this.count;
      if (index === this.keyIds.length) this.growIndex();
      this.keyIds[index] = id;
      this.slots[index] = valueOffset >>> 3;
      this.starts[index] = keyStart - 4;
      this.count = index + 1;
      return 'next';
    };
    const { end, error } = walkEntries(bytes, this.parsedEnd, available, used, visit, this.layout.bodySize);
    this.parsedEnd = end;
    if (error !== undefined) this.stuckProblem = `${error.message}; the rest of the file is skipped`;
    else if (limited) {
      this.limitProblem = `the limit of ${keys.limit} distinct keys (one per series) is reached at byte ${end}`;
    }
  }

  private growIndex(): void {
    const length = this.keyIds.length * 2;
    this.keyIds = grownCopy(this.keyIds, length);
    this.slots = grownCopy(this.slots, length);
    this.starts = grownCopy(this.starts, length);
  }
}

/** One-shot read of a file (for tools): a fresh reader, no cache kept. */
export function readMetricFile(path: string): ReadResult {
  return new MetricFileReader(path).read();
}

/** Reads bytes [from, to) of the file into the same place of `target`; the offset reached. */
function readRange(fd: number, target: Uint8Array, from: number, to: number): number {
  let done = from;
  while (done < to) {
    const count = fs.readSync(fd, target, done, to - done, done);
    if (count === 0) break;
    done += count;
  }
  return done;
}

function grownCopy(source: Int32Array, length: number): Int32Array<ArrayBuffer> {
  const target = new Int32Array(length);
  target.set(source);
  return target;
}

// What the native and pwrite backends share: the file behind the image, and keeping it whatever
// the disk, the directory or a third party does. No metric update may ever throw or signal
// because of the environment, so:
//  - Space is reserved (allocated, not sparse) before a byte of the file is mapped or written:
//    a store into a mapped page can then never meet a missing block, the SIGBUS a full disk
//    sends to a sparse file's writer. The reservation grows with the entries in the file sizes
//    Python's client uses (64 KiB, doubling), so the files stay byte for byte the same as its
//    own; each takes its whole size on disk. A reservation that fails leaves the file as it was.
//  - The image may be longer than the file: entries past what is reserved live in process
//    memory (anonymous pages after the mapping, or the pwrite backend's buffer). The hot path
//    does not know the difference: slots never move, so the series join the file, values and
//    all, when a later reservation succeeds.
//  - The store's timer calls maintain() every few seconds: it retries the reservation, and
//    notices a file that was removed or replaced (an rm, a rename of the directory), writing a
//    new one with every current value.
// Each trouble is warned about once per file, naming the file, the cause and the fix.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { logger } from '../../logger';
import { HEADER_BYTES, INITIAL_FILE_BYTES } from '../format';
import type { FileLayout } from '../format';
import { EntryFile } from './entry-file';
import { MetricFileError, createMetricFile, errorCode, reasonOf, reopenMetricFile, truncateTo } from './file-descriptor';
import type { OpenedFile } from './file-descriptor';

/** How often the store's timer calls maintain(): growth retries and the replaced-file check. */
export const MAINTENANCE_INTERVAL_MS = 2000;
const RETRY = `${MAINTENANCE_INTERVAL_MS / 1000} s`;

export interface StoredFileOptions {
  /** Mode of a created file, before the umask. */
  fileMode: number;
  /** Called before the file is created, the first time or again (the store's owner record). */
  beforeCreate(): void;
}

export abstract class StoredFile extends EntryFile {
  /** -1 while there is no file: it could not be created yet, or it was lost. */
  protected fd = -1;
  private identity: { dev: number; ino: number } | undefined;
  /** Bytes of the file reserved (and, for native, mapped): the image's first `reserved` bytes. */
  protected reserved = 0;
  /** `used` as the file's header shows it: the entries that lie wholly in `reserved`. */
  protected published = 0;
  /** What keeps values out of the file now (the key of its last warning); undefined: nothing. */
  private trouble: string | undefined;
  /** The path showed another file (or none) at the last check; replaced if the next one agrees. */
  private replacedOnce = false;

  protected constructor(
    path: string,
    image: ArrayBuffer,
    private readonly options: StoredFileOptions,
    layout: FileLayout,
  ) {
    super(path, image, layout);
  }

  /**
   * `file` with its file created: a configuration error (see MetricFileError) is thrown, to the
   * metric's constructor, after the file is closed; when the machine refuses (a full disk), the
   * file waits in memory for maintain().
   */
  protected static created<F extends StoredFile>(file: F): F {
    try {
      file.attach(() => createMetricFile(file.path, file.options.fileMode), true);
    } catch (error) {
      file.close();
      throw error;
    }
    return file;
  }

  override maintain(): void {
    if (this.closed) return;
    try {
      if (this.fd >= 0 && this.wasReplaced()) {
        logger().warn(
          `${this.described()} was removed or replaced (an rm, or a rename of its directory): ` +
            "writing a new one with this process's current values",
        );
        this.dropFile();
      }
      if (this.fd < 0) this.attach(() => reopenMetricFile(this.path, this.options.fileMode), false);
      else if (this.published < this.used) this.extend();
    } catch (error) {
      this.troubled('be looked after', error, 'its values stay in memory and this is tried again');
    }
  }

  // A larger image; its file part stays what is reserved (appended() reserves more).
  protected grow(needed: number): void {
    this.remap(this.capacityFor(needed), this.reserved);
  }

  protected appended(start: number, end: number): void {
    // While a reservation is failing, new series wait in memory for maintain(), which retries
    // every few seconds, instead of asking the disk again at every new series.
    if (end > this.reserved && this.fd >= 0 && this.trouble === undefined) this.reserveFor(end);
    // Past the reservation, or after entries that are not in the file yet: it waits in memory.
    if (end > this.reserved || this.published !== start) return;
    if (!this.persist(start, end - start)) return;
    this.published = end;
    this.publishUsed(end);
  }

  /**
   * Replaces the image by one of `capacity` bytes whose first `reserved` bytes are the file's,
   * with every byte of the old image from `keptFrom` on (before it, they are in the file).
   */
  protected abstract remap(capacity: number, keptFrom: number): void;

  /** Allocates bytes [offset, offset + length) of the file, growing it; throws when refused. */
  protected abstract reserveSpace(offset: number, length: number): void;

  /** Writes bytes [offset, offset + length) of the image to the file, when they are not mapped. */
  protected abstract persist(offset: number, length: number): boolean;

  /** A write to the file failed: what it holds is stale until maintain() writes it all again. */
  protected lostWrite(error: unknown): void {
    this.published = 0;
    this.troubled(
      'be written',
      error,
      `this process keeps its values in memory and writes them again every ${RETRY}; until then scrapes see older values`,
    );
  }

  protected override release(): void {
    this.dropFile();
  }

  /** Opens a file with `open` and moves the image into it; `first`: configuration errors throw. */
  private attach(open: () => OpenedFile, first: boolean): void {
    this.options.beforeCreate();
    let opened: OpenedFile;
    try {
      opened = open();
    } catch (error) {
      if (first && !(error instanceof MetricFileError && error.environment)) throw error;
      this.troubled(
        'be created',
        error,
        `this process keeps its values in memory and writes them there once it can (tried every ${RETRY}); until then they are missing from scrapes`,
      );
      return;
    }
    this.dropFile();
    this.fd = opened.fd;
    this.identity = { dev: opened.dev, ino: opened.ino };
    this.extend();
  }

  /** Reserves room for every entry of the image, as far as the disk allows, and publishes what now fits. */
  private extend(): void {
    const failure = this.reserveFor(this.used);
    this.publishFitting();
    if (failure === undefined && this.published === this.used && this.trouble !== undefined) {
      this.trouble = undefined;
      logger().info(`${this.described()} holds every series of this process again`);
    }
  }

  /**
   * Reserves the file until its first `end` bytes are (in doubling steps, so that a disk with
   * some room left takes some of the series), maps what was added, and warns when the disk
   * refused. Returns the failure.
   */
  private reserveFor(end: number): unknown {
    const before = this.reserved;
    let failure: unknown;
    while (this.reserved < end) {
      const next = this.reserved === 0 ? INITIAL_FILE_BYTES : this.reserved * 2;
      try {
        this.reserveSpace(this.reserved, next - this.reserved);
      } catch (error) {
        // Some filesystems keep part of a failed allocation: nothing past `reserved` stays.
        truncateTo(this.fd, this.reserved);
        failure = error;
        break;
      }
      this.reserved = next;
    }
    if (this.reserved > before) this.remap(this.bytes.length, before);
    if (failure !== undefined) this.cannotGrow(failure);
    return failure;
  }

  /** Writes the entries that lie wholly in the reservation and are not in the file yet, then `used`. */
  private publishFitting(): void {
    const target = this.used <= this.reserved ? this.used : this.reserved < HEADER_BYTES ? 0 : this.entriesEndWithin(this.reserved);
    if (target <= this.published) return;
    // The header goes last, so a reader never sees `used` before the entries it covers.
    const from = Math.max(this.published, HEADER_BYTES);
    if (!this.persist(from, target - from)) return;
    this.published = target;
    this.publishUsed(target);
  }

  private cannotGrow(error: unknown): void {
    this.troubled(
      'grow',
      error,
      'new series of this process are kept in its memory (get() and its own registry have them) and join the file ' +
        `with their values once it can grow (tried every ${RETRY}); until then they are missing from scrapes`,
    );
  }

  /**
   * Warns that the file cannot `what` because of `error`, what that means and how to fix it:
   * once per file and kind of trouble (a new one is warned about again, and the end of it told).
   */
  private troubled(what: string, error: unknown, meaning: string): void {
    const key = `${what} ${errorCode(error) ?? ''}`;
    if (this.trouble === key) return;
    this.trouble = key;
    logger().warn(
      `${this.described()} cannot ${what}: ${reasonOf(error)}. ${meaning[0].toUpperCase()}${meaning.slice(1)}. ` +
        `To fix: ${remedy(errorCode(error), path.dirname(this.path))}.`,
    );
  }

  /**
   * Whether the path leads to another file than ours (or to none). A compaction that finds a pid
   * alive again gives back the file it had just claimed (renamed) within microseconds, so a
   * single odd check does not count: the next one must agree.
   */
  private wasReplaced(): boolean {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.lstatSync(this.path, { throwIfNoEntry: false });
    } catch {
      stat = undefined;
    }
    const same = stat !== undefined && stat.ino === this.identity?.ino && stat.dev === this.identity.dev;
    if (same || !this.replacedOnce) {
      this.replacedOnce = !same;
      return false;
    }
    this.replacedOnce = false;
    return true;
  }

  /** `metric file "PATH"` (`sketch file "PATH"`) for a warning. */
  private described(): string {
    return `${this.layout.describe.toLowerCase()} "${this.path}"`;
  }

  /** Forgets the file (the image keeps every value): a new one is attached, or none is left. */
  private dropFile(): void {
    if (this.fd >= 0) {
      try {
        fs.closeSync(this.fd);
      } catch {
        // Nothing is lost: every value is in the image.
      }
    }
    this.fd = -1;
    this.identity = undefined;
    this.reserved = 0;
    this.published = 0;
  }
}

/** What an operator does about a failure with `code` of a file in `dir`. */
function remedy(code: string | undefined, dir: string): string {
  switch (code) {
    case 'ENOSPC':
      return `free space on the filesystem of ${dir}`;
    case 'EDQUOT':
      return `raise this user's disk quota, or free space on the filesystem of ${dir}`;
    case 'EFBIG':
      return "raise the process's file size limit (ulimit -f; LimitFSIZE= under systemd)";
    case 'EMFILE':
    case 'ENFILE':
      return 'raise the limit of open files (ulimit -n)';
    case 'ENOENT':
    case 'ENOTDIR':
      return `create the directory ${dir} again (mode 0700)`;
    case 'EACCES':
    case 'EPERM':
      return `make ${dir} writable by this process's user`;
    default:
      return `check the filesystem of ${dir}`;
  }
}

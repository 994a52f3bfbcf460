// The pwrite backend, pure JS, for when the native addon cannot load: an in-process image of the
// file with every change written through at its offset with one pwrite. A failed write (a full
// disk, a file size limit) never throws: the value stays in the image, which maintain() writes
// again.

import type { BackendKind } from './metric-file';
import { HEADER_BYTES, INITIAL_FILE_BYTES } from '../format';
import type { FileLayout } from '../format';
import { grownCopy } from './memory';
import { reserveByWriting, writeAt } from './file-descriptor';
import { StoredFile } from './stored-file';
import type { StoredFileOptions } from './stored-file';

export class PwriteFile extends StoredFile {
  readonly backend: BackendKind = 'pwrite';

  static open(path: string, options: StoredFileOptions, layout: FileLayout): PwriteFile {
    return StoredFile.created(new PwriteFile(path, options, layout));
  }

  private constructor(path: string, options: StoredFileOptions, layout: FileLayout) {
    super(path, new ArrayBuffer(INITIAL_FILE_BYTES), options, layout);
  }

  override add(slot: number, amount: number): void {
    this.values[slot] += amount;
    this.writeThrough(slot, 8);
  }

  override set(slot: number, value: number): void {
    this.values[slot] = value;
    this.writeThrough(slot, 8);
  }

  override setWithTimestamp(slot: number, value: number, timestamp: number): void {
    this.values[slot] = value;
    this.values[slot + 1] = timestamp;
    this.writeThrough(slot, 16);
  }

  override writeRange(slot: number, words: Float64Array): void {
    super.writeRange(slot, words);
    this.writeThrough(slot, words.byteLength);
  }

  protected remap(capacity: number): void {
    if (capacity !== this.bytes.length) this.adopt(grownCopy(this.bytes, capacity));
  }

  protected reserveSpace(offset: number, length: number): void {
    reserveByWriting(this.fd, this.path, offset, length);
  }

  protected persist(offset: number, length: number): boolean {
    try {
      writeAt(this.fd, this.path, this.bytes, offset, length);
      return true;
    } catch (error) {
      this.lostWrite(error);
      return false;
    }
  }

  // The entry was written (persisted) before this runs: the file sees the entry, then the
  // header (`used`, and the layout's magic after it).
  protected override publishUsed(used: number): void {
    super.publishUsed(used);
    this.persist(0, HEADER_BYTES);
  }

  /** Writes a value of an entry the file holds; the others (and all after close) wait in memory. */
  protected override writeThrough(slot: number, length: number): void {
    const offset = slot * 8;
    if (offset >= this.published) return;
    try {
      writeAt(this.fd, this.path, this.bytes, offset, length);
    } catch (error) {
      this.lostWrite(error);
    }
  }
}

// The memory backend: the file layout in a plain in-process buffer, for single-process mode
// (PROMETHEUS_MULTIPROC_DIR unset).

import { DB_LAYOUT, HEADER_BYTES, INITIAL_FILE_BYTES } from '../format';
import type { FileLayout } from '../format';
import { EntryFile } from './entry-file';
import type { BackendKind } from './metric-file';

export class MemoryFile extends EntryFile {
  readonly backend: BackendKind = 'memory';

  /** A new, empty in-memory file. */
  static create(layout: FileLayout = DB_LAYOUT): MemoryFile {
    return new MemoryFile(layout);
  }

  private constructor(layout: FileLayout) {
    super('', new ArrayBuffer(INITIAL_FILE_BYTES), layout);
    this.publishUsed(HEADER_BYTES);
  }

  protected grow(needed: number): void {
    this.adopt(grownCopy(this.bytes, this.capacityFor(needed)));
  }

  protected appended(_start: number, end: number): void {
    this.publishUsed(end);
  }
}

/** A new buffer of `capacity` bytes that starts with a copy of `bytes`. */
export function grownCopy(bytes: Buffer, capacity: number): ArrayBuffer {
  const image = new ArrayBuffer(capacity);
  bytes.copy(Buffer.from(image));
  return image;
}

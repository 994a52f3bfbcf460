// The memory backend: the file layout in a plain in-process buffer, for single-process mode
// (PROMETHEUS_MULTIPROC_DIR unset). Also the shadow image the pwrite backend writes through.

import { DB_LAYOUT, INITIAL_FILE_BYTES } from '../format';
import type { FileLayout } from '../format';
import { EntryFile } from './entry-file';
import type { BackendKind } from './metric-file';

export class MemoryFile extends EntryFile {
  readonly backend: BackendKind = 'memory';

  /** A new, empty in-memory file. */
  static create(layout: FileLayout = DB_LAYOUT): MemoryFile {
    const file = new MemoryFile('', new ArrayBuffer(INITIAL_FILE_BYTES), layout);
    file.loadEntries();
    return file;
  }

  protected resize(capacity: number): void {
    const image = new ArrayBuffer(capacity);
    this.bytes.copy(Buffer.from(image));
    this.adopt(image);
  }
}

// The native backend: the file mapped MAP_SHARED by the addon in native/, so an update is one
// float64 store into the page cache, with no syscall, seen by every process that maps or reads it.

import type { BackendKind } from './metric-file';
import { HEADER_BYTES, INITIAL_FILE_BYTES } from '../format';
import type { FileLayout } from '../format';
import { errorCode, fileError, reserveByWriting } from './file-descriptor';
import { StoredFile } from './stored-file';
import type { StoredFileOptions } from './stored-file';

/** What the addon in native/ exports. */
export interface MmapAddon {
  /**
   * `length` bytes of memory whose first `fileLength` (a multiple of the page size) are the open
   * file `fd` mapped read-write and shared, the rest private anonymous memory; `path` is for errors.
   */
  map(fd: number, fileLength: number, length: number, path: string): ArrayBuffer;
  /** posix_fallocate of bytes [offset, offset + length) of `fd`; throws an Error with `errno`. */
  reserve(fd: number, offset: number, length: number, path: string): void;
}

/** Filesystems without fallocate (and macOS) answer this: zeros are written instead. */
const UNSUPPORTED = new Set(['EOPNOTSUPP', 'ENOTSUP', 'ENOSYS']);

export class NativeFile extends StoredFile {
  readonly backend: BackendKind = 'native';

  static open(path: string, options: StoredFileOptions, addon: MmapAddon, layout: FileLayout): NativeFile {
    return StoredFile.created(new NativeFile(path, options, addon, layout));
  }

  private constructor(
    path: string,
    options: StoredFileOptions,
    private readonly addon: MmapAddon,
    layout: FileLayout,
  ) {
    // Memory only until the file is created and reserved.
    super(path, addon.map(-1, 0, INITIAL_FILE_BYTES, path), options, layout);
  }

  // Growth maps again, larger. An old mapping stays valid (its file pages are the new one's) and
  // is unmapped by its ArrayBuffer's finalizer, so no live view can ever point at unmapped
  // memory; what it held past the file (anonymous memory) is copied over. The fd is kept only for
  // growth: a mapping outlives the fd that made it.
  protected remap(capacity: number, keptFrom: number): void {
    const previous = this.bytes;
    this.adopt(this.addon.map(this.fd, this.reserved, capacity, this.path));
    // The header is published by the caller, after the entries it covers.
    const from = Math.max(keptFrom, HEADER_BYTES);
    if (this.used > from) previous.copy(this.bytes, from, from, this.used);
  }

  protected reserveSpace(offset: number, length: number): void {
    try {
      this.addon.reserve(this.fd, offset, length, this.path);
    } catch (error) {
      if (!UNSUPPORTED.has(errorCode(error) ?? '')) throw fileError(`Cannot reserve space for metric file "${this.path}"`, error);
      reserveByWriting(this.fd, this.path, offset, length);
    }
  }

  // The file is mapped: a store into the image is a store into the file.
  protected persist(): boolean {
    return true;
  }
}

// The native backend: the file mapped MAP_SHARED by the addon in native/, so an update is one
// float64 store into the page cache, with no syscall, seen by every process that maps or reads it.

import * as fs from 'node:fs';
import type { BackendKind } from './metric-file';
import { EntryFile } from './entry-file';
import { resizeMetricFile, withOpenedMetricFile } from './file-descriptor';
import type { FileLayout } from '../format';

/** What the addon in native/ exports. */
export interface MmapAddon {
  /** Maps bytes [0, length) of the open file `fd` read-write and shared; `path` is for errors. */
  map(fd: number, length: number, path: string): ArrayBuffer;
}

export class NativeFile extends EntryFile {
  readonly backend: BackendKind = 'native';

  static open(path: string, fileMode: number, addon: MmapAddon, layout: FileLayout): NativeFile {
    return withOpenedMetricFile(path, fileMode, ({ fd, capacity }) => new NativeFile(path, fd, addon, addon.map(fd, capacity, path), layout));
  }

  private constructor(
    path: string,
    private readonly fd: number,
    private readonly addon: MmapAddon,
    image: ArrayBuffer,
    layout: FileLayout,
  ) {
    super(path, image, layout);
    this.loadEntries();
  }

  // Growth maps the file again, larger. The old mapping stays valid (both show the same pages)
  // and is unmapped by its ArrayBuffer's finalizer, so no live view can ever point at unmapped
  // memory. The fd is kept only for growth: a mapping outlives the fd that made it.
  protected resize(capacity: number): void {
    resizeMetricFile(this.fd, this.path, capacity);
    this.adopt(this.addon.map(this.fd, capacity, this.path));
  }

  protected override release(): void {
    fs.closeSync(this.fd);
  }
}

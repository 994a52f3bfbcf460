// The pwrite backend, pure JS, for when the native addon cannot load: an in-process image of the
// file (the memory backend) with every change written through at its offset with one pwrite.

import * as fs from 'node:fs';
import type { BackendKind } from './metric-file';
import { MemoryFile } from './memory';
import { resizeMetricFile, withOpenedMetricFile, writeAt } from './file-descriptor';
import type { FileLayout } from '../format';

export class PwriteFile extends MemoryFile {
  override readonly backend: BackendKind = 'pwrite';

  static open(path: string, fileMode: number, layout: FileLayout): PwriteFile {
    return withOpenedMetricFile(path, fileMode, ({ fd, capacity }) => new PwriteFile(path, fd, readWhole(fd, path, capacity), layout));
  }

  private constructor(
    path: string,
    private readonly fd: number,
    image: ArrayBuffer,
    layout: FileLayout,
  ) {
    super(path, image, layout);
    this.loadEntries();
  }

  override add(slot: number, amount: number): void {
    this.values[slot] += amount;
    if (!this.closed) writeAt(this.fd, this.path, this.bytes, slot * 8, 8);
  }

  override set(slot: number, value: number): void {
    this.values[slot] = value;
    if (!this.closed) writeAt(this.fd, this.path, this.bytes, slot * 8, 8);
  }

  override setWithTimestamp(slot: number, value: number, timestamp: number): void {
    this.values[slot] = value;
    this.values[slot + 1] = timestamp;
    if (!this.closed) writeAt(this.fd, this.path, this.bytes, slot * 8, 16);
  }

  override writeRange(slot: number, words: Float64Array): void {
    super.writeRange(slot, words);
    if (!this.closed) writeAt(this.fd, this.path, this.bytes, slot * 8, words.byteLength);
  }

  protected override resize(capacity: number): void {
    resizeMetricFile(this.fd, this.path, capacity);
    super.resize(capacity);
  }

  protected override persist(offset: number, length: number): void {
    writeAt(this.fd, this.path, this.bytes, offset, length);
  }

  // The entry was written (persisted) before this runs: the file sees the entry, then `used`.
  protected override publishUsed(): void {
    super.publishUsed();
    writeAt(this.fd, this.path, this.bytes, 0, 4);
  }

  protected override release(): void {
    fs.closeSync(this.fd);
  }
}

function readWhole(fd: number, path: string, capacity: number): ArrayBuffer {
  const image = new ArrayBuffer(capacity);
  const bytes = Buffer.from(image);
  let read = 0;
  while (read < capacity) {
    const count = fs.readSync(fd, bytes, read, capacity - read, read);
    if (count === 0) throw new Error(`Metric file "${path}" shrank while being opened`);
    read += count;
  }
  return image;
}

// The latest exemplar of each series (or bucket) of one process and type, held in plain arrays and
// written into its exemplar file later, not at the call. Encoding at the call (labels to UTF-8, a
// checksum, two atomic stores) costs about what prom-client's whole inc() with an exemplar costs;
// holding the references costs a few stores. The price: the file lags the calls by at most
// FLUSH_DELAY_MS, and a SIGKILL loses at most that much of exemplars, never a count (counts are
// written at the call, as always). A flush runs on an unref'd timer while something waits, at exit,
// before this process renders its own scrape, and when the store closes.

import { logger } from '../logger';
import { EMPTY_SLOT, SLOT_BYTES, writeExemplarSlot } from './exemplar-format';
import type { ExemplarLabels } from './exemplar-format';
import type { MetricFile } from './backends/metric-file';

/** How long an exemplar may wait before it is in its file. */
export const FLUSH_DELAY_MS = 250;

/** An exemplar as the call gave it: the app's own labels object, as prom-client keeps it. */
export interface HeldExemplar {
  labelSet: ExemplarLabels;
  value: number;
  timestamp: number;
}

export class ExemplarLog {
  // Per index, in plain arrays that grow as indexes are made (V8 keeps the numbers unboxed).
  private readonly keys: string[] = [];
  private readonly indexes = new Map<string, number>();
  private readonly labels: Array<ExemplarLabels | undefined> = [];
  private readonly values: number[] = [];
  private readonly times: number[] = [];
  /** 1 while the latest exemplar is not yet in the file. */
  private readonly dirty: number[] = [];
  /** The slot in the file, -1 until the entry exists there. */
  private readonly slots: number[] = [];
  private readonly dirtyList: number[] = [];
  private dirtyCount = 0;
  private timer: NodeJS.Timeout | undefined;
  private image: Buffer | undefined;
  private imageWords: Int32Array = new Int32Array(0);
  private readonly warned = new Set<string>();

  /**
   * `file`: this log's exemplar file, opened by the store with the first metric that enables
   * exemplars (so a configuration error is thrown by its constructor, never by a flush) and looked
   * after by the store like its other files (written again when removed or replaced, grown when
   * the disk has room). Without it (memory mode) the log only holds the latest exemplars for get()
   * and the process's own exposition.
   */
  constructor(
    private file: MetricFile | undefined,
    private readonly description: string,
  ) {}

  /** The index of a series' (or bucket's) exemplar, by the key of its .db entry; made once. */
  indexOf(key: string): number {
    let index = this.indexes.get(key);
    if (index === undefined) {
      index = this.keys.length;
      this.keys.push(key);
      this.labels.push(undefined);
      this.values.push(0);
      this.times.push(0);
      this.dirty.push(0);
      this.slots.push(-1);
      this.dirtyList.push(0);
      this.indexes.set(key, index);
    }
    return index;
  }

  /** The hot path: keeps the latest exemplar of `index`, labels already checked by the caller. */
  record(index: number, labels: ExemplarLabels, value: number, timestamp: number): void {
    this.labels[index] = labels;
    this.values[index] = value;
    this.times[index] = timestamp;
    if (this.dirty[index] === 0 && this.file !== undefined) this.markDirty(index);
  }

  /** The latest exemplar of `index` in this process (flushed or not), prom-client's shape. */
  latest(index: number): HeldExemplar | undefined {
    const labelSet = this.labels[index];
    return labelSet === undefined ? undefined : { labelSet, value: this.values[index], timestamp: this.times[index] };
  }

  /**
   * Forgets the exemplar of `index` here (the series was reset or removed, and prom-client drops
   * its exemplars with it); what the file holds stays, like a dead process's exemplars.
   */
  clear(index: number): void {
    this.labels[index] = undefined;
  }

  /** Writes every exemplar not yet in the file. Never throws: a failure is one warning. */
  flush(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const count = this.dirtyCount;
    if (count === 0) return;
    this.dirtyCount = 0;
    const file = this.file;
    for (let k = 0; k < count; k++) {
      const index = this.dirtyList[k];
      this.dirty[index] = 0;
      const labels = this.labels[index];
      if (file === undefined || labels === undefined) continue;
      try {
        this.write(file, index, labels);
      } catch (error) {
        this.warnOnce('write', `cannot write exemplars of ${this.description}: ${(error as Error).message}`);
      }
    }
  }

  /** Flushes, then lets go of the file (the store is closing it); later exemplars stay in memory. */
  close(): void {
    this.flush();
    this.file = undefined;
  }

  private write(file: MetricFile, index: number, labels: ExemplarLabels): void {
    let slot = this.slots[index];
    if (slot < 0) {
      // Appended with a whole empty slot (slotOf would append a .db entry's value and timestamp).
      // The file is this process's own from its first byte (a predecessor's is handed to the dead,
      // see predecessor-files.ts): an entry found is one this log appended.
      const key = this.keys[index];
      slot = file.findSlot(key) ?? file.appendRecord(key, EMPTY_SLOT);
      this.slots[index] = slot;
    }
    let written = true;
    file.rewrite(slot, SLOT_BYTES, (image, offset) => {
      written = writeExemplarSlot(this.wordsOf(image), offset, labels, this.values[index], this.times[index]);
    });
    if (!written) {
      this.warnOnce(
        'changed',
        `${this.description}: exemplar labels changed after the call into labels that cannot be exposed ` +
          '(pass a new object to each call); such exemplars are left out',
      );
    }
  }

  /**
   * An Int32Array over the file's image, for the slot's atomic seq stores; remade when the file
   * grew (a new image). Compared by the Buffer: `.buffer` of a mapping is a call into V8's C++.
   */
  private wordsOf(image: Buffer): Int32Array {
    if (this.image !== image) {
      this.image = image;
      this.imageWords = new Int32Array(image.buffer, image.byteOffset, image.byteLength >>> 2);
    }
    return this.imageWords;
  }

  private markDirty(index: number): void {
    this.dirty[index] = 1;
    this.dirtyList[this.dirtyCount++] = index;
    if (this.timer === undefined) {
      this.timer = setTimeout(() => this.flush(), FLUSH_DELAY_MS);
      this.timer.unref();
    }
  }

  private warnOnce(kind: string, message: string): void {
    if (this.warned.has(kind)) return;
    this.warned.add(kind);
    logger().warn(message);
  }
}

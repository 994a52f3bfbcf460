// The part of a MetricFile every backend shares: the key -> slot index, the append protocol and
// the image's growth. A backend supplies the bytes (a mapping, a shadow of a file, or plain
// memory) and says when an appended entry is visible to readers.

import type { BackendKind, MetricFile } from './metric-file';
import { DB_LAYOUT, HEADER_BYTES, MAX_KEY_BYTES, VALUE_BYTES, decodeKey, entryBytes, walkEntries, writeEntry } from '../format';
import type { FileLayout } from '../format';

const CLOSED_IMAGE = new ArrayBuffer(0);

export abstract class EntryFile implements MetricFile {
  abstract readonly backend: BackendKind;
  /** The whole image; replaced on growth, so only `slotOf` may hold on to it across calls. */
  protected bytes!: Buffer;
  /** float64 view of the image: slot n is the float64 at byte offset 8n (value, then timestamp). */
  protected values!: Float64Array;
  private usedView!: Int32Array;
  private headerView!: Uint32Array;
  /** End of the last entry in the image (those a backend keeps out of its file included). */
  protected used = HEADER_BYTES;
  /** Each key's last entry (appendRecord may give a key another one). */
  private readonly slots = new Map<string, number>();
  protected closed = false;

  protected constructor(
    readonly path: string,
    image: ArrayBuffer,
    /** The kind of file: Python's `.db` unless told otherwise. */
    protected readonly layout: FileLayout = DB_LAYOUT,
  ) {
    this.adopt(image);
  }

  slotOf(key: string): number {
    const slot = this.slots.get(key);
    return slot === undefined ? this.append(key, undefined) : slot;
  }

  findSlot(key: string): number | undefined {
    return this.slots.get(key);
  }

  appendRecord(key: string, body: Float64Array): number {
    return this.append(key, body);
  }

  // The hot path: one float64 store into the image. A closed file has an empty image, so late
  // updates are dropped instead of checked for.
  add(slot: number, amount: number): void {
    this.values[slot] += amount;
  }

  set(slot: number, value: number): void {
    this.values[slot] = value;
  }

  setWithTimestamp(slot: number, value: number, timestamp: number): void {
    this.values[slot] = value;
    this.values[slot + 1] = timestamp;
  }

  writeRange(slot: number, words: Float64Array): void {
    if (this.closed) return;
    this.values.set(words, slot);
  }

  // An atomic read-modify-write that changes nothing (header bytes 4..8): V8 compiles it to a
  // locked instruction (x86-64) or an acquire-release one (ARMv8), which no plain store passes.
  fence(): void {
    if (!this.closed) Atomics.add(this.headerView, 1, 0);
  }

  rewrite(slot: number, length: number, write: (image: Buffer, offset: number) => void): void {
    if (this.closed) return;
    write(this.bytes, slot * 8);
    this.writeThrough(slot, length);
  }

  get(slot: number): number {
    this.assertOpen();
    return this.values[slot];
  }

  timestampOf(slot: number): number {
    this.assertOpen();
    return this.values[slot + 1];
  }

  entries(): Array<{ key: string; slot: number }> {
    this.assertOpen();
    return Array.from(this.slots, ([key, slot]) => ({ key, slot }));
  }

  /** Nothing to look after in memory; files check their growth and their path. */
  maintain(): void {}

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.adopt(CLOSED_IMAGE);
    this.release();
  }

  /** Points the views at a new image (after growth, or an empty one at close). */
  protected adopt(image: ArrayBuffer): void {
    this.bytes = Buffer.from(image);
    this.values = new Float64Array(image);
    this.usedView = new Int32Array(image, 0, image.byteLength === 0 ? 0 : 1);
    this.headerView = new Uint32Array(image, 0, image.byteLength === 0 ? 0 : 2);
  }

  /** Makes the image at least `needed` bytes long (adopting a larger one), keeping every byte. */
  protected abstract grow(needed: number): void;

  /** The entry in bytes [start, end) of the image is whole: make it visible where readers look. */
  protected abstract appended(start: number, end: number): void;

  /**
   * Publishes the image's header: the layout's magic, then `used`. Atomics.store is a release
   * store: a process that reads `used` and then the bytes before it sees whole entries (and the
   * magic, so that a new file of another layout never reads as a `.db` with entries).
   */
  protected publishUsed(used: number): void {
    const { magic } = this.layout;
    if (magic !== undefined) this.headerView[1] = magic;
    Atomics.store(this.usedView, 0, used);
  }

  /** The end of the last entry that lies wholly in the image's first `limit` bytes. */
  protected entriesEndWithin(limit: number): number {
    const skip = (): 'next' => 'next';
    return walkEntries(this.bytes, HEADER_BYTES, Math.min(limit, this.used), this.used, skip, this.layout.bodySize).end;
  }

  /** `length` bytes at `slot` changed in the image: a backend that does not map its file writes them. */
  protected writeThrough(_slot: number, _length: number): void {}

  /** Frees what the backend holds (file descriptor); the image is already dropped. */
  protected release(): void {}

  protected assertOpen(): void {
    if (this.closed) throw new Error(`${this.layout.describe} "${this.path}" is closed`);
  }

  /** Doubles the capacity until `needed` bytes fit, refusing to pass what readers accept. */
  protected capacityFor(needed: number): number {
    let capacity = this.bytes.length;
    while (capacity < needed) capacity *= 2;
    const limit = this.layout.maxBytes;
    if (capacity > limit) {
      throw new Error(
        `${this.layout.describe} "${this.path || '(memory)'}" would grow to ${capacity} bytes, past the ` +
          `${limit}-byte limit readers accept: too many label combinations in this process`,
      );
    }
    return capacity;
  }

  /**
   * Appends a whole entry (its value and timestamp zero, or `body` as its body), then lets the
   * backend publish it: readers never see half of it.
   */
  private append(key: string, body: Float64Array | undefined): number {
    this.assertOpen();
    const encoded = Buffer.from(key, 'utf8');
    if (encoded.length === 0 || encoded.length > MAX_KEY_BYTES) {
      throw new Error(
        `${describeKey(key)}: its key is ${encoded.length} bytes, the file format allows 1..${MAX_KEY_BYTES} ` +
          '(shorten the label values or help text)',
      );
    }
    const position = this.used;
    const end = position + entryBytes(encoded.length) - VALUE_BYTES + (body?.byteLength ?? VALUE_BYTES);
    if (end > this.bytes.length) this.grow(end);
    const valueOffset = writeEntry(this.bytes, position, encoded);
    if (body !== undefined) this.copyBody(valueOffset / 8, body);
    this.used = end;
    const slot = valueOffset / 8;
    this.slots.set(key, slot);
    this.appended(position, end);
    return slot;
  }

  /**
   * Writes a new entry's body, skipping words that already hold their value: the grown part of a
   * file reads as zero, and a large body that is mostly zeros (a sketch's counts) then touches only
   * the pages of its nonzero words.
   */
  private copyBody(slot: number, body: Float64Array): void {
    const values = this.values;
    for (let i = 0; i < body.length; i++) if (!Object.is(values[slot + i], body[i])) values[slot + i] = body[i];
  }
}

/** `metric "name"` for an error message, from the key when it decodes. */
function describeKey(key: string): string {
  try {
    return `Metric "${decodeKey(key).metricName}"`;
  } catch {
    return `Metric key ${JSON.stringify(key.slice(0, 60))}`;
  }
}

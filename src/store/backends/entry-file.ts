// The part of a MetricFile every backend shares: the key -> slot index, the append protocol and
// growth. A backend only supplies the bytes (a mapping, a shadow of a file, or plain memory).

import type { BackendKind, MetricFile } from './metric-file';
import { DB_LAYOUT, HEADER_BYTES, MAX_KEY_BYTES, VALUE_BYTES, decodeKey, entryBytes, kindOfFile, parseEntries, writeEntry } from '../format';
import type { FileLayout } from '../format';

const CLOSED_IMAGE = new ArrayBuffer(0);

export abstract class EntryFile implements MetricFile {
  abstract readonly backend: BackendKind;
  /** The whole file image; replaced on growth, so only `slotOf` may hold on to it across calls. */
  protected bytes!: Buffer;
  /** float64 view of the image: slot n is the float64 at byte offset 8n (value, then timestamp). */
  protected values!: Float64Array;
  private usedView!: Int32Array;
  private headerView!: Uint32Array;
  private used = HEADER_BYTES;
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
    this.persist(slot * 8, length);
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

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.adopt(CLOSED_IMAGE);
    this.release();
  }

  /**
   * Reads the entries already in the image (a file left by an earlier process with the same pid,
   * as Python does) so that appending continues after them. Called once by each backend's
   * constructor, after its own fields are set.
   */
  protected loadEntries(): void {
    const used = this.bytes.readInt32LE(0);
    const { magic } = this.layout;
    if (used === 0) {
      // A new file, or one whose creator died before its first entry.
      this.used = HEADER_BYTES;
      if (magic !== undefined) {
        this.headerView[1] = magic;
        this.persist(4, 4);
      }
      this.publishUsed();
      return;
    }
    if (used < HEADER_BYTES || used > this.bytes.length) {
      throw this.corrupt(`used=${used} is outside ${HEADER_BYTES}..${this.bytes.length}`);
    }
    if (magic !== undefined && this.headerView[1] !== magic) {
      throw this.corrupt(`its header says it is not ${kindOfFile(this.layout)}`);
    }
    const { entries, error } = parseEntries(this.bytes, HEADER_BYTES, used, this.layout.bodySize);
    if (error !== undefined) throw this.corrupt(error.message);
    for (const entry of entries) this.slots.set(entry.key, entry.valueOffset / 8);
    this.used = used;
  }

  /** Points the views at a new image (after growth, or an empty one at close). */
  protected adopt(image: ArrayBuffer): void {
    this.bytes = Buffer.from(image);
    this.values = new Float64Array(image);
    this.usedView = new Int32Array(image, 0, image.byteLength === 0 ? 0 : 1);
    this.headerView = new Uint32Array(image, 0, image.byteLength === 0 ? 0 : 2);
  }

  /** Replaces the image by one of `capacity` bytes holding the same first bytes (via adopt). */
  protected abstract resize(capacity: number): void;

  /** Makes bytes [offset, offset + length) of the image durable in the file, when there is one. */
  protected persist(_offset: number, _length: number): void {}

  /**
   * Publishes `used`. Atomics.store is a release store: a process that reads `used` and then the
   * bytes before it sees whole entries.
   */
  protected publishUsed(): void {
    Atomics.store(this.usedView, 0, this.used);
  }

  /** Frees what the backend holds (file descriptor); the image is already dropped. */
  protected release(): void {}

  protected assertOpen(): void {
    if (this.closed) throw new Error(`Metric file "${this.path}" is closed`);
  }

  protected corrupt(detail: string): Error {
    return new Error(
      `${this.layout.describe} "${this.path}" cannot be continued: ${detail}. It was left by an earlier ` +
        'process with the same pid; delete it, or the whole directory when no process uses it.',
    );
  }

  /**
   * Appends a whole entry (its value and timestamp zero, or `body` as its body), then publishes the
   * new `used`: readers never see half of it.
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
    if (end > this.bytes.length) this.resize(this.capacityFor(end));
    const valueOffset = writeEntry(this.bytes, position, encoded);
    if (body !== undefined) this.copyBody(valueOffset / 8, body);
    this.persist(position, end - position);
    this.used = end;
    this.publishUsed();
    const slot = valueOffset / 8;
    this.slots.set(key, slot);
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

  /** Doubles the capacity until `needed` bytes fit, refusing to pass what readers accept. */
  private capacityFor(needed: number): number {
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
}

/** `metric "name"` for an error message, from the key when it decodes. */
function describeKey(key: string): string {
  try {
    return `Metric "${decodeKey(key).metricName}"`;
  } catch {
    return `Metric key ${JSON.stringify(key.slice(0, 60))}`;
  }
}

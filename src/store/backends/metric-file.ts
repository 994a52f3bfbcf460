// What a backend hands the process store: one writable .db file. The native, pwrite and memory
// backends implement it; the store and the metrics see nothing else of them.

export type BackendKind = 'native' | 'pwrite' | 'memory';

/** One writable file (`.db`, or a summary's `.sketch`) of this process or thread (exactly one writer per file). */
export interface MetricFile {
  /** '' for the memory backend. */
  readonly path: string;
  readonly backend: BackendKind;
  /**
   * Slot of `key` (value byte offset / 8), appending a whole zeroed entry first when absent.
   * Validates the key before writing anything; grows the file when needed. A file that cannot
   * grow (a full disk) keeps the new entry in process memory until it can: the slot stays.
   */
  slotOf(key: string): number;
  /** The slot of `key`'s last entry, or undefined when it has none (nothing is appended). */
  findSlot(key: string): number | undefined;
  /**
   * Appends an entry for `key` whose body is `body` (its first word its size in bytes, as the
   * file's layout reads it), even when the key has one already: the new entry is the one findSlot
   * and slotOf give from now on. Returns the slot of the body's first word.
   */
  appendRecord(key: string, body: Float64Array): number;
  /** value += amount; the timestamp is untouched. */
  add(slot: number, amount: number): void;
  set(slot: number, value: number): void;
  /** `timestamp` in unix seconds, for the mostrecent gauge modes. */
  setWithTimestamp(slot: number, value: number, timestamp: number): void;
  /** Words [slot, slot + words.length) = words, written through at once (one write for pwrite). */
  writeRange(slot: number, words: Float64Array): void;
  /**
   * Orders this file's stores before the call against those after it, as other processes see
   * them (a multi-word change fenced by version words; the pwrite backend's writes are ordered).
   */
  fence(): void;
  /**
   * Rewrites `length` bytes of an entry's body in place: `write` changes the image at `offset`
   * (slot * 8) with its own stores (an exemplar slot's seqlock), then the bytes reach the file (at
   * once when mapped, by one positioned write otherwise). Dropped once the file is closed.
   */
  rewrite(slot: number, length: number, write: (image: Buffer, offset: number) => void): void;
  get(slot: number): number;
  timestampOf(slot: number): number;
  /** Every key of this file with its slot, in file order. */
  entries(): Array<{ key: string; slot: number }>;
  /**
   * Looks after the file; the store's timer calls it every few seconds. It retries the growth of
   * a file the disk refused, and writes a new file when this one was removed or replaced. Never
   * throws: a problem is warned about once.
   */
  maintain(): void;
  /** Releases the file; updates after this are dropped, reads and new keys throw. */
  close(): void;
}

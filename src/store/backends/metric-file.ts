// What a backend hands the process store: one writable .db file. The native, pwrite and memory
// backends implement it; the store and the metrics see nothing else of them.

export type BackendKind = 'native' | 'pwrite' | 'memory';

/** One writable .db file of this process or thread (exactly one writer per file). */
export interface MetricFile {
  /** '' for the memory backend. */
  readonly path: string;
  readonly backend: BackendKind;
  /**
   * Slot of `key` (value byte offset / 8), appending a whole zeroed entry first when absent.
   * Validates the key before writing anything; grows the file when needed.
   */
  slotOf(key: string): number;
  /** value += amount; the timestamp is untouched. */
  add(slot: number, amount: number): void;
  set(slot: number, value: number): void;
  /** `timestamp` in unix seconds, for the mostrecent gauge modes. */
  setWithTimestamp(slot: number, value: number, timestamp: number): void;
  get(slot: number): number;
  timestampOf(slot: number): number;
  /** Every key of this file with its slot, in file order. */
  entries(): Array<{ key: string; slot: number }>;
  /** Releases the file; updates after this are dropped, reads and new keys throw. */
  close(): void;
}

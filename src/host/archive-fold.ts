// Folds the entries of dead processes' files into one entry per key, the way the merge would
// reduce them across pids, so an archive stands in for all of them in every later scrape.

import { encodeArchive, readWholeFile, reductionOf } from '../store';
import type { ArchiveGaugeMode, EntryValue, FileType, Reduction } from '../store';

type Reduce = (kept: EntryValue, value: number, timestamp: number) => void;

const sum: Reduce = (kept, value) => {
  kept.value += value;
};
// Same comparisons as the merge (src/collect/merge.ts): the first value seen stays unless beaten.
const min: Reduce = (kept, value) => {
  if (value < kept.value) kept.value = value;
};
const max: Reduce = (kept, value) => {
  if (value > kept.value) kept.value = value;
};
const mostRecent: Reduce = (kept, value, timestamp) => {
  if (kept.timestamp < timestamp) {
    kept.value = value;
    kept.timestamp = timestamp;
  }
};

/**
 * The reductions of the modes that archive: per-process modes keep their files, and the modes
 * that reduce over live processes only (first, average) are deleted with their process.
 */
const REDUCE: Readonly<Partial<Record<Reduction, Reduce>>> = { sum, min, max, 'most-recent': mostRecent };

function reduceFor(type: FileType, mode: ArchiveGaugeMode | undefined): Reduce {
  const reduce = REDUCE[reductionOf(type, mode)];
  if (reduce === undefined) throw new Error(`gauges of mode ${String(mode)} are never archived`);
  return reduce;
}

/**
 * One archive's entries in the making. Keys are kept byte for byte (help text included), so the
 * merge resolves them exactly as it did the files they came from. Histogram buckets stay
 * per-bucket counts, as writers store them: the merge makes them cumulative after summing.
 */
export class ArchiveFold {
  private readonly byKey = new Map<string, EntryValue>();
  private readonly reduce: Reduce;

  constructor(type: FileType, mode: ArchiveGaugeMode | undefined) {
    this.reduce = reduceFor(type, mode);
  }

  /** Folds every entry of a whole, healthy file; throws naming the file otherwise. */
  addFile(filePath: string): void {
    this.add(readWholeFile(filePath));
  }

  add(entries: readonly EntryValue[]): void {
    for (const { key, value, timestamp } of entries) {
      const kept = this.byKey.get(key);
      if (kept === undefined) this.byKey.set(key, { key, value, timestamp });
      else this.reduce(kept, value, timestamp);
    }
  }

  /** The folded entries, in the order their keys were first seen. */
  entries(): EntryValue[] {
    return [...this.byKey.values()];
  }

  /** The archive's bytes, of `generation`. */
  encode(generation: number): Buffer {
    return encodeArchive(this.entries(), generation);
  }
}

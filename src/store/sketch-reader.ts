// Read-only, defensive reading of one summary's `.sketch` file: its records, checked, each with the
// blocks that count at a given moment. A record that does not check out is skipped with its
// problem; a block caught mid-change is read again, and skipped for this read if it stays so.

import { FileFormatError } from './format';
import type { KeyIndex } from './key-index';
import { MetricFileReader } from './reader';
import type { ReadBuffer } from './reader';
import { SKETCH_LAYOUT, blockWords, readBlock, readRecordHeader } from './sketch-format';
import type { SketchBlockView, SketchRecordHeader, SketchRecordView } from './sketch-format';

/** Reads of a block caught mid-change before it is left out of one read. */
const TORN_READS = 3;

/** One record at one read: its key, what it is for, its blocks that count now. */
export interface SketchRecordRead extends SketchRecordHeader {
  /** The record key's id in the read's `keys` (the same for the life of the reader). */
  keyId: number;
  /** Blocks with validFrom <= now < expiresAt, checked; their counts are in the read's `words`. */
  blocks: SketchBlockView[];
}

export type SketchReadResult =
  | {
      status: 'ok';
      records: SketchRecordRead[];
      keys: KeyIndex;
      /** The file's words, which blocks' `countsSlot` index: valid until the next read of the buffer. */
      words: Float64Array;
      /** The first problem met (records or the rest of the file skipped), if any. */
      problem: string | undefined;
      /** Which limit left the rest of the file unread, when one did. */
      limit: string | undefined;
      /** Blocks left out of this read because a writer kept changing them. */
      torn: number;
      bytesRead: number;
    }
  | { status: 'missing' }
  | { status: 'unreadable'; problem: string };

export class SketchFileReader {
  private readonly reader: MetricFileReader;
  /** Each record's checked header: written once, before the record is published, never changed. */
  private headers: Array<SketchRecordView | FileFormatError> = [];
  private layoutVersion = -1;

  /** `buffer`: shared with other readers that read one after another (a collector's). */
  constructor(
    readonly path: string,
    options: { buffer?: ReadBuffer } = {},
  ) {
    this.reader = new MetricFileReader(path, { buffer: options.buffer, layout: SKETCH_LAYOUT });
  }

  /**
   * The records with their blocks that count at `now` (ms since the epoch); with `upcoming`, also
   * those that count later (snapshots of a ring the mirror wrote), as compaction keeps them.
   * `maxBytes`: past this many bytes of the file the rest is left unread (a limit).
   */
  read(now: number, upcoming = false, maxBytes = Infinity): SketchReadResult {
    const result = this.reader.read(maxBytes);
    if (result.status !== 'ok') return result;
    const { count, keyIds, keys, slots, numbers, layoutVersion, problem: containerProblem, limit, bytesRead } = result.contents;
    if (layoutVersion !== this.layoutVersion) {
      this.layoutVersion = layoutVersion;
      this.headers = [];
    }
    const records: SketchRecordRead[] = [];
    let problem = containerProblem;
    let torn = 0;
    for (let i = 0; i < count; i++) {
      const slot = slots[i];
      this.headers[i] ??= readRecordHeader(numbers, slot, numbers[slot] / 8);
      const header = this.headers[i];
      if (header instanceof FileFormatError) {
        problem ??= header.message;
        continue;
      }
      const blocks: SketchBlockView[] = [];
      let blockProblem: string | undefined;
      for (let b = 0; b < header.blockSlots.length; b++) {
        const blockSlot = header.blockSlots[b];
        const bins = header.blockBins[b];
        let block = readBlock(numbers, blockSlot, bins, now, upcoming);
        for (let attempt = 1; block === 'torn' && attempt < TORN_READS; attempt++) {
          // The block alone: a writer's change takes microseconds.
          if (!this.reader.reread(blockSlot * 8, blockWords(bins) * 8)) break;
          block = readBlock(numbers, blockSlot, bins, now, upcoming);
        }
        if (block === 'torn') {
          torn++;
          continue;
        }
        if (block === 'idle') continue;
        if (typeof block === 'string') {
          blockProblem = `sketch record at byte ${slot * 8}: a block ${block}`;
          break;
        }
        blocks.push(block);
      }
      if (blockProblem !== undefined) {
        problem ??= blockProblem;
        continue;
      }
      const { sign, windowMs, windows, flags, percentiles } = header;
      records.push({ keyId: keyIds[i], sign, windowMs, windows, flags, percentiles, blocks });
    }
    return { status: 'ok', records, keys, words: numbers, problem, limit, torn, bytesRead };
  }
}

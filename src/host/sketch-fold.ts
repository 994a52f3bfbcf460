// Folds the summary sketches of dead processes' `.sketch` files into one sketch archive, as the
// merge would add them up: blocks of one window (the same validity, as every process's window of
// the same wall-clock period has) become one block; blocks that have expired are dropped, so the
// archive holds what dead processes still contribute, and windows for all time forever.

import { MAX_SKETCH_BLOCKS, SKETCH_BINS, SketchFileReader, encodeSketchArchive } from '../store';
import type { SketchArchiveRecord, SketchBlockData, SketchBlockView, SketchRecordHeader } from '../store';

/** A folded block: counts over keys [offset, offset + counts.length), at most SKETCH_BINS of them. */
interface FoldedBlock extends SketchBlockData {
  /** Used span of counts: keys [offset + lo, offset + hi]. */
  lo: number;
  hi: number;
}

interface FoldedRecord {
  key: string;
  header: SketchRecordHeader;
  blocks: Map<string, FoldedBlock>;
}

export class SketchFold {
  private readonly records = new Map<string, FoldedRecord>();

  /** `now`: the moment blocks are judged expired at (ms since the epoch). */
  constructor(private readonly now: number) {}

  /** Folds every record of a whole, healthy sketch file; throws naming the file otherwise. */
  addFile(filePath: string): void {
    const result = new SketchFileReader(filePath).read(this.now, true);
    if (result.status === 'missing') throw new Error(`${filePath} disappeared while being compacted`);
    if (result.status === 'unreadable') throw new Error(`${filePath} cannot be used: it ${result.problem}`);
    if (result.problem !== undefined) throw new Error(`${filePath} is damaged: ${result.problem}`);
    if (result.torn > 0) throw new Error(`${filePath} is still being written`);
    for (const record of result.records) {
      const header: SketchRecordHeader = {
        sign: record.sign,
        windowMs: record.windowMs,
        windows: record.windows,
        flags: record.flags,
        percentiles: record.percentiles,
      };
      // Records of one key but another configuration (a deploy changed the percentiles) stay apart.
      const key = result.keys.text(record.keyId);
      const identity = JSON.stringify([key, header]);
      let folded = this.records.get(identity);
      if (folded === undefined) {
        folded = { key, header, blocks: new Map() };
        this.records.set(identity, folded);
      }
      for (const block of record.blocks) this.addBlock(folded, block, result.words);
    }
  }

  private addBlock(record: FoldedRecord, block: SketchBlockView, words: Float64Array): void {
    const window = `${block.validFrom}/${block.expiresAt}`;
    let folded = record.blocks.get(window);
    if (folded === undefined) {
      folded = {
        window: -1,
        validFrom: block.validFrom,
        expiresAt: block.expiresAt,
        offset: 0,
        zeros: 0,
        min: Infinity,
        max: -Infinity,
        collapses: 0,
        counts: new Float64Array(SKETCH_BINS),
        lo: SKETCH_BINS,
        hi: -1,
      };
      record.blocks.set(window, folded);
    }
    folded.zeros += block.zeros;
    folded.collapses += block.collapses;
    if (block.hi >= block.lo || block.zeros > 0) {
      folded.min = Math.min(folded.min, block.min);
      folded.max = Math.max(folded.max, block.max);
    }
    if (block.hi < block.lo) return;
    const low = block.offset + block.lo;
    const high = block.offset + block.hi;
    if (folded.hi < folded.lo) {
      folded.offset = low;
    } else {
      const unionLow = Math.min(folded.offset + folded.lo, low);
      const unionHigh = Math.max(folded.offset + folded.hi, high);
      // As a writer does: past SKETCH_BINS keys, the lowest fold into the lowest kept bin.
      const offset = unionHigh - unionLow + 1 > SKETCH_BINS ? unionHigh - SKETCH_BINS + 1 : unionLow;
      if (offset !== folded.offset) this.rebase(folded, offset);
      if (offset > unionLow) folded.collapses++;
    }
    for (let key = low; key <= high; key++) {
      const bin = Math.max(0, key - folded.offset);
      folded.counts[bin] += words[block.countsSlot + key - block.offset];
      folded.lo = Math.min(folded.lo, bin);
      folded.hi = Math.max(folded.hi, bin);
    }
  }

  private rebase(block: FoldedBlock, offset: number): void {
    const counts = new Float64Array(SKETCH_BINS);
    let lo = SKETCH_BINS;
    let hi = -1;
    for (let bin = block.lo; bin <= block.hi; bin++) {
      const moved = Math.max(0, bin + block.offset - offset);
      counts[moved] += block.counts[bin];
      lo = Math.min(lo, moved);
      hi = Math.max(hi, moved);
    }
    block.counts = counts;
    block.offset = offset;
    block.lo = lo;
    block.hi = hi;
  }

  /** The archive's bytes: each record with its blocks, each block cut to the bins it uses. */
  encode(generation: number): Buffer {
    const records: SketchArchiveRecord[] = [];
    for (const record of this.records.values()) {
      // A reader takes at most MAX_SKETCH_BLOCKS: past that, the soonest to expire go first.
      const blocks = [...record.blocks.values()].sort((a, b) => b.expiresAt - a.expiresAt).slice(0, MAX_SKETCH_BLOCKS);
      if (blocks.length === 0) continue;
      records.push({
        key: record.key,
        header: record.header,
        blocks: blocks.map((block) => {
          const used = block.hi < block.lo ? new Float64Array(0) : block.counts.slice(block.lo, block.hi + 1);
          return { ...block, offset: block.hi < block.lo ? 0 : block.offset + block.lo, counts: used };
        }),
      });
    }
    return encodeSketchArchive(records, generation);
  }
}

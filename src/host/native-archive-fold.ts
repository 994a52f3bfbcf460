// Folds dead processes' native histogram files into one archive, the way the collector merges
// them (native-merge.ts: lowest schema, widest zero bucket, counts summed), so the archive stands
// in for all of them: each series once, at its merged schema, and a later merge with the live
// files gives exactly what the merge with the dead files gave (lowering and widening compose).

import { NativeGroup, NativeMerge, memberProblem, resolveNativeKey } from '../collect';
import type { NativeHistogram, NativeMember, NativeSource } from '../collect';
import * as path from 'node:path';
import { NativeFileSeries, bucketKey, bucketsOfSpans, encodeArchive, readWholeFile, seriesKey, sumKey } from '../store';
import type { BucketSpan, EntryValue } from '../store';

interface FoldedSeries {
  group: NativeGroup;
  help: string;
}

export class NativeArchiveFold {
  private readonly series = new Map<string, FoldedSeries>();
  /** The files added, in order, with their share of each series. */
  private readonly sources: Array<{ source: NativeSource; count: number; members: NativeMember[] }> = [];

  /** Folds a whole file, by its name (files are given in name order, as the collector sums them). */
  addFile(filePath: string): void {
    this.add(readWholeFile(filePath), path.basename(filePath));
  }

  /**
   * Adds one file's entries (in file order), by the file's name. Throws on anything the collector would skip, so that
   * such a file is left as it is rather than folded into an archive that reads otherwise.
   */
  add(entries: readonly EntryValue[], name: string): void {
    const source: NativeSource = { name, values: Float64Array.from(entries, (entry) => entry.value), targets: new Int32Array(entries.length) };
    const { values } = source;
    const members: NativeMember[] = [];
    const layouts = new NativeFileSeries();
    entries.forEach(({ key }, position) => {
      const parsed = resolveNativeKey(key);
      const problem = typeof parsed === 'string' ? parsed : layouts.add(parsed, position).problem;
      if (problem !== undefined) throw new Error(problem);
    });
    for (const layout of layouts.layouts) {
      const problem = memberProblem(layout, values);
      if (problem !== undefined) throw new Error(problem);
      let folded = this.series.get(layout.identity);
      if (folded === undefined) {
        folded = { group: new NativeGroup(layout.metricName, layout.labels), help: layout.help };
        this.series.set(layout.identity, folded);
      }
      const member = folded.group.add(layout, source);
      member.usable = true;
      members.push(member);
    }
    this.sources.push({ source, count: entries.length, members });
  }

  /** The whole archive: its entries and the generation trailer. */
  encode(generation: number): Buffer {
    return encodeArchive(this.entries(), generation);
  }

  /** The archive's entries: per series its series entry, sum and buckets at the merged schema. */
  entries(): EntryValue[] {
    const entries: EntryValue[] = [];
    const entry = (key: string, value: number): void => {
      entries.push({ key, value, timestamp: 0 });
    };
    const merge = new NativeMerge();
    merge.begin([...this.series.values()].map((folded) => folded.group));
    for (const { source, count, members } of this.sources) merge.add(source, count, members, true);
    let number = 0;
    for (const { group, help } of this.series.values()) {
      const merged = merge.result(group);
      if (merged === undefined) continue;
      if (typeof merged === 'string') throw new Error(merged);
      entry(seriesKey(group.metricName, group.labels, help, number, merged.schema, merged.zeroThreshold), merged.zeroCount);
      entry(sumKey(number), merged.sum);
      for (const [negative, index, count] of buckets(merged)) entry(bucketKey(number, merged.schema, negative, index), count);
      number++;
    }
    return entries;
  }
}

/** Every populated bucket of a histogram: [negative, index, count]. */
function buckets(histogram: NativeHistogram): Array<[boolean, number, number]> {
  const side = (negative: boolean, spans: readonly BucketSpan[], deltas: readonly number[]): Array<[boolean, number, number]> =>
    bucketsOfSpans(spans, deltas).map(({ index, count }) => [negative, index, count]);
  return [...side(true, histogram.negativeSpans, histogram.negativeDeltas), ...side(false, histogram.positiveSpans, histogram.positiveDeltas)];
}

// Merges native histograms across processes, exactly: per series, every process's buckets are
// lowered to the lowest schema among them, the zero bucket is widened to the widest threshold
// (to a bucket boundary, folding the buckets below it), and counts are summed. Exact at that
// resolution, and nothing merged goes down from one scrape to the next: each process's counts only
// grow, its schema only falls, files of dead processes stay (or are folded into an archive at
// their lowest schema), so the merged schema only falls and the merged threshold only rises.
//
// The structure of a merge (which bucket of which file lands where) changes only when entries
// appear, so it is planned once: each entry of each file gets its place in one array of sums, and
// a warm scrape adds every file's values there in one pass in file order (as the .db merge does),
// then turns each series' part into spans and deltas.

import { NATIVE_RESERVED_LABELS, NativeSeriesLayout, bucketsOfSpans, lowerIndex, mergedZeroBucket, parseNativeKey, spansAndDeltas } from '../store';
import type { NativeHistogram, NativeKey } from '../store';
import { checkedKey } from './merge';

/** A file (or any list of entries) that series draw their values from. */
export interface NativeSource {
  /** The file's name: sources are added in name order, as the collector reads .db files. */
  readonly name: string;
  /** Its entries' values, by position. */
  values: Float64Array;
  /** Where each position's value goes in the merge (0: nowhere), kept by the merge; grows with the entries. */
  targets: Int32Array;
}

/** One file's share of a series. */
export interface NativeMember {
  readonly layout: NativeSeriesLayout;
  readonly source: NativeSource;
  readonly group: NativeGroup;
  /** Whether this member takes part in the next merge (its file was read and its counts are sound). */
  usable: boolean;
}

/** An entry's key read as a native histogram entry (names checked as the merge checks them), or why not. */
export function resolveNativeKey(key: string): NativeKey | string {
  return parseNativeKey(key, (seriesKey) => checkedKey(seriesKey, NATIVE_RESERVED_LABELS));
}

/**
 * The most observations one process's series may count: 1,000,000 a second for 35 years. Past it a
 * file is damaged or crafted, and merged with the others it could carry the series' merged count
 * past 2^53, which would leave the series out for every process.
 */
export const MAX_MEMBER_COUNT = 2 ** 50;

/** Why a member's current values cannot be merged (a count that is no count, or too many), or undefined. */
export function memberProblem(layout: NativeSeriesLayout, values: Float64Array): string | undefined {
  let total = values[layout.zeroPosition];
  if (!isCount(total)) return `native histogram "${layout.metricName}": zero count ${total} is not a count`;
  const { positions } = layout.countedBuckets();
  for (let i = 0; i < positions.length; i++) {
    const value = values[positions[i]];
    if (!isCount(value)) return `native histogram "${layout.metricName}": bucket count ${value} is not a count`;
    total += value;
  }
  if (total > MAX_MEMBER_COUNT) return `native histogram "${layout.metricName}": ${total} observations, more than any process counts (2^50)`;
  return undefined;
}

/** A whole number Prometheus reads exactly as a uint64 (and sums exactly in doubles). */
export function isCount(value: number): boolean {
  return value >= 0 && value <= Number.MAX_SAFE_INTEGER && Math.floor(value) === value;
}

/** One series merged across the files that hold it: its members and its plan. */
export class NativeGroup {
  readonly members: NativeMember[] = [];
  /** The member layouts' versions the plan was made for (undefined: plan again). */
  plannedVersions: number[] | undefined;
  /** Per member, the positions its plan gave a target (to clear them when planning again). */
  plannedPositions: Int32Array[] = [];
  schema = 0;
  zeroThreshold = 0;
  /** Merged bucket indexes: positive ascending in [0, negativeStart), then negative ascending. */
  indexes = new Int32Array(0);
  negativeStart = 0;
  /** Where the group's sums start in the merge's array: buckets, then the zero bucket, then the sum. */
  base = 0;
  /** The scrape a usable member last added to the group in. */
  lastAdded = -1;

  constructor(
    readonly metricName: string,
    readonly labels: Readonly<Record<string, string>>,
  ) {}

  /** The share of `source` in this series, from its layout there. */
  add(layout: NativeSeriesLayout, source: NativeSource): NativeMember {
    const member: NativeMember = { layout, source, group: this, usable: false };
    this.members.push(member);
    this.plannedVersions = undefined;
    return member;
  }

  remove(member: NativeMember): void {
    const at = this.members.indexOf(member);
    if (at < 0) return;
    this.clearTargets(at);
    this.members.splice(at, 1);
    this.plannedPositions.splice(at, 1);
    this.plannedVersions = undefined;
  }

  /** Whether the plan still holds: same members, none of them changed since. */
  planHolds(): boolean {
    const versions = this.plannedVersions;
    if (versions === undefined) return false;
    for (let m = 0; m < this.members.length; m++) if (versions[m] !== this.members[m].layout.version) return false;
    return true;
  }

  /** The positions of member `at` point nowhere again. */
  clearTargets(at: number): void {
    const positions = this.plannedPositions[at];
    if (positions === undefined) return;
    const { targets } = this.members[at].source;
    for (let i = 0; i < positions.length; i++) targets[positions[i]] = 0;
  }
}

/**
 * Sums native series across sources. Per scrape: `begin` (plans what changed), `add` for each
 * source in name order, then `result` for each group.
 */
export class NativeMerge {
  /** Every group's sums; slot 0 takes the values that count nowhere, so that adding never branches. */
  private sums = new Float64Array(1024);
  private used = 1;
  private scrape = 0;

  /** Plans the groups that changed and sets every sum to zero. */
  begin(groups: readonly NativeGroup[]): void {
    this.scrape++;
    let live = 1;
    for (const group of groups) live += group.indexes.length + 2;
    // Blocks of groups planned again are left behind: past twice what is live, all move.
    const moveAll = this.used > 2 * live + 1024;
    if (moveAll) this.used = 1;
    for (const group of groups) if (moveAll || !group.planHolds()) this.plan(group);
    this.sums.fill(0, 0, this.used);
  }

  /**
   * Adds a source's values. `whole`: all its members are usable, so every position is added in
   * one pass; else only the usable members' positions are.
   */
  add(source: NativeSource, count: number, members: readonly NativeMember[], whole: boolean): void {
    const { sums } = this;
    const { values, targets } = source;
    if (whole) {
      for (let position = 0; position < count; position++) sums[targets[position]] += values[position];
    } else {
      for (const member of members) {
        if (!member.usable) continue;
        const { layout } = member;
        for (const position of [layout.zeroPosition, layout.sumPosition, ...layout.countedBuckets().positions]) {
          if (position >= 0) sums[targets[position]] += values[position];
        }
      }
    }
    for (const member of members) if (member.usable) member.group.lastAdded = this.scrape;
  }

  /**
   * The merge of a group's usable members; undefined when none added to it in this scrape, or a
   * problem when the merged count passes 2^53 (a uint64 Prometheus would read wrong).
   */
  result(group: NativeGroup): NativeHistogram | string | undefined {
    if (group.lastAdded !== this.scrape) return undefined;
    const { sums } = this;
    const buckets = group.indexes.length;
    const zeroAt = group.base + buckets;
    let count = 0;
    for (let i = group.base; i <= zeroAt; i++) count += sums[i];
    if (!Number.isSafeInteger(count)) {
      return `native histogram "${group.metricName}"${JSON.stringify(group.labels)}: its merged count ${count} passes 2^53; left out`;
    }
    const positive = spansAndDeltas(group.indexes, sums, 0, group.negativeStart, group.base);
    const negative = spansAndDeltas(group.indexes, sums, group.negativeStart, buckets, group.base);
    return {
      schema: group.schema,
      zeroThreshold: group.zeroThreshold,
      zeroCount: sums[zeroAt],
      count,
      sum: sums[zeroAt + 1],
      positiveSpans: positive.spans,
      positiveDeltas: positive.deltas,
      negativeSpans: negative.spans,
      negativeDeltas: negative.deltas,
    };
  }

  /**
   * Every member's layout counts, even those unusable this scrape: their schema bounds the
   * group's. Lowest schema, zero bucket up to the bound of the bucket holding the widest threshold.
   */
  private plan(group: NativeGroup): void {
    let schema = Infinity;
    let widest = 0;
    for (const { layout } of group.members) {
      schema = Math.min(schema, layout.schema);
      widest = Math.max(widest, layout.zeroThreshold);
    }
    const zero = mergedZeroBucket(widest, schema);
    const positive = new Set<number>();
    const negative = new Set<number>();
    const lowered = group.members.map(({ layout }) => {
      const { indexes, negative: isNegative } = layout.countedBuckets();
      const steps = layout.schema - schema;
      const targets = Int32Array.from(indexes, (index) => lowerIndex(index, steps));
      targets.forEach((index, i) => {
        if (index > zero.lastFolded) (isNegative[i] === 1 ? negative : positive).add(index);
      });
      return targets;
    });
    const ascending = (a: number, b: number): number => a - b;
    const positiveIndexes = [...positive].sort(ascending);
    const negativeIndexes = [...negative].sort(ascending);
    const at = new Map<number, number>();
    positiveIndexes.forEach((index, i) => at.set(index, i));
    const negativeAt = new Map<number, number>();
    negativeIndexes.forEach((index, i) => negativeAt.set(index, positiveIndexes.length + i));

    group.schema = schema;
    group.zeroThreshold = zero.threshold;
    group.indexes = Int32Array.from([...positiveIndexes, ...negativeIndexes]);
    group.negativeStart = positiveIndexes.length;
    group.base = this.allocate(group.indexes.length + 2);
    const zeroAt = group.base + group.indexes.length;
    group.members.forEach((member, m) => {
      group.clearTargets(m);
      const { layout, source } = member;
      const { positions, negative: isNegative } = layout.countedBuckets();
      const needed = Math.max(layout.zeroPosition, layout.sumPosition, ...positions) + 1;
      if (source.targets.length < needed) source.targets = grownTargets(source.targets, needed);
      const { targets } = source;
      targets[layout.zeroPosition] = zeroAt;
      if (layout.sumPosition >= 0) targets[layout.sumPosition] = zeroAt + 1;
      const merged = lowered[m];
      for (let i = 0; i < positions.length; i++) {
        const index = merged[i];
        targets[positions[i]] = index <= zero.lastFolded ? zeroAt : group.base + ((isNegative[i] === 1 ? negativeAt : at).get(index) as number);
      }
      const planned = [layout.zeroPosition, ...positions];
      if (layout.sumPosition >= 0) planned.push(layout.sumPosition);
      group.plannedPositions[m] = Int32Array.from(planned);
    });
    group.plannedVersions = group.members.map(({ layout }) => layout.version);
  }

  private allocate(size: number): number {
    const base = this.used;
    this.used += size;
    if (this.used > this.sums.length) {
      const sums = new Float64Array(Math.max(this.used, this.sums.length * 2));
      sums.set(this.sums);
      this.sums = sums;
    }
    return base;
  }
}

function grownTargets(targets: Int32Array, atLeast: number): Int32Array {
  const grown = new Int32Array(Math.max(atLeast, targets.length * 2));
  grown.set(targets);
  return grown;
}

/**
 * The same merge of histograms already merged apart (one series collected by two collectors):
 * lowest schema, the zero bucket widened as above, counts summed. Exact, and monotone as its parts.
 */
export function mergeNativeHistograms(histograms: readonly NativeHistogram[]): NativeHistogram {
  const schema = Math.min(...histograms.map((histogram) => histogram.schema));
  const zero = mergedZeroBucket(Math.max(...histograms.map((histogram) => histogram.zeroThreshold)), schema);
  let zeroCount = 0;
  let sum = 0;
  const sides = [new Map<number, number>(), new Map<number, number>()];
  for (const histogram of histograms) {
    zeroCount += histogram.zeroCount;
    sum += histogram.sum;
    const steps = histogram.schema - schema;
    const parts = [bucketsOfSpans(histogram.positiveSpans, histogram.positiveDeltas), bucketsOfSpans(histogram.negativeSpans, histogram.negativeDeltas)];
    parts.forEach((buckets, side) => {
      for (const { index, count } of buckets) {
        const lowered = lowerIndex(index, steps);
        if (lowered <= zero.lastFolded) zeroCount += count;
        else sides[side].set(lowered, (sides[side].get(lowered) ?? 0) + count);
      }
    });
  }
  const [positive, negative] = sides.map((side) => {
    const indexes = [...side.keys()].sort((a, b) => a - b);
    return spansAndDeltas(indexes, indexes.map((index) => side.get(index) as number), 0, indexes.length);
  });
  let count = zeroCount;
  for (const side of sides) for (const bucket of side.values()) count += bucket;
  return {
    schema,
    zeroThreshold: zero.threshold,
    zeroCount,
    count,
    sum,
    positiveSpans: positive.spans,
    positiveDeltas: positive.deltas,
    negativeSpans: negative.spans,
    negativeDeltas: negative.deltas,
  };
}

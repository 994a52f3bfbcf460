// An independent model of merged native histograms for tests: every observation placed directly at
// the merged schema (bucketIndex is checked against exact arithmetic in native-buckets.test.ts), and
// Prometheus's counter-reset rules (model/histogram DetectReset) between two scrapes.
import * as assert from 'node:assert/strict';
import { bucketIndex, lowerIndex, upperBound } from '../../src/store';
import type { NativeHistogram } from '../../src/store';

/** A native histogram as plain numbers (buckets by index, absolute counts). */
export interface PlainNative {
  schema: number;
  zeroThreshold: number;
  zeroCount: number;
  count: number;
  sum: number;
  positive: Map<number, number>;
  negative: Map<number, number>;
}

/** What one process observed into a series, and where its own schema and threshold ended up. */
export interface ProcessObservations {
  observations: readonly number[];
  schema: number;
  zeroThreshold: number;
}

/** The exact merge: lowest schema, zero bucket up to the bound of the bucket holding the widest threshold. */
export function expectedMerge(processes: readonly ProcessObservations[]): PlainNative {
  const schema = Math.min(...processes.map((p) => p.schema));
  const widest = Math.max(...processes.map((p) => p.zeroThreshold));
  const lastFolded = widest > 0 ? bucketIndex(widest, schema) : -Infinity;
  const result: PlainNative = {
    schema,
    zeroThreshold: widest > 0 ? upperBound(lastFolded, schema) : 0,
    zeroCount: 0,
    count: 0,
    sum: 0,
    positive: new Map(),
    negative: new Map(),
  };
  for (const { observations, zeroThreshold } of processes) {
    for (const v of observations) {
      result.count++;
      result.sum += v;
      const index = Math.abs(v) <= zeroThreshold ? -Infinity : bucketIndex(Math.abs(v), schema);
      if (index <= lastFolded) {
        result.zeroCount++;
        continue;
      }
      const side = v < 0 ? result.negative : result.positive;
      side.set(index, (side.get(index) ?? 0) + 1);
    }
  }
  return result;
}

/** Asserts two merged histograms are the same (sums to 1e-9, as float sums depend on their order). */
export function assertSameNative(actual: PlainNative, expected: PlainNative, what: string): void {
  const { sum: actualSum, ...actualRest } = actual;
  const { sum: expectedSum, ...expectedRest } = expected;
  assert.deepEqual(actualRest, expectedRest, what);
  assert.ok(Math.abs(actualSum - expectedSum) <= 1e-9 * Math.max(1, Math.abs(expectedSum)), `${what}: sum ${actualSum} vs ${expectedSum}`);
}

/**
 * Asserts Prometheus would not read a counter reset from `previous` to `current`: the schema did
 * not rise, the threshold did not fall, and once the previous buckets are lowered to the current
 * schema and those within the current zero bucket folded in, no count went down or vanished.
 */
export function assertNoReset(previous: PlainNative, current: PlainNative, what: string): void {
  assert.ok(current.schema <= previous.schema, `${what}: schema rose from ${previous.schema} to ${current.schema}`);
  assert.ok(current.zeroThreshold >= previous.zeroThreshold, `${what}: zero threshold fell`);
  assert.ok(current.count >= previous.count, `${what}: count fell from ${previous.count} to ${current.count}`);
  const steps = previous.schema - current.schema;
  let zeroCount = previous.zeroCount;
  for (const [side, currentSide] of [
    [previous.positive, current.positive],
    [previous.negative, current.negative],
  ] as const) {
    const lowered = new Map<number, number>();
    for (const [index, count] of side) {
      const target = lowerIndex(index, steps);
      if (current.zeroThreshold > 0 && upperBound(target, current.schema) <= current.zeroThreshold) zeroCount += count;
      else lowered.set(target, (lowered.get(target) ?? 0) + count);
    }
    for (const [index, count] of lowered) {
      assert.ok((currentSide.get(index) ?? 0) >= count, `${what}: bucket ${index} fell from ${count} to ${currentSide.get(index) ?? 0}`);
    }
  }
  assert.ok(current.zeroCount >= zeroCount, `${what}: zero count fell from ${zeroCount} to ${current.zeroCount}`);
}

/** Absolute bucket counts by index, from spans and deltas (empty buckets left out). */
export function bucketCounts(spans: ReadonlyArray<{ offset?: number; length?: number }>, deltas: readonly number[]): Map<number, number> {
  const counts = new Map<number, number>();
  let index = 0;
  let count = 0;
  let next = 0;
  for (const span of spans) {
    index += span.offset ?? 0;
    for (let i = 0; i < (span.length ?? 0); i++, index++) {
      count += deltas[next++];
      if (count !== 0) counts.set(index, count);
    }
  }
  assert.equal(next, deltas.length, 'as many deltas as buckets in the spans');
  return counts;
}

/** A merged series as the collector hands it out, as plain numbers. */
export function plainNative(histogram: NativeHistogram): PlainNative {
  const { schema, zeroThreshold, zeroCount, count, sum } = histogram;
  return {
    schema,
    zeroThreshold,
    zeroCount,
    count,
    sum,
    positive: bucketCounts(histogram.positiveSpans, histogram.positiveDeltas),
    negative: bucketCounts(histogram.negativeSpans, histogram.negativeDeltas),
  };
}

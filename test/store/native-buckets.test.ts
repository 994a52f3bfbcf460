// The native bucket layout against exact arithmetic: every double lands in the bucket whose bounds
// 2^((i-1)/2^s) < |v| <= 2^(i/2^s) hold exactly (checked with BigInt, no float rounding), at every
// schema; lowering a bucket's index equals placing the value at the lower schema directly.
import * as assert from 'node:assert/strict';
import * as fc from 'fast-check';
import {
  MAX_SCHEMA,
  MIN_SCHEMA,
  bucketIndex,
  bucketsOfSpans,
  lowerIndex,
  mergedZeroBucket,
  schemaForFactor,
  spansAndDeltas,
  upperBound,
} from '../../src/store';

const SCHEMAS = Array.from({ length: MAX_SCHEMA - MIN_SCHEMA + 1 }, (_, i) => MIN_SCHEMA + i);

/** v = m * 2^e exactly, m a BigInt integer (the double's significand). */
function decompose(v: number): { m: bigint; e: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  const biased = (view.getUint16(0) >>> 4) & 0x7ff;
  const fraction = view.getBigUint64(0) & ((1n << 52n) - 1n);
  return biased === 0 ? { m: fraction, e: -1074 } : { m: fraction | (1n << 52n), e: biased - 1075 };
}

function bitLength(n: bigint): number {
  return n.toString(2).length;
}

function isPowerOfTwo(n: bigint): boolean {
  return (n & (n - 1n)) === 0n;
}

/** The exact bucket of v > 0: the smallest i with v^(2^s) <= 2^i (s >= 0), or with v <= 2^(i*2^-s). */
function exactIndex(v: number, schema: number): number {
  const { m, e } = decompose(v);
  if (schema >= 0) {
    const power = 1 << schema;
    const mPower = m ** BigInt(power);
    return e * power + bitLength(mPower) - (isPowerOfTwo(m) ? 1 : 0);
  }
  const ceilLog2 = e + bitLength(m) - (isPowerOfTwo(m) ? 1 : 0);
  return 0 + Math.ceil(ceilLog2 / 2 ** -schema); // 0 + : never -0
}

function nextUp(v: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  view.setBigUint64(0, view.getBigUint64(0) + 1n);
  return view.getFloat64(0);
}

function nextDown(v: number): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, v);
  view.setBigUint64(0, view.getBigUint64(0) - 1n);
  return view.getFloat64(0);
}

/** Doubles of any magnitude: random exponent and significand, subnormals included. */
const anyPositive = fc
  .tuple(fc.integer({ min: 0, max: 2046 }), fc.bigInt({ min: 0n, max: (1n << 52n) - 1n }))
  .map(([biased, fraction]) => {
    const view = new DataView(new ArrayBuffer(8));
    view.setBigUint64(0, (BigInt(biased) << 52n) | fraction);
    return view.getFloat64(0);
  })
  .filter((v) => v > 0);

describe('store: native histogram buckets', () => {
  it('picks the schema from the bucket factor as client_golang does', () => {
    const cases: Array<[number, number]> = [
      [1.1, 3],
      [2, 0],
      [3, 0],
      [4, -1],
      [Math.SQRT2, 1],
      [1.0001, 8],
      [65536, -4],
      [1e300, -4],
    ];
    for (const [factor, schema] of cases) assert.ok(Object.is(schemaForFactor(factor), schema), `factor ${factor}: schema ${schemaForFactor(factor)}`);
  });

  it('puts every double in its exact bucket at every schema', () => {
    fc.assert(
      fc.property(anyPositive, (v) => {
        for (const schema of SCHEMAS) assert.equal(bucketIndex(v, schema), exactIndex(v, schema), `${v} at schema ${schema}`);
      }),
      { numRuns: 3000 },
    );
  });

  it('puts each bound in its own bucket and the next double in the next one, near every boundary', () => {
    const specials = [1, 2, 0.5, 2 ** 100, 2 ** -100, Number.MIN_VALUE, 2 ** -1022, Number.MAX_VALUE, 2 ** -128, 0.1, 1e-9, 1e9];
    for (const schema of SCHEMAS) {
      for (const v of specials) assert.equal(bucketIndex(v, schema), exactIndex(v, schema), `${v} at schema ${schema}`);
      const perPower = 2 ** Math.max(schema, 0);
      for (let index = -3 * perPower; index <= 3 * perPower; index++) {
        const bound = upperBound(index, schema);
        for (const v of [nextDown(bound), bound, nextUp(bound)]) {
          assert.equal(bucketIndex(v, schema), exactIndex(v, schema), `${v} near the bound of bucket ${index} at schema ${schema}`);
        }
        assert.equal(bucketIndex(bound, schema), index, `bucket ${index}'s bound at schema ${schema}`);
        assert.equal(bucketIndex(nextUp(bound), schema), index + 1, `past bucket ${index}'s bound at schema ${schema}`);
      }
    }
    // Exact powers of two are upper bounds: 1 ends bucket 0, 2 ends bucket 2^s.
    for (const schema of SCHEMAS.filter((s) => s >= 0)) {
      assert.equal(bucketIndex(1, schema), 0);
      assert.equal(bucketIndex(2, schema), 2 ** schema);
    }
    assert.equal(bucketIndex(Number.MIN_VALUE, 0), -1074);
  });

  it('lowers an index exactly as placing the value at the lower schema', () => {
    fc.assert(
      fc.property(anyPositive, fc.integer({ min: MIN_SCHEMA, max: MAX_SCHEMA }), fc.integer({ min: 0, max: 12 }), (v, schema, steps) => {
        fc.pre(schema - steps >= MIN_SCHEMA);
        assert.equal(lowerIndex(bucketIndex(v, schema), steps), bucketIndex(v, schema - steps));
      }),
      { numRuns: 3000 },
    );
  });

  it('widens a zero bucket to the bound of the bucket holding the threshold', () => {
    // 2^-128 is a bound at every schema: it stays.
    for (const schema of SCHEMAS) assert.equal(mergedZeroBucket(2 ** -128, schema).threshold, 2 ** -128);
    const { threshold, lastFolded } = mergedZeroBucket(0.3, 0);
    assert.deepEqual([threshold, lastFolded], [0.5, -1]);
    assert.equal(mergedZeroBucket(0, 3).threshold, 0);
  });

  it('turns buckets into spans and deltas and back', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: -300, max: 300 }), { maxLength: 40 }), fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 40, maxLength: 40 }), (raw, counts) => {
        const indexes = [...raw].sort((a, b) => a - b);
        const { spans, deltas } = spansAndDeltas(indexes, counts, 0, indexes.length);
        const expected = indexes.map((index, i) => ({ index, count: counts[i] })).filter((bucket) => bucket.count > 0);
        assert.deepEqual(bucketsOfSpans(spans, deltas), expected);
      }),
    );
  });
});

// Compares merged samples by what they mean: same name, same label set (`le` as a number),
// same value. Reusable by any test that checks a collector's output against Python's.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { MetricFamily } from '../../../src/collect';

export interface PlainSample {
  name: string;
  labels: Record<string, string>;
  /** A number, or "+Inf" / "-Inf" / "NaN" as the CLI's JSON spells non-finite values. */
  value: number | string;
}

/** The samples of families, in order, as plain objects. */
export function samplesOf(families: readonly MetricFamily[]): PlainSample[] {
  return families.flatMap((family) =>
    family.samples.map((sample) => ({ name: sample.name, labels: { ...sample.labels }, value: sample.value })),
  );
}

/** The samples Python's MultiProcessCollector merged, from a fixture folder's expected.json. */
export function pythonExpectedSamples(fixtureDir: string): PlainSample[] {
  const expected = JSON.parse(fs.readFileSync(path.join(fixtureDir, 'expected.json'), 'utf8')) as {
    samples: PlainSample[];
  };
  return expected.samples.map(({ name, labels, value }) => ({ name, labels, value }));
}

function numeric(value: number | string): number {
  if (typeof value === 'number') return value;
  if (value === '+Inf' || value === 'inf') return Infinity;
  if (value === '-Inf' || value === '-inf') return -Infinity;
  if (value === 'NaN' || value === 'nan') return NaN;
  throw new Error(`not a sample value: ${JSON.stringify(value)}`);
}

/** Identity of a sample: its name and sorted labels, `le` normalized through a number. */
export function seriesIdentity(sample: PlainSample): string {
  const labels = Object.keys(sample.labels)
    .sort()
    .map((name) => {
      const value = sample.labels[name];
      return [name, name === 'le' ? String(value === '+Inf' ? Infinity : Number(value)) : value];
    });
  return `${sample.name}${JSON.stringify(labels)}`;
}

function sameValue(actual: number, expected: number): boolean {
  if (Number.isNaN(expected)) return Number.isNaN(actual);
  if (actual === expected) return true;
  // Float sums depend on the order files are added in; Python's glob order is not ours.
  return Math.abs(actual - expected) <= 1e-9 * Math.max(Math.abs(actual), Math.abs(expected));
}

/** Asserts both lists hold the same series with equal values, listing every difference. */
export function assertSameSamples(actual: readonly PlainSample[], expected: readonly PlainSample[], what: string): void {
  const index = (samples: readonly PlainSample[], side: string): Map<string, number> => {
    const map = new Map<string, number>();
    for (const sample of samples) {
      const identity = seriesIdentity(sample);
      assert.ok(!map.has(identity), `${what}: ${side} has ${identity} twice`);
      map.set(identity, numeric(sample.value));
    }
    return map;
  };
  const actualByIdentity = index(actual, 'actual');
  const expectedByIdentity = index(expected, 'expected');
  const differences: string[] = [];
  for (const [identity, value] of expectedByIdentity) {
    const got = actualByIdentity.get(identity);
    if (got === undefined) differences.push(`missing ${identity} (expected ${value})`);
    else if (!sameValue(got, value)) differences.push(`${identity}: got ${got}, expected ${value}`);
  }
  for (const [identity, value] of actualByIdentity) {
    if (!expectedByIdentity.has(identity)) differences.push(`unexpected ${identity} = ${value}`);
  }
  assert.deepEqual(differences, [], `${what}: samples differ`);
}

/** The samples of an exposition (either format), for comparing two expositions by meaning. */
export function parseExposition(text: string): PlainSample[] {
  const samples: PlainSample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    assert.ok(match, `not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    const labelPattern = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/g;
    for (const [, name, raw] of (match[2] ?? '').matchAll(labelPattern)) {
      labels[name] = raw.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    }
    const value = match[3];
    samples.push({ name: match[1], labels, value: /^[+-]?Inf$|^NaN$/.test(value) ? value : Number(value) });
  }
  return samples;
}

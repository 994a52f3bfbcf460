// How native histograms are kept in the store: ordinary entries of the .db byte format (so the same
// writers, growth, reader and compaction serve them), in a file of their own, `histogram_OWNER.nhdb`,
// which Python's collector (it globs *.db) never opens. This module is the only place that knows
// how their keys are spelled and which of a series' entries count.
//
// A series (a histogram's label set) has, in file order:
//   its series entry, keyed like a .db entry: [name, name, {labels, __nh: "series", __n: its number
//     in this file, __s: initial schema, __zt: zero threshold}, help]; value: the zero bucket's count;
//   then entries with short keys naming the series by that number N:
//     `s N`: the sum;
//     `p S I N` or `n S I N`: the count (not cumulative) of positive or negative bucket I at schema S;
//     `l S B N`: the series lowered its schema to S, and wrote B bucket entries of S before this.
// A lowering writes every bucket of the new schema with its whole count, then its `l` entry; the
// old entries are never written again. The schema that counts is the lowest one whose `l` entry is
// preceded by at least B bucket entries of it (a reader that sees the `l` entry sees what was
// written before it), else the initial one: a reader sees the old schema or the whole new one,
// never a mix, and every count it sees only grows. The count is never stored: zero + all buckets.
// Keys are short because every scrape reads each file whole and a series has dozens of buckets:
// with the labels in every key, a worker's file of 1,000 such series was 5.6 MB; this way 1.2 MB.

import { encodeKey } from './format';
import type { DecodedKey } from './format';
import { MAX_BUCKET_INDEX_MAGNITUDE, MAX_SCHEMA, MIN_SCHEMA } from './native-buckets';
import { isReservedLabelName } from './names';

const ROLE = '__nh';
const NUMBER = '__n';
const SCHEMA = '__s';
const ZERO_THRESHOLD = '__zt';
/** The reserved labels of a series entry's key (user labels never start with `__`). */
export const NATIVE_RESERVED_LABELS: ReadonlySet<string> = new Set([ROLE, NUMBER, SCHEMA, ZERO_THRESHOLD]);

type Labels = Readonly<Record<string, string>>;

/** The series entry: its key holds what is fixed for the series' life in a file. */
export function seriesKey(metricName: string, labels: Labels, help: string, number: number, schema: number, zeroThreshold: number): string {
  const reserved = { [ROLE]: 'series', [NUMBER]: String(number), [SCHEMA]: String(schema), [ZERO_THRESHOLD]: String(zeroThreshold) };
  return encodeKey(metricName, metricName, { ...labels, ...reserved }, help);
}

export function sumKey(series: number): string {
  return `s ${series}`;
}

export function bucketKey(series: number, schema: number, negative: boolean, index: number): string {
  return `${negative ? 'n' : 'p'} ${schema} ${index} ${series}`;
}

export function loweringKey(series: number, schema: number, buckets: number): string {
  return `l ${schema} ${buckets} ${series}`;
}

/** Whether a key of a native file is a series entry's (a JSON key) rather than a short one. */
export function isSeriesKey(key: string): boolean {
  return key.startsWith('[');
}

/** A series entry's key taken apart. */
export interface SeriesKey {
  role: 'series';
  metricName: string;
  /** The user's labels (no reserved one), names sorted. */
  labels: Record<string, string>;
  /** metricName and labels as one string: the same series has the same identity in every file. */
  identity: string;
  help: string;
  /** How this file's short keys name the series. */
  number: number;
  schema: number;
  zeroThreshold: number;
}

/** A short key taken apart: what the entry is, and the number of its series in the file. */
export type EntryKey = { series: number } & (
  | { role: 'sum' }
  | { role: 'bucket'; schema: number; negative: boolean; index: number }
  | { role: 'lowering'; schema: number; buckets: number }
);

export type NativeKey = SeriesKey | EntryKey;

const INTEGER = /^-?(0|[1-9]\d{0,9})$/;

function isSchema(schema: number | undefined): schema is number {
  return schema !== undefined && schema >= MIN_SCHEMA && schema <= MAX_SCHEMA;
}

function integer(text: string | undefined): number | undefined {
  return text !== undefined && INTEGER.test(text) ? Number(text) : undefined;
}

/** Reads a decoded series entry's key, or says why it is not one. */
export function parseSeriesKey(decoded: DecodedKey): SeriesKey | string {
  const { metricName } = decoded;
  const what = `native histogram "${metricName}"`;
  if (decoded.sampleName !== metricName) return `${what}: sample name ${JSON.stringify(decoded.sampleName)} is not the metric's`;
  if (decoded.labels[ROLE] !== 'series') return `${what}: ${ROLE}=${JSON.stringify(decoded.labels[ROLE])} is not a series entry's`;
  const labels: Record<string, string> = {};
  for (const name of Object.keys(decoded.labels).sort()) {
    if (!isReservedLabelName(name)) labels[name] = decoded.labels[name];
    else if (!NATIVE_RESERVED_LABELS.has(name)) return `${what}: reserved label ${JSON.stringify(name)} is not one of a series entry's`;
  }
  const number = integer(decoded.labels[NUMBER]);
  const schema = integer(decoded.labels[SCHEMA]);
  const zeroThreshold = Number(decoded.labels[ZERO_THRESHOLD]);
  if (number === undefined || number < 0) return `${what}: ${NUMBER}=${JSON.stringify(decoded.labels[NUMBER])} is not a series number`;
  if (!isSchema(schema)) return `${what}: ${SCHEMA}=${JSON.stringify(decoded.labels[SCHEMA])} is not a schema (${MIN_SCHEMA}..${MAX_SCHEMA})`;
  if (!(zeroThreshold >= 0 && zeroThreshold < Infinity)) {
    return `${what}: zero threshold ${JSON.stringify(decoded.labels[ZERO_THRESHOLD])} is not a number >= 0`;
  }
  return { role: 'series', metricName, labels, identity: JSON.stringify([metricName, labels]), help: decoded.help, number, schema, zeroThreshold };
}

/** Reads a short key, or says why it is not one. */
export function parseEntryKey(key: string): EntryKey | string {
  const parts = key.split(' ');
  const numbers = parts.slice(1).map(integer);
  const problem = `key ${JSON.stringify(key.slice(0, 40))} is not a native histogram entry's`;
  if (numbers.some((part) => part === undefined)) return problem;
  const [first, second, third] = numbers as number[];
  switch (parts.length === 2 ? parts[0] : parts.length === 4 ? `${parts[0]}+` : '') {
    case 's':
      return first >= 0 ? { role: 'sum', series: first } : problem;
    case 'p+':
    case 'n+':
      if (!isSchema(first) || Math.abs(second) > MAX_BUCKET_INDEX_MAGNITUDE || third < 0) return problem;
      return { role: 'bucket', schema: first, negative: parts[0] === 'n', index: second, series: third };
    case 'l+':
      if (!isSchema(first) || second < 1 || third < 0) return problem;
      return { role: 'lowering', schema: first, buckets: second, series: third };
    default:
      return problem;
  }
}

/** The bucket entries of a series that count now: at its effective schema (typed arrays: merges loop over them). */
export interface CountedBuckets {
  /** Positions (as given to `add`) of the entries, in the order they were added. */
  readonly positions: Int32Array;
  /** 1 for a negative bucket. */
  readonly negative: Uint8Array;
  readonly indexes: Int32Array;
}

/**
 * The entries of one native series in one file, in file order, and which of them count. Built by
 * the writer (to continue a file an earlier process left), the collector (incrementally, as
 * entries appear) and compaction, so all three read a file the same way.
 */
export class NativeSeriesLayout {
  readonly metricName: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly identity: string;
  readonly help: string;
  readonly zeroThreshold: number;
  readonly initialSchema: number;
  /** The series' number in this file (its short keys name it so). */
  readonly number: number;
  /** Position of the series entry (the zero bucket's count). */
  readonly zeroPosition: number;
  /** Position of the sum, -1 until it is seen. */
  sumPosition = -1;
  /** Changes whenever the counted entries (sum, buckets) or the effective schema change. */
  version = 0;
  private readonly bucketPositions: number[] = [];
  private readonly bucketSchemas: number[] = [];
  private readonly bucketNegative: boolean[] = [];
  private readonly bucketIndexes: number[] = [];
  private readonly bucketNames = new Set<number>();
  private readonly lowerings: Array<{ schema: number; buckets: number; position: number }> = [];
  private effective: number;
  private counted: CountedBuckets | undefined;

  constructor(key: SeriesKey, position: number) {
    this.metricName = key.metricName;
    this.labels = Object.freeze(key.labels);
    this.identity = key.identity;
    this.help = key.help;
    this.zeroThreshold = key.zeroThreshold;
    this.initialSchema = key.schema;
    this.number = key.number;
    this.effective = key.schema;
    this.zeroPosition = position;
  }

  /** The schema whose buckets count now. */
  get schema(): number {
    return this.effective;
  }

  /** Adds the next entry of this series (positions increase); returns why it is skipped, if it is. */
  add(key: EntryKey, position: number): string | undefined {
    switch (key.role) {
      case 'sum':
        if (this.sumPosition >= 0) return `${this.described()} has a second sum entry (skipped)`;
        this.sumPosition = position;
        // A merge plan made before the sum was seen has no place for it.
        this.changed();
        return undefined;
      case 'bucket': {
        if (key.schema > this.initialSchema) return `${this.described()}: a bucket at schema ${key.schema}, above its initial ${this.initialSchema} (skipped)`;
        // One number per (schema, sign, index): |index| < 2^19 at any schema, 13 schemas.
        const name = ((key.schema - MIN_SCHEMA) * 2 + (key.negative ? 1 : 0)) * 2 ** 20 + key.index + 2 ** 19;
        if (this.bucketNames.has(name)) return `${this.described()} has bucket ${key.negative ? 'n' : 'p'}${key.index} of schema ${key.schema} twice (skipped)`;
        this.bucketNames.add(name);
        this.bucketPositions.push(position);
        this.bucketSchemas.push(key.schema);
        this.bucketNegative.push(key.negative);
        this.bucketIndexes.push(key.index);
        if (key.schema === this.effective) this.changed();
        return undefined;
      }
      case 'lowering':
        if (key.schema >= this.initialSchema) return `${this.described()}: a lowering to schema ${key.schema}, not below its initial ${this.initialSchema} (skipped)`;
        this.lowerings.push({ schema: key.schema, buckets: key.buckets, position });
        this.settleSchema();
        return undefined;
    }
  }

  /** The bucket entries at the effective schema. */
  countedBuckets(): CountedBuckets {
    if (this.counted === undefined) {
      const positions: number[] = [];
      const negative: boolean[] = [];
      const indexes: number[] = [];
      for (let i = 0; i < this.bucketPositions.length; i++) {
        if (this.bucketSchemas[i] !== this.effective) continue;
        positions.push(this.bucketPositions[i]);
        negative.push(this.bucketNegative[i]);
        indexes.push(this.bucketIndexes[i]);
      }
      this.counted = { positions: Int32Array.from(positions), negative: Uint8Array.from(negative, Number), indexes: Int32Array.from(indexes) };
    }
    return this.counted;
  }

  private described(): string {
    return `native histogram "${this.metricName}"${JSON.stringify(this.labels)}`;
  }

  private settleSchema(): void {
    let schema = this.initialSchema;
    for (const lowering of this.lowerings) {
      if (lowering.schema >= schema) continue;
      let written = 0;
      for (let i = 0; i < this.bucketPositions.length && this.bucketPositions[i] < lowering.position; i++) {
        if (this.bucketSchemas[i] === lowering.schema) written++;
      }
      if (written >= lowering.buckets) schema = lowering.schema;
    }
    if (schema !== this.effective) {
      this.effective = schema;
      this.changed();
    }
  }

  private changed(): void {
    this.counted = undefined;
    this.version++;
  }
}

/**
 * The series of one native file, found entry by entry in file order: the one reading of a file
 * that the collector and compaction share.
 */
export class NativeFileSeries {
  private readonly byNumber = new Map<number, NativeSeriesLayout>();
  private readonly byIdentity = new Map<string, NativeSeriesLayout>();

  get layouts(): IterableIterator<NativeSeriesLayout> {
    return this.byIdentity.values();
  }

  get size(): number {
    return this.byIdentity.size;
  }

  /** Adds the file's next entry: the series it starts, or why it is skipped, or neither. */
  add(key: NativeKey, position: number): { started?: NativeSeriesLayout; problem?: string } {
    if (key.role === 'series') {
      const what = `native histogram "${key.metricName}"${JSON.stringify(key.labels)}`;
      if (this.byIdentity.has(key.identity)) return { problem: `${what} has a second series entry (skipped)` };
      if (this.byNumber.has(key.number)) return { problem: `${what}: its number ${key.number} is another series' (skipped)` };
      const started = new NativeSeriesLayout(key, position);
      this.byNumber.set(key.number, started);
      this.byIdentity.set(key.identity, started);
      return { started };
    }
    const layout = this.byNumber.get(key.series);
    if (layout === undefined) return { problem: `native histogram entry of series ${key.series}, which has no series entry before it (skipped)` };
    const problem = layout.add(key, position);
    return problem === undefined ? {} : { problem };
  }
}

/** Any key of a native file taken apart; `decode` decodes (and checks) a series entry's JSON key. */
export function parseNativeKey(key: string, decode: (key: string) => DecodedKey | string): NativeKey | string {
  if (!isSeriesKey(key)) return parseEntryKey(key);
  const decoded = decode(key);
  return typeof decoded === 'string' ? decoded : parseSeriesKey(decoded);
}

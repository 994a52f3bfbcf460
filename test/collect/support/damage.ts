// Damaged metric files for property tests: a valid file with random bytes overwritten, cut
// short, a random `used`, or a crafted entry with any names and labels appended, as a foreign or
// hostile writer could leave it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { DEFAULT_ZERO_THRESHOLD, ProcessStore, nativeSeries } from '../../../src/store';
import { HEADER_BYTES, entryBytes, writeEntry } from '../../../src/store/format';
import { fileBytes, makeTempDir, removeDir } from './files';

/** A counter file the damage is done to (its first 4 KiB, as a writer's file starts). */
export const VICTIM = fileBytes([
  { metric: 'other_jobs', sample: 'other_jobs_total', labels: { q: 'x"y' }, value: 1 },
  { metric: 'temperature', labels: { room: 'ü' }, value: -2.5, timestamp: 1700000000 },
  { metric: 'wait_seconds', sample: 'wait_seconds_bucket', labels: { le: '+Inf' }, value: 3 },
]).subarray(0, 4096);

/** A native histogram file of `pid` written by the real writer (a lowering included), as bytes. */
export function nativeFileBytes(pid: number, name: string): Buffer {
  const scratch = makeTempDir('pm2-prom-native-victim-');
  try {
    const store = new ProcessStore(scratch, { pid, threadId: 0, backend: 'pwrite' });
    const series = nativeSeries(store.nativeHistogramFile(), name, { q: 'x' }, 'Native.', { schema: 3, zeroThreshold: DEFAULT_ZERO_THRESHOLD, maxBuckets: 4 });
    for (const v of [0, 0.5, 1, 2, 3, 5, -1, 100]) series.observe(v);
    store.close();
    return fs.readFileSync(path.join(scratch, `histogram_${pid}.nhdb`));
  } finally {
    removeDir(scratch);
  }
}

/** Names that collide with the victim's and a good file's families, and names that are not names. */
// Mostly well-formed, so that many forged entries reach the exposition (a random string rarely does).
const METRIC = fc.oneof(
  { arbitrary: fc.constantFrom('jobs', 'jobs_total', 'other_jobs', 'wait_seconds', 'x'), weight: 4 },
  { arbitrary: fc.string({ maxLength: 12 }), weight: 1 },
);
const SUFFIX = fc.oneof({ arbitrary: fc.constantFrom('', '_total'), weight: 3 }, { arbitrary: fc.constantFrom('_bucket', '_sum', '_count', '_created'), weight: 1 });
const LABEL = fc.oneof(
  { arbitrary: fc.constantFrom('__name__', '__x', 'le', 'pid', 'quantile', 'q'), weight: 3 },
  { arbitrary: fc.string({ maxLength: 8 }), weight: 1 },
);

const forgedKey = fc
  .tuple(METRIC, SUFFIX, fc.dictionary(LABEL, fc.string({ maxLength: 8 }), { maxKeys: 3 }), fc.string({ maxLength: 8 }))
  .map(([metric, suffix, labels, help]) => [metric, `${metric}${suffix}`, labels, help]);

export const damage = fc.oneof(
  fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(600), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('cut' as const), length: fc.nat(600) }),
  fc.record({ kind: fc.constant('used' as const), used: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) }),
  fc.record({ kind: fc.constant('forged' as const), key: forgedKey }),
);
export type Damage = typeof damage extends fc.Arbitrary<infer T> ? T : never;

/** Appends an entry with `key` (any JSON) after the file's entries. */
function appendForged(data: Buffer, key: unknown): Buffer {
  const encoded = Buffer.from(JSON.stringify(key), 'utf8');
  const used = data.length >= HEADER_BYTES ? Math.max(HEADER_BYTES, data.readInt32LE(0)) : HEADER_BYTES;
  if (used + entryBytes(encoded.length) > data.length) return data;
  writeEntry(data, used, encoded);
  data.writeInt32LE(used + entryBytes(encoded.length), 0);
  return data;
}

/** The victim's bytes after `damages`, in order. */
export function damagedVictim(damages: readonly Damage[]): Buffer {
  return damaged(VICTIM, damages);
}

/** Any file's bytes after `damages`, in order. */
export function damaged(original: Buffer, damages: readonly Damage[]): Buffer {
  let data: Buffer = Buffer.from(original);
  for (const change of damages) {
    if (change.kind === 'overwrite') {
      if (data.length > 0) Buffer.from(change.bytes).copy(data, Math.min(change.at, data.length - 1));
    } else if (change.kind === 'cut') data = data.subarray(0, change.length);
    else if (change.kind === 'forged') data = appendForged(Buffer.from(data), change.key);
    else if (data.length >= 4) data.writeInt32LE(change.used, 0);
  }
  return data;
}

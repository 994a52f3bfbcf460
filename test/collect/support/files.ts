// Real metric files for collector tests, written byte by byte through the format module, so a
// test can also write what no writer would (corruption, odd sizes, legacy layouts).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HEADER_BYTES, INITIAL_FILE_BYTES, encodeKey, entryBytes, writeEntry } from '../../../src/store/format';

export interface EntrySpec {
  metric: string;
  sample?: string;
  labels?: Record<string, string>;
  help?: string;
  value: number;
  timestamp?: number;
}

export function keyOf(spec: EntrySpec): string {
  return encodeKey(spec.metric, spec.sample ?? spec.metric, spec.labels ?? {}, spec.help ?? `Help of ${spec.metric}.`);
}

/** The bytes of a well-formed file holding `entries` in order, sized like a writer sizes it. */
export function fileBytes(entries: readonly EntrySpec[]): Buffer {
  return keyedFileBytes(entries.map((entry) => ({ ...entry, key: keyOf(entry) })));
}

/** The same for entries given by their keys as they are (any bytes a key may hold). */
export function keyedFileBytes(entries: ReadonlyArray<{ key: string; value: number; timestamp?: number }>): Buffer {
  const keys = entries.map((entry) => Buffer.from(entry.key, 'utf8'));
  const used = keys.reduce((total, key) => total + entryBytes(key.length), HEADER_BYTES);
  let size = INITIAL_FILE_BYTES;
  while (size < used) size *= 2;
  const data = Buffer.alloc(size);
  let position = HEADER_BYTES;
  entries.forEach((entry, index) => {
    const valueOffset = writeEntry(data, position, keys[index]);
    data.writeDoubleLE(entry.value, valueOffset);
    data.writeDoubleLE(entry.timestamp ?? 0, valueOffset + 8);
    position = valueOffset + 16;
  });
  data.writeInt32LE(used, 0);
  return data;
}

/** Writes (or rewrites in place, keeping the inode) a file holding `entries`. */
export function writeDbFile(filePath: string, entries: readonly EntrySpec[]): Buffer {
  const data = fileBytes(entries);
  fs.writeFileSync(filePath, data);
  return data;
}

/** A fresh directory under the OS temp dir. */
export function makeTempDir(prefix = 'pm2-prom-collect-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

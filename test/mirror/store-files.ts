// Reads the .db files of a directory back, for assertions on exactly what the mirror wrote.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HEADER_BYTES, parseEntries } from '../../src/store/format';

export interface StoredValue {
  value: number;
  timestamp: number;
}

/** Every key of one file with its value and timestamp; throws when the file does not parse. */
export function readStoreFile(file: string): Map<string, StoredValue> {
  const bytes = fs.readFileSync(file);
  const used = bytes.readInt32LE(0);
  const { entries, error } = parseEntries(bytes, HEADER_BYTES, used);
  if (error !== undefined) throw error;
  return new Map(
    entries.map((entry) => [
      entry.key,
      { value: bytes.readDoubleLE(entry.valueOffset), timestamp: bytes.readDoubleLE(entry.valueOffset + 8) },
    ]),
  );
}

/** The .db file names of a directory, sorted. */
export function storeFileNames(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((name) => name.endsWith('.db'))
    .sort();
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(fs.realpathSync(os.tmpdir()), prefix));
}

// Reads a .db file back as another process sees it, without the writer's code: what tests assert on.
import * as fs from 'node:fs';
import { HEADER_BYTES, parseEntries } from '../../src/store/format';

export interface FileSample {
  value: number;
  timestamp: number;
}

/** Every key of one file with its value and timestamp; throws when the file does not parse. */
export function readFileSamples(filePath: string): Map<string, FileSample> {
  const data = fs.readFileSync(filePath);
  const used = data.readInt32LE(0);
  const { entries, error } = parseEntries(data, HEADER_BYTES, used);
  if (error !== undefined) throw error;
  const samples = new Map<string, FileSample>();
  for (const entry of entries) {
    samples.set(entry.key, {
      value: data.readDoubleLE(entry.valueOffset),
      timestamp: data.readDoubleLE(entry.valueOffset + 8),
    });
  }
  return samples;
}

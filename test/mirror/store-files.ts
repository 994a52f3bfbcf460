// The .db files of a directory, for assertions on exactly what the mirror wrote (read back with
// test/support/file-samples).

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

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

// Shared by metric tests: a temp metrics directory whose store is active while a test runs,
// and a readable dump of a .db file.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { useStore } from '../../src/metrics/active-store';
import { ProcessStore } from '../../src/store';
import type { BackendKind } from '../../src/store';
import { HEADER_BYTES, parseEntries } from '../../src/store/format';

/** The file backends every multiprocess test runs against. */
export const FILE_BACKENDS: readonly BackendKind[] = ['native', 'pwrite'];

export interface MetricsDir {
  dir: string;
  /** Makes new metrics write here as `pid` (thread 0); returns the store. */
  actAs(pid: number, backend: BackendKind): ProcessStore;
  /** Closes every store made here, forgets the directory, removes it, back to memory mode. */
  remove(): void;
}

export function makeMetricsDir(): MetricsDir {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-prom-metrics-'));
  const stores: ProcessStore[] = [];
  return {
    dir,
    actAs(pid, backend) {
      const store = new ProcessStore(dir, { pid, threadId: 0, backend });
      stores.push(store);
      useStore(store);
      return store;
    },
    remove() {
      useStore(undefined);
      for (const store of stores) store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface DbEntry {
  key: string;
  value: number;
  timestamp: number;
}

/** The entries of a .db file in file order, read with the format module only. */
export function readDbEntries(filePath: string): DbEntry[] {
  const data = fs.readFileSync(filePath);
  const { entries, error } = parseEntries(data, HEADER_BYTES, data.readInt32LE(0));
  if (error !== undefined) throw error;
  return entries.map((entry) => ({
    key: entry.key,
    value: data.readDoubleLE(entry.valueOffset),
    timestamp: data.readDoubleLE(entry.valueOffset + 8),
  }));
}

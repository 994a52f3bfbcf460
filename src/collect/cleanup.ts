// Bookkeeping for a process that exited: its live gauges stop counting, everything else stays.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseFileName } from '../store/format';

/**
 * Removes pid's gauge_live*_PID.db and gauge_live*_PID-*.db files (all its threads), nothing else:
 * counters, histograms, summaries and non-live gauges of a dead process keep counting.
 * Returns the paths removed.
 */
export function markProcessDead(pid: number, dir: string): string[] {
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw new Error(`markProcessDead: pid must be a positive integer, got ${String(pid)}`);
  }
  const removed: string[] = [];
  for (const fileName of fs.readdirSync(dir)) {
    const name = parseFileName(fileName);
    if (name === undefined || name.pid !== pid || name.type !== 'gauge' || !name.mode?.startsWith('live')) continue;
    const filePath = path.join(dir, fileName);
    try {
      fs.unlinkSync(filePath);
      removed.push(filePath);
    } catch (error) {
      // Another cleaner (the bus handler and the reconcile timer may race) got there first.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return removed;
}

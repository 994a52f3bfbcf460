// Files a process finds under its own owner's names when it starts. One writer per file, and no
// live process but this one has its pid: such a file was left by a dead predecessor that had the
// same pid (a reused pid, or a restart under a fixed pid as in containers). Its values are the
// predecessor's, never this process's: continuing it would hand the newcomer a gauge it never set
// and let it count on from someone else's counter. So it is handed to the dead, as compaction
// treats a dead pid's files: counters, histograms, summaries and non-live gauges keep counting
// under a name of their own (deadFileName), live gauges go.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { deadFileName, parseFileName } from './format';
import type { FileName } from './format';
import { GAUGE_MODE_TRAITS } from './gauge-modes';

/**
 * Hands every file of `owner` in `dir` to the dead (before this owner's first file is opened, so
 * that a predecessor's file of a type this process never opens is handed over too). Best effort:
 * a file it cannot move is found again, and moved or refused, when its own file is opened.
 */
export function handOverPredecessorFiles(dir: string, owner: string): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const fileName of names) {
    const name = parseFileName(fileName);
    // Claims are compaction's (a dead-named file has an owner of its own, `123.dead5678`).
    if (name?.owner !== owner || name.claimGeneration !== undefined) continue;
    try {
      handOverFile(dir, fileName, name);
    } catch {
      continue;
    }
  }
}

/**
 * Hands one file to the dead: a live gauge is deleted, any other file renamed to its dead name.
 * Returns false, touching nothing, when `fileName` is gone or is not a regular file of this user
 * (a link or someone else's file is refused by whoever opens it, never moved).
 */
export function handOverFile(dir: string, fileName: string, name: FileName): boolean {
  const filePath = path.join(dir, fileName);
  const stat = fs.lstatSync(filePath, { throwIfNoEntry: false });
  const user = process.geteuid?.();
  if (stat === undefined || !stat.isFile() || (user !== undefined && stat.uid !== user)) return false;
  try {
    if (name.mode !== undefined && GAUGE_MODE_TRAITS[name.mode].live) fs.unlinkSync(filePath);
    // A rename is atomic: at every instant a scrape finds the values under one name or the other.
    else fs.renameSync(filePath, path.join(dir, deadFileName(name, stat.ino)));
  } catch (error) {
    // A compaction claimed it first (the predecessor was dead to it too).
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
  return true;
}

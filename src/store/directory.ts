// What a metrics directory says about its processes, and the only code that deletes a process's
// files: which pids own files, whether a pid is alive, whether the directory is safe to use, the
// wipe of a stale directory and the removal of a dead process's live gauges.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { hasMetricFileExtension, parseFileName } from './format';
import { GAUGE_MODE_TRAITS } from './gauge-modes';
import { pidOfOwnerRecord, processStartTicks, readOwnerRecord } from './owner-record';

/** True while `pid` exists; EPERM means it exists under another user, so it is alive too. */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * The one liveness rule for the owner of something (files, a lock): its pid exists and, when the
 * owner's start is known (field 22 of /proc/PID/stat, as its owner record or lock wrote it), the
 * process holding the pid now is that very process. `kill(pid, 0)` alone cannot tell a dead
 * owner from an unrelated process that got its pid later; their starts differ.
 */
export function isAlive(owner: { pid: number; start?: number }): boolean {
  if (!isProcessAlive(owner.pid)) return false;
  if (owner.start === undefined) return true;
  // Unreadable (no /proc, or hidden by hidepid): the pid exists, which is all that is known.
  const current = processStartTicks(owner.pid);
  return current === undefined || current === owner.start;
}

/**
 * Whether the process that wrote pid's files in `dir` is alive: its owner record says which
 * process that was; without a record, whether the pid exists.
 */
export function isOwnerAlive(dir: string, pid: number): boolean {
  return isAlive(readOwnerRecord(dir, pid) ?? { pid });
}

/** Throws a clear Error when `dir` is missing, not a directory, or not writable. */
export function checkDirectory(dir: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`PROMETHEUS_MULTIPROC_DIR "${dir}": directory does not exist`);
    throw new Error(`PROMETHEUS_MULTIPROC_DIR "${dir}": ${(error as Error).message}`);
  }
  if (!stat.isDirectory()) throw new Error(`PROMETHEUS_MULTIPROC_DIR "${dir}": not a directory`);
  try {
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch {
    throw new Error(`PROMETHEUS_MULTIPROC_DIR "${dir}": directory is not writable by this process`);
  }
}

/**
 * What is wrong with a directory every local user may write to without the sticky bit (any of
 * them could then delete or replace the metric files of the others), or undefined.
 */
export function worldWritableProblem(dir: string): string | undefined {
  const mode = fs.statSync(dir).mode;
  if ((mode & 0o002) === 0 || (mode & 0o1000) !== 0) return undefined;
  return (
    `metrics directory "${dir}" is writable by every user without the sticky bit (mode ` +
    `${(mode & 0o7777).toString(8)}): any local user could delete or replace its metric files; ` +
    `run chmod o-w "${dir}" (or chmod +t "${dir}" for a shared directory)`
  );
}

/** Refuses such a directory (the module and the cluster helper serve none). */
export function refuseWorldWritable(dir: string): void {
  const problem = worldWritableProblem(dir);
  if (problem !== undefined) throw new Error(problem);
}

/** The metric files of a directory (`*.db`, `*.sketch`, `*.nhdb`, `*.exemplars`), with the pid that owns each when its name says. */
function listMetricFiles(names: readonly string[]): Array<{ name: string; pid: number | undefined }> {
  return names.filter(hasMetricFileExtension).map((name) => ({ name, pid: parseFileName(name)?.pid }));
}

/** The pids that own at least one file in `dir`. */
export function pidsOwningFiles(dir: string): Set<number> {
  const pids = new Set<number>();
  for (const file of listMetricFiles(fs.readdirSync(dir))) {
    if (file.pid !== undefined) pids.add(file.pid);
  }
  return pids;
}

/**
 * Deletes every metric file (and owner record) of `dir` when no process owning one is alive (a
 * stale directory from before a restart of everything), and returns whether it did; a directory
 * with a live owner is left as it is.
 */
export function wipeIfStale(dir: string): 'empty' | 'wiped' | 'kept' {
  const names = fs.readdirSync(dir);
  const files = listMetricFiles(names);
  if (files.length === 0) return 'empty';
  if (files.some((file) => file.pid !== undefined && isOwnerAlive(dir, file.pid))) return 'kept';
  // Only the files listed above go: a file created since then belongs to a live process.
  for (const file of files) removeFileEntry(path.join(dir, file.name));
  removeOrphanOwnerRecords(dir);
  return 'wiped';
}

/**
 * Removes the owner records of dead pids that own no metric file in `dir` any more (a live one may
 * have written its record and not yet its first file).
 */
export function removeOrphanOwnerRecords(dir: string): string[] {
  const names = fs.readdirSync(dir);
  const owners = new Set(listMetricFiles(names).map((file) => file.pid));
  const removed: string[] = [];
  for (const fileName of names) {
    const pid = pidOfOwnerRecord(fileName);
    if (pid === undefined || owners.has(pid) || isOwnerAlive(dir, pid)) continue;
    removeFileEntry(path.join(dir, fileName));
    removed.push(path.join(dir, fileName));
  }
  return removed;
}

/** Removes a file or a symbolic link (never what it points to); a directory named *.db stays. */
function removeFileEntry(filePath: string): void {
  try {
    fs.unlinkSync(filePath);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'EISDIR') throw error;
  }
}

/**
 * Bookkeeping for a process that exited: removes pid's gauge_live*_PID.db and gauge_live*_PID-*.db
 * files (all its threads), nothing else: counters, histograms, summaries and non-live gauges of a
 * dead process keep counting. Returns the paths removed.
 */
export function markProcessDead(pid: number, dir: string): string[] {
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    throw new Error(`markProcessDead: pid must be a positive integer, got ${String(pid)}`);
  }
  const removed: string[] = [];
  for (const fileName of fs.readdirSync(dir)) {
    const name = parseFileName(fileName);
    if (name === undefined || name.pid !== pid || name.mode === undefined || !GAUGE_MODE_TRAITS[name.mode].live) continue;
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

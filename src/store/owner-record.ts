// What a process writes about itself beside its metric files: `owner_PID.json` holds its start
// time as the kernel counts it and, under PM2, the name of its app. A pid can be reused by an
// unrelated process, and `kill(pid, 0)` cannot tell the two apart; the start time can. PM2's
// process list knows an app only while its process lives; the record keeps it for the files the
// process leaves behind. Neither this library's collector nor Python's reads it (not `*.db`).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { threadId } from 'node:worker_threads';

export interface OwnerRecord {
  pid: number;
  /** Field 22 of /proc/PID/stat: clock ticks from boot to the process's start. Unknown off Linux. */
  start?: number;
  /** The PM2 app that started the process (PM2 puts `name` and `pm_id` in its environment). */
  app?: string;
}

const RECORD_NAME = /^owner_(\d+)\.json$/;
/** A record is a few dozen bytes; anything larger is not one of ours and is not read whole. */
const MAX_RECORD_BYTES = 4096;

export function ownerRecordName(pid: number): string {
  return `owner_${pid}.json`;
}

/** The pid whose record `fileName` is, or undefined for any other name. */
export function pidOfOwnerRecord(fileName: string): number | undefined {
  const match = RECORD_NAME.exec(fileName);
  if (match === null) return undefined;
  const pid = Number(match[1]);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/** /proc/PID/NAME as text; undefined when it cannot be read (no such process, another user's, no /proc). */
function procFile(pid: number, name: string): string | undefined {
  try {
    return fs.readFileSync(`/proc/${pid}/${name}`, 'utf8');
  } catch {
    return undefined;
  }
}

/**
 * The start of `pid` in clock ticks since boot, from /proc/PID/stat; undefined when the process
 * does not exist or the system has no /proc. The command name (field 2) may hold spaces and
 * parentheses, so the fields are counted from the last ')'.
 */
export function processStartTicks(pid: number): number | undefined {
  const stat = procFile(pid, 'stat');
  if (stat === undefined) return undefined;
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields from the state (field 3) on: the start time is field 22.
  const start = Number(fields[22 - 3]);
  return Number.isSafeInteger(start) ? start : undefined;
}

/**
 * The PM2 app of a process with this environment: PM2 gives every process it starts its `pm_id`
 * and its app's `name`, and the processes those start inherit them. Undefined outside PM2.
 */
function appOfEnvironment(env: Readonly<Record<string, string | undefined>>): string | undefined {
  return env.pm_id !== undefined && env.pm_id !== '' && typeof env.name === 'string' && env.name !== '' ? env.name : undefined;
}

/** The record of `pid`, a process with the environment `env`: its start and, under PM2, its app. */
function recordOf(pid: number, env: Readonly<Record<string, string | undefined>>): OwnerRecord {
  const record: OwnerRecord = { pid };
  const start = processStartTicks(pid);
  if (start !== undefined) record.start = start;
  const app = appOfEnvironment(env);
  if (app !== undefined) record.app = app;
  return record;
}

/** This process's own record: its start time and, when PM2 started it, its app. */
export function currentOwnerRecord(env: NodeJS.ProcessEnv = process.env): OwnerRecord {
  return recordOf(process.pid, env);
}

/**
 * What `pid` would write in its own record, read from the environment it started with
 * (/proc/PID/environ): `{ app }` (undefined outside PM2), or undefined when it cannot be read (no
 * such process, another user's, no /proc). For writers that write no record: Python's client.
 */
export function ownerRecordFromEnvironment(pid: number): OwnerRecord | undefined {
  // The kernel bounds its size (the exec's arguments and environment together).
  const text = procFile(pid, 'environ');
  // An empty environ is also what a zombie shows: nothing to tell from it.
  if (text === undefined || text === '') return undefined;
  const env: Record<string, string> = {};
  for (const entry of text.split('\0')) {
    const separator = entry.indexOf('=');
    if (separator > 0) env[entry.slice(0, separator)] = entry.slice(separator + 1);
  }
  return recordOf(pid, env);
}

/**
 * Writes `record` to a temp file beside `owner_PID.json` in `dir`, then `install`s it there (a
 * rename or a link), so that a reader sees no record or a whole one; the temp file never stays.
 */
function installOwnerRecord(dir: string, record: OwnerRecord, fileMode: number, install: (temp: string, target: string) => void): void {
  const target = path.join(dir, ownerRecordName(record.pid));
  // Worker threads of one process may write the same record at once: each has its own temp file.
  const temp = path.join(dir, `.${ownerRecordName(record.pid)}.${process.pid}-${threadId}.tmp`);
  try {
    fs.writeFileSync(temp, `${JSON.stringify(record)}\n`, { mode: fileMode, flag: 'w' });
    install(temp, target);
  } finally {
    fs.rmSync(temp, { force: true });
  }
}

/**
 * Writes `record` as `owner_PID.json` in `dir`, replacing a record a predecessor with the same pid
 * left. A reader sees the old record or the new one, never half of one. Throws when the directory
 * refuses the write (the caller decides what that costs: the record is an aid, the metric files do
 * not depend on it).
 */
export function writeOwnerRecord(dir: string, record: OwnerRecord, fileMode = 0o600): void {
  installOwnerRecord(dir, record, fileMode, (temp, target) => fs.renameSync(temp, target));
}

/**
 * Writes `record` as `owner_PID.json` in `dir` unless one is there already (the process's own, or
 * one written meanwhile): for a process that writes none itself. Returns whether it was written.
 */
export function writeOwnerRecordIfAbsent(dir: string, record: OwnerRecord, fileMode = 0o600): boolean {
  try {
    // link, unlike rename, never replaces the record the process itself may have written meanwhile.
    installOwnerRecord(dir, record, fileMode, (temp, target) => fs.linkSync(temp, target));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

/** The record of `pid` in `dir`, or undefined when there is none or it is not a valid record. */
export function readOwnerRecord(dir: string, pid: number): OwnerRecord | undefined {
  let text: string;
  try {
    const fd = fs.openSync(path.join(dir, ownerRecordName(pid)), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    try {
      const bytes = Buffer.alloc(MAX_RECORD_BYTES);
      const length = fs.readSync(fd, bytes, 0, MAX_RECORD_BYTES, 0);
      if (length === MAX_RECORD_BYTES) return undefined;
      text = bytes.toString('utf8', 0, length);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const fields = parsed as Record<string, unknown>;
  if (fields.pid !== pid) return undefined;
  const record: OwnerRecord = { pid };
  if (typeof fields.start === 'number' && Number.isSafeInteger(fields.start)) record.start = fields.start;
  if (typeof fields.app === 'string' && fields.app !== '') record.app = fields.app;
  return record;
}

// Opening, reserving and writing a metric file, shared by the native and pwrite backends so both
// refuse the same things with the same messages, and tell the same environment failures (a full
// disk, a file size limit) from configuration errors.

import * as fs from 'node:fs';
import { constants as osConstants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import * as path from 'node:path';
import { parseFileName } from '../format';
import { handOverFile } from '../predecessor-files';

const { O_RDWR, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants;

/**
 * A failure to open, reserve or write a metric file. `environment` says that it comes from the
 * machine's state (a full disk, a file size limit, no descriptors left): the process keeps its
 * values in memory and tries again later. Anything else is a configuration error (no such
 * directory, no permission, a link or another user's file at the name), thrown when a metric is
 * created.
 */
export class MetricFileError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly environment: boolean,
  ) {
    super(message);
    this.name = 'MetricFileError';
  }
}

/** Error codes that say the setup is wrong rather than that the machine is short of something. */
const CONFIGURATION_CODES = new Set(['ENOENT', 'ENOTDIR', 'EACCES', 'EPERM', 'EROFS', 'ELOOP', 'EISDIR']);

/** An open metric file: its descriptor and the identity a later stat of its path must show. */
export interface OpenedFile {
  fd: number;
  dev: number;
  ino: number;
}

/** Attempts at creating a file whose name a predecessor's file holds (it is handed over first). */
const CREATE_ATTEMPTS = 3;

/**
 * Creates the metric file at `path` for this writer (O_EXCL: a file already there is never
 * continued). A file a dead predecessor with the same pid left under the name is handed to the
 * dead first; a symbolic link (never followed, so nobody can redirect our writes into another
 * file), something other than a file, or another user's file is refused. Node adds O_CLOEXEC.
 */
export function createMetricFile(filePath: string, fileMode: number): OpenedFile {
  for (let attempt = 1; ; attempt++) {
    try {
      return identify(fs.openSync(filePath, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW, fileMode), filePath);
    } catch (error) {
      if (errorCode(error) !== 'EEXIST' || attempt === CREATE_ATTEMPTS) throw openError(filePath, error);
    }
    const name = parseFileName(path.basename(filePath));
    if (name === undefined || !handOverFile(path.dirname(filePath), path.basename(filePath), name)) {
      refuseExisting(filePath);
    }
  }
}

/**
 * Opens the metric file at `path` again for a writer whose file was removed or replaced: what is
 * at the name now is taken over and emptied (the writer rewrites all its values into it), or
 * created when missing. Refuses the same things as createMetricFile.
 */
export function reopenMetricFile(filePath: string, fileMode: number): OpenedFile {
  let fd: number;
  try {
    fd = fs.openSync(filePath, O_RDWR | O_CREAT | O_NOFOLLOW, fileMode);
  } catch (error) {
    throw openError(filePath, error);
  }
  try {
    const opened = identify(fd, filePath);
    fs.ftruncateSync(fd, 0);
    return opened;
  } catch (error) {
    fs.closeSync(fd);
    throw error instanceof MetricFileError ? error : openError(filePath, error);
  }
}

/** The identity of a newly opened `fd`, after checking that it is a regular file of this user. */
function identify(fd: number, filePath: string): OpenedFile {
  const stat = fs.fstatSync(fd);
  const problem = ownershipProblem(filePath, stat);
  if (problem !== undefined) {
    fs.closeSync(fd);
    throw new MetricFileError(problem, undefined, false);
  }
  return { fd, dev: stat.dev, ino: stat.ino };
}

/** Throws why the existing entry at `filePath` cannot be handed over or used. */
function refuseExisting(filePath: string): never {
  const stat = fs.lstatSync(filePath, { throwIfNoEntry: false });
  if (stat?.isSymbolicLink()) {
    throw new MetricFileError(`Metric file "${filePath}" is a symbolic link; refusing to follow it`, 'ELOOP', false);
  }
  const problem = stat === undefined ? undefined : ownershipProblem(filePath, stat);
  throw new MetricFileError(problem ?? `Metric file "${filePath}" keeps reappearing while being created`, undefined, false);
}

function ownershipProblem(filePath: string, stat: fs.Stats): string | undefined {
  if (!stat.isFile()) return `Metric file "${filePath}" is not a regular file`;
  // Another user who created our file first (a predictable name in a shared directory) could
  // read and forge everything we write to it.
  const user = process.geteuid?.();
  if (user !== undefined && stat.uid !== user) {
    return (
      `Metric file "${filePath}" belongs to user ${stat.uid}, not to this process's user ${user}: ` +
      'someone else created it; refusing to write to it (make the directory writable by the app users only)'
    );
  }
  return undefined;
}

function openError(filePath: string, error: unknown): MetricFileError {
  const code = errorCode(error);
  if (code === 'ELOOP') return new MetricFileError(`Metric file "${filePath}" is a symbolic link; refusing to follow it`, code, false);
  return new MetricFileError(`Cannot open metric file "${filePath}": ${errorText(error)}`, code, !CONFIGURATION_CODES.has(code ?? ''));
}

const ZEROS = Buffer.alloc(1 << 16);

/**
 * Reserves bytes [offset, offset + length) of the file (growing it) by writing zeros, for when
 * posix_fallocate is not at hand: written blocks are allocated blocks, so later writes into them
 * cannot fail for space.
 */
export function reserveByWriting(fd: number, filePath: string, offset: number, length: number): void {
  let done = 0;
  while (done < length) {
    const chunk = Math.min(ZEROS.length, length - done);
    try {
      done += fs.writeSync(fd, ZEROS, 0, chunk, offset + done);
    } catch (error) {
      throw fileError(`Cannot reserve ${length} bytes at ${offset} of metric file "${filePath}"`, error);
    }
  }
}

/** Cuts the file back to `size` bytes after a reservation that failed half-way; best effort. */
export function truncateTo(fd: number, size: number): void {
  try {
    fs.ftruncateSync(fd, size);
  } catch {
    // The file keeps a tail past `size` that no mapping covers and no reader looks at.
  }
}

/** Writes all of buffer[offset, offset + length) at the same offset of the file. */
export function writeAt(fd: number, filePath: string, buffer: Buffer, offset: number, length: number): void {
  try {
    let written = 0;
    while (written < length) {
      written += fs.writeSync(fd, buffer, offset + written, length - written, offset + written);
    }
  } catch (error) {
    throw fileError(`Cannot write metric file "${filePath}"`, error);
  }
}

/** A MetricFileError for a failed write or reservation: any of those is the environment's doing. */
export function fileError(what: string, error: unknown): MetricFileError {
  return new MetricFileError(`${what}: ${errorText(error)}`, errorCode(error), true);
}

/** The error code of a Node error or of one of the addon's (which carry an errno). */
export function errorCode(error: unknown): string | undefined {
  const { code, errno } = (error ?? {}) as { code?: unknown; errno?: unknown };
  if (typeof code === 'string') return code;
  if (typeof errno === 'number') return errnoName(errno);
  return undefined;
}

/** What went wrong, for a warning: `no space left on device (ENOSPC)`, or the error's message. */
export function reasonOf(error: unknown): string {
  const code = errorCode(error);
  const errno = code === undefined ? undefined : (osConstants.errno as Record<string, number | undefined>)[code];
  const text = errno === undefined ? undefined : getSystemErrorMap().get(-errno)?.[1];
  return text === undefined ? errorText(error) : `${text} (${code})`;
}

function errnoName(errno: number): string | undefined {
  for (const [name, value] of Object.entries(osConstants.errno)) if (value === errno) return name;
  return undefined;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

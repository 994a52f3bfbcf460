// Opening and resizing a metric file, shared by the native and pwrite backends so both refuse
// the same things with the same messages.

import * as fs from 'node:fs';
import { HEADER_BYTES, INITIAL_FILE_BYTES, MAX_FILE_BYTES } from '../format';

const { O_RDWR, O_CREAT, O_NOFOLLOW } = fs.constants;

/** An open metric file and its size, at least INITIAL_FILE_BYTES for a new file. */
export interface OpenedFile {
  fd: number;
  capacity: number;
}

/**
 * Opens the metric file at `path` (see openMetricFile) and hands it to `adopt`, which builds the
 * backend's file over it; the descriptor is closed again when `adopt` throws.
 */
export function withOpenedMetricFile<F>(path: string, fileMode: number, adopt: (opened: OpenedFile) => F): F {
  const opened = openMetricFile(path, fileMode);
  try {
    return adopt(opened);
  } catch (error) {
    fs.closeSync(opened.fd);
    throw error;
  }
}

/**
 * Opens (creating with `fileMode`) the file at `path` for reading and writing. A symbolic link at
 * `path` is refused (O_NOFOLLOW), so nobody can redirect our writes into another file. Node adds
 * O_CLOEXEC itself. A new (empty) file gets its initial size.
 */
export function openMetricFile(path: string, fileMode: number): OpenedFile {
  let fd: number;
  try {
    fd = fs.openSync(path, O_RDWR | O_CREAT | O_NOFOLLOW, fileMode);
  } catch (error) {
    if (errorCode(error) === 'ELOOP') {
      throw new Error(`Metric file "${path}" is a symbolic link; refusing to follow it`);
    }
    throw new Error(`Cannot open metric file "${path}": ${errorText(error)}`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new Error(`Metric file "${path}" is not a regular file`);
    // Another user who created our file first (a predictable name in a shared directory) could
    // read and forge everything we write to it.
    const user = process.geteuid?.();
    if (user !== undefined && stat.uid !== user) {
      throw new Error(
        `Metric file "${path}" belongs to user ${stat.uid}, not to this process's user ${user}: ` +
          'someone else created it; refusing to write to it (make the directory writable by the app users only)',
      );
    }
    if (stat.size === 0) {
      resizeMetricFile(fd, path, INITIAL_FILE_BYTES);
      return { fd, capacity: INITIAL_FILE_BYTES };
    }
    if (stat.size < HEADER_BYTES || stat.size % 8 !== 0 || stat.size > MAX_FILE_BYTES) {
      throw new Error(
        `Metric file "${path}" cannot be continued: its size ${stat.size} is not a multiple of 8 ` +
          `between ${HEADER_BYTES} and ${MAX_FILE_BYTES}. It was left by an earlier process with the ` +
          'same pid; delete it, or the whole directory when no process uses it.',
      );
    }
    return { fd, capacity: stat.size };
  } catch (error) {
    fs.closeSync(fd);
    throw error;
  }
}

/** Sets the file's size (growth only: new bytes read as zero). */
export function resizeMetricFile(fd: number, path: string, capacity: number): void {
  try {
    fs.ftruncateSync(fd, capacity);
  } catch (error) {
    throw new Error(`Cannot grow metric file "${path}" to ${capacity} bytes: ${errorText(error)}`);
  }
}

/** Writes all of buffer[offset, offset + length) at the same offset of the file. */
export function writeAt(fd: number, path: string, buffer: Buffer, offset: number, length: number): void {
  try {
    let written = 0;
    while (written < length) {
      written += fs.writeSync(fd, buffer, offset + written, length - written, offset + written);
    }
  } catch (error) {
    throw new Error(`Cannot write metric file "${path}": ${errorText(error)}`);
  }
}

function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// The read side of compaction: an archive's generation and entries, and which claimed files of
// dead processes an archive already holds (a scrape must skip those, or it counts them twice).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { ARCHIVE_TRAILER_BYTES, HEADER_BYTES, archiveFileNameOf, decodeArchiveTrailer, parseFileName } from './format';
import type { EntryValue, FileName } from './format';
import { READ_ONLY_FLAGS, entryKey, readMetricFile } from './reader';

/** The archive a claimed file or an archive belongs to (same type, gauge mode, kind and app). */
export function archiveNameOf(name: FileName): string {
  return archiveFileNameOf(name, name.app);
}

interface KnownGeneration {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
  generation: number;
}

/**
 * Generations already read, by archive path. Every scrape asks for each archive's generation
 * (twice), so an unchanged archive costs one lstat. An archive is only ever replaced by renaming
 * a new file over it, so a new generation always comes with a new inode.
 */
const knownGenerations = new Map<string, KnownGeneration>();

/**
 * The generation of the archive at `filePath`: 0 when there is no archive (nothing absorbed yet)
 * or when its trailer cannot be read, so that claimed files are then read as ordinary files.
 */
export function readArchiveGeneration(filePath: string): number {
  // Most directories have no archive of most kinds: a plain lstat says so without an exception.
  let current: fs.Stats | undefined;
  try {
    current = fs.lstatSync(filePath, { throwIfNoEntry: false });
  } catch {
    // A directory this process may not search (EACCES): nothing of it can be read, archives
    // included; the listing that fails next says so.
    current = undefined;
  }
  const known = knownGenerations.get(filePath);
  if (current !== undefined && known !== undefined && sameFile(current, known)) return known.generation;
  knownGenerations.delete(filePath);
  if (current === undefined) return 0;
  let fd: number;
  try {
    fd = fs.openSync(filePath, READ_ONLY_FLAGS);
  } catch {
    return 0;
  }
  try {
    const stat = fs.fstatSync(fd);
    const generation = generationOfOpenFile(fd, stat);
    if (generation > 0) {
      const { dev, ino, size, mtimeMs } = stat;
      knownGenerations.set(filePath, { dev, ino, size, mtimeMs, generation });
    }
    return generation;
  } finally {
    fs.closeSync(fd);
  }
}

function sameFile(stat: fs.Stats, known: KnownGeneration): boolean {
  return stat.isFile() && stat.dev === known.dev && stat.ino === known.ino && stat.size === known.size && stat.mtimeMs === known.mtimeMs;
}

function generationOfOpenFile(fd: number, stat: fs.Stats): number {
  if (!stat.isFile() || stat.size < HEADER_BYTES) return 0;
  const header = Buffer.alloc(HEADER_BYTES);
  if (fs.readSync(fd, header, 0, HEADER_BYTES, 0) !== HEADER_BYTES) return 0;
  const used = header.readInt32LE(0);
  if (used < HEADER_BYTES || used + ARCHIVE_TRAILER_BYTES > stat.size) return 0;
  const trailer = Buffer.alloc(ARCHIVE_TRAILER_BYTES);
  if (fs.readSync(fd, trailer, 0, ARCHIVE_TRAILER_BYTES, used) !== ARCHIVE_TRAILER_BYTES) return 0;
  return decodeArchiveTrailer(trailer) ?? 0;
}

/**
 * Drops from `names` (file names of `dir`) every claimed file that its archive already absorbed:
 * a compaction cut short after renaming its new archive into place leaves such files behind until
 * the next compaction deletes them. Claimed files not yet absorbed stay: they are read as usual.
 */
export function withoutAbsorbedClaims(dir: string, names: readonly string[]): string[] {
  const generations = new Map<string, number>();
  return names.filter((name) => {
    // Claimed names have a `.g<generation>` part; most scrapes meet none and parse nothing here.
    if (!name.includes('.g')) return true;
    const parsed = parseFileName(name);
    if (parsed?.claimGeneration === undefined) return true;
    const archive = archiveNameOf(parsed);
    let generation = generations.get(archive);
    if (generation === undefined) {
      generation = readArchiveGeneration(path.join(dir, archive));
      generations.set(archive, generation);
    }
    return parsed.claimGeneration > generation;
  });
}

/** Every entry of a whole, healthy file with its value and timestamp, in file order. */
export function readWholeFile(filePath: string): EntryValue[] {
  const result = readMetricFile(filePath);
  if (result.status === 'missing') throw new Error(`${filePath} disappeared while being compacted`);
  if (result.status === 'unreadable') throw new Error(`${filePath} cannot be used: it ${result.problem}`);
  const contents = result.contents;
  const { count, slots, numbers, problem } = contents;
  if (problem !== undefined) throw new Error(`${filePath} is damaged: ${problem}`);
  return Array.from({ length: count }, (_, index) => ({
    key: entryKey(contents, index),
    value: numbers[slots[index]],
    timestamp: numbers[slots[index] + 1],
  }));
}

// Chooses a backend and opens files with it: the native mmap addon when it loads (the package's
// prebuilds/, or a local build/ compiled by `npm run build:native`, as node-gyp-build finds
// them), else the pure-JS pwrite fallback after one warning.

import * as os from 'node:os';
import * as path from 'node:path';
import nodeGypBuild from 'node-gyp-build';
import { logger } from '../../logger';
import type { BackendKind, MetricFile } from './metric-file';
import { MemoryFile } from './memory';
import { NativeFile } from './native';
import type { MmapAddon } from './native';
import { PwriteFile } from './pwrite';
import type { StoredFileOptions } from './stored-file';
import { DB_LAYOUT } from '../format';
import type { FileLayout } from '../format';

export const BACKEND_ENV = 'PM2_PROM_MULTIPROC_BACKEND';
// src/store/backends and dist/store/backends are both three levels below the package root.
const PACKAGE_ROOT = path.join(__dirname, '..', '..', '..');

// Where no prebuild fits (another platform, an old libc): compiling needs make, a C compiler and python3.
const COMPILE_HINT = 'to compile the addon: npm explore pm2-prom-multiproc -- npm run build:native';

let addonLoad: { addon: MmapAddon } | { error: Error } | undefined;
let fallbackWarned = false;

/** The addon, loaded once; throws why it is unavailable. */
export function loadMmapAddon(): MmapAddon {
  addonLoad ??= tryLoadAddon();
  if ('error' in addonLoad) throw addonLoad.error;
  return addonLoad.addon;
}

function tryLoadAddon(): { addon: MmapAddon } | { error: Error } {
  try {
    const addon = nodeGypBuild(PACKAGE_ROOT) as Partial<MmapAddon> | undefined;
    // An addon built before reserve() existed would map files it cannot reserve: refused.
    if (typeof addon?.map !== 'function' || typeof addon.reserve !== 'function') {
      throw new Error('it exports no map() and reserve() (an older build: npm run build:native)');
    }
    return { addon: addon as MmapAddon };
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    return { error: new Error(`the native mmap addon could not be loaded: ${reason}`) };
  }
}

/**
 * 'native' when the addon loads, else 'pwrite' after ONE warning (the package's logger).
 * PM2_PROM_MULTIPROC_BACKEND=native|pwrite forces a choice (native then fails loudly).
 */
export function defaultBackend(): BackendKind {
  const forced = process.env[BACKEND_ENV];
  if (forced === 'pwrite') return 'pwrite';
  if (forced === 'native') {
    loadMmapAddon();
    return 'native';
  }
  if (forced !== undefined && forced !== '') {
    throw new Error(`${BACKEND_ENV}="${forced}" is not a backend: use "native" or "pwrite", or unset it`);
  }
  try {
    loadMmapAddon();
    return 'native';
  } catch (error) {
    if (!fallbackWarned) {
      fallbackWarned = true;
      logger().warn(`${(error as Error).message}; using the slower pwrite backend (${COMPILE_HINT})`);
    }
    return 'pwrite';
  }
}

/**
 * Creates the file at `filePath`, of the given layout, with the given backend (a file a dead
 * predecessor left under the name is handed over first). Throws for configuration errors only.
 */
export function openWithBackend(
  backend: BackendKind,
  filePath: string,
  options: StoredFileOptions,
  layout: FileLayout = DB_LAYOUT,
): MetricFile {
  if (backend === 'memory') return MemoryFile.create(layout);
  // The format is little-endian and the views over it use the CPU's byte order.
  if (os.endianness() !== 'LE') {
    throw new Error(`multiprocess metric files need a little-endian CPU (this one is ${os.endianness()})`);
  }
  return backend === 'native' ? NativeFile.open(filePath, options, loadMmapAddon(), layout) : PwriteFile.open(filePath, options, layout);
}

// Finds the app's own prom-client (the copy its entry script resolves, whatever its version; not
// ours) once the app has loaded it, so the preload never loads or changes anything in the app.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { isObject, isRegistryLike } from './registry-shape';
import type { RegistryLike } from './registry-shape';

/** The app's global prom-client registry, looked up lazily at each pass until it is found. */
export class AppPromClient {
  private candidates: readonly string[] | undefined;
  private registry: RegistryLike | undefined;

  constructor(private readonly warn: (message: string) => void) {}

  /** [the app's global register] once the app has required prom-client, else []. */
  registries(): RegistryLike[] {
    if (this.registry === undefined) this.registry = this.loadedRegistry();
    return this.registry === undefined ? [] : [this.registry];
  }

  private loadedRegistry(): RegistryLike | undefined {
    // Resolved at the first pass, when the entry script has run and require.main is set.
    if (this.candidates === undefined) {
      this.candidates = resolvePromClient(appDirectories());
      if (this.candidates.length === 0) {
        this.warn(
          `prom-client mirror: no prom-client resolves from ${appDirectories().join(', ')}; nothing is mirrored ` +
            '(install prom-client in the app, or drop the pm2-prom-multiproc/register preload)',
        );
      }
    }
    for (const file of this.candidates) {
      // Only a copy the app has loaded already: loading it here would change the app.
      const exports: unknown = require.cache[file]?.exports;
      if (isObject(exports) && isRegistryLike(exports.register)) return exports.register;
    }
    return undefined;
  }
}

/** Where the app resolves its modules from: its main module, entry script, PM2's exec path, cwd. */
function appDirectories(): string[] {
  const entries = [process.mainModule?.filename, process.argv[1], process.env.pm_exec_path];
  const directories: string[] = [];
  for (const entry of entries) {
    if (entry === undefined || entry === '') continue;
    directories.push(path.dirname(realPath(path.resolve(entry))));
  }
  directories.push(process.cwd());
  return [...new Set(directories)];
}

/** The distinct prom-client entry files `require('prom-client')` gives from these directories. */
function resolvePromClient(directories: readonly string[]): string[] {
  const files = new Set<string>();
  for (const directory of directories) {
    try {
      files.add(require.resolve('prom-client', { paths: [directory] }));
    } catch {
      // Not resolvable from this directory; another one may resolve it.
    }
  }
  return [...files];
}

function realPath(file: string): string {
  try {
    return fs.realpathSync(file);
  } catch {
    return file;
  }
}

// The PM2 that runs this module, and its @pm2/io. The package depends on neither (an app that
// installs it for the metrics gets no PM2, and `pm2 install` downloads no second PM2): PM2
// starts every process as `node <pm2>/lib/ProcessContainerFork.js` (ProcessContainer.js in
// cluster mode), so process.argv[1] lies inside the very PM2 that runs us, whatever its version
// and wherever it is installed. require.main cannot tell: it is our own script.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type Pm2Api from 'pm2';
import type Pm2Io from '@pm2/io';

export interface HostPm2 {
  root: string;
  version: string;
  pm2: typeof Pm2Api;
  io: typeof Pm2Io;
}

// ProcessContainerFork.js is in <pm2>/lib; a little headroom for other layouts.
const MAX_LEVELS_UP = 3;

/** The root and version of the `pm2` package holding `file` (symbolic links followed). */
export function pm2PackageOf(file: string | undefined): { root: string; version: string } | undefined {
  if (file === undefined || file === '') return undefined;
  let dir: string;
  try {
    dir = path.dirname(fs.realpathSync(file));
  } catch {
    return undefined;
  }
  for (let level = 0; level < MAX_LEVELS_UP; level++, dir = path.dirname(dir)) {
    let manifest: { name?: unknown; version?: unknown };
    try {
      manifest = JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')) as typeof manifest;
    } catch {
      continue; // no readable package.json here: one level up
    }
    if (manifest.name === 'pm2') return { root: dir, version: String(manifest.version) };
  }
  return undefined;
}

// PM2 has already loaded its @pm2/io in this process (ProcessUtils.injectModules, unless the
// app's env says pmx=false) and published it under this symbol: the instance PM2 reads metrics
// from. Otherwise load PM2's own copy: PM2 7 vendors it as modules/pm2-io-bpm, PM2 6 depends on
// @pm2/io.
const IO_SYMBOL = Symbol.for('@pm2/io');
const IO_REQUESTS = ['./modules/pm2-io-bpm', '@pm2/io'];

function loadIo(load: NodeRequire, pm2: { root: string; version: string }): typeof Pm2Io {
  const loaded = (globalThis as Record<symbol, unknown>)[IO_SYMBOL];
  if (loaded !== undefined) return loaded as typeof Pm2Io;
  for (const request of IO_REQUESTS) {
    try {
      return load(request) as typeof Pm2Io;
    } catch {
      // not in this PM2 version: the next place
    }
  }
  throw new Error(`PM2 ${pm2.version} at ${pm2.root} has no @pm2/io (looked for ${IO_REQUESTS.join(' and ')}): update PM2 (npm install -g pm2)`);
}

let host: HostPm2 | undefined;

/** `pm2` and `@pm2/io` of the PM2 running this process, loaded once; throws outside PM2. */
export function hostPm2(): HostPm2 {
  if (host !== undefined) return host;
  const found = pm2PackageOf(process.argv[1]);
  if (found === undefined) {
    throw new Error(
      `the PM2 module must be started by PM2 (pm2 install pm2-prom-multiproc, or npm start in a clone): ` +
        `process.argv[1] (${process.argv[1]}) lies in no pm2 package`,
    );
  }
  const load = createRequire(path.join(found.root, 'package.json'));
  host = { ...found, pm2: load(found.root) as typeof Pm2Api, io: loadIo(load, found) };
  return host;
}

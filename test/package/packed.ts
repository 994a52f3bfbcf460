// The package as npm delivers it, for the tests in test/package and bench/package.bench.ts: the
// tarball README's "From a tarball" block makes, fresh projects that install it (or prom-client
// alone), and what such an install puts on disk.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BLOCKS, readmeBlock } from './readme';

export const ROOT = path.join(__dirname, '..', '..');

/** npm from its cache where it can, quiet, and running no script at all: none is needed. */
export const NO_SCRIPTS_ENV: NodeJS.ProcessEnv = {
  npm_config_ignore_scripts: 'true',
  npm_config_prefer_offline: 'true',
  npm_config_audit: 'false',
  npm_config_fund: 'false',
  npm_config_update_notifier: 'false',
  npm_config_loglevel: 'error',
};

/** Runs `script` with bash -euo pipefail in `cwd`; returns its stdout. */
export function bash(script: string, cwd: string, env: NodeJS.ProcessEnv = process.env, input?: string): string {
  return execFileSync('bash', ['-euo', 'pipefail', '-c', script], { cwd, env, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

let packed: string | undefined;

/**
 * README's tarball block run in the project root (npm pack, whose prepare builds prebuilds/ and
 * dist/ first, as for any user), once per process; the tarball is moved, with its name, into a
 * temporary folder removed at exit.
 */
export function packedTarball(): string {
  if (packed !== undefined) return packed;
  const out = bash(`${readmeBlock(BLOCKS.tarball)}printf '\\n%s\\n' "$tarball"`, ROOT, { ...process.env, npm_config_loglevel: 'error' });
  const made = out.trim().split('\n').pop() ?? '';
  if (!fs.existsSync(made)) throw new Error(`README's tarball block made no ${made}:\n${out}`);
  const folder = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-prom-tarball-'));
  process.once('exit', () => fs.rmSync(folder, { recursive: true, force: true }));
  packed = path.join(folder, path.basename(made));
  fs.renameSync(made, packed);
  return packed;
}

/** An empty npm project `name` under `parent`. */
export function freshProject(parent: string, name: string): string {
  const dir = path.join(parent, name);
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'), `${JSON.stringify({ name, version: '1.0.0', private: true }, null, 2)}\n`);
  return dir;
}

/** npm install of `specs` into `project`, with no script run. */
export function installInto(project: string, ...specs: string[]): void {
  execFileSync('npm', ['install', ...specs], { cwd: project, env: { ...process.env, ...NO_SCRIPTS_ENV }, stdio: 'pipe' });
}

/** The prom-client version this package is built and tested against (the lockfile's). */
export function lockedPromClient(): string {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string }> };
  return lock.packages['node_modules/prom-client'].version;
}

export interface Footprint {
  /** Disk usage of node_modules, as `du` counts it (blocks). */
  bytes: number;
  /** Packages installed, as `npm ls --all` lists them (name or scope/name). */
  packages: string[];
}

export function footprint(project: string): Footprint {
  const du = execFileSync('du', ['-s', '--block-size=1', 'node_modules'], { cwd: project, encoding: 'utf8' });
  const listed = execFileSync('npm', ['ls', '--all', '--parseable'], { cwd: project, encoding: 'utf8' }).trim().split('\n').slice(1);
  const packages = listed.map((dir) => path.relative(path.join(project, 'node_modules'), dir).split(`${path.sep}node_modules${path.sep}`).pop() ?? dir);
  return { bytes: Number(du.split('\t')[0]), packages: packages.sort() };
}

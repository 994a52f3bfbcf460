// Lays out this package as an app would install it (node_modules/pm2-prom-multiproc with
// package.json, register.js and dist/ compiled from src/), and apps beside it, so child processes
// run `node --require pm2-prom-multiproc/register` with plain node, as in production.

import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

const REPO = path.resolve(__dirname, '..', '..');
const FIXTURES = path.join(__dirname, 'fixtures');

/** Creates `<root>/node_modules/pm2-prom-multiproc`; apps under `root` resolve it. */
export function installPackageImage(root: string): string {
  const packageDir = path.join(root, 'node_modules', 'pm2-prom-multiproc');
  fs.mkdirSync(packageDir, { recursive: true });
  fs.copyFileSync(path.join(REPO, 'package.json'), path.join(packageDir, 'package.json'));
  fs.copyFileSync(path.join(REPO, 'register.js'), path.join(packageDir, 'register.js'));
  transpileTree(path.join(REPO, 'src'), path.join(packageDir, 'dist'));
  // Our own dependencies (prom-client 15 among them) and the built mmap addon, as npm would place them.
  for (const linked of ['node_modules', 'build', 'prebuilds']) {
    if (fs.existsSync(path.join(REPO, linked))) fs.symlinkSync(path.join(REPO, linked), path.join(packageDir, linked));
  }
  return packageDir;
}

/** Syntax-only compile (no type check) of every .ts file, keeping the folder layout. */
function transpileTree(from: string, to: string): void {
  fs.mkdirSync(to, { recursive: true });
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    if (entry.isDirectory()) {
      transpileTree(source, path.join(to, entry.name));
    } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts')) {
      const { outputText } = ts.transpileModule(fs.readFileSync(source, 'utf8'), {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
        fileName: source,
      });
      fs.writeFileSync(path.join(to, entry.name.replace(/\.ts$/, '.js')), outputText);
    }
  }
}

/**
 * `<root>/<name>` holding the fixture apps, with prom-client `version` in its own node_modules:
 * 'repo' links the copy this package uses, anything else is installed from the npm registry.
 */
export function createApp(root: string, name: string, version: 'repo' | string): string {
  const appDir = path.join(root, name);
  fs.mkdirSync(path.join(appDir, 'node_modules'), { recursive: true });
  for (const script of fs.readdirSync(FIXTURES)) fs.copyFileSync(path.join(FIXTURES, script), path.join(appDir, script));
  if (version === 'repo') {
    fs.symlinkSync(path.join(REPO, 'node_modules', 'prom-client'), path.join(appDir, 'node_modules', 'prom-client'));
  } else {
    execFileSync('npm', ['install', '--ignore-scripts', '--no-audit', '--no-fund', '--prefix', appDir, `prom-client@${version}`], {
      stdio: 'pipe',
      timeout: 90_000,
    });
  }
  return appDir;
}

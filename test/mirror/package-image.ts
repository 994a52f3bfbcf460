// Lays out this package as an app would install it (node_modules/pm2-prom-multiproc with
// package.json, register.js and dist/ compiled from src/), and apps beside it, so child processes
// run `node --require pm2-prom-multiproc/register` with plain node, as in production.

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
 * 'repo' links the copy this package uses; '14' copies prom-client 14 (the devDependency alias
 * prom-client-14) and its dependencies, so the app really has a copy of another version, and the
 * test needs no registry.
 */
export function createApp(root: string, name: string, version: 'repo' | '14'): string {
  const appDir = path.join(root, name);
  const appModules = path.join(appDir, 'node_modules');
  fs.mkdirSync(appModules, { recursive: true });
  for (const script of fs.readdirSync(FIXTURES)) fs.copyFileSync(path.join(FIXTURES, script), path.join(appDir, script));
  if (version === 'repo') {
    fs.symlinkSync(path.join(REPO, 'node_modules', 'prom-client'), path.join(appModules, 'prom-client'));
    return appDir;
  }
  const source = path.join(REPO, 'node_modules', 'prom-client-14');
  fs.cpSync(source, path.join(appModules, 'prom-client'), { recursive: true });
  copyDependencies(source, appModules);
  return appDir;
}

/** Copies the dependencies of the package at `packageDir` (and theirs) from this repo's node_modules. */
function copyDependencies(packageDir: string, targetModules: string): void {
  const manifest = JSON.parse(fs.readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const dependency of Object.keys(manifest.dependencies ?? {})) {
    const target = path.join(targetModules, dependency);
    if (fs.existsSync(target)) continue;
    const source = path.join(REPO, 'node_modules', dependency);
    fs.cpSync(source, target, { recursive: true });
    copyDependencies(source, targetModules);
  }
}

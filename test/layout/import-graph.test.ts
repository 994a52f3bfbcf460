// The layout's rules (docs/DESIGN.md, "Layout"), checked on the import graph of src/: no cycle,
// type-only imports included; each folder imports only the folders below it in the data flow;
// another folder is entered through its index; only src/pm2 loads PM2's packages.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const SRC = path.join(__dirname, '..', '..', 'src');

/** What each folder of src/ may import, besides itself and the root files (logger.ts). */
const MAY_IMPORT: Readonly<Record<string, readonly string[]>> = {
  store: [],
  collect: ['store'],
  metrics: ['store', 'collect'],
  mirror: ['store', 'metrics'],
  host: ['store', 'collect'],
  server: ['collect'],
  cluster: ['store', 'collect', 'host', 'server'],
  pm2: ['store', 'collect', 'host', 'server'],
  '.': ['store', 'collect', 'metrics', 'mirror', 'host', 'server', 'cluster'],
};

interface Edge {
  from: string;
  to: string;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : [];
  });
}

function resolveRelative(from: string, specifier: string): string {
  const base = path.resolve(path.dirname(from), specifier);
  for (const candidate of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(candidate)) return candidate;
  throw new Error(`${path.relative(SRC, from)} imports ${specifier}, which resolves to no file`);
}

/** Every import and re-export of every file, `import type` included, with packages kept by name. */
function importGraph(): { edges: Edge[]; packages: Edge[] } {
  const edges: Edge[] = [];
  const packages: Edge[] = [];
  for (const file of sourceFiles(SRC)) {
    const { importedFiles } = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
    for (const { fileName: specifier } of importedFiles) {
      const target = specifier.startsWith('.') ? path.resolve(path.dirname(file), specifier) : undefined;
      if (target === undefined) packages.push({ from: file, to: specifier });
      // A built file outside src/ (vendor/, bundled by the build) counts as a package, by its path.
      else if (path.relative(SRC, target).startsWith('..')) packages.push({ from: file, to: path.relative(path.dirname(SRC), target) });
      else edges.push({ from: file, to: resolveRelative(file, specifier) });
    }
  }
  return { edges, packages };
}

function folderOf(file: string): string {
  const relative = path.relative(SRC, file);
  return relative.includes(path.sep) ? relative.split(path.sep)[0] : '.';
}

function show(file: string): string {
  return path.relative(SRC, file);
}

describe('layout: the import graph of src/', () => {
  const { edges, packages } = importGraph();

  it('has no cycle, type-only imports included', () => {
    const next = new Map<string, string[]>();
    for (const { from, to } of edges) next.set(from, [...(next.get(from) ?? []), to]);
    const state = new Map<string, 'open' | 'done'>();
    const cycles: string[] = [];
    const visit = (file: string, trail: string[]): void => {
      if (state.get(file) === 'done') return;
      if (state.get(file) === 'open') {
        cycles.push([...trail.slice(trail.indexOf(file)), file].map(show).join(' -> '));
        return;
      }
      state.set(file, 'open');
      for (const to of next.get(file) ?? []) visit(to, [...trail, file]);
      state.set(file, 'done');
    };
    for (const file of next.keys()) visit(file, []);
    assert.deepEqual(cycles, []);
  });

  it('lets each folder import only the folders below it in the data flow', () => {
    const wrong = edges
      .filter(({ from, to }) => {
        const [source, target] = [folderOf(from), folderOf(to)];
        if (source === target || target === '.') return false;
        return !(MAY_IMPORT[source] ?? []).includes(target);
      })
      .map(({ from, to }) => `${show(from)} imports ${show(to)}`);
    assert.deepEqual(wrong, []);
  });

  it('enters another folder through its index only', () => {
    const deep = edges
      .filter(({ from, to }) => folderOf(from) !== folderOf(to) && folderOf(to) !== '.' && path.basename(to) !== 'index.ts')
      .map(({ from, to }) => `${show(from)} imports ${show(to)}`);
    assert.deepEqual(deep, []);
  });

  it('loads pm2 and @pm2/io from src/pm2 only', () => {
    const outside = packages
      .filter(({ from, to }) => (to === 'pm2' || to.startsWith('@pm2/')) && folderOf(from) !== 'pm2')
      .map(({ from, to }) => `${show(from)} imports ${to}`);
    assert.deepEqual(outside, []);
  });
});

// Child (run with --expose-gc): grows a native file several times and reports how many mappings
// of it /proc/self/maps lists while open, after a GC, and after close plus a GC. argv: DIR
import * as fs from 'node:fs';
import { encodeKey } from '../../../src/store/format';
import { ProcessStore } from '../../../src/store';

const [dir] = process.argv.slice(2);
const collect = (globalThis as { gc?: () => void }).gc;
if (collect === undefined) throw new Error('run with --expose-gc');

function mappingsOf(filePath: string): number {
  return fs.readFileSync('/proc/self/maps', 'utf8').split('\n').filter((line) => line.endsWith(filePath)).length;
}

async function collectGarbage(): Promise<void> {
  // Finalizers of external buffers may run after the GC that found them dead.
  for (let round = 0; round < 4; round++) {
    collect?.();
    await new Promise((resolve) => setImmediate(resolve));
  }
}

async function main(): Promise<void> {
  const store = new ProcessStore(dir, { backend: 'native' });
  const file = store.file('counter');
  for (let i = 0; i < 10_000; i++) file.add(file.slotOf(encodeKey('m', 'm_total', { i: String(i) }, '')), 1);
  const whileGrowing = mappingsOf(file.path);
  await collectGarbage();
  const afterGc = mappingsOf(file.path);
  store.close();
  await collectGarbage();
  const afterClose = mappingsOf(file.path);
  process.stdout.write(JSON.stringify({ whileGrowing, afterGc, afterClose, size: fs.statSync(file.path).size }));
}

void main();

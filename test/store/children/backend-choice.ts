// Child: reports which backend it gets, asking twice and writing a value, so the test can count
// fallback warnings. argv: DIR
import { encodeKey } from '../../../src/store/format';
import { ProcessStore, defaultBackend } from '../../../src/store';

const [dir] = process.argv.slice(2);
try {
  defaultBackend();
  const store = new ProcessStore(dir);
  const file = store.file('counter');
  file.add(file.slotOf(encodeKey('x', 'x_total', {}, '')), 1);
  store.close();
  process.stdout.write(`${store.backend} ${defaultBackend()}\n`);
} catch (error) {
  process.stdout.write(`error: ${(error as Error).message}\n`);
}

// Child: appends KEYS new keys (growing the file many times), incrementing as it goes, with short
// pauses so that a reader in another process overlaps the whole run. Only ever increments.
// argv: DIR BACKEND KEYS
import { ProcessStore } from '../../../src/store';
import type { BackendKind } from '../../../src/store';
import { appendedKey, PROGRESS_KEY } from './append-many-keys';

const [dir, backend, keys] = process.argv.slice(2);
const file = new ProcessStore(dir, { backend: backend as BackendKind }).file('counter');
const progress = file.slotOf(PROGRESS_KEY);
const pause = new Int32Array(new SharedArrayBuffer(4));
for (let i = 0; i < Number(keys); i++) {
  file.add(file.slotOf(appendedKey(i)), 1);
  file.add(file.slotOf(appendedKey(Math.floor(i / 2))), 1);
  file.add(progress, 1);
  if (i % 250 === 0) Atomics.wait(pause, 0, 0, 1);
}

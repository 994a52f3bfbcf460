// Child: adds 1 to one counter N times, then dies by SIGKILL (no exit handlers, no flush).
// argv: DIR BACKEND N
import { encodeKey } from '../../../src/store/format';
import { ProcessStore } from '../../../src/store';
import type { BackendKind } from '../../../src/store';

const [dir, backend, count] = process.argv.slice(2);
const file = new ProcessStore(dir, { backend: backend as BackendKind }).file('counter');
const slot = file.slotOf(encodeKey('jobs', 'jobs_total', {}, 'Jobs done.'));
for (let i = 0; i < Number(count); i++) file.add(slot, 1);
process.kill(process.pid, 'SIGKILL');

// Child: rewrites the exemplars of REWRITTEN_SLOTS series at full speed (record, then flush: one
// slot write per call) for SECONDS, through the real exemplar log and backend.
// argv: DIR BACKEND SECONDS; prints "started" once the file exists, then the writes done.
import { ProcessStore } from '../../../src/store';
import type { BackendKind } from '../../../src/store';
import { REWRITTEN_SLOTS, rewrittenKey, spanIdOf, timestampOf, traceIdOf } from './exemplar-ids';

const [dir, backend, seconds] = process.argv.slice(2);
const store = new ProcessStore(dir, { backend: backend as BackendKind });
const log = store.exemplars('counter');
const indexes = Array.from({ length: REWRITTEN_SLOTS }, (_, slot) => log.indexOf(rewrittenKey(slot)));
const write = (k: number): void => {
  log.record(indexes[k % REWRITTEN_SLOTS], { traceId: traceIdOf(k), spanId: spanIdOf(k) }, k, timestampOf(k));
  log.flush();
};
let k = 0;
for (; k < REWRITTEN_SLOTS; k++) write(k);
process.stdout.write('started\n');
const end = Date.now() + Number(seconds) * 1000;
while (Date.now() < end) {
  for (let i = 0; i < 1000; i++) write(k++);
}
store.close();
process.stdout.write(`${k}\n`);

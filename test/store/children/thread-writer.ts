// Worker thread: writes its own counter through a ProcessStore with the default owner.
// workerData: { dir, backend, amount }; posts back the store's owner.
import { parentPort, workerData } from 'node:worker_threads';
import { encodeKey } from '../../../src/store/format';
import { ProcessStore } from '../../../src/store';
import type { BackendKind } from '../../../src/store';

const { dir, backend, amount } = workerData as { dir: string; backend: BackendKind; amount: number };
const store = new ProcessStore(dir, { backend });
const file = store.file('counter');
file.add(file.slotOf(encodeKey('work', 'work_total', {}, 'Work done.')), amount);
store.close();
parentPort?.postMessage(store.owner);

// The one ProcessStore of this process (or worker thread) that the mirror writes through: each
// file must have exactly one writer, so every mirror in a process shares it.

import { ProcessStore } from '../store/mmap-file';

let store: ProcessStore | undefined;

/** This process's store in PROMETHEUS_MULTIPROC_DIR; throws a clear Error when it is not set. */
export function processStore(): ProcessStore {
  if (store === undefined) {
    const dir = process.env.PROMETHEUS_MULTIPROC_DIR;
    if (dir === undefined || dir === '') {
      throw new Error(
        'PROMETHEUS_MULTIPROC_DIR is not set: mirroring writes metric files there (or pass options.store)',
      );
    }
    store = new ProcessStore(dir);
  }
  return store;
}

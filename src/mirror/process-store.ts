// The store the mirror writes through: the same one as this process's own metrics (src/metrics),
// since each file must have exactly one writer.

import { activeStore } from '../metrics/active-store';
import type { ProcessStore } from '../store/mmap-file';

/** This process's store in PROMETHEUS_MULTIPROC_DIR; throws a clear Error when it is not set. */
export function processStore(): ProcessStore {
  const store = activeStore();
  if (store === undefined) {
    throw new Error(
      'PROMETHEUS_MULTIPROC_DIR is not set: mirroring writes metric files there (or pass options.store). ' +
        "In a single process, prom-client's own registry and collectDefaultMetrics() need no mirror.",
    );
  }
  return store;
}

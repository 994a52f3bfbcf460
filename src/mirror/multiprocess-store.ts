// The store the mirror writes through: the same one as this process's own metrics (src/metrics),
// since each file must have exactly one writer.

import { activeStore } from '../metrics';
import type { ProcessStore } from '../store';

/** This process's store in PROMETHEUS_MULTIPROC_DIR; throws a clear Error when it is not set. */
export function multiprocessStore(): ProcessStore {
  const store = activeStore();
  if (store === undefined) {
    throw new Error(
      'PROMETHEUS_MULTIPROC_DIR is not set: mirroring copies a registry into the metric files there, and has no ' +
        'meaning in a single process. For multiprocess mode set it before the first metric is created (or pass ' +
        "options.store); in a single process serve the registry's own metrics() instead (collectDefaultMetrics() " +
        "puts Node's runtime metrics in this package's register).",
    );
  }
  return store;
}

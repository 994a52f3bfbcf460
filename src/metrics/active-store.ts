// Chooses where new metrics write: the directory named by PROMETHEUS_MULTIPROC_DIR (multiprocess
// mode), or private in-memory files (plain in-process metrics, like prom-client) when it is unset.
import { ProcessStore, checkDirectory, defaultBackend } from '../store';

/** `undefined`: memory mode. Not decided until the first metric is created (or useStore). */
let current: { store: ProcessStore | undefined } | undefined;

function storeFromEnvironment(): ProcessStore | undefined {
  const dir = process.env.PROMETHEUS_MULTIPROC_DIR;
  if (dir === undefined || dir === '') return undefined;
  checkDirectory(dir);
  return new ProcessStore(dir, { backend: defaultBackend() });
}

/**
 * The store new metrics write to, `undefined` in memory mode. Read from the environment once, on
 * first use, so an app may set PROMETHEUS_MULTIPROC_DIR before creating its first metric.
 */
export function activeStore(): ProcessStore | undefined {
  current ??= { store: storeFromEnvironment() };
  return current.store;
}

/**
 * Points metrics created from now on at `store` (a directory store, possibly with another pid or
 * thread id, as tests and fixtures need), or at memory with `undefined`. Metrics created before
 * keep writing where they were created. The previous store is not closed: its metrics may live on.
 */
export function useStore(store: ProcessStore | undefined): void {
  current = { store };
}

/**
 * The store one new metric writes to. In memory mode (and for a metric kept out of the files,
 * `inMemory`) every metric gets private memory files, so a metric created again after
 * `register.clear()` starts from zero, as with prom-client.
 */
export function storeForNewMetric(inMemory = false): ProcessStore {
  return (inMemory ? undefined : activeStore()) ?? new ProcessStore(undefined);
}

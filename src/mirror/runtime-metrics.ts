// Node's runtime metrics (prom-client's default set: CPU, memory, heap, event-loop lag, handles,
// GC). Memory mode: prom-client's metric objects join one of our registries, as in prom-client.
// Multiprocess mode: they live in a private registry that is mirrored into this worker's files.

import { Registry as PromClientRegistry, collectDefaultMetrics as collectPromClientDefaults } from 'prom-client';
import type { DefaultMetricsCollectorConfiguration } from 'prom-client';
import { activeStore, globalRegistry } from '../metrics';
import type { Registry, RegistryContentType } from '../metrics';
import { mirrorRegistry } from './start-mirror';
import type { MirrorHandle, MirrorOptions } from './start-mirror';

type PromClientDefaultsOptions = Pick<
  DefaultMetricsCollectorConfiguration<typeof PromClientRegistry.PROMETHEUS_CONTENT_TYPE>,
  'prefix' | 'labels' | 'gcDurationBuckets' | 'eventLoopMonitoringPrecision'
>;

/** prom-client's options; intervalMs, store and warn tell multiprocess mode how to mirror. */
export interface RuntimeMetricsOptions extends PromClientDefaultsOptions, Pick<MirrorOptions, 'intervalMs' | 'store' | 'warn'> {
  /**
   * Memory mode: the registry the metrics join, as prom-client's `register` option (default: the
   * global `register`). Multiprocess mode shows them in the global `register` only.
   */
  register?: Registry<RegistryContentType>;
}

let running: MirrorHandle | undefined;

/**
 * Memory mode (no PROMETHEUS_MULTIPROC_DIR, no options.store): registers prom-client's default
 * metrics in `options.register`, so metrics() shows them exactly as prom-client's would; a second
 * call on the same registry throws on the first name already registered, as prom-client does.
 *
 * Multiprocess mode: writes this worker's runtime metrics into the store every interval (default
 * 1 s) and at exit, so /metrics shows each worker's heap, event-loop lag and handles labelled by
 * pid (gauges in mode liveall: a dead worker's vanish) and the CPU and GC totals of all workers,
 * dead ones too. It runs once per process.
 */
export function collectDefaultMetrics(options: RuntimeMetricsOptions = {}): MirrorHandle {
  const { intervalMs, store, warn, register, ...defaults } = options;
  if (store === undefined && activeStore() === undefined) return registerDefaults(register ?? globalRegistry, defaults);
  if (register !== undefined && register !== globalRegistry) {
    throw new Error(
      'collectDefaultMetrics({ register }): in multiprocess mode the runtime metrics are written to the metric files, ' +
        'which the global register shows (it renders the whole directory); drop the register option',
    );
  }
  if (running !== undefined) {
    throw new Error('collectDefaultMetrics() is already running in this process; call stop() on its handle first');
  }
  const registry = new PromClientRegistry();
  collectPromClientDefaults({ ...defaults, register: registry });
  const handle = mirrorRegistry(registry, { intervalMs, store, warn });
  running = handle;
  return {
    ...handle,
    stop() {
      handle.stop();
      running = undefined;
    },
  };
}

/**
 * prom-client's metric constructors call only registerMetric() on the registry given (and read its
 * contentType), which ours offers for prom-client's metric objects; prom-client's typings name its
 * own class, hence the cast. Values are read at each scrape: pass() and flush() have nothing to do,
 * and stop() takes the metrics out of the registry (prom-client has no way to stop its monitors).
 */
function registerDefaults(target: Registry<RegistryContentType>, defaults: PromClientDefaultsOptions): MirrorHandle {
  const before = new Set(target.getMetricsAsArray());
  collectPromClientDefaults({ ...defaults, register: target as unknown as PromClientRegistry });
  const added = target.getMetricsAsArray().filter((metric) => !before.has(metric));
  return {
    pass: () => Promise.resolve(),
    flush: () => undefined,
    stop() {
      for (const metric of added) {
        if (target.getSingleMetric(metric.name) === metric) target.removeSingleMetric(metric.name);
      }
    },
  };
}

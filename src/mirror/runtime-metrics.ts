// Node's runtime metrics for this worker (prom-client's default set: heap, event-loop lag, CPU,
// handles, GC), kept in a private registry and mirrored into the store like an app's registry.

import { Registry, collectDefaultMetrics as collectPromClientDefaults } from 'prom-client';
import type { DefaultMetricsCollectorConfiguration } from 'prom-client';
import { mirrorRegistry } from './start-mirror';
import type { MirrorHandle, MirrorOptions } from './start-mirror';

export type RuntimeMetricsOptions = Pick<
  DefaultMetricsCollectorConfiguration<typeof Registry.PROMETHEUS_CONTENT_TYPE>,
  'prefix' | 'labels' | 'gcDurationBuckets' | 'eventLoopMonitoringPrecision'
> &
  Pick<MirrorOptions, 'intervalMs' | 'store' | 'warn'>;

let running: MirrorHandle | undefined;

/**
 * Writes this worker's runtime metrics into the store every interval (default 1 s) and at exit,
 * so /metrics shows each worker's heap, event-loop lag and handles labelled by pid (gauges in
 * mode liveall: a dead worker's vanish) and the CPU and GC totals of all workers, dead ones too.
 */
export function collectDefaultMetrics(options: RuntimeMetricsOptions = {}): MirrorHandle {
  if (running !== undefined) {
    throw new Error('collectDefaultMetrics() is already running in this process; call stop() on its handle first');
  }
  const { intervalMs, store, warn, ...defaults } = options;
  const registry = new Registry();
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

// Adoption without rewriting: mirror an app's prom-client registry, and this worker's Node
// runtime metrics, into the multiprocess store.

export { mirrorRegistry } from './registry-mirror';
export type { MirrorHandle, MirrorOptions } from './registry-mirror';
export { collectDefaultMetrics } from './runtime-metrics';
export type { RuntimeMetricsOptions } from './runtime-metrics';

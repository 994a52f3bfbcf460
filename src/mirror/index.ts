// Adoption without rewriting: mirror an app's prom-client registry, and this worker's Node
// runtime metrics, into the multiprocess store.

export { mirrorRegistry } from './start-mirror';
export type { MirrorHandle, MirrorOptions } from './start-mirror';
export { collectDefaultMetrics } from './runtime-metrics';
export type { RuntimeMetricsOptions } from './runtime-metrics';

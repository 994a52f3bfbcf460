// The gauge mode of each of prom-client's default metrics (collectDefaultMetrics), so that a
// worker's memory, heap, handles and event-loop lag show per pid and vanish when it dies.

import type { GaugeMode } from '../store';

/**
 * Every gauge prom-client 11-15 creates in collectDefaultMetrics(). All describe the state of one
 * process, so all are `liveall`: one sample per live pid, removed by markProcessDead. That holds
 * for process_start_time_seconds too (each worker's start, so `time() - x` is its uptime; a sum or
 * max over workers means nothing) and nodejs_version_info (what each running worker runs).
 * process_cpu_*_seconds_total and nodejs_gc_duration_seconds are a counter and a histogram: they
 * keep counting after a worker dies, like any counter.
 */
const DEFAULT_GAUGES: readonly string[] = [
  'process_start_time_seconds',
  'process_resident_memory_bytes',
  'process_virtual_memory_bytes',
  'process_heap_bytes',
  'process_open_fds',
  'process_max_fds',
  'nodejs_eventloop_lag_seconds',
  'nodejs_eventloop_lag_min_seconds',
  'nodejs_eventloop_lag_max_seconds',
  'nodejs_eventloop_lag_mean_seconds',
  'nodejs_eventloop_lag_stddev_seconds',
  'nodejs_eventloop_lag_p50_seconds',
  'nodejs_eventloop_lag_p90_seconds',
  'nodejs_eventloop_lag_p99_seconds',
  'nodejs_active_handles',
  'nodejs_active_handles_total',
  'nodejs_active_requests',
  'nodejs_active_requests_total',
  'nodejs_active_resources',
  'nodejs_active_resources_total',
  'nodejs_heap_size_total_bytes',
  'nodejs_heap_size_used_bytes',
  'nodejs_external_memory_bytes',
  'nodejs_heap_space_size_total_bytes',
  'nodejs_heap_space_size_used_bytes',
  'nodejs_heap_space_size_available_bytes',
  'nodejs_version_info',
];

const DEFAULT_METRICS_MODE: GaugeMode = 'liveall';

/**
 * The mode for a default gauge, or undefined for any other name. collectDefaultMetrics({prefix})
 * prepends a prefix, so a name matches when it ends with a default name.
 */
export function defaultMetricGaugeMode(name: string): GaugeMode | undefined {
  for (const defaultName of DEFAULT_GAUGES) {
    if (name.endsWith(defaultName)) return DEFAULT_METRICS_MODE;
  }
  return undefined;
}

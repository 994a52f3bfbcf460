// The collector's public face: read a metrics directory, merge like Python, render, clean up.

import { DirectoryCollector } from './collector';
import type { MetricFamily } from './types';

export { DirectoryCollector } from './collector';
export type { CollectorOptions, CollectorStats } from './collector';
export { markProcessDead } from './cleanup';
export { compactDirectory } from './compaction';
export type { CompactionOptions, CompactionReport } from './compaction';
export { OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, renderOpenMetrics, renderText } from './exposition';
export type { MetricFamily, MetricType, Sample } from './types';

/** One-shot collect of a directory (no cache kept). */
export function collectDirectory(dir: string, options?: { warn?: (message: string) => void }): MetricFamily[] {
  return new DirectoryCollector(dir, options).collect();
}

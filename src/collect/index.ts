// The collector's face: read a metrics directory, merge like Python, render.

import { DirectoryCollector } from './collector';
import type { CollectorOptions } from './collector';
import type { MetricFamily } from './types';

export { DirectoryCollector } from './collector';
export type { CollectorLimits, CollectorOptions, CollectorStats } from './collector';
export { checkedKey, exposedNames } from './merge';
export { LabelExtension } from './label-extension';
export { OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, renderOpenMetrics, renderText } from './exposition';
export type { OpenMetricsContentType, TextContentType } from './exposition';
export type { MetricFamily, MetricType, Sample } from './types';

/** One-shot collect of a directory (no cache kept). */
export function collectDirectory(dir: string, options?: CollectorOptions): MetricFamily[] {
  return new DirectoryCollector(dir, options).collect();
}

// The collector's face: read a metrics directory, merge like Python (and native histograms),
// render.

import { DirectoryCollector } from './collector';
import type { CollectorOptions } from './collector';
import type { MetricFamily } from './types';

export { DirectoryCollector } from './collector';
export type { CollectorLimits, CollectorOptions, CollectorStats } from './collector';
export { checkedKey, exposedNames } from './merge';
export { LabelExtension } from './label-extension';
export { OPENMETRICS_CONTENT_TYPE, PROTOBUF_CONTENT_TYPE, TEXT_CONTENT_TYPE, renderOpenMetrics, renderText } from './exposition';
export type { OpenMetricsContentType, ProtobufContentType, TextContentType } from './exposition';
export { renderProtobuf } from './protobuf';
export { NativeGroup, NativeMerge, memberProblem, mergeNativeHistograms, resolveNativeKey } from './native-merge';
export type { NativeMember, NativeSource } from './native-merge';
export type { BucketSpan, MetricFamily, MetricType, NativeHistogram, NativeHistogramSeries, Sample, SampleExemplar } from './types';

/** One-shot collect of a directory (no cache kept). */
export function collectDirectory(dir: string, options?: CollectorOptions): MetricFamily[] {
  return new DirectoryCollector(dir, options).collect();
}

// The native histogram options of a Histogram (prom-client PR #856's and client_golang's names),
// checked at construction: each error names the option, what it must be and what was given.
import { DEFAULT_MAX_BUCKETS, DEFAULT_ZERO_THRESHOLD, schemaForFactor } from '../store';
import type { NativeSeriesOptions } from '../store';
import { describeMetric } from './validation';

export interface NativeHistogramOptions {
  nativeHistogramBucketFactor?: number;
  nativeHistogramMaxBucketNumber?: number;
  nativeHistogramZeroThreshold?: number;
}

/** The native series options, or undefined when native buckets are off (no factor given). */
export function checkNativeOptions(name: string, config: NativeHistogramOptions): NativeSeriesOptions | undefined {
  const { nativeHistogramBucketFactor: factor, nativeHistogramMaxBucketNumber: maxBuckets, nativeHistogramZeroThreshold: zeroThreshold } = config;
  const problem = (what: string): Error => new Error(`${describeMetric('Histogram', name)}: ${what}`);
  if (factor === undefined) {
    for (const [option, value] of [['nativeHistogramMaxBucketNumber', maxBuckets], ['nativeHistogramZeroThreshold', zeroThreshold]] as const) {
      if (value !== undefined) throw problem(`${option} has no effect without nativeHistogramBucketFactor (set it, e.g. to 1.1, to turn native buckets on)`);
    }
    return undefined;
  }
  if (typeof factor !== 'number' || !(factor > 1 && factor < Infinity)) {
    throw problem(`nativeHistogramBucketFactor must be a finite number above 1 (1.1 gives 8 buckets per power of two), got ${String(factor)}`);
  }
  if (maxBuckets !== undefined && !(Number.isSafeInteger(maxBuckets) && maxBuckets >= 0)) {
    throw problem(`nativeHistogramMaxBucketNumber must be an integer >= 0 (0: no limit), got ${String(maxBuckets)}`);
  }
  if (zeroThreshold !== undefined && !(typeof zeroThreshold === 'number' && zeroThreshold >= 0 && zeroThreshold < Infinity)) {
    throw problem(`nativeHistogramZeroThreshold must be a finite number >= 0 (0: only exact zeros), got ${String(zeroThreshold)}`);
  }
  return {
    schema: schemaForFactor(factor),
    zeroThreshold: zeroThreshold ?? DEFAULT_ZERO_THRESHOLD,
    maxBuckets: maxBuckets ?? DEFAULT_MAX_BUCKETS,
  };
}

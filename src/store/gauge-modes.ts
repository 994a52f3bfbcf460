// The gauge modes (Python's multiprocess_mode) and what each one means, in one table that the
// writer, the merge, compaction and the cleaners all ask instead of testing mode names.

export const GAUGE_MODES = [
  'all',
  'liveall',
  'sum',
  'livesum',
  'max',
  'livemax',
  'min',
  'livemin',
  'mostrecent',
  'livemostrecent',
] as const;
export type GaugeMode = (typeof GAUGE_MODES)[number];

/** How the values of one series in several processes' files become one merged value. */
export type Reduction = 'sum' | 'min' | 'max' | 'most-recent' | 'per-process';

export interface GaugeModeTraits {
  /**
   * How the processes' values merge; 'per-process' keeps one sample per process, labelled `pid`
   * (so a gauge of this mode may not have a label of that name).
   */
  reduction: Reduction;
  /** Its samples leave the merge when their process is marked dead (its files are deleted). */
  live: boolean;
  /** Every write also stores the wall-clock time, so that the merge can pick the newest value. */
  timestamped: boolean;
}

export const GAUGE_MODE_TRAITS: Readonly<Record<GaugeMode, GaugeModeTraits>> = {
  all: { reduction: 'per-process', live: false, timestamped: false },
  liveall: { reduction: 'per-process', live: true, timestamped: false },
  sum: { reduction: 'sum', live: false, timestamped: false },
  livesum: { reduction: 'sum', live: true, timestamped: false },
  max: { reduction: 'max', live: false, timestamped: false },
  livemax: { reduction: 'max', live: true, timestamped: false },
  min: { reduction: 'min', live: false, timestamped: false },
  livemin: { reduction: 'min', live: true, timestamped: false },
  mostrecent: { reduction: 'most-recent', live: false, timestamped: true },
  livemostrecent: { reduction: 'most-recent', live: true, timestamped: true },
};

/** The mode of a gauge that names none: Python's default. */
export const DEFAULT_GAUGE_MODE: GaugeMode = 'all';

export function isGaugeMode(mode: unknown): mode is GaugeMode {
  return typeof mode === 'string' && Object.prototype.hasOwnProperty.call(GAUGE_MODE_TRAITS, mode);
}

/**
 * Modes whose dead processes' values compaction folds into one archive: those that reduce across
 * processes and outlive them (a per-process mode keeps a sample per pid; a live one is deleted).
 */
export type ArchiveGaugeMode = 'sum' | 'min' | 'max' | 'mostrecent';
export const ARCHIVE_GAUGE_MODES: readonly ArchiveGaugeMode[] = GAUGE_MODES.filter(
  (mode): mode is ArchiveGaugeMode => !GAUGE_MODE_TRAITS[mode].live && GAUGE_MODE_TRAITS[mode].reduction !== 'per-process',
);

/** How a series of `type` (and gauge mode) merges: counters, histograms and summaries add up. */
export function reductionOf(type: string, mode: GaugeMode | undefined): Reduction {
  return type === 'gauge' ? GAUGE_MODE_TRAITS[mode ?? DEFAULT_GAUGE_MODE].reduction : 'sum';
}

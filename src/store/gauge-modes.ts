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
  'liveaverage',
  'livefirst',
] as const;
export type GaugeMode = (typeof GAUGE_MODES)[number];

/** How the values of one series in several processes' files become one merged value. */
export type Reduction = 'sum' | 'min' | 'max' | 'most-recent' | 'first' | 'average' | 'per-process';

/**
 * What an entry's timestamp holds. 'write-time': the wall-clock seconds of its last write (the
 * merge picks the newest). 'process-start': the writer's start in wall-clock seconds, written with
 * every value, so the merge can pick the oldest process ('first') or count the processes that hold
 * the series ('average'); a removed series gets 0 and takes no part. 'none': always 0.
 */
export type Stamp = 'none' | 'write-time' | 'process-start';

export interface GaugeModeTraits {
  /**
   * How the processes' values merge; 'per-process' keeps one sample per process, labelled `pid`
   * (so a gauge of this mode may not have a label of that name).
   */
  reduction: Reduction;
  /** Its samples leave the merge when their process is marked dead (its files are deleted). */
  live: boolean;
  /** What every write stores beside the value. */
  stamp: Stamp;
  /**
   * Python's client knows the mode. Its collector reads a file of another mode as one sample per
   * pid (as `all`), and its mark_process_dead leaves such a file: ours removes it.
   */
  python: boolean;
}

export const GAUGE_MODE_TRAITS: Readonly<Record<GaugeMode, GaugeModeTraits>> = {
  all: { reduction: 'per-process', live: false, stamp: 'none', python: true },
  liveall: { reduction: 'per-process', live: true, stamp: 'none', python: true },
  sum: { reduction: 'sum', live: false, stamp: 'none', python: true },
  livesum: { reduction: 'sum', live: true, stamp: 'none', python: true },
  max: { reduction: 'max', live: false, stamp: 'none', python: true },
  livemax: { reduction: 'max', live: true, stamp: 'none', python: true },
  min: { reduction: 'min', live: false, stamp: 'none', python: true },
  livemin: { reduction: 'min', live: true, stamp: 'none', python: true },
  mostrecent: { reduction: 'most-recent', live: false, stamp: 'write-time', python: true },
  livemostrecent: { reduction: 'most-recent', live: true, stamp: 'write-time', python: true },
  // prom-client's aggregators 'average' and 'first' (cluster mode asks the live workers only).
  liveaverage: { reduction: 'average', live: true, stamp: 'process-start', python: false },
  livefirst: { reduction: 'first', live: true, stamp: 'process-start', python: false },
};

/** The modes Python's client writes and merges itself. */
export const PYTHON_GAUGE_MODES: readonly GaugeMode[] = GAUGE_MODES.filter((mode) => GAUGE_MODE_TRAITS[mode].python);

/**
 * prom-client's `aggregator` option of a gauge (how its cluster mode merges the workers' values,
 * always those of the live workers) as the mode that merges the same way. 'omit' is not a mode:
 * such a gauge writes no file at all.
 */
export const AGGREGATOR_GAUGE_MODES = {
  sum: 'livesum',
  min: 'livemin',
  max: 'livemax',
  average: 'liveaverage',
  first: 'livefirst',
} as const satisfies Readonly<Record<string, GaugeMode>>;

/**
 * The mode of a gauge that names neither a multiprocessMode nor an aggregator: prom-client's
 * default aggregator, 'sum', over the live processes. An app moved from prom-client's cluster mode
 * sees the same values and the same series (no `pid` label), and a dead worker leaves nothing
 * behind; Python's default, `all`, keeps a sample per pid, dead ones included, forever.
 */
export const DEFAULT_GAUGE_MODE: GaugeMode = AGGREGATOR_GAUGE_MODES.sum;

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

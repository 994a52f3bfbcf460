// Compaction: folds the files of dead processes into one archive file per type (and gauge mode),
// in the same byte format, so a directory stays bounded however often workers are recycled.

import type { FileType, GaugeMode } from '../store/format';

/** Gauge modes whose dead-process values can be folded into one value per key. */
export const ARCHIVED_GAUGE_MODES = ['sum', 'min', 'max', 'mostrecent'] as const satisfies readonly GaugeMode[];

/** One archive per file type, and per gauge mode for gauges. */
export interface ArchiveGroup {
  type: FileType;
  mode?: (typeof ARCHIVED_GAUGE_MODES)[number];
}

// Copies the series of one prom-client metric into the store. Keys and slots are made once per
// series; after that a pass reads each series' values and writes only those that changed.

import type { MetricFile } from '../store/mmap-file';
import type { LabelValues, MetricLike } from './registry-shape';
import { seriesMap } from './registry-shape';
import type { SeriesLayout } from './series-layouts';

/** The store slots of one series and the values last written to them. */
interface SeriesSlots {
  slots: number[];
  written: Float64Array;
}

/** A series the store refused (say a label value past the format's limits): never retried. */
const REFUSED = null;

export class MetricMirror<Entry extends { labels: LabelValues }> {
  private readonly series = new Map<string, SeriesSlots | typeof REFUSED>();
  private readonly current: Float64Array;

  constructor(
    readonly metric: MetricLike,
    private readonly layout: SeriesLayout<Entry>,
    private readonly file: MetricFile,
    /** Registry-wide labels (setDefaultLabels); a series' own labels win, as in prom-client. */
    private readonly defaultLabels: Readonly<Record<string, string>>,
    /** Told what could not be mirrored; the caller keeps it to one warning per metric. */
    private readonly refuse: (problem: string) => void,
  ) {
    this.current = new Float64Array(layout.width);
  }

  /** Writes every series' current values; synchronous, so it also serves at process exit. */
  write(now: number): void {
    const map = seriesMap(this.metric);
    if (map === undefined) {
      this.refuse('it has no series table (hashMap) that this mirror can read');
      return;
    }
    const { layout, file, current } = this;
    // for-in over prom-client's plain-object table avoids allocating its key array on every pass.
    for (const hash in map) {
      const entry = map[hash];
      let slots = this.series.get(hash);
      if (slots === undefined) slots = this.addSeries(hash, entry);
      if (slots === REFUSED || !layout.isEntry(entry)) continue;
      layout.read(entry, current);
      const { written } = slots;
      for (let i = 0; i < current.length; i++) {
        const value = current[i];
        if (Object.is(value, written[i])) continue;
        if (layout.timestamped) file.setWithTimestamp(slots.slots[i], value, now);
        else file.set(slots.slots[i], value);
        written[i] = value;
      }
    }
  }

  private addSeries(hash: string, entry: unknown): SeriesSlots | typeof REFUSED {
    let slots: SeriesSlots | typeof REFUSED = REFUSED;
    if (!this.layout.isEntry(entry)) {
      this.refuse('a series in its hashMap does not have the shape of its metric type');
    } else {
      try {
        const keys = this.layout.keys(this.labelsOf(entry));
        const slotNumbers = keys.map((key) => this.file.slotOf(key));
        // A key may already be in the file (an earlier mirror of this metric): start from its value.
        const written = Float64Array.from(slotNumbers, (slot) => this.file.get(slot));
        slots = { slots: slotNumbers, written };
      } catch (error) {
        this.refuse(`a series was left out: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    this.series.set(hash, slots);
    return slots;
  }

  private labelsOf(entry: Entry): Record<string, string> {
    const labels: Record<string, string> = { ...this.defaultLabels };
    for (const name of Object.keys(entry.labels)) labels[name] = String(entry.labels[name]);
    return labels;
  }
}

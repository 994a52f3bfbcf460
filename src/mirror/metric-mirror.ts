// Copies the series of one prom-client metric into the store. Keys and slots are made once per
// series; after that a pass reads each series' values and writes only those that changed.

import type { MetricFile } from '../store';
import type { LabelValues, MetricLike } from './registry-shape';
import { seriesMap } from './registry-shape';
import type { SeriesLayout } from './series-layouts';

/**
 * The store slots of one series and the values last written to them. Plain arrays: a typed array
 * per series costs an ArrayBuffer each, which V8 allocates and collects far more slowly.
 */
interface SeriesSlots<Entry> {
  slots: number[];
  written: number[];
  /** The hashMap entry last read; prom-client keeps it until reset() or remove() replaces it. */
  entry: Entry;
  /** What a cumulative series had written when its entry was replaced: the store carries on from it. */
  carried: number[] | undefined;
}

/** A series the store refused (say a label value past the format's limits): never retried. */
const REFUSED = null;

export class MetricMirror<Entry extends { labels: LabelValues }> {
  private readonly series = new Map<string, SeriesSlots<Entry> | typeof REFUSED>();
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
      if (slots === REFUSED) continue;
      if (slots.entry !== entry) {
        if (!layout.isEntry(entry)) continue;
        // The app reset or removed the series and it started again from zero. A counter in the
        // store must never go down (the merged sum would read as a reset), so it carries on.
        if (layout.cumulative) slots.carried = slots.written.slice();
        slots.entry = entry;
      }
      layout.read(slots.entry, current);
      const { written, carried } = slots;
      for (let i = 0; i < current.length; i++) {
        const value = carried === undefined ? current[i] : carried[i] + current[i];
        if (Object.is(value, written[i])) continue;
        if (layout.stampAt !== undefined) file.setWithTimestamp(slots.slots[i], value, layout.stampAt(now));
        else file.set(slots.slots[i], value);
        written[i] = value;
      }
    }
  }

  private addSeries(hash: string, entry: unknown): SeriesSlots<Entry> | typeof REFUSED {
    let slots: SeriesSlots<Entry> | typeof REFUSED = REFUSED;
    if (!this.layout.isEntry(entry)) {
      this.refuse('a series in its hashMap does not have the shape of its metric type');
    } else {
      try {
        const keys = this.layout.keys(this.labelsOf(entry));
        const slotNumbers = keys.map((key) => this.file.slotOf(key));
        // A key may already be in the file (an earlier mirror of this metric): start from its value.
        const written = slotNumbers.map((slot) => this.file.get(slot));
        slots = { slots: slotNumbers, written, entry, carried: undefined };
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

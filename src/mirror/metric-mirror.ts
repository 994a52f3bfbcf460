// Copies the series of one prom-client metric into the store. Keys and slots are made once per
// series; after that a pass reads each series' values and writes only those that changed, and
// each exemplar newer than the one copied last (prom-client 15, enableExemplars).

import { checkExemplarLabels } from '../store';
import type { ExemplarLabels, ExemplarLog, MetricFile } from '../store';
import type { LabelValues, MetricLike } from './registry-shape';
import { isObject, seriesMap } from './registry-shape';
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
  /** The keys of its samples: an exemplar's key is its sample's. */
  keys: string[];
  /** Per position, once its first exemplar shows: its index in the log, and what was copied last. */
  exemplars: CopiedExemplars | undefined;
}

/**
 * prom-client overwrites one Exemplar object in place on every call, so what was copied is kept
 * by its parts: the labels object, the value and the timestamp.
 */
interface CopiedExemplars {
  indexes: number[];
  labelSets: unknown[];
  values: unknown[];
  timestamps: unknown[];
}

/** A series the store refused (say a label value past the format's limits): never retried. */
const REFUSED = null;

export class MetricMirror<Entry extends { labels: LabelValues }> {
  private readonly series = new Map<string, SeriesSlots<Entry> | typeof REFUSED>();
  private readonly current: Float64Array;
  private readonly exemplarsRead: unknown[] = [];

  constructor(
    readonly metric: MetricLike,
    private readonly layout: SeriesLayout<Entry>,
    private readonly file: MetricFile,
    /** Registry-wide labels (setDefaultLabels); a series' own labels win, as in prom-client. */
    private readonly defaultLabels: Readonly<Record<string, string>>,
    /** Told what could not be mirrored; the caller keeps it to one warning per metric. */
    private readonly refuse: (problem: string) => void,
    /** The store's exemplar log for this metric's type, when the metric enables exemplars. */
    private readonly exemplarLog?: ExemplarLog,
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
      if (layout.readExemplars !== undefined && this.exemplarLog !== undefined) this.copyExemplars(slots, layout.readExemplars);
    }
  }

  /**
   * Copies each exemplar of a series that is not the one copied last, with its own timestamp.
   * prom-client leaves a placeholder without a timestamp when its check refused a call (skipped),
   * and lets through label names that would fail the whole scrape (refused, one warning).
   */
  private copyExemplars(slots: SeriesSlots<Entry>, read: (entry: Entry, out: unknown[]) => void): void {
    const found = this.exemplarsRead;
    read(slots.entry, found);
    for (let i = 0; i < this.layout.width; i++) {
      const exemplar = found[i];
      if (!isObject(exemplar)) continue;
      const { labelSet, value, timestamp } = exemplar;
      if (typeof timestamp !== 'number' || !(timestamp > 0) || !Number.isFinite(timestamp)) continue;
      const copied = (slots.exemplars ??= { indexes: [], labelSets: [], values: [], timestamps: [] });
      if (copied.timestamps[i] === timestamp && copied.labelSets[i] === labelSet && copied.values[i] === value) continue;
      copied.labelSets[i] = labelSet;
      copied.values[i] = value;
      copied.timestamps[i] = timestamp;
      if (typeof value !== 'number' || !Number.isFinite(value) || checkExemplarLabels(labelSet) < 0) {
        this.refuse(
          'an exemplar was left out: its value or labels cannot be exposed (label names must match ' +
            '[a-zA-Z_][a-zA-Z0-9_]*, values be strings or numbers, at most 128 characters in all)',
        );
        continue;
      }
      const log = this.exemplarLog as ExemplarLog;
      copied.indexes[i] ??= log.indexOf(slots.keys[i]);
      log.record(copied.indexes[i], labelSet as ExemplarLabels, value, timestamp);
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
        slots = { slots: slotNumbers, written, entry, carried: undefined, keys, exemplars: undefined };
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

// How one series of each prom-client metric type becomes samples in the store, spelled exactly as
// the worker library and Python write them (see DESIGN.md "The file store").

import { GAUGE_MODE_TRAITS, encodeKey, familyNameOf, floatToGoString } from '../store';
import type { ExemplarFileType, FileType, GaugeMode, Stamp } from '../store';
import { isHistogramEntry, isObject, isSummaryEntry, isValueEntry } from './registry-shape';
import type { HistogramEntry, LabelValues, SummaryEntry, ValueEntry } from './registry-shape';

/** The samples of one series of one metric: which file, which keys, and how to read the values. */
export interface SeriesLayout<Entry extends { labels: LabelValues }> {
  readonly fileType: FileType;
  readonly gaugeMode: GaugeMode | undefined;
  /** Samples per series; read() fills that many values. */
  readonly width: number;
  /**
   * Stamped gauge modes: what a changed value is written with, from the time of the pass (the time
   * itself for mostrecent, the process's start for livefirst/liveaverage); undefined: no stamp.
   */
  readonly stampAt: ((passSeconds: number) => number) | undefined;
  /** Counts that only grow (counters, histograms, summaries): kept growing across an app's reset(). */
  readonly cumulative: boolean;
  isEntry(entry: unknown): entry is Entry;
  /** The keys of a series' samples, in the order read() fills them. Throws when it cannot be stored. */
  keys(labels: Record<string, string>): string[];
  /** Copies the series' current values into out[0..width). */
  read(entry: Entry, out: Float64Array): void;
  /** Counters and histograms: the exemplar file their exemplars go to. */
  readonly exemplarType?: ExemplarFileType;
  /**
   * prom-client 15's exemplars of the series into out[0..width), by the same positions as the
   * keys (undefined where there is none, or one outside its bucket): unchecked objects, as the
   * app's prom-client holds them.
   */
  readExemplars?(entry: Entry, out: unknown[]): void;
}

/** Counters hold this process's total; the merge sums the totals of all pids, dead ones too. */
export function counterLayout(name: string, help: string): SeriesLayout<ValueEntry> {
  const metricName = familyNameOf(name, 'counter');
  return {
    fileType: 'counter',
    gaugeMode: undefined,
    width: 1,
    stampAt: undefined,
    cumulative: true,
    isEntry: isValueEntry,
    keys: (labels) => [encodeKey(metricName, name, labels, help)],
    read: readValue,
    exemplarType: 'counter',
    readExemplars(entry, out) {
      out[0] = (entry as ValueEntry & { exemplar?: unknown }).exemplar;
    },
  };
}

export function gaugeLayout(name: string, help: string, mode: GaugeMode, startSeconds: number): SeriesLayout<ValueEntry> {
  const traits = GAUGE_MODE_TRAITS[mode];
  const stamps: Readonly<Record<Stamp, SeriesLayout<ValueEntry>['stampAt']>> = {
    none: undefined,
    'write-time': (passSeconds) => passSeconds,
    'process-start': () => startSeconds,
  };
  const addsPidLabel = traits.reduction === 'per-process';
  return {
    fileType: 'gauge',
    gaugeMode: mode,
    width: 1,
    stampAt: stamps[traits.stamp],
    cumulative: false,
    isEntry: isValueEntry,
    keys(labels) {
      if (addsPidLabel && 'pid' in labels) {
        throw new Error(
          `its label "pid" collides with the pid label that gauge mode "${mode}" adds when merging ` +
            '(rename the label, or give this gauge a mode without a pid label, e.g. livesum)',
        );
      }
      return [encodeKey(name, name, labels, help)];
    },
    read: readValue,
  };
}

/**
 * Per-bucket counts, not cumulative (`NAME_bucket` with `le`, +Inf included), and `NAME_sum`;
 * the merge derives `NAME_count` from +Inf. prom-client counts an observation in its first
 * matching bound only and leaves those past the last bound to `count`, so +Inf = count - buckets.
 */
export function histogramLayout(name: string, help: string, upperBounds: readonly number[]): SeriesLayout<HistogramEntry> {
  const boundKeys = upperBounds.map(String);
  const leLabels = [...upperBounds.map(floatToGoString), '+Inf'];
  const bucketName = `${name}_bucket`;
  const sumName = `${name}_sum`;
  return {
    fileType: 'histogram',
    gaugeMode: undefined,
    width: leLabels.length + 1,
    stampAt: undefined,
    cumulative: true,
    isEntry: isHistogramEntry,
    keys(labels) {
      const keys = leLabels.map((le) => encodeKey(name, bucketName, { ...labels, le }, help));
      keys.push(encodeKey(name, sumName, labels, help));
      return keys;
    },
    read(entry, out) {
      const buckets = entry.bucketValues;
      let counted = 0;
      for (let i = 0; i < boundKeys.length; i++) {
        const count = buckets[boundKeys[i]];
        out[i] = count;
        counted += count;
      }
      out[boundKeys.length] = entry.count - counted;
      out[boundKeys.length + 1] = entry.sum;
    },
    exemplarType: 'histogram',
    // prom-client keeps them by bound text, +Inf under '-1' (its key for "past every bound").
    readExemplars(entry, out) {
      const exemplars = (entry as HistogramEntry & { bucketExemplars?: unknown }).bucketExemplars;
      for (let i = 0; i <= boundKeys.length; i++) {
        const exemplar = isObject(exemplars) ? exemplars[i < boundKeys.length ? boundKeys[i] : '-1'] : undefined;
        // An exemplar belongs in the first bucket whose bound holds it: anything else is dropped.
        const fits =
          isObject(exemplar) &&
          typeof exemplar.value === 'number' &&
          (i === boundKeys.length || exemplar.value <= upperBounds[i]) &&
          (i === 0 || exemplar.value > upperBounds[i - 1]);
        out[i] = fits ? exemplar : undefined;
      }
      out[boundKeys.length + 1] = undefined;
    },
  };
}

/** `NAME_count` and `NAME_sum`, as Python's collector reads them; the quantiles go to the sketch file. */
export function summaryLayout(name: string, help: string): SeriesLayout<SummaryEntry> {
  const countName = `${name}_count`;
  const sumName = `${name}_sum`;
  return {
    fileType: 'summary',
    gaugeMode: undefined,
    width: 2,
    stampAt: undefined,
    cumulative: true,
    isEntry: isSummaryEntry,
    keys: (labels) => [encodeKey(name, countName, labels, help), encodeKey(name, sumName, labels, help)],
    read(entry, out) {
      out[0] = entry.count;
      out[1] = entry.sum;
    },
  };
}

function readValue(entry: ValueEntry, out: Float64Array): void {
  out[0] = entry.value;
}

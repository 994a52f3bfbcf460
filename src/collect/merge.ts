// Merges the entries of many per-process files exactly as Python's MultiProcessCollector does
// (counters and summaries summed, gauges by mode, histogram buckets summed then made cumulative).
// Keys are resolved once to a series index; a scrape then only folds numbers into typed arrays.

import {
  DEFAULT_GAUGE_MODE,
  LABEL_NAME_PATTERN,
  METRIC_NAME_PATTERN,
  decodeKey,
  floatToGoString,
  isReservedLabelName,
  reductionOf,
} from '../store';
import type { DecodedKey, FileType, GaugeMode, KeyIndex, Reduction } from '../store';
import type { MetricFamily, Sample, SampleExemplar } from './types';

/** Where a summary series' quantile samples come from (the sketch files), asked when it is emitted. */
export interface QuantileSource {
  /** Samples to put before the series' `_count` and `_sum`; 'pruned' leaves the series out. */
  quantileSamples(family: string, identity: string): Sample[] | 'pruned' | undefined;
}

/** Where entries come from: what the file's name says. */
export interface EntrySource {
  type: FileType;
  mode: GaugeMode | undefined;
  /** `PID`, `PID-THREADID` or `PID.deadINODE`: the `pid` label of `all` and `liveall` gauges. */
  owner: string;
}

/**
 * Maps the key ids of one kind of file to series: a target >= 0 is a series, a negative one a
 * skipped entry (SampleMerger.problemOf says why).
 */
export interface EntryResolver {
  resolve(keyId: number): number;
}

/** A target for an entry whose new series would pass the merger's limit (found again each time). */
export const SERIES_LIMIT_REACHED = -(2 ** 31);

/** What gives merged samples their exemplars (exemplar-merge.ts): the latest of a series, if any. */
export interface ExemplarSource {
  exemplarFor(series: number, type: FileType, sample: Sample): SampleExemplar | undefined;
}

// Reductions as numbers, for the typed array the scrape loop switches on.
const SUM = 0;
const MIN = 1;
const MAX = 2;
const MOST_RECENT = 3;
/** One series per process, so the only value a series gets is its own file's. */
const PER_PROCESS = 4;
/** The value of the process that started first (smallest non-zero stamp). */
const FIRST = 5;
/** The mean over the processes whose entry is stamped (a removed series has stamp 0). */
const AVERAGE = 6;
const REDUCTION_CODES: Readonly<Record<Reduction, number>> = {
  sum: SUM,
  min: MIN,
  max: MAX,
  'most-recent': MOST_RECENT,
  'per-process': PER_PROCESS,
  first: FIRST,
  average: AVERAGE,
};

function describe(type: FileType, mode: GaugeMode | undefined): string {
  return type === 'gauge' ? `gauge (mode ${mode ?? DEFAULT_GAUGE_MODE})` : type;
}

/** The sample names a family of each type may hold in a file: its name plus one of these. */
const SAMPLE_SUFFIXES: Readonly<Record<FileType, readonly string[]>> = {
  counter: ['', '_total'],
  gauge: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

/** Every name a family shows in an exposition: its TYPE line's and its samples'. */
export function exposedNames(name: string, type: FileType): string[] {
  return [...new Set([name, ...SAMPLE_SUFFIXES[type].map((suffix) => `${name}${suffix}`)])];
}

/** A key taken apart and checked (names, label names), or why it cannot be exposed. */
export function checkedKey(key: string, ownReservedLabels?: ReadonlySet<string>): DecodedKey | string {
  let decoded: DecodedKey;
  try {
    decoded = decodeKey(key);
  } catch (error) {
    return `key ${abbreviate(key)} is not a valid key (${(error as Error).message})`;
  }
  if (!METRIC_NAME_PATTERN.test(decoded.metricName)) return `metric name ${JSON.stringify(decoded.metricName)} is invalid`;
  if (!METRIC_NAME_PATTERN.test(decoded.sampleName)) {
    return `metric "${decoded.metricName}": sample name ${JSON.stringify(decoded.sampleName)} is invalid`;
  }
  for (const name of Object.keys(decoded.labels)) {
    if (!LABEL_NAME_PATTERN.test(name)) return `metric "${decoded.metricName}": label name ${JSON.stringify(name)} is invalid`;
    // Prometheus's own labels (`__name__` would repeat the name: the whole target goes down).
    if (isReservedLabelName(name) && ownReservedLabels?.has(name) !== true) {
      return `metric "${decoded.metricName}": label name ${JSON.stringify(name)} is reserved (names starting with "__" belong to Prometheus)`;
    }
  }
  return decoded;
}

function abbreviate(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
}

/** Python's float() of an `le` label, or undefined where Python would raise (or give nan). */
function parseBound(text: string): number | undefined {
  const trimmed = text.trim().toLowerCase();
  if (/^[+]?(inf|infinity)$/.test(trimmed)) return Infinity;
  if (/^-(inf|infinity)$/.test(trimmed)) return -Infinity;
  if (!/^[+-]?(\d[\d_]*(\.[\d_]*)?|\.\d[\d_]*)(e[+-]?\d+)?$/.test(trimmed)) return undefined;
  const value = Number(trimmed.replace(/_/g, ''));
  return Number.isNaN(value) ? undefined : value;
}

/** One label set of a family: its histogram buckets (by bound) and its other series. */
interface SeriesGroup {
  /** The labels as JSON: the group's identity, and its place in the output order. */
  identity: string;
  labels: Readonly<Record<string, string>>;
  /** Histogram buckets by bound (undefined until the group has one). */
  buckets: Buckets | undefined;
  /** Every other series: one per sample name, so a few at most (found by a scan). */
  plainSeries: number[];
}

interface Buckets {
  bounds: number[];
  series: number[];
  sorted: boolean;
}

interface Family {
  name: string;
  help: string;
  type: FileType;
  /** The sample names this family may hold, each to itself: one string per name for every series. */
  sampleNames: Map<string, string>;
  mode: GaugeMode | undefined;
  reduction: number;
  groups: SeriesGroup[];
  groupsSorted: boolean;
  groupsByLabels: Map<string, SeriesGroup>;
}

/**
 * The series table of a directory. A resolver maps an entry's key to a series (or a problem);
 * per scrape: `beginScrape`, `accumulate` for every file, then `families`.
 */
export class SampleMerger {
  private readonly familiesByName = new Map<string, Family>();
  /** Families by every name they expose: two families must never show the same one. */
  private readonly familiesByExposedName = new Map<string, Family>();
  private familyOrder: Family[] | undefined;
  private readonly resolvers = new Map<string, KeyResolver>();
  private readonly problems: string[] = [];
  private readonly boundTexts = new Map<number, string>();
  private size = 0;
  private reductions = new Uint8Array(256);
  private values = new Float64Array(256);
  private stamps = new Float64Array(256);
  private seen = new Uint8Array(256);
  private readonly sampleNames: string[] = [];
  private readonly sampleLabels: Readonly<Record<string, string>>[] = [];

  /** `keys`: the index the files' key ids come from; `seriesLimit`: most series held. */
  constructor(
    private readonly keys: KeyIndex,
    private readonly seriesLimit: number = Infinity,
  ) {}

  /** Series known, including those no file holds any more. */
  get seriesCount(): number {
    return this.size;
  }

  /**
   * The resolver of one file's entries. Files whose keys mean the same series share one
   * (all counter files do; `all`/`liveall` gauge files only with their own owner).
   */
  resolverFor(source: EntrySource): EntryResolver {
    const perPid = reductionOf(source.type, source.mode) === 'per-process';
    const sourceKey = perPid ? `gauge_${source.mode ?? DEFAULT_GAUGE_MODE}_${source.owner}` : `${source.type}_${source.mode ?? ''}`;
    let resolver = this.resolvers.get(sourceKey);
    if (resolver === undefined) {
      resolver = new KeyResolver((keyId) => this.resolveNew(source, keyId, perPid));
      this.resolvers.set(sourceKey, resolver);
    }
    return resolver;
  }

  /** Why entries with this (negative) target are skipped. */
  problemOf(target: number): string {
    if (target === SERIES_LIMIT_REACHED) return `the limit of ${this.seriesLimit} series is reached`;
    return this.problems[-target - 1];
  }

  private skip(problem: string): number {
    this.problems.push(problem);
    return -this.problems.length;
  }

  private resolveNew(source: EntrySource, keyId: number, perPid: boolean): number {
    const decoded = checkedKey(this.keys.text(keyId));
    if (typeof decoded === 'string') return this.skip(decoded);
    const family = this.familyFor(decoded, source);
    if (typeof family === 'string') return this.skip(family);
    const sampleName = family.sampleNames.get(decoded.sampleName);
    if (sampleName === undefined) {
      // Exposed under its family's TYPE line, such a sample would make the whole scrape unparsable.
      return this.skip(
        `metric "${family.name}": sample name ${JSON.stringify(decoded.sampleName)} does not belong to a ${family.type} of that name`,
      );
    }

    const labels: Record<string, string> = {};
    for (const name of Object.keys(decoded.labels).sort()) {
      // Python drops a `pid` label from reduced gauges and lets the file's pid win in all/liveall.
      if (source.type === 'gauge' && name === 'pid') continue;
      if (family.type === 'histogram' && name === 'le') continue;
      labels[name] = decoded.labels[name];
    }
    if (perPid) labels.pid = source.owner;
    const group = this.groupFor(family, labels);

    const le = family.type === 'histogram' ? decoded.labels.le : undefined;
    if (le !== undefined) {
      const bound = parseBound(le);
      if (bound === undefined) return this.skip(`metric "${family.name}": bucket bound le=${JSON.stringify(le)} is not a number`);
      group.buckets ??= { bounds: [], series: [], sorted: true };
      const buckets = group.buckets;
      const existing = buckets.bounds.indexOf(bound);
      if (existing >= 0) return buckets.series[existing];
      if (this.size >= this.seriesLimit) return SERIES_LIMIT_REACHED;
      const series = this.newSeries(family.reduction, `${family.name}_bucket`, { ...group.labels, le: this.boundText(bound) });
      buckets.bounds.push(bound);
      buckets.series.push(series);
      buckets.sorted = false;
      return series;
    }
    for (const existing of group.plainSeries) if (this.sampleNames[existing] === sampleName) return existing;
    if (this.size >= this.seriesLimit) return SERIES_LIMIT_REACHED;
    const series = this.newSeries(family.reduction, sampleName, group.labels);
    // Kept sorted by sample name, so the order of a group's samples (a summary's _count and _sum)
    // does not depend on which file showed them first: compaction changes that.
    const names = this.sampleNames;
    let at = group.plainSeries.length;
    while (at > 0 && names[group.plainSeries[at - 1]] > sampleName) at--;
    group.plainSeries.splice(at, 0, series);
    return series;
  }

  /** `le` as Python spells it, one string per bound for the whole table. */
  private boundText(bound: number): string {
    let text = this.boundTexts.get(bound);
    if (text === undefined) {
      text = floatToGoString(bound);
      this.boundTexts.set(bound, text);
    }
    return text;
  }

  private familyFor(decoded: DecodedKey, source: EntrySource): Family | string {
    const existing = this.familiesByName.get(decoded.metricName);
    if (existing === undefined) {
      const names = exposedNames(decoded.metricName, source.type);
      for (const name of names) {
        const owner = this.familiesByExposedName.get(name);
        // Two TYPE lines (or samples) under one name make Prometheus refuse the whole scrape.
        if (owner !== undefined) {
          return (
            `metric "${decoded.metricName}" (a ${describe(source.type, source.mode)}) would be exposed as "${name}", ` +
            `already the name of the ${describe(owner.type, owner.mode)} "${owner.name}": these entries are skipped`
          );
        }
      }
      const family: Family = {
        name: decoded.metricName,
        help: decoded.help,
        type: source.type,
        sampleNames: new Map(SAMPLE_SUFFIXES[source.type].map((suffix) => [`${decoded.metricName}${suffix}`, `${decoded.metricName}${suffix}`])),
        mode: source.type === 'gauge' ? (source.mode ?? DEFAULT_GAUGE_MODE) : undefined,
        reduction: REDUCTION_CODES[reductionOf(source.type, source.mode)],
        groups: [],
        groupsSorted: true,
        groupsByLabels: new Map(),
      };
      this.familiesByName.set(family.name, family);
      for (const name of names) this.familiesByExposedName.set(name, family);
      this.familyOrder = undefined;
      return family;
    }
    const mode = source.type === 'gauge' ? (source.mode ?? DEFAULT_GAUGE_MODE) : undefined;
    if (existing.type !== source.type || existing.mode !== mode) {
      return (
        `metric "${existing.name}" is a ${describe(existing.type, existing.mode)} in other files ` +
        `but a ${describe(source.type, mode)} here: these entries are skipped`
      );
    }
    return existing;
  }

  private groupFor(family: Family, labels: Record<string, string>): SeriesGroup {
    const identity = JSON.stringify(labels);
    let group = family.groupsByLabels.get(identity);
    if (group === undefined) {
      group = {
        identity,
        labels: Object.freeze(labels),
        buckets: undefined,
        plainSeries: [],
      };
      family.groupsByLabels.set(identity, group);
      family.groups.push(group);
      family.groupsSorted = false;
    }
    return group;
  }

  private newSeries(reduction: number, sampleName: string, labels: Record<string, string>): number {
    if (this.size === this.values.length) this.grow();
    const index = this.size++;
    this.reductions[index] = reduction;
    this.sampleNames.push(sampleName);
    this.sampleLabels.push(Object.isFrozen(labels) ? labels : Object.freeze(labels));
    return index;
  }

  private grow(): void {
    // Series appear mid-scrape, so what earlier files folded in must be kept.
    const length = this.values.length * 2;
    this.reductions = grownCopy(this.reductions, new Uint8Array(length));
    this.values = grownCopy(this.values, new Float64Array(length));
    this.stamps = grownCopy(this.stamps, new Float64Array(length));
    this.seen = grownCopy(this.seen, new Uint8Array(length));
  }

  /** Forgets the values of the last scrape (series stay known). */
  beginScrape(): void {
    this.values.fill(0, 0, this.size);
    this.stamps.fill(0, 0, this.size);
    this.seen.fill(0, 0, this.size);
  }

  /**
   * Folds one file's values in: entry i (value at numbers[slots[i]], timestamp right after it)
   * goes to series targets[i]; a negative target is a skipped entry.
   */
  accumulate(targets: Int32Array, count: number, numbers: Float64Array, slots: Int32Array): void {
    const { reductions, values, stamps, seen } = this;
    for (let i = 0; i < count; i++) {
      const series = targets[i];
      if (series < 0) continue;
      const slot = slots[i];
      const value = numbers[slot];
      switch (reductions[series]) {
        case SUM:
          values[series] += value;
          seen[series] = 1;
          break;
        case MIN:
          if (seen[series] === 0 || value < values[series]) values[series] = value;
          seen[series] = 1;
          break;
        case MAX:
          if (seen[series] === 0 || value > values[series]) values[series] = value;
          seen[series] = 1;
          break;
        case MOST_RECENT: {
          // As in Python: a timestamp of 0 (never set) never wins, even alone.
          const stamp = numbers[slot + 1];
          if (stamps[series] < stamp) {
            values[series] = value;
            stamps[series] = stamp;
            seen[series] = 1;
          }
          break;
        }
        case FIRST: {
          // Files come in name order, so processes started in the same millisecond tie the same way every scrape.
          const stamp = numbers[slot + 1];
          if (stamp > 0 && (seen[series] === 0 || stamp < stamps[series])) {
            values[series] = value;
            stamps[series] = stamp;
            seen[series] = 1;
          }
          break;
        }
        case AVERAGE:
          // stamps counts the processes that hold the series; emit divides by it.
          if (numbers[slot + 1] > 0) {
            values[series] += value;
            stamps[series] += 1;
            seen[series] = 1;
          }
          break;
        default: // PER_PROCESS
          values[series] = value;
          seen[series] = 1;
      }
    }
  }

  /** Series that no file gave a value in the last scrape. */
  unusedSeries(): number {
    let used = 0;
    for (let i = 0; i < this.size; i++) used += this.seen[i];
    return this.size - used;
  }

  /**
   * The families of the last scrape, by name, series by labels; histograms cumulative with
   * `_count`; summaries with the quantiles `quantiles` has for them; with `exemplars`, the samples
   * that have one carry it.
   */
  families(quantiles?: QuantileSource, exemplars?: ExemplarSource): MetricFamily[] {
    if (this.familyOrder === undefined) {
      this.familyOrder = [...this.familiesByName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    }
    const result: MetricFamily[] = [];
    for (const family of this.familyOrder) {
      // Series come out in label order, not in the order files happen to list them, so the
      // exposition stays the same when files are renamed, compacted or read in another order.
      if (!family.groupsSorted) {
        family.groups.sort((a, b) => (a.identity < b.identity ? -1 : a.identity > b.identity ? 1 : 0));
        family.groupsSorted = true;
      }
      const samples: Sample[] = [];
      for (const group of family.groups) {
        const shown = family.type === 'summary' && group.plainSeries.some((series) => this.seen[series] === 1);
        const quantileSamples = shown ? quantiles?.quantileSamples(family.name, group.identity) : undefined;
        if (quantileSamples === 'pruned') continue;
        if (quantileSamples !== undefined) samples.push(...quantileSamples);
        this.emitGroup(family, group, samples, exemplars);
      }
      if (samples.length > 0) result.push({ name: family.name, help: family.help, type: family.type, samples });
    }
    return result;
  }

  private emitGroup(family: Family, group: SeriesGroup, samples: Sample[], exemplars: ExemplarSource | undefined): void {
    const { values, seen } = this;
    let derivedCount = false;
    const buckets = group.buckets;
    if (buckets !== undefined) {
      if (!buckets.sorted) sortBuckets(buckets);
      let cumulative = 0;
      for (const series of buckets.series) {
        if (seen[series] === 0) continue;
        cumulative += values[series];
        samples.push(this.sampleOf(series, cumulative, family.type, exemplars));
        derivedCount = true;
      }
      // Python: `_count` is the +Inf bucket (the last cumulative value), replacing any stored one.
      if (derivedCount) samples.push({ name: `${family.name}_count`, labels: group.labels, value: cumulative });
    }
    const countName = `${family.name}_count`;
    for (const series of group.plainSeries) {
      if (seen[series] === 0) continue;
      const name = this.sampleNames[series];
      if (derivedCount && name === countName) continue;
      const value = family.reduction === AVERAGE ? values[series] / this.stamps[series] : values[series];
      samples.push(this.sampleOf(series, value, family.type, exemplars));
    }
  }

  private sampleOf(series: number, value: number, type: FileType, exemplars: ExemplarSource | undefined): Sample {
    const sample: Sample = { name: this.sampleNames[series], labels: this.sampleLabels[series], value };
    const exemplar = exemplars?.exemplarFor(series, type, sample);
    if (exemplar !== undefined) sample.exemplar = exemplar;
    return sample;
  }
}

/** One kind of file's key ids -> targets, each resolved once (stored + 1, so that 0 is unknown). */
class KeyResolver implements EntryResolver {
  private targets = new Int32Array(1024);

  constructor(private readonly resolveNew: (keyId: number) => number) {}

  resolve(keyId: number): number {
    if (keyId >= this.targets.length) this.targets = grownCopy(this.targets, new Int32Array(Math.max(keyId + 1, this.targets.length * 2)));
    const known = this.targets[keyId];
    if (known > 0) return known - 1;
    if (known < 0) return known;
    const target = this.resolveNew(keyId);
    if (target !== SERIES_LIMIT_REACHED) this.targets[keyId] = target >= 0 ? target + 1 : target;
    return target;
  }
}

function sortBuckets(buckets: Buckets): void {
  const order = buckets.bounds.map((_, index) => index).sort((a, b) => buckets.bounds[a] - buckets.bounds[b]);
  buckets.bounds = order.map((index) => buckets.bounds[index]);
  buckets.series = order.map((index) => buckets.series[index]);
  buckets.sorted = true;
}

function grownCopy<T extends Uint8Array | Int32Array | Float64Array>(source: T, target: T): T {
  target.set(source);
  return target;
}

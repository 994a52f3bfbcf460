// The native histogram files (`*.nhdb`) of one directory, read with the same defensive, incremental
// reader as the .db files: each distinct key is parsed once (keys interned across files), a warm
// scrape copies values and merges them through each series' plan. A bad entry or count is skipped
// with a problem, never failing the scrape.

import { KeyIndex, MetricFileReader, NativeFileSeries } from '../store';
import type { NativeKey, ReadBuffer } from '../store';
import { exposedNames } from './merge';
import { MAX_MEMBER_COUNT, NativeGroup, NativeMerge, isCount, memberProblem, resolveNativeKey } from './native-merge';
import type { NativeMember, NativeSource } from './native-merge';
import type { MetricFamily, NativeHistogramSeries } from './types';

/** What reading one native file gave: like the collector's outcomes for .db files. */
export type NativeFileOutcome =
  | { status: 'missing' }
  | { status: 'unreadable'; problem: string }
  /** `limit`: why the rest of the file was left unread in this scrape (the bytes limit). */
  | { status: 'read'; problem: string | undefined; limit: string | undefined; bytesRead: number };

/** Keys held past those of the files still read, before the key table is built again. */
const STALE_KEYS_LIMIT = 4096;

/** A family's merged native series, by label order. */
export interface NativeFamily {
  name: string;
  help: string;
  series: NativeHistogramSeries[];
}

interface TrackedFile extends NativeSource {
  reader: MetricFileReader;
  layoutVersion: number;
  /** Entries resolved so far. */
  mapped: number;
  /** This file's series as its entries say. */
  layouts: NativeFileSeries;
  /** This file's share of each series' merge. */
  members: NativeMember[];
  /** 1 at the position of a sum (the one value that need not be a count). */
  sums: Uint8Array;
  /** The first problem met while resolving entries (kept until the file's layout changes). */
  entryProblem: string | undefined;
  /** In this scrape: whether it was read, and whether all its members are usable. */
  read: boolean;
  whole: boolean;
}

interface Family {
  name: string;
  help: string;
  groups: Map<string, NativeGroup>;
  sorted: NativeGroup[] | undefined;
}

export class NativeHistogramFiles {
  private keys = new KeyIndex();
  /** Each interned key read as a native entry (or why it is not one), by key id. */
  private parsedKeys: Array<NativeKey | string> = [];
  private readonly files = new Map<string, TrackedFile>();
  private readonly familiesByName = new Map<string, Family>();
  private familyOrder: Family[] | undefined;
  private readonly merge = new NativeMerge();
  /** The files read in this scrape, in the order they were read (file name order). */
  private readThisScrape: TrackedFile[] = [];

  /** Series known now (each at least in one file). */
  get seriesCount(): number {
    let count = 0;
    for (const family of this.familiesByName.values()) count += family.groups.size;
    return count;
  }

  /** `buffer`: the collector's, which holds one file's bytes at a time. */
  constructor(private readonly buffer: ReadBuffer) {}

  /** Marks every file unread: a file not read in this scrape takes no part in its merge. */
  beginScrape(): void {
    let mapped = 0;
    for (const file of this.files.values()) mapped += file.mapped;
    // Keys of files long gone: every file is parsed again, against a new table.
    if (this.keys.size - mapped > STALE_KEYS_LIMIT) {
      for (const filePath of [...this.files.keys()]) this.forget(filePath);
      this.keys = new KeyIndex();
      this.parsedKeys = [];
    }
    for (const file of this.files.values()) {
      file.read = false;
      for (const member of file.members) member.usable = false;
    }
    this.readThisScrape = [];
  }

  /** Reads one file (by its path), at most `maxBytes` of it, and readies its members for the merge. */
  read(filePath: string, maxBytes = Infinity): NativeFileOutcome {
    let file = this.files.get(filePath);
    if (file === undefined) {
      file = {
        name: filePath,
        reader: new MetricFileReader(filePath, { keys: this.keys, buffer: this.buffer }),
        layoutVersion: -1,
        mapped: 0,
        layouts: new NativeFileSeries(),
        members: [],
        sums: new Uint8Array(64),
        entryProblem: undefined,
        values: new Float64Array(64),
        targets: new Int32Array(64),
        read: false,
        whole: false,
      };
      this.files.set(filePath, file);
    }
    const result = file.reader.read(maxBytes);
    if (result.status === 'missing') {
      this.forget(filePath);
      return result;
    }
    if (result.status === 'unreadable') return result;
    const contents = result.contents;
    if (contents.layoutVersion !== file.layoutVersion) {
      this.dropMembers(file);
      file.layoutVersion = contents.layoutVersion;
      file.mapped = 0;
      file.entryProblem = undefined;
    }
    const { count, keyIds } = contents;
    for (let position = file.mapped; position < count; position++) {
      const problem = this.resolve(file, this.parsedKey(keyIds[position]), position);
      if (problem !== undefined) file.entryProblem ??= problem;
    }
    file.mapped = count;
    if (file.values.length < count) file.values = grown(file.values, count);
    if (file.targets.length < count) file.targets = grown(file.targets, count);
    // Copied now: the shared buffer holds this file's bytes only until the next file is read. Every
    // value but a sum must be a count, and no series may count more than MAX_MEMBER_COUNT (none
    // does while the whole file counts no more); only when either fails are the series looked at
    // one by one.
    const { numbers, slots } = contents;
    const { values, sums } = file;
    let allSound = true;
    let fileTotal = 0;
    for (let position = 0; position < count; position++) {
      const value = numbers[slots[position]];
      values[position] = value;
      if (sums[position] !== 0) continue;
      if (isCount(value)) fileTotal += value;
      else allSound = false;
    }
    if (fileTotal > MAX_MEMBER_COUNT) allSound = false;
    let countProblem: string | undefined;
    for (const member of file.members) {
      const problem = allSound ? undefined : memberProblem(member.layout, values);
      member.usable = problem === undefined;
      countProblem ??= problem;
    }
    file.read = true;
    file.whole = countProblem === undefined;
    this.readThisScrape.push(file);
    return {
      status: 'read',
      problem: contents.problem ?? file.entryProblem ?? (countProblem && `${countProblem}; that series of this file is left out`),
      limit: contents.limit,
      bytesRead: contents.bytesRead,
    };
  }

  /** Forgets files no longer listed (their series leave the merge). */
  forgetAllBut(present: ReadonlySet<string>): void {
    for (const filePath of this.files.keys()) if (!present.has(filePath)) this.forget(filePath);
  }

  /** The merged families, by name, series by labels; `warn` gets a series that cannot be exposed. */
  families(warn: (problem: string) => void): NativeFamily[] {
    this.familyOrder ??= [...this.familiesByName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const family of this.familyOrder) {
      family.sorted ??= [...family.groups.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, group]) => group);
    }
    this.merge.begin(this.familyOrder.flatMap((family) => family.sorted ?? []));
    // A file that vanished after its read (it was forgotten since) is no part of this merge.
    for (const file of this.readThisScrape) if (file.read) this.merge.add(file, file.mapped, file.members, file.whole);
    const result: NativeFamily[] = [];
    for (const family of this.familyOrder) {
      const series: NativeHistogramSeries[] = [];
      for (const group of family.sorted ?? []) {
        const histogram = this.merge.result(group);
        if (typeof histogram === 'string') warn(histogram);
        else if (histogram !== undefined) series.push({ labels: group.labels, histogram });
      }
      if (series.length > 0) result.push({ name: family.name, help: family.help, series });
    }
    return result;
  }

  private parsedKey(id: number): NativeKey | string {
    let parsed = this.parsedKeys[id];
    if (parsed === undefined) {
      parsed = resolveNativeKey(this.keys.text(id));
      this.parsedKeys[id] = parsed;
    }
    return parsed;
  }

  private resolve(file: TrackedFile, parsed: NativeKey | string, position: number): string | undefined {
    if (position >= file.sums.length) file.sums = grown(file.sums, position + 1);
    file.sums[position] = typeof parsed !== 'string' && parsed.role === 'sum' ? 1 : 0;
    if (typeof parsed === 'string') return parsed;
    const { started, problem } = file.layouts.add(parsed, position);
    if (started !== undefined) file.members.push(this.groupFor(started).add(started, file));
    return problem;
  }

  private groupFor(layout: NativeMember['layout']): NativeGroup {
    let family = this.familiesByName.get(layout.metricName);
    if (family === undefined) {
      family = { name: layout.metricName, help: layout.help, groups: new Map(), sorted: undefined };
      this.familiesByName.set(family.name, family);
      this.familyOrder = undefined;
    }
    let group = family.groups.get(layout.identity);
    if (group === undefined) {
      group = new NativeGroup(layout.metricName, layout.labels);
      family.groups.set(layout.identity, group);
      family.sorted = undefined;
    }
    return group;
  }

  private forget(filePath: string): void {
    const file = this.files.get(filePath);
    if (file === undefined) return;
    this.dropMembers(file);
    file.read = false;
    this.files.delete(filePath);
  }

  private dropMembers(file: TrackedFile): void {
    for (const member of file.members) {
      const family = this.familiesByName.get(member.layout.metricName);
      const group = family?.groups.get(member.layout.identity);
      if (family === undefined || group === undefined) continue;
      group.remove(member);
      if (group.members.length > 0) continue;
      family.groups.delete(member.layout.identity);
      family.sorted = undefined;
      if (family.groups.size > 0) continue;
      this.familiesByName.delete(family.name);
      this.familyOrder = undefined;
    }
    file.members = [];
    file.layouts = new NativeFileSeries();
  }
}

/**
 * The classic families with the native series joined to the histogram of the same name. A native
 * family without a classic one (its .db part unreadable) becomes a histogram of its own, unless
 * another family shows one of its names (two TYPE lines under one name fail a whole scrape).
 */
export function joinNativeFamilies(classic: MetricFamily[], native: readonly NativeFamily[], warn: (problem: string) => void): MetricFamily[] {
  if (native.length === 0) return classic;
  const byName = new Map(classic.map((family) => [family.name, family]));
  let taken: Map<string, MetricFamily> | undefined;
  let added = false;
  for (const family of native) {
    const existing = byName.get(family.name);
    if (existing !== undefined) {
      if (existing.type === 'histogram') existing.nativeHistograms = family.series;
      else warn(`native histogram "${family.name}" has the name of a ${existing.type} of the .db files: it is left out`);
      continue;
    }
    taken ??= new Map(classic.flatMap((other) => exposedNames(other.name, other.type).map((name): [string, MetricFamily] => [name, other])));
    const owner = exposedNames(family.name, 'histogram')
      .map((name) => taken?.get(name))
      .find((found) => found !== undefined);
    if (owner !== undefined) {
      warn(`native histogram "${family.name}" would be exposed under a name of the ${owner.type} "${owner.name}": it is left out`);
      continue;
    }
    classic.push({ name: family.name, help: family.help, type: 'histogram', samples: [], nativeHistograms: family.series });
    added = true;
  }
  if (added) classic.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return classic;
}

function grown<T extends Float64Array | Int32Array | Uint8Array>(array: T, atLeast: number): T {
  const larger = new (array.constructor as new (length: number) => T)(Math.max(atLeast, array.length * 2));
  larger.set(array);
  return larger;
}

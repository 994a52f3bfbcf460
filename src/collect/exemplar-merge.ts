// Picks, per series (a counter's total, a histogram's bucket), the latest exemplar across every
// process's exemplar file, alive or dead, archives included, and hands it to the merged samples.
// Exemplar keys are the keys of the samples' .db entries, read into the collector's own key index,
// so the merger's resolvers line them up with their series: no identity of their own. The latest
// by timestamp wins (ties settled the same way compaction settles them, so the choice never flips
// when files move).

import { ExemplarFileReader, exemplarIsLater } from '../store';
import type { Exemplar, FileName, KeyIndex, ReadBuffer } from '../store';
import { SERIES_LIMIT_REACHED } from './merge';
import type { EntryResolver, ExemplarSource, SampleMerger } from './merge';
import type { NativeFileOutcome } from './native-files';
import type { Sample } from './types';

interface TrackedExemplarFile {
  reader: ExemplarFileReader;
  name: FileName;
  /** Series of each entry (-1: skipped), resolved by `resolve` of the merger they were made for. */
  targets: number[];
  layoutVersion: number;
  resolve: EntryResolver | undefined;
  /** The first problem met while resolving entries (kept until the file's layout changes). */
  entryProblem: string | undefined;
}

export class ExemplarMerger implements ExemplarSource {
  private readonly files = new Map<string, TrackedExemplarFile>();
  private merger: SampleMerger;
  private keys: KeyIndex;
  /** The winner of each series this scrape; `touched` lists the series to clear at the next. */
  private best: Array<Exemplar | undefined> = [];
  private touched: number[] = [];

  /** `merger`, `keys` and `buffer`: the collector's, whose .db entries the exemplars belong to. */
  constructor(
    merger: SampleMerger,
    keys: KeyIndex,
    private readonly buffer: ReadBuffer,
  ) {
    this.merger = merger;
    this.keys = keys;
  }

  /** Starts a scrape; a rebuilt key index or series table has every file read and resolved again. */
  beginScrape(merger: SampleMerger, keys: KeyIndex): void {
    if (keys !== this.keys) this.files.clear();
    if (merger !== this.merger) for (const file of this.files.values()) file.resolve = undefined;
    this.merger = merger;
    this.keys = keys;
    for (const series of this.touched) this.best[series] = undefined;
    this.touched = [];
  }

  /** Forgets the files not among `present` (names). */
  keepFiles(present: ReadonlySet<string>): void {
    for (const name of this.files.keys()) if (!present.has(name)) this.files.delete(name);
  }

  /**
   * The exemplar of a sample, if its series has one and the sample may carry it: a counter's
   * `_total` (Prometheus refuses the whole scrape over an exemplar on any other counter sample) or
   * a histogram bucket whose bound holds the exemplar's value.
   */
  exemplarFor(series: number, type: FileName['type'], sample: Sample): Exemplar | undefined {
    const exemplar = this.best[series];
    if (exemplar === undefined) return undefined;
    if (type === 'counter') return sample.name.endsWith('_total') ? exemplar : undefined;
    if (type !== 'histogram' || !sample.name.endsWith('_bucket')) return undefined;
    const le = sample.labels.le;
    const bound = le === '+Inf' ? Infinity : Number(le);
    return exemplar.value <= bound ? exemplar : undefined;
  }

  /** Reads one exemplar file (`name` as its file name says) and keeps the latest exemplar of each series. */
  read(fileName: string, name: FileName, filePath: string, maxBytes: number): NativeFileOutcome {
    let file = this.files.get(fileName);
    if (file === undefined) {
      const reader = new ExemplarFileReader(filePath, { keys: this.keys, buffer: this.buffer });
      file = { reader, name, targets: [], layoutVersion: -1, resolve: undefined, entryProblem: undefined };
      this.files.set(fileName, file);
    }
    const result = file.reader.read(maxBytes);
    if (result.status === 'missing') this.files.delete(fileName);
    if (result.status !== 'ok') return result;
    const { count, keyIds, exemplars, layoutVersion, problem, limit, bytesRead } = result.contents;
    if (layoutVersion !== file.layoutVersion || file.resolve === undefined) {
      file.layoutVersion = layoutVersion;
      file.targets = [];
      file.entryProblem = undefined;
    }
    const resolve = file.resolve ?? this.merger.resolverFor({ type: file.name.type, mode: undefined, owner: file.name.owner });
    file.resolve = resolve;
    for (let i = 0; i < count; i++) {
      if (i === file.targets.length) {
        const target = resolve.resolve(keyIds[i]);
        // Past the collector's limit of series: not remembered, tried again next scrape.
        if (target === SERIES_LIMIT_REACHED) break;
        if (target < 0) file.entryProblem ??= this.merger.problemOf(target);
        file.targets.push(target < 0 ? -1 : target);
      }
      const series = file.targets[i];
      const exemplar = exemplars[i];
      if (series < 0 || exemplar === undefined) continue;
      const best = this.best[series];
      if (best === undefined) this.touched.push(series);
      if (best === undefined || exemplarIsLater(exemplar, best)) this.best[series] = exemplar;
    }
    return { status: 'read', problem: problem ?? file.entryProblem, limit, bytesRead };
  }
}

// Reads every *.db file of a directory and merges them (and the *.nhdb files of native histograms,
// through native-files.ts, and the *.exemplars files, through exemplar-merge.ts); keeps per-file
// caches between scrapes.
// A bad file never fails a scrape: it is skipped (or the rest of it), warned about once, counted.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { logger } from '../logger';
import {
  ARCHIVE_GAUGE_MODES,
  EXEMPLAR_EXTENSION,
  GAUGE_MODE_TRAITS,
  KeyIndex,
  MetricFileReader,
  ReadBuffer,
  NATIVE_HISTOGRAM_ARCHIVE,
  NATIVE_HISTOGRAM_EXTENSION,
  archiveFileName,
  archiveNameOf,
  hasMetricFileExtension,
  parseFileName,
  readArchiveGeneration,
  sketchArchiveFileName,
  withoutAbsorbedClaims,
} from '../store';
import type { FileName } from '../store';
import { ExemplarMerger } from './exemplar-merge';
import { SERIES_LIMIT_REACHED, SampleMerger } from './merge';
import type { EntryResolver } from './merge';
import { QuantileMerger } from './quantile-merge';
import { NativeHistogramFiles, joinNativeFamilies } from './native-files';
import type { NativeFileOutcome } from './native-files';
import type { MetricFamily } from './types';

export interface CollectorStats {
  /** Files merged (wholly or in part) by the last collect. */
  filesRead: number;
  /** Files skipped wholly or in part by the last collect. */
  corruptFiles: number;
  /** Files the last collect read only in part (or not at all) because a limit was reached. */
  limitedFiles: number;
  /** Bytes of files the last collect read. */
  bytesRead: number;
  /** 1 when the last collect could not list the directory (no permission, say), else 0. */
  unreadableDirectories: number;
  /** Series in the last collect's output, before histogram `_count`s are derived. */
  series: number;
  /** Series in the collector's table, including those of files gone since (bounded by rebuilds). */
  trackedSeries: number;
  /** Collects run since the collector was made. */
  collects: number;
  /** Seconds the last collect took. */
  lastCollectSeconds: number;
  /** Summary sketch windows of the last collect whose lowest bins hold folded-in lower values. */
  collapsedSketchWindows: number;
}

export interface CollectorOptions {
  /** Where warnings go (each problem of each file once). Default: the package's logger. */
  warn?: (message: string) => void;
  /** Guards against a directory too large to merge; past a limit, files are skipped (warned, counted). */
  limits?: CollectorLimits;
  /**
   * Only the files whose name passes are read (another collector reads the others: the files of
   * each app of a shared directory). Default: every file.
   */
  fileFilter?: (fileName: string) => boolean;
  /** The wall clock in ms, which decides the summary windows that count. Default: Date.now. */
  now?: () => number;
}

export interface CollectorLimits {
  /** Most series (and distinct keys) one collect holds. Default: no limit. */
  series?: number;
  /** Most bytes of files one collect reads. Default: no limit. */
  bytes?: number;
  /** How the warning tells to raise a limit (default: the collector's option names). */
  raiseHint?: string;
}

interface TrackedFile {
  name: FileName;
  reader: MetricFileReader;
  /** Series index of each mapped entry, or -1 for a skipped one. */
  targets: Int32Array;
  mapped: number;
  layoutVersion: number;
  /** The first problem met while mapping entries (kept until the file's layout changes). */
  entryProblem: string | undefined;
  /** Maps this file's keys to series of the current merger (undefined after a rebuild). */
  resolve: EntryResolver | undefined;
}

/**
 * Scrapes tried before one that overlapped a compaction is returned as it is (with a warning).
 * A repeat costs a warm scrape; compactions run seconds apart, so a few always suffice.
 */
const SCRAPE_ATTEMPTS = 5;
const UNSETTLED_KEY = '#unsettled';
/** The archives of unknown apps; an app's own archives are learnt from the listing. */
const ARCHIVE_NAMES = [
  archiveFileName('counter'),
  archiveFileName('histogram'),
  archiveFileName('summary'),
  sketchArchiveFileName(),
  ...ARCHIVE_GAUGE_MODES.map((mode) => archiveFileName('gauge', mode)),
  NATIVE_HISTOGRAM_ARCHIVE,
];
const NATIVE_WARNING_KEY = '#native';

/** What reading a sketch file or a native histogram file gives (both readers answer this shape). */
type SideFileOutcome = NativeFileOutcome;

/** Series tables are rebuilt when this many series (and more than are in use) hold no value. */
const STALE_SERIES_LIMIT = 4096;

/**
 * Reads every *.db of a directory, merged exactly like Python's MultiProcessCollector.
 * Keeps a per-file cache (keys never move) so a warm collect re-reads only values and new entries.
 * Never throws for bad files: skips them, warns once, counts them in its own error metric.
 */
export class DirectoryCollector {
  readonly stats: CollectorStats = {
    filesRead: 0,
    corruptFiles: 0,
    limitedFiles: 0,
    bytesRead: 0,
    unreadableDirectories: 0,
    series: 0,
    trackedSeries: 0,
    collects: 0,
    lastCollectSeconds: 0,
    collapsedSketchWindows: 0,
  };
  private readonly warn: (message: string) => void;
  private readonly now: () => number;
  private readonly seriesLimit: number;
  private readonly bytesLimit: number;
  private readonly raiseHint: string;
  private readonly fileFilter: ((fileName: string) => boolean) | undefined;
  /** Archives whose generation tells a scrape that a compaction overlapped it. */
  private readonly archiveNames = new Set(ARCHIVE_NAMES);
  private keys: KeyIndex;
  private merger: SampleMerger;
  /** Summaries' quantiles, from the sketch files (read into the same buffer, one at a time). */
  private quantiles: QuantileMerger;
  /** One file's bytes at a time: files are read and merged one after another. */
  private readonly buffer = new ReadBuffer();
  private readonly files = new Map<string, TrackedFile>();
  /** Bytes read and files cut short by a limit, so far in the current scrape. */
  private bytesRead = 0;
  private limitedFiles = 0;
  /** What the current scrape met so far: files merged, skipped, gone. */
  private filesRead = 0;
  private corruptFiles = 0;
  private filesVanished = false;
  private readonly native = new NativeHistogramFiles(this.buffer);
  /** The latest exemplar of each series, from the exemplar files (read after the .db files). */
  private readonly exemplars: ExemplarMerger;
  /** The problem last warned about, per file name ('' for the directory, UNSETTLED_KEY for scrapes). */
  private readonly warned = new Map<string, string>();

  constructor(
    readonly dir: string,
    options: CollectorOptions = {},
  ) {
    this.warn = options.warn ?? ((message) => logger().warn(message));
    this.seriesLimit = options.limits?.series ?? Infinity;
    this.bytesLimit = options.limits?.bytes ?? Infinity;
    this.raiseHint = options.limits?.raiseHint ?? 'raise the collector\'s limits option';
    this.fileFilter = options.fileFilter;
    this.now = options.now ?? Date.now;
    this.keys = new KeyIndex(this.seriesLimit);
    this.merger = new SampleMerger(this.keys, this.seriesLimit);
    this.quantiles = new QuantileMerger(this.buffer);
    this.exemplars = new ExemplarMerger(this.merger, this.keys, this.buffer);
  }

  collect(): MetricFamily[] {
    const started = process.hrtime.bigint();
    let families: MetricFamily[];
    for (let attempt = 1; ; attempt++) {
      // A compaction running meanwhile moves values between files (claim renames, a new archive,
      // claim deletions): a scrape that overlapped one may have counted a value twice or missed
      // it, so it is done again. Archive generations only grow, so equal means no move happened.
      const generationsBefore = this.archiveGenerations();
      const scrape = this.scrapeOnce();
      families = scrape.families;
      if (!scrape.filesVanished && this.archiveGenerations() === generationsBefore) {
        this.clearWarning(UNSETTLED_KEY);
        break;
      }
      if (attempt === SCRAPE_ATTEMPTS) {
        this.warnOnce(
          UNSETTLED_KEY,
          `${this.dir} changed during ${SCRAPE_ATTEMPTS} scrapes in a row ` +
            '(files moved by a compaction or a cleaner): this scrape may count a dead process twice or not at all',
        );
        break;
      }
    }
    this.stats.collects++;
    this.stats.lastCollectSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    return families;
  }

  private scrapeOnce(): { families: MetricFamily[]; filesVanished: boolean } {
    const names = this.listFiles();
    if (this.merger.unusedSeries() > Math.max(STALE_SERIES_LIMIT, this.stats.series) || this.unusedKeys() > STALE_SERIES_LIMIT) {
      this.rebuild();
    }
    this.merger.beginScrape();
    this.quantiles.beginScrape();
    const now = this.now();
    this.bytesRead = 0;
    this.limitedFiles = 0;
    this.native.beginScrape();
    this.exemplars.beginScrape(this.merger, this.keys);
    this.filesRead = 0;
    this.corruptFiles = 0;
    this.filesVanished = false;
    const otherNames = names.filter((name) => !name.endsWith(NATIVE_HISTOGRAM_EXTENSION) && !name.endsWith(EXEMPLAR_EXTENSION));
    for (const name of otherNames) this.count(name.endsWith('.db') ? this.collectFile(name) : this.collectSketchFile(name, now));
    // Exemplars never need a scrape again: a file a compaction moved is in its archive, and the
    // latest of a claim and its archive is the same exemplar.
    for (const name of names) if (name.endsWith(EXEMPLAR_EXTENSION)) this.countExemplarFile(this.collectExemplarFile(name));
    for (const name of this.nativeFileNames()) this.count(this.collectNativeFile(name));
    let nativeProblem: string | undefined;
    const warnNative = (problem: string): void => {
      nativeProblem ??= problem;
    };
    const families = joinNativeFamilies(this.merger.families(this.quantiles, this.exemplars), this.native.families(warnNative), warnNative);
    if (nativeProblem === undefined) this.clearWarning(NATIVE_WARNING_KEY);
    else this.warnOnce(NATIVE_WARNING_KEY, `${this.dir}: ${nativeProblem}`);
    this.stats.collapsedSketchWindows = this.quantiles.collapsedBlocks;
    this.stats.filesRead = this.filesRead;
    this.stats.corruptFiles = this.corruptFiles;
    this.stats.limitedFiles = this.limitedFiles;
    this.stats.bytesRead = this.bytesRead;
    this.stats.trackedSeries = this.merger.seriesCount + this.native.seriesCount;
    this.stats.series = this.merger.seriesCount - this.merger.unusedSeries() + this.native.seriesCount;
    return { families, filesVanished: this.filesVanished };
  }

  /** An exemplar file gone is no move of values (see scrapeOnce): it counts as nothing. */
  private countExemplarFile(outcome: 'read' | 'partly' | 'corrupt' | 'limited' | 'vanished'): void {
    this.count(outcome === 'vanished' ? 'missing' : outcome);
  }

  private count(outcome: 'read' | 'partly' | 'corrupt' | 'limited' | 'missing' | 'vanished'): void {
    if (outcome === 'read' || outcome === 'partly') this.filesRead++;
    if (outcome === 'corrupt' || outcome === 'partly') this.corruptFiles++;
    if (outcome === 'vanished') this.filesVanished = true;
  }

  /**
   * The native histogram files, listed again once the .db files are read: a process writes a
   * series' native entries before its classic ones, so a classic entry just read has its native
   * file in this listing, even one created after the first (else that series would show
   * classic-only once, and Prometheus 2.x read its whole family as classic in that scrape).
   */
  private nativeFileNames(): string[] {
    let entries: string[] = [];
    try {
      entries = fs.readdirSync(this.dir);
    } catch {
      // The first listing of this scrape warned about it and counted it.
    }
    const filter = this.fileFilter;
    const native = entries.filter((name) => name.endsWith(NATIVE_HISTOGRAM_EXTENSION) && (filter === undefined || filter(name)));
    const names = withoutAbsorbedClaims(this.dir, native.sort());
    this.native.forgetAllBut(new Set(names.map((name) => path.join(this.dir, name))));
    return names;
  }

  /**
   * The generation of every archive known, as one comparable string ('0' for an absent archive).
   * An archive first met in a listing makes the string longer: that scrape is done again.
   */
  private archiveGenerations(): string {
    return [...this.archiveNames].map((name) => readArchiveGeneration(path.join(this.dir, name))).join(',');
  }

  /** The collector's own health, as gauges (render them with the merged families). */
  selfMetrics(): MetricFamily[] {
    const gauge = (name: string, help: string, value: number): MetricFamily => ({
      name,
      help,
      type: 'gauge',
      samples: [{ name, labels: {}, value }],
    });
    return [
      gauge('pm2_prom_multiproc_collector_files', 'Metric files merged by the last collect.', this.stats.filesRead),
      gauge(
        'pm2_prom_multiproc_collector_corrupt_files',
        'Metric files skipped wholly or in part by the last collect (see the warnings for why).',
        this.stats.corruptFiles,
      ),
      gauge(
        'pm2_prom_multiproc_collector_limited_files',
        'Metric files left unread wholly or in part by the last collect because its series or bytes limit was reached.',
        this.stats.limitedFiles,
      ),
      gauge(
        'pm2_prom_multiproc_collector_unreadable_directories',
        'Metric directories the last collect could not list (see the warnings for why).',
        this.stats.unreadableDirectories,
      ),
      gauge('pm2_prom_multiproc_collector_series', 'Merged series in the last collect.', this.stats.series),
      gauge(
        'pm2_prom_multiproc_collector_duration_seconds',
        'Time the last collect took to read and merge the files.',
        this.stats.lastCollectSeconds,
      ),
      gauge(
        'pm2_prom_multiproc_collector_collapsed_sketch_windows',
        'Summary windows of the last collect that met values spanning more than their bins: quantiles below their lowest bin read too high.',
        this.stats.collapsedSketchWindows,
      ),
    ];
  }

  private listFiles(): string[] {
    let entries: string[];
    try {
      entries = fs.readdirSync(this.dir);
      this.clearWarning('');
      this.stats.unreadableDirectories = 0;
    } catch (error) {
      this.warnOnce('', `cannot list metrics directory ${this.dir}: ${(error as Error).message}`);
      this.stats.unreadableDirectories = 1;
      entries = [];
    }
    const filter = this.fileFilter;
    const metricFiles = entries.filter((name) => hasMetricFileExtension(name) && (filter === undefined || filter(name)));
    for (const name of metricFiles) {
      // Archives and claims (a claim's archive may not exist yet) of apps seen for the first time.
      if (!name.includes('_archive') && !name.includes('.g')) continue;
      const parsed = parseFileName(name);
      if (parsed?.archive === true || parsed?.claimGeneration !== undefined) this.archiveNames.add(archiveNameOf(parsed));
    }
    const names = withoutAbsorbedClaims(this.dir, metricFiles.sort());
    const present = new Set(names);
    for (const name of this.files.keys()) if (!present.has(name)) this.files.delete(name);
    this.quantiles.keepFiles(present);
    this.exemplars.keepFiles(present);
    for (const name of this.warned.keys()) if (hasMetricFileExtension(name) && !present.has(name)) this.warned.delete(name);
    return names;
  }

  /**
   * Keys held beyond those of the files still there (an estimate: a key in two kinds of file
   * counts twice), e.g. keys of files long gone or of entries rewritten again and again.
   */
  private unusedKeys(): number {
    let mapped = 0;
    for (const file of this.files.values()) mapped += file.mapped;
    return this.keys.size - mapped;
  }

  /** New tables of keys and series: every file is parsed and resolved again at the next read. */
  private rebuild(): void {
    this.keys = new KeyIndex(this.seriesLimit);
    this.merger = new SampleMerger(this.keys, this.seriesLimit);
    this.quantiles = new QuantileMerger(this.buffer);
    this.files.clear();
  }

  private collectFile(fileName: string): 'read' | 'partly' | 'corrupt' | 'limited' | 'missing' | 'vanished' {
    const filePath = path.join(this.dir, fileName);
    let file = this.files.get(fileName);
    if (file === undefined) {
      const name = parseFileName(fileName);
      if (name === undefined) {
        this.warnOnce(
          fileName,
          `skipping ${filePath}: its name is not TYPE_PID.db ` +
            '(counter, histogram, summary or gauge_MODE with a known gauge mode)',
        );
        return 'corrupt';
      }
      file = {
        name,
        reader: new MetricFileReader(filePath, { keys: this.keys, buffer: this.buffer }),
        targets: new Int32Array(64),
        mapped: 0,
        layoutVersion: -1,
        entryProblem: undefined,
        resolve: undefined,
      };
      this.files.set(fileName, file);
    }

    if (this.bytesRead >= this.bytesLimit) {
      this.limitedFiles++;
      this.warnOnce(fileName, `pm2-prom-multiproc: skipping ${filePath} in this scrape: the limit of bytes read per scrape is reached (${this.raiseHint})`);
      return 'limited';
    }
    const result = file.reader.read(this.bytesLimit - this.bytesRead);
    if (result.status === 'missing') {
      this.files.delete(fileName);
      // markProcessDead removes live gauges at any time; any other file moving is a compaction's.
      return file.name.mode !== undefined && GAUGE_MODE_TRAITS[file.name.mode].live ? 'missing' : 'vanished';
    }
    if (result.status === 'unreadable') {
      this.warnOnce(fileName, `skipping ${filePath}: it ${result.problem}`);
      return 'corrupt';
    }

    const contents = result.contents;
    this.bytesRead += contents.bytesRead;
    if (contents.layoutVersion !== file.layoutVersion) {
      file.layoutVersion = contents.layoutVersion;
      file.mapped = 0;
      file.entryProblem = undefined;
    }
    const count = contents.count;
    if (count > file.targets.length) {
      const targets = new Int32Array(Math.max(count, file.targets.length * 2));
      targets.set(file.targets);
      file.targets = targets;
    }
    const resolver = file.resolve ?? this.merger.resolverFor({ type: file.name.type, mode: file.name.mode, owner: file.name.owner });
    file.resolve = resolver;
    const { keyIds } = contents;
    let mapped = file.mapped;
    let limitProblem: string | undefined;
    for (; mapped < count; mapped++) {
      const target = resolver.resolve(keyIds[mapped]);
      if (target === SERIES_LIMIT_REACHED) {
        // Not remembered: once series go away, the rest of the file is merged again.
        limitProblem = `${this.merger.problemOf(target)} at entry ${mapped}`;
        break;
      }
      if (target < 0) file.entryProblem ??= this.merger.problemOf(target);
      file.targets[mapped] = target < 0 ? -1 : target;
    }
    file.mapped = mapped;
    this.merger.accumulate(file.targets, mapped, contents.numbers, contents.slots);

    const limit = contents.limit ?? limitProblem;
    const problem = contents.problem ?? file.entryProblem;
    const messages: string[] = [];
    if (problem !== undefined) messages.push(`${problem} (its other entries are merged)`);
    if (limit !== undefined) {
      this.limitedFiles++;
      messages.push(`${limit}: the rest of this file is skipped in this scrape (${this.raiseHint})`);
    }
    if (messages.length === 0) {
      this.clearWarning(fileName);
      return 'read';
    }
    this.warnOnce(fileName, `${filePath}: ${messages.join('; ')}`);
    return problem === undefined ? 'read' : 'partly';
  }

  /**
   * A summary's sketch file: its blocks that count `now` go to the quantile merge. Its bytes count
   * towards the limit of bytes read per scrape like any file's.
   */
  private collectSketchFile(fileName: string, now: number): 'read' | 'partly' | 'corrupt' | 'limited' | 'missing' | 'vanished' {
    const named = parseFileName(fileName)?.sketch === true;
    return this.collectSideFile(fileName, named ? undefined : 'summary_PID.sketch', 'records', (filePath, budget) => {
      const outcome = this.quantiles.collectFile(fileName, filePath, now, budget);
      return outcome.status === 'corrupt' ? { status: 'unreadable', problem: outcome.problem } : outcome;
    });
  }

  /** A counter's or histogram's exemplar file: the latest exemplar of each of its series goes to the exemplar merge. */
  private collectExemplarFile(fileName: string): 'read' | 'partly' | 'corrupt' | 'limited' | 'vanished' {
    const name = parseFileName(fileName);
    const misnamed = name?.exemplars === true ? undefined : `counter_PID${EXEMPLAR_EXTENSION} or histogram_PID${EXEMPLAR_EXTENSION}`;
    return this.collectSideFile(fileName, misnamed, 'exemplars', (filePath, budget) =>
      name === undefined ? { status: 'missing' } : this.exemplars.read(fileName, name, filePath, budget),
    );
  }

  /** A native histogram file: its series go to the native merge, its bytes count like any file's. */
  private collectNativeFile(fileName: string): 'read' | 'partly' | 'corrupt' | 'limited' | 'vanished' {
    const named = parseFileName(fileName)?.native === true;
    return this.collectSideFile(fileName, named ? undefined : `histogram_PID${NATIVE_HISTOGRAM_EXTENSION}`, 'entries', (filePath, budget) => this.native.read(filePath, budget));
  }

  /**
   * A file of a kind of its own (sketches, native histograms), read by `read` within what is left
   * of the bytes per scrape; `misnamed` is the name it should have had, when it has not. Only
   * compaction moves these files, so one gone is one folded.
   */
  private collectSideFile(
    fileName: string,
    misnamed: string | undefined,
    parts: string,
    read: (filePath: string, budget: number) => SideFileOutcome,
  ): 'read' | 'partly' | 'corrupt' | 'limited' | 'vanished' {
    const filePath = path.join(this.dir, fileName);
    if (misnamed !== undefined) {
      this.warnOnce(fileName, `skipping ${filePath}: its name is not ${misnamed}`);
      return 'corrupt';
    }
    if (this.bytesRead >= this.bytesLimit) {
      this.limitedFiles++;
      this.warnOnce(fileName, `pm2-prom-multiproc: skipping ${filePath} in this scrape: the limit of bytes read per scrape is reached (${this.raiseHint})`);
      return 'limited';
    }
    const outcome = read(filePath, this.bytesLimit - this.bytesRead);
    if (outcome.status === 'missing') return 'vanished';
    if (outcome.status === 'unreadable') {
      this.warnOnce(fileName, `skipping ${filePath}: it ${outcome.problem}`);
      return 'corrupt';
    }
    this.bytesRead += outcome.bytesRead;
    const messages: string[] = [];
    if (outcome.problem !== undefined) messages.push(`${outcome.problem} (its other ${parts} are merged)`);
    if (outcome.limit !== undefined) {
      this.limitedFiles++;
      messages.push(`${outcome.limit}: the rest of this file is skipped in this scrape (${this.raiseHint})`);
    }
    if (messages.length === 0) {
      this.clearWarning(fileName);
      return 'read';
    }
    this.warnOnce(fileName, `${filePath}: ${messages.join('; ')}`);
    return outcome.problem === undefined ? 'read' : 'partly';
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.get(key) === message) return;
    this.warned.set(key, message);
    this.warn(message);
  }

  private clearWarning(key: string): void {
    this.warned.delete(key);
  }
}

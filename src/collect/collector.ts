// Reads every *.db file of a directory and merges them; keeps per-file caches between scrapes.
// A bad file never fails a scrape: it is skipped (or the rest of it), warned about once, counted.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { logger } from '../logger';
import {
  ARCHIVE_GAUGE_MODES,
  GAUGE_MODE_TRAITS,
  MetricFileReader,
  archiveFileName,
  parseFileName,
  readArchiveGeneration,
  withoutAbsorbedClaims,
} from '../store';
import type { FileName } from '../store';
import { SampleMerger } from './merge';
import type { EntryResolver } from './merge';
import type { MetricFamily } from './types';

export interface CollectorStats {
  /** Files merged (wholly or in part) by the last collect. */
  filesRead: number;
  /** Files skipped wholly or in part by the last collect. */
  corruptFiles: number;
  /** Series in the last collect's output, before histogram `_count`s are derived. */
  series: number;
  /** Series in the collector's table, including those of files gone since (bounded by rebuilds). */
  trackedSeries: number;
  /** Collects run since the collector was made. */
  collects: number;
  /** Seconds the last collect took. */
  lastCollectSeconds: number;
}

export interface CollectorOptions {
  /** Where warnings go (each problem of each file once). Default: the package's logger. */
  warn?: (message: string) => void;
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
const ARCHIVE_NAMES = [
  archiveFileName('counter'),
  archiveFileName('histogram'),
  archiveFileName('summary'),
  ...ARCHIVE_GAUGE_MODES.map((mode) => archiveFileName('gauge', mode)),
];

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
    series: 0,
    trackedSeries: 0,
    collects: 0,
    lastCollectSeconds: 0,
  };
  private readonly warn: (message: string) => void;
  private merger = new SampleMerger();
  private readonly files = new Map<string, TrackedFile>();
  /** The problem last warned about, per file name ('' for the directory, UNSETTLED_KEY for scrapes). */
  private readonly warned = new Map<string, string>();

  constructor(
    readonly dir: string,
    options: CollectorOptions = {},
  ) {
    this.warn = options.warn ?? ((message) => logger().warn(message));
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
    if (this.merger.unusedSeries() > Math.max(STALE_SERIES_LIMIT, this.stats.series)) this.rebuild();
    this.merger.beginScrape();
    let filesRead = 0;
    let corruptFiles = 0;
    let filesVanished = false;
    for (const name of names) {
      const outcome = this.collectFile(name);
      if (outcome === 'read' || outcome === 'partly') filesRead++;
      if (outcome === 'corrupt' || outcome === 'partly') corruptFiles++;
      if (outcome === 'vanished') filesVanished = true;
    }
    const families = this.merger.families();
    this.stats.filesRead = filesRead;
    this.stats.corruptFiles = corruptFiles;
    this.stats.trackedSeries = this.merger.seriesCount;
    this.stats.series = this.merger.seriesCount - this.merger.unusedSeries();
    return { families, filesVanished };
  }

  /** The generation of every archive, as one comparable string ('0' for an absent archive). */
  private archiveGenerations(): string {
    return ARCHIVE_NAMES.map((name) => readArchiveGeneration(path.join(this.dir, name))).join(',');
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
      gauge('pm2_prom_multiproc_collector_series', 'Merged series in the last collect.', this.stats.series),
      gauge(
        'pm2_prom_multiproc_collector_duration_seconds',
        'Time the last collect took to read and merge the files.',
        this.stats.lastCollectSeconds,
      ),
    ];
  }

  private listFiles(): string[] {
    let entries: string[];
    try {
      entries = fs.readdirSync(this.dir);
      this.clearWarning('');
    } catch (error) {
      this.warnOnce('', `cannot list metrics directory ${this.dir}: ${(error as Error).message}`);
      entries = [];
    }
    const names = withoutAbsorbedClaims(this.dir, entries.filter((name) => name.endsWith('.db')).sort());
    const present = new Set(names);
    for (const name of this.files.keys()) if (!present.has(name)) this.files.delete(name);
    for (const name of this.warned.keys()) if (name.endsWith('.db') && !present.has(name)) this.warned.delete(name);
    return names;
  }

  private rebuild(): void {
    this.merger = new SampleMerger();
    for (const file of this.files.values()) {
      file.mapped = 0;
      file.entryProblem = undefined;
      file.resolve = undefined;
    }
  }

  private collectFile(fileName: string): 'read' | 'partly' | 'corrupt' | 'missing' | 'vanished' {
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
        reader: new MetricFileReader(filePath),
        targets: new Int32Array(64),
        mapped: 0,
        layoutVersion: -1,
        entryProblem: undefined,
        resolve: undefined,
      };
      this.files.set(fileName, file);
    }

    const result = file.reader.read();
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
    if (contents.layoutVersion !== file.layoutVersion) {
      file.layoutVersion = contents.layoutVersion;
      file.mapped = 0;
      file.entryProblem = undefined;
    }
    const count = contents.keys.length;
    if (count > file.targets.length) {
      const targets = new Int32Array(Math.max(count, file.targets.length * 2));
      targets.set(file.targets);
      file.targets = targets;
    }
    const resolve = file.resolve ?? this.merger.resolverFor({ type: file.name.type, mode: file.name.mode, owner: file.name.owner });
    file.resolve = resolve;
    for (let i = file.mapped; i < count; i++) {
      const target = resolve(contents.keys[i]);
      if (typeof target === 'string') {
        file.entryProblem ??= target;
        file.targets[i] = -1;
      } else {
        file.targets[i] = target;
      }
    }
    file.mapped = count;
    this.merger.accumulate(file.targets, count, contents.numbers, contents.slots);

    const problem = contents.problem ?? file.entryProblem;
    if (problem === undefined) {
      this.clearWarning(fileName);
      return 'read';
    }
    this.warnOnce(fileName, `${filePath}: ${problem} (its other entries are merged)`);
    return 'partly';
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

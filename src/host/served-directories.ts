// Collects the directories one host serves into one set of families. With app attribution (the
// PM2 module) each directory is read per app (AppCollectors): a sample of a file whose app is
// known is labelled pm2_app="<app>", in one directory or many, with one app or several.
import { exposedNames, mergeNativeHistograms, type CollectorLimits, type MetricFamily, type NativeHistogramSeries, type Sample } from '../collect';
import type { Logger } from '../logger';
import { AppCollectors, type CollectedPart } from './app-collectors';
import type { OwnerRecorder } from './owner-recorder';

export interface DirectorySource {
  dir: string;
}

export interface ServedDirectoriesOptions {
  /**
   * Label every sample with the app that wrote it (pm2_app), this recorder writing the owner
   * records of processes that write none. Without it no label is added.
   */
  recorder?: OwnerRecorder;
  /** What one scrape of a directory's files of one app may hold and read (default: no limit). */
  limits?: CollectorLimits;
}

interface MergedFamily {
  family: MetricFamily;
  apps: Set<string | undefined>;
  /** Some sample may repeat another's name and labels: parts that could hold the same series. */
  mayRepeat: boolean;
}

type Labels = Readonly<Record<string, string>>;

/** Label sets as text, once per label object (the collector hands out the same ones each scrape). */
const labelIdentities = new WeakMap<Labels, string>();

function identityOf(labels: Labels): string {
  let identity = labelIdentities.get(labels);
  if (identity === undefined) {
    identity = JSON.stringify(Object.keys(labels).sort().map((name) => [name, labels[name]]));
    labelIdentities.set(labels, identity);
  }
  return identity;
}

export class ServedDirectories {
  private readonly directories = new Map<string, AppCollectors>();
  private readonly reportedConflicts = new Set<string>();

  constructor(
    private readonly log: Logger,
    private readonly options: ServedDirectoriesOptions = {},
  ) {}

  /** The merged families of every source. A directory that cannot be read is skipped and logged. */
  collect(sources: readonly DirectorySource[]): MetricFamily[] {
    this.forgetAllBut(sources);
    const parts: CollectedPart[] = [];
    for (const source of sources) {
      try {
        parts.push(...this.directoryFor(source.dir).collect());
      } catch (error) {
        this.log.warn(`cannot read metrics directory ${source.dir}: ${(error as Error).message}`);
      }
    }
    return this.merge(parts);
  }

  /** The collectors' own health, summed per directory; labelled with the directory when several are served. */
  selfMetrics(): MetricFamily[] {
    const labelled = this.directories.size > 1;
    const byName = new Map<string, MetricFamily>();
    for (const [dir, directory] of this.directories) {
      const families = summedHealth(directory.all.map((collector) => collector.selfMetrics()));
      for (const family of labelled ? withLabel(families, 'dir', dir) : families) {
        const known = byName.get(family.name);
        if (known === undefined) byName.set(family.name, family);
        else known.samples.push(...family.samples);
      }
    }
    return [...byName.values()];
  }

  /** Files read and corrupt files, summed over every directory served. */
  totals(): { filesRead: number; corruptFiles: number } {
    let filesRead = 0;
    let corruptFiles = 0;
    for (const directory of this.directories.values()) {
      for (const collector of directory.all) {
        filesRead += collector.stats.filesRead;
        corruptFiles += collector.stats.corruptFiles;
      }
    }
    return { filesRead, corruptFiles };
  }

  private directoryFor(dir: string): AppCollectors {
    let directory = this.directories.get(dir);
    if (directory === undefined) {
      directory = new AppCollectors(dir, this.log, this.options);
      this.directories.set(dir, directory);
    }
    return directory;
  }

  // A directory's collectors cache every file it holds: drop those of directories no longer served.
  private forgetAllBut(sources: readonly DirectorySource[]): void {
    const served = new Set(sources.map((source) => source.dir));
    for (const dir of this.directories.keys()) {
      if (!served.has(dir)) this.directories.delete(dir);
    }
  }

  // Same name and type: one family with the samples of all. Another type under a taken name
  // cannot be exposed in the same family, so it is left out and reported once.
  private merge(parts: readonly CollectedPart[]): MetricFamily[] {
    const byName = new Map<string, MergedFamily>();
    const byExposedName = new Map<string, MetricFamily>();
    for (const part of parts) {
      for (const family of part.families) {
        const existing = byName.get(family.name);
        if (existing === undefined) {
          // Another family already showing one of this family's names (a gauge "x_total" beside a
          // counter "x") would make Prometheus refuse the whole scrape: this one is left out.
          const names = exposedNames(family.name, family.type);
          const owner = names.map((name) => byExposedName.get(name)).find((found) => found !== undefined);
          if (owner !== undefined) {
            this.reportOnce(
              family.name,
              `metric "${family.name}" (a ${family.type}) would be exposed under a name of the ${owner.type} "${owner.name}" of another directory: it is left out`,
            );
            continue;
          }
          const copy = { ...family, samples: [...family.samples] };
          if (family.nativeHistograms !== undefined) copy.nativeHistograms = [...family.nativeHistograms];
          byName.set(family.name, { family: copy, apps: new Set([part.app]), mayRepeat: part.mayMergeLabelSets });
          for (const name of names) byExposedName.set(name, copy);
        } else if (existing.family.type === family.type) {
          // Two apps' samples differ in pm2_app; one app's in two directories, or those of files
          // of no known app, may be the same series.
          if (part.app === undefined || existing.apps.has(part.app) || existing.apps.has(undefined) || part.mayMergeLabelSets) {
            existing.mayRepeat = true;
          }
          existing.apps.add(part.app);
          existing.family.samples.push(...family.samples);
          if (family.nativeHistograms !== undefined) {
            existing.family.nativeHistograms = [...(existing.family.nativeHistograms ?? []), ...family.nativeHistograms];
          }
        } else {
          this.reportOnce(
            family.name,
            `metric "${family.name}" is a ${existing.family.type} in one directory and a ${family.type} in another: only the ${existing.family.type} is exposed`,
          );
        }
      }
    }
    return [...byName.values()].map((merged) => (merged.mayRepeat ? this.withoutRepeats(merged.family) : merged.family));
  }

  /**
   * One sample per name and label set: a series met twice (an app's files in two directories)
   * is summed, as the merge sums it across files, for counters, summaries and histograms (exact
   * where the histograms' buckets agree). A gauge's mode is not known here: its first value is kept.
   */
  private withoutRepeats(family: MetricFamily): MetricFamily {
    const positions = new Map<string, Map<string, number>>();
    const samples: Sample[] = [];
    for (const sample of family.samples) {
      let byLabels = positions.get(sample.name);
      if (byLabels === undefined) {
        byLabels = new Map();
        positions.set(sample.name, byLabels);
      }
      const identity = identityOf(sample.labels);
      const at = byLabels.get(identity);
      if (at === undefined) {
        byLabels.set(identity, samples.length);
        samples.push(sample);
      } else if (family.type === 'gauge') {
        this.reportOnce(
          `${family.name}#repeat`,
          `gauge "${family.name}" has a series written in two places (files of one app in two directories, or of no known ` +
            'app): only the first value is exposed',
        );
      } else {
        samples[at] = { ...samples[at], value: samples[at].value + sample.value };
      }
    }
    if (family.nativeHistograms === undefined) return { ...family, samples };
    // A native series met twice is merged as the collector merges files (lowest schema, sums).
    const native = new Map<string, NativeHistogramSeries[]>();
    for (const series of family.nativeHistograms) {
      const identity = identityOf(series.labels);
      native.set(identity, [...(native.get(identity) ?? []), series]);
    }
    const nativeHistograms = [...native.values()].map((repeats) =>
      repeats.length === 1 ? repeats[0] : { labels: repeats[0].labels, histogram: mergeNativeHistograms(repeats.map((series) => series.histogram)) },
    );
    return { ...family, samples, nativeHistograms };
  }

  private reportOnce(key: string, message: string): void {
    if (this.reportedConflicts.has(key)) return;
    this.reportedConflicts.add(key);
    this.log.warn(message);
  }
}

/** Health families of several collectors of one directory, each sample summed over them. */
function summedHealth(lists: readonly MetricFamily[][]): MetricFamily[] {
  const byName = new Map<string, MetricFamily>();
  for (const families of lists) {
    for (const family of families) {
      const known = byName.get(family.name);
      if (known === undefined) {
        byName.set(family.name, { ...family, samples: family.samples.map((sample) => ({ ...sample })) });
      } else {
        family.samples.forEach((sample, index) => {
          if (known.samples[index] !== undefined) known.samples[index].value += sample.value;
        });
      }
    }
  }
  return [...byName.values()];
}

function withLabel(families: readonly MetricFamily[], name: string, value: string): MetricFamily[] {
  return families.map((family) => ({
    ...family,
    samples: family.samples.map((sample) => ({ ...sample, labels: { ...sample.labels, [name]: value } })),
  }));
}

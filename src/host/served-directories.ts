// Collects several metric directories (one per PM2 app, or one in all) into one set of families.
// With more than one directory every sample gets the app's name as a label, so two apps that use
// the same metric name cannot collide.
import { DirectoryCollector, LabelExtension, exposedNames, type CollectorLimits, type MetricFamily } from '../collect';
import type { Logger } from '../logger';

/** The label naming the app whose directory a sample came from, when several are served. */
export const APP_LABEL = 'pm2_app';

export interface DirectorySource {
  dir: string;
  /** The app(s) writing there; the value of APP_LABEL when several directories are served. */
  app?: string;
}

export class ServedDirectories {
  private readonly collectors = new Map<string, DirectoryCollector>();
  private readonly reportedConflicts = new Set<string>();
  /** One extension per label name and value, so extended label sets survive between scrapes. */
  private readonly extensions = new Map<string, LabelExtension>();

  constructor(
    private readonly log: Logger,
    private readonly limits?: CollectorLimits,
  ) {}

  /** The merged families of every source. A directory that cannot be read is skipped and logged. */
  collect(sources: readonly DirectorySource[]): MetricFamily[] {
    this.forgetAllBut(sources);
    const labelled = sources.length > 1;
    const lists: MetricFamily[][] = [];
    for (const source of sources) {
      let families: MetricFamily[];
      try {
        families = this.collectorFor(source.dir).collect();
      } catch (error) {
        this.log.warn(`cannot read metrics directory ${source.dir}: ${(error as Error).message}`);
        continue;
      }
      lists.push(labelled && source.app !== undefined ? this.withLabel(families, APP_LABEL, source.app) : families);
    }
    return this.merge(lists);
  }

  /** The collectors' own health; labelled with the directory when several are served. */
  selfMetrics(): MetricFamily[] {
    const labelled = this.collectors.size > 1;
    return this.merge(
      [...this.collectors].map(([dir, collector]) =>
        labelled ? this.withLabel(collector.selfMetrics(), 'dir', dir) : collector.selfMetrics(),
      ),
    );
  }

  /** Files read and corrupt files, summed over every directory served. */
  totals(): { filesRead: number; corruptFiles: number } {
    let filesRead = 0;
    let corruptFiles = 0;
    for (const collector of this.collectors.values()) {
      filesRead += collector.stats.filesRead;
      corruptFiles += collector.stats.corruptFiles;
    }
    return { filesRead, corruptFiles };
  }

  private withLabel(families: MetricFamily[], name: string, value: string): MetricFamily[] {
    const key = JSON.stringify([name, value]);
    let extension = this.extensions.get(key);
    if (extension === undefined) {
      extension = new LabelExtension({ [name]: value }, 'override');
      this.extensions.set(key, extension);
    }
    return extension.families(families);
  }

  private collectorFor(dir: string): DirectoryCollector {
    let collector = this.collectors.get(dir);
    if (collector === undefined) {
      collector = new DirectoryCollector(dir, { warn: (message) => this.log.warn(message), limits: this.limits });
      this.collectors.set(dir, collector);
    }
    return collector;
  }

  // A collector caches every file of its directory, an extension every label set it made: drop
  // those of directories and apps no longer served.
  private forgetAllBut(sources: readonly DirectorySource[]): void {
    const served = new Set(sources.map((source) => source.dir));
    for (const dir of this.collectors.keys()) {
      if (!served.has(dir)) this.collectors.delete(dir);
    }
    const labels = new Set(sources.flatMap((source) => [JSON.stringify(['dir', source.dir]), JSON.stringify([APP_LABEL, source.app])]));
    for (const key of this.extensions.keys()) {
      if (!labels.has(key)) this.extensions.delete(key);
    }
  }

  // Same name and type: one family with the samples of all. Another type under a taken name
  // cannot be exposed in the same family, so it is left out and reported once.
  private merge(lists: MetricFamily[][]): MetricFamily[] {
    const byName = new Map<string, MetricFamily>();
    const byExposedName = new Map<string, MetricFamily>();
    for (const families of lists) {
      for (const family of families) {
        const existing = byName.get(family.name);
        if (existing === undefined) {
          // Another family already showing one of this family's names (a gauge "x_total" beside a
          // counter "x") would make Prometheus refuse the whole scrape: this one is left out.
          const names = exposedNames(family.name, family.type);
          const owner = names.map((name) => byExposedName.get(name)).find((found) => found !== undefined);
          if (owner !== undefined) {
            if (!this.reportedConflicts.has(family.name)) {
              this.reportedConflicts.add(family.name);
              this.log.warn(`metric "${family.name}" (a ${family.type}) would be exposed under a name of the ${owner.type} "${owner.name}" of another directory: it is left out`);
            }
            continue;
          }
          const copy = { ...family, samples: [...family.samples] };
          byName.set(family.name, copy);
          for (const name of names) byExposedName.set(name, copy);
        } else if (existing.type === family.type) {
          existing.samples.push(...family.samples);
        } else if (!this.reportedConflicts.has(family.name)) {
          this.reportedConflicts.add(family.name);
          this.log.warn(
            `metric "${family.name}" is a ${existing.type} in one directory and a ${family.type} in another: only the ${existing.type} is exposed`,
          );
        }
      }
    }
    return [...byName.values()];
  }
}

// What one scrape exposes, for PM2 and for Node's cluster alike: the apps' merged directories,
// the caller's extra families (PM2's process view) and the service's own health.
import type { MetricFamily } from '../collect';
import type { Logger } from '../logger';
import { ServedDirectories, type DirectorySource, type ServedDirectoriesOptions } from './served-directories';

/** What the service reports of the directories' care (the housekeeper's count). */
export interface CareHealth {
  readonly deadPidsMarked: number;
}

/** The service's own numbers, for its metrics and for `pm2 monit`. */
export interface ServiceHealth {
  /** Seconds the last scrape took to read and merge the directories. */
  lastScrapeSeconds: number;
  filesRead: number;
  corruptFiles: number;
  deadPidsMarked: number;
  directories: number;
}

const PREFIX = 'pm2_prom_multiproc';

export class MetricsService {
  private readonly directories: ServedDirectories;
  private lastScrapeSeconds = 0;
  private directoriesServed = 0;

  constructor(
    log: Logger,
    /** Where the dead pids marked are counted; none marked without it (an endpoint alone). */
    private readonly care: CareHealth = { deadPidsMarked: 0 },
    options: ServedDirectoriesOptions = {},
  ) {
    this.directories = new ServedDirectories(log, options);
  }

  collect(sources: readonly DirectorySource[], extra: MetricFamily[] = []): MetricFamily[] {
    const started = process.hrtime.bigint();
    const appFamilies = this.directories.collect(sources);
    this.lastScrapeSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    this.directoriesServed = sources.length;
    return [...appFamilies, ...extra, ...this.healthFamilies(), ...this.directories.selfMetrics()];
  }

  health(): ServiceHealth {
    return {
      lastScrapeSeconds: this.lastScrapeSeconds,
      ...this.directories.totals(),
      deadPidsMarked: this.care.deadPidsMarked,
      directories: this.directoriesServed,
    };
  }

  private healthFamilies(): MetricFamily[] {
    const gauge = (name: string, help: string, value: number): MetricFamily => ({
      name: `${PREFIX}_${name}`,
      help,
      type: 'gauge',
      samples: [{ name: `${PREFIX}_${name}`, labels: {}, value }],
    });
    return [
      gauge('scrape_duration_seconds', 'Seconds this scrape took to read and merge the metric directories.', this.lastScrapeSeconds),
      gauge('directories', 'Metric directories served.', this.directoriesServed),
      {
        name: `${PREFIX}_dead_pids_marked`,
        help: 'Dead processes whose live gauges were removed since the service started (once in each directory a process wrote to).',
        type: 'counter',
        samples: [{ name: `${PREFIX}_dead_pids_marked_total`, labels: {}, value: this.care.deadPidsMarked }],
      },
    ];
  }
}

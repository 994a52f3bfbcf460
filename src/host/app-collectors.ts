// One served directory, read per app: each app's files (AppAttribution: the app their writer
// recorded, or the app an archive is named after) are merged by a DirectoryCollector of their
// own, whose samples all get pm2_app="<app>"; files of no known app are merged apart, without the
// label. What a file is credited with depends on the file alone, never on which other apps run,
// so a series keeps its labels while apps start, stop and are deleted. Without attribution (the
// cluster helper) the directory is one collector and no label is added.
import * as fs from 'node:fs';
import { DirectoryCollector, LabelExtension, type CollectorLimits, type MetricFamily } from '../collect';
import type { Logger } from '../logger';
import { AppAttribution, hasMetricFileExtension, parseFileName } from '../store';
import type { OwnerRecorder } from './owner-recorder';

/** The label naming the app that wrote a sample. */
export const APP_LABEL = 'pm2_app';

/** What one collector of a directory merged. */
export interface CollectedPart {
  /** The app its samples are labelled with; undefined for files of no known app. */
  app: string | undefined;
  families: MetricFamily[];
  /** Two of its label sets may have become one when the app label was added (see LabelExtension). */
  mayMergeLabelSets: boolean;
}

interface AppCollector {
  collector: DirectoryCollector;
  extension: LabelExtension | undefined;
}

export class AppCollectors {
  private readonly collectors = new Map<string | undefined, AppCollector>();
  private readonly attribution: AppAttribution;
  /** The app of each file name, found once per scrape. */
  private readonly fileApps = new Map<string, string | undefined>();

  private readonly recorder: OwnerRecorder | undefined;
  private readonly limits: CollectorLimits | undefined;

  constructor(
    readonly dir: string,
    private readonly log: Logger,
    /** `recorder`: label by app, writing the records of processes that write none; `limits`: each collector's. */
    options: { recorder?: OwnerRecorder; limits?: CollectorLimits },
  ) {
    this.attribution = new AppAttribution(dir);
    this.recorder = options.recorder;
    this.limits = options.limits;
  }

  /** The collectors of this directory, for their stats and health. */
  get all(): DirectoryCollector[] {
    return [...this.collectors.values()].map((entry) => entry.collector);
  }

  collect(): CollectedPart[] {
    if (this.recorder === undefined) {
      return [{ app: undefined, families: this.collectorFor(undefined).collector.collect(), mayMergeLabelSets: false }];
    }
    const apps = this.appsPresent(this.recorder);
    for (const app of this.collectors.keys()) if (!apps.includes(app)) this.collectors.delete(app);
    return apps.map((app) => {
      const { collector, extension } = this.collectorFor(app);
      const families = collector.collect();
      extension?.extendInPlace(families);
      return { app, families, mayMergeLabelSets: extension?.mayMergeLabelSets ?? false };
    });
  }

  /**
   * The apps with files here now (always including "no known app", whose collector also reports
   * a directory that cannot be listed), sorted; first the records of live processes that lack
   * one are written, so that their files are credited from their first scrape on.
   */
  private appsPresent(recorder: OwnerRecorder): Array<string | undefined> {
    this.attribution.newRound();
    this.fileApps.clear();
    let names: string[] = [];
    try {
      names = fs.readdirSync(this.dir).filter(hasMetricFileExtension);
    } catch {
      // The collector of files of no known app warns about it and counts it.
    }
    const unrecorded = new Map<number, string[]>();
    for (const name of names) {
      const parsed = parseFileName(name);
      if (parsed?.pid === undefined || parsed.claimGeneration !== undefined) continue;
      if (this.attribution.recordOf(parsed.pid) !== undefined) continue;
      const files = unrecorded.get(parsed.pid);
      if (files === undefined) unrecorded.set(parsed.pid, [name]);
      else files.push(name);
    }
    for (const [pid, files] of unrecorded) {
      if (recorder.recordUnknown(this.dir, pid, files)) this.attribution.forget(pid);
    }
    const apps = new Set<string>();
    for (const name of names) {
      const app = this.appOf(name);
      if (app !== undefined) apps.add(app);
    }
    return [undefined, ...[...apps].sort()];
  }

  private appOf(fileName: string): string | undefined {
    if (this.fileApps.has(fileName)) return this.fileApps.get(fileName);
    const parsed = parseFileName(fileName);
    const app = parsed === undefined ? undefined : this.attribution.appOf(parsed);
    this.fileApps.set(fileName, app);
    return app;
  }

  private collectorFor(app: string | undefined): AppCollector {
    let entry = this.collectors.get(app);
    if (entry === undefined) {
      const warn = (message: string): void => this.log.warn(message);
      const fileFilter = this.recorder === undefined ? undefined : (name: string): boolean => this.appOf(name) === app;
      const collector = new DirectoryCollector(this.dir, { warn, limits: this.limits, fileFilter });
      entry = { collector, extension: app === undefined ? undefined : new LabelExtension({ [APP_LABEL]: app }, 'export') };
      this.collectors.set(app, entry);
    }
    return entry;
  }
}

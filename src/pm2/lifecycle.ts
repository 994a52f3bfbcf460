// Follows PM2's processes: prepares every directory in use (safe clean), marks a pid dead when
// PM2 reports its process ended, and reconciles periodically for the events that were missed
// (module down or restarting, daemon reloaded). PM2 7's `exit` event carries no pid, so the pid
// of each pm_id is remembered from the process list.
import { DirectoryCompactor } from '../collect/compactor';
import { prepareDirectory } from '../server/directory-care';
import type { DirectorySource } from '../server/directory-sources';
import type { Logger } from '../server/logger';
import type { MetricsService } from '../server/metrics-service';
import { singleFlight } from '../server/single-flight';
import { DirectoryDiscovery } from './discovery';
import type { Pm2Client, ProcessEvent } from './pm2-client';
import type { Pm2Process } from './process-list';

// Events after which the process that had this pm_id may be gone (PM2 emits `exit` for each).
const ENDING_EVENTS = new Set(['exit', 'stop', 'delete', 'restart', 'restart overlimit', 'kill']);

export class Pm2Lifecycle {
  /** Refreshes the process list and the directories; concurrent callers share one refresh. */
  readonly refresh: () => Promise<Pm2Process[]>;
  private readonly discovery: DirectoryDiscovery;
  private readonly pidByPmId = new Map<number, number>();
  private readonly preparedDirs = new Set<string>();
  private readonly lastDirProblem = new Map<string, string>();
  private servedSources: DirectorySource[] = [];
  private lastProcesses: Pm2Process[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly compactor: DirectoryCompactor;

  constructor(
    private readonly client: Pm2Client,
    private readonly service: MetricsService,
    defaultDir: string,
    private readonly log: Logger,
    deadAllGauges: 'keep' | 'drop' = 'keep',
  ) {
    this.discovery = new DirectoryDiscovery(defaultDir, log);
    this.refresh = singleFlight(() => this.refreshNow());
    this.compactor = new DirectoryCompactor(log, { deadAllGauges });
  }

  /**
   * The process list for a scrape: a fresh one, or the last one known when the daemon does not
   * answer, so that the apps' metrics are still served while PM2 is busy or restarting.
   */
  async processesForScrape(): Promise<Pm2Process[]> {
    try {
      return await this.refresh();
    } catch (error) {
      this.log.warn(`cannot list PM2 processes, serving the last list known: ${(error as Error).message}`);
      return this.lastProcesses;
    }
  }

  /** The directories served now (only those prepared without error). */
  get sources(): readonly DirectorySource[] {
    return this.servedSources;
  }

  async start(reconcileIntervalMs: number): Promise<void> {
    await this.client.connect();
    await this.refresh();
    // The first reconcile runs now: a worker that died while the module was down is marked here.
    this.service.sweeper.reconcile(this.dirs());
    // Dead workers' files are folded into archives after each reconcile, so they stay few.
    this.compactor.compact(this.dirs());
    await this.client.onProcessEvent((event) => this.onProcessEvent(event));
    this.timer = setInterval(() => {
      this.reconcile().catch((error: unknown) => this.log.warn(`reconcile failed: ${(error as Error).message}`));
    }, reconcileIntervalMs);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.client.disconnect();
  }

  async reconcile(): Promise<void> {
    await this.refresh();
    this.service.sweeper.reconcile(this.dirs());
    this.compactor.compact(this.dirs());
  }

  private dirs(): string[] {
    return this.servedSources.map((source) => source.dir);
  }

  private onProcessEvent(event: ProcessEvent): void {
    if (ENDING_EVENTS.has(event.event)) {
      const pid = event.pmId === undefined ? undefined : this.pidByPmId.get(event.pmId);
      if (pid !== undefined) {
        this.service.sweeper.markDead(pid, this.dirs(), `of ${event.name} (pm_id ${event.pmId}) ended (${event.event})`);
      }
      // A graceful reload starts the new process first and then stops the old one under a
      // pm_id such as "_old_1", unknown to the list: a reconcile now (a readdir per directory)
      // finds it.
      this.service.sweeper.reconcile(this.dirs());
    }
    // A process came or went: learn its new pid (and any new directory) now, not at the next tick.
    this.refresh().catch((error: unknown) => this.log.warn(`cannot list PM2 processes: ${(error as Error).message}`));
  }

  private async refreshNow(): Promise<Pm2Process[]> {
    const processes = await this.client.list();
    for (const process of processes) {
      // A stopped process keeps its last pid here until a new one replaces it.
      if (process.pid > 0) this.pidByPmId.set(process.pmId, process.pid);
    }
    const known = new Set(processes.map((process) => process.pmId));
    for (const pmId of this.pidByPmId.keys()) {
      if (!known.has(pmId)) this.pidByPmId.delete(pmId);
    }
    this.servedSources = this.discovery.sources(processes).filter((source) => this.prepared(source.dir));
    this.lastProcesses = processes;
    return processes;
  }

  // Each directory is prepared (created, or cleaned when stale) once; a directory that cannot be
  // used is logged when its problem first appears or changes, and tried again on every refresh.
  private prepared(dir: string): boolean {
    if (this.preparedDirs.has(dir)) return true;
    try {
      const state = prepareDirectory(dir);
      this.preparedDirs.add(dir);
      this.lastDirProblem.delete(dir);
      const outcomes = {
        created: 'created',
        empty: 'ready (empty)',
        wiped: 'found stale (no owner alive): its files were removed',
        kept: 'in use by live processes: kept, dead pids are marked',
      };
      this.log.info(`metrics directory ${dir} ${outcomes[state]}`);
      return true;
    } catch (error) {
      const message = (error as Error).message;
      if (this.lastDirProblem.get(dir) !== message) {
        this.lastDirProblem.set(dir, message);
        this.log.error(`${message}; this directory is not served until it is usable`);
      }
      return false;
    }
  }
}

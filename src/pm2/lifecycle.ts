// Follows PM2's processes and turns what happens to them into the housekeeper's calls: the
// directories in use are kept (prepared once), a process that PM2 reports ended is marked dead,
// and the housekeeper's periodic reconcile catches the events that were missed (module down or
// restarting, daemon reloaded). PM2 7's `exit` event carries no pid, so the pid of each pm_id is
// remembered from the process list. Each listed process that writes no owner record itself
// (Python's client) gets one from the recorder while it runs, so its files keep its app.
import { OwnerRecorder, type DirectorySource, type Housekeeper } from '../host';
import type { Logger } from '../logger';
import { singleFlight } from '../server';
import { DirectoryDiscovery } from './discovery';
import type { Pm2Client, ProcessEvent } from './pm2-client';
import type { Pm2Process } from './process-list';

// Events after which the process that had this pm_id may be gone (PM2 emits `exit` for each).
const ENDING_EVENTS = new Set(['exit', 'stop', 'delete', 'restart', 'restart overlimit', 'kill']);

export class Pm2Lifecycle {
  /** Refreshes the process list and the directories; concurrent callers share one refresh. */
  readonly refresh: () => Promise<Pm2Process[]>;
  /** Writes the owner records of processes that write none; asks the process list for their app. */
  readonly recorder: OwnerRecorder;
  private readonly discovery: DirectoryDiscovery;
  private readonly pidByPmId = new Map<number, number>();
  private appByPid = new Map<number, string>();
  private servedSources: DirectorySource[] = [];
  private lastProcesses: Pm2Process[] = [];

  constructor(
    private readonly client: Pm2Client,
    private readonly housekeeper: Housekeeper,
    defaultDir: string,
    private readonly log: Logger,
  ) {
    this.discovery = new DirectoryDiscovery(defaultDir, log);
    this.recorder = new OwnerRecorder(log, (pid) => this.appByPid.get(pid));
    this.refresh = singleFlight(() => this.refreshNow());
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
    this.housekeeper.reconcile();
    await this.client.onProcessEvent((event) => this.onProcessEvent(event));
    this.housekeeper.schedule(reconcileIntervalMs, () => this.refresh());
  }

  stop(): void {
    this.housekeeper.stop();
    this.client.disconnect();
  }

  private onProcessEvent(event: ProcessEvent): void {
    if (ENDING_EVENTS.has(event.event)) {
      const pid = event.pmId === undefined ? undefined : this.pidByPmId.get(event.pmId);
      if (pid !== undefined) this.housekeeper.processEnded(pid, `of ${event.name} (pm_id ${event.pmId}) ended (${event.event})`);
      // A graceful reload starts the new process first and then stops the old one under a
      // pm_id such as "_old_1", unknown to the list: a sweep now (a readdir per directory)
      // finds it.
      this.housekeeper.sweep();
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
    this.appByPid = new Map(processes.filter((process) => process.pid > 0).map((process) => [process.pid, process.name]));
    const sources = this.discovery.sources(processes);
    const kept = new Set(this.housekeeper.keep(sources.map((source) => source.dir)));
    this.servedSources = sources.filter((source) => kept.has(source.dir));
    this.lastProcesses = processes;
    for (const process of processes) {
      if (process.pid > 0 && process.metricsDir !== undefined && kept.has(process.metricsDir)) {
        this.recorder.recordListed(process.metricsDir, process.pid, process.name);
      }
    }
    return processes;
  }
}

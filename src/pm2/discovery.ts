// Which directories to serve: the module's own directory plus every PROMETHEUS_MULTIPROC_DIR that
// an app declares in its environment. Apps sharing a directory share one source (which app wrote
// which file is the files' own business: src/host/app-collectors.ts).
import type { DirectorySource } from '../host';
import type { Logger } from '../logger';
import type { Pm2Process } from './process-list';

export class DirectoryDiscovery {
  private readonly warnedApps = new Set<string>();

  constructor(
    private readonly defaultDir: string,
    private readonly log: Logger,
  ) {}

  sources(processes: readonly Pm2Process[]): DirectorySource[] {
    const dirs = new Set([this.defaultDir]);
    for (const process of processes) {
      if (process.metricsDir === undefined) this.warnIfClustered(process);
      else dirs.add(process.metricsDir);
    }
    return [...dirs].map((dir) => ({ dir }));
  }

  // A cluster without a directory exposes one worker per scrape: the problem this module solves.
  private warnIfClustered(process: Pm2Process): void {
    if (!process.clusterMode || process.isModule || this.warnedApps.has(process.name)) return;
    this.warnedApps.add(process.name);
    this.log.warn(
      `app "${process.name}" runs in cluster mode without PROMETHEUS_MULTIPROC_DIR: its workers' metrics ` +
        `are not merged; set PROMETHEUS_MULTIPROC_DIR=${this.defaultDir} in its env (ecosystem file)`,
    );
  }
}

// The module's own health in `pm2 monit` (and PM2 Plus), through @pm2/io metrics. PM2 lists them
// with the module's process, so its process view would show them again beside the module's own
// pm2_prom_multiproc_* families: processMetrics leaves them out (HEALTH_PROBE_NAMES).
import type { ServiceHealth } from '../host';
import { hostPm2 } from './host-pm2';

const PROBES: ReadonlyArray<{ name: string; unit?: string; value: (health: ServiceHealth) => number }> = [
  { name: 'Scrape duration', unit: 'ms', value: (health) => Math.round(health.lastScrapeSeconds * 1e6) / 1e3 },
  { name: 'Directories served', value: (health) => health.directories },
  { name: 'Files read', value: (health) => health.filesRead },
  { name: 'Corrupt files', value: (health) => health.corruptFiles },
  { name: 'Dead pids marked', value: (health) => health.deadPidsMarked },
];

/** The names of the @pm2/io metrics showHealthInMonit publishes. */
export const HEALTH_PROBE_NAMES: ReadonlySet<string> = new Set(PROBES.map((probe) => probe.name));

export function showHealthInMonit(health: () => ServiceHealth): void {
  const { io } = hostPm2();
  for (const probe of PROBES) {
    io.metric({ name: probe.name, ...(probe.unit === undefined ? {} : { unit: probe.unit }), value: () => probe.value(health()) });
  }
}

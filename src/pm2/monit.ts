// The module's own health in `pm2 monit` (and PM2 Plus), through @pm2/io metrics.
import type { ServiceHealth } from '../host';
import { hostPm2 } from './host-pm2';

export function showHealthInMonit(health: () => ServiceHealth): void {
  const { io } = hostPm2();
  io.metric({ name: 'Scrape duration', unit: 'ms', value: () => Math.round(health().lastScrapeSeconds * 1e6) / 1e3 });
  io.metric({ name: 'Directories served', value: () => health().directories });
  io.metric({ name: 'Files read', value: () => health().filesRead });
  io.metric({ name: 'Corrupt files', value: () => health().corruptFiles });
  io.metric({ name: 'Dead pids marked', value: () => health().deadPidsMarked });
}

// The module side's care of the directories one host serves, and what one scrape of them exposes:
// used by the PM2 module (src/pm2) and the cluster helper (src/cluster).
export { Housekeeper } from './housekeeper';
export type { HousekeeperOptions } from './housekeeper';
export { compactDirectory } from './compaction';
export type { CompactionOptions, CompactionReport, CompactionStep } from './compaction';
export { MetricsService } from './metrics-service';
export type { ServiceHealth } from './metrics-service';
export { APP_LABEL } from './app-collectors';
export type { DirectorySource, ServedDirectoriesOptions } from './served-directories';
export { OwnerRecorder } from './owner-recorder';
export type { AppOfListedPid } from './owner-recorder';

// The `--require pm2-prom-multiproc/register` preload: mirrors the app's own prom-client global
// registry into this process's files, with no change to the app's metric code.

import { DEFAULT_GAUGE_MODE, GAUGE_MODES, isGaugeMode } from '../store';
import type { GaugeMode } from '../store';
import { AppPromClient } from './app-prom-client';
import { multiprocessStore } from './multiprocess-store';
import { RegistryMirror } from './registry-mirror';
import { DEFAULT_INTERVAL_MS, gaugeModeResolver, startMirror, warn } from './start-mirror';
import type { MirrorHandle } from './start-mirror';

/** Milliseconds between passes (default 1000). */
export const INTERVAL_ENV = 'PROMETHEUS_MIRROR_INTERVAL_MS';
/** `name=mode,name=mode`: gauge modes by metric name; other gauges are `all`. */
export const GAUGE_MODES_ENV = 'PROMETHEUS_MIRROR_GAUGE_MODES';

/**
 * Starts mirroring into PROMETHEUS_MULTIPROC_DIR (register.js calls this only when `env`, from
 * preloadEnvironment(), sets it). A problem (say a directory that is not writable) turns mirroring
 * off after one warning: a preload must never stop the app.
 */
export function startPreload(env: NodeJS.ProcessEnv): MirrorHandle | undefined {
  try {
    const app = new AppPromClient(warn);
    const mirror = new RegistryMirror(
      () => app.registries(),
      multiprocessStore,
      gaugeModeResolver(parseGaugeModes(env[GAUGE_MODES_ENV] ?? ''), DEFAULT_GAUGE_MODE),
      warn,
    );
    return startMirror(mirror, parseInterval(env[INTERVAL_ENV]));
  } catch (error) {
    warn(`pm2-prom-multiproc/register: mirroring is off: ${error instanceof Error ? error.message : String(error)}`);
    return undefined;
  }
}

function parseInterval(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_INTERVAL_MS;
  const interval = Number(text);
  if (Number.isFinite(interval) && interval > 0) return interval;
  warn(`${INTERVAL_ENV}="${text}" is not a positive number of milliseconds; using ${DEFAULT_INTERVAL_MS}`);
  return DEFAULT_INTERVAL_MS;
}

function parseGaugeModes(text: string): Record<string, GaugeMode> {
  const modes: Record<string, GaugeMode> = {};
  for (const pair of text.split(',').map((part) => part.trim())) {
    if (pair === '') continue;
    const [name, mode] = pair.split('=').map((part) => part.trim());
    if (name && isGaugeMode(mode)) {
      modes[name] = mode;
    } else {
      warn(`${GAUGE_MODES_ENV}: "${pair}" is not NAME=MODE with MODE one of ${GAUGE_MODES.join(', ')}; ignored`);
    }
  }
  return modes;
}

// The public way to mirror a registry: mirrorRegistry() runs passes on an unref'd timer and once
// more at exit; the preload and collectDefaultMetrics() start their mirrors the same way.

import { logger } from '../logger';
import { AGGREGATOR_GAUGE_MODES, DEFAULT_GAUGE_MODE, GAUGE_MODES, isGaugeMode } from '../store';
import type { GaugeMode, ProcessStore } from '../store';
import { defaultMetricGaugeMode } from './default-metric-modes';
import { flushOnExit } from '../exit-flush';
import { multiprocessStore } from './multiprocess-store';
import { RegistryMirror } from './registry-mirror';
import type { GaugeModeResolver } from './registry-mirror';
import { isRegistryLike } from './registry-shape';
import type { RegistryLike } from './registry-shape';

export interface MirrorOptions {
  /** Milliseconds between passes. Default 1000. */
  intervalMs?: number;
  /** Gauge mode by metric name; wins over the modes given to prom-client's default metrics. */
  gaugeModes?: Readonly<Record<string, GaugeMode>>;
  /**
   * Mode of every other gauge whose prom-client `aggregator` is 'sum', prom-client's default (an
   * explicit 'sum' looks the same). Default 'livesum'. A gauge with another aggregator merges as it
   * says ('max' -> livemax, ...), one with 'omit' is not mirrored.
   */
  defaultGaugeMode?: GaugeMode;
  /** Where to write. Default: this process's store in PROMETHEUS_MULTIPROC_DIR. */
  store?: ProcessStore;
  /** Receives the one warning per metric that cannot be mirrored. Default: the package's logger. */
  warn?: (message: string) => void;
}

export interface MirrorHandle {
  /** Refreshes computed metrics and writes every series now; never rejects. */
  pass(): Promise<void>;
  /** Writes the values the metrics hold now, synchronously (what the exit hooks call). */
  flush(): void;
  /** Stops the timer and the exit hooks after a last flush. */
  stop(): void;
}

export const DEFAULT_INTERVAL_MS = 1000;

/**
 * Mirrors `registry` (prom-client's global `register` or any Registry, of any version from 11)
 * into this process's files every `intervalMs`, on an unref'd timer.
 */
export function mirrorRegistry(registry: RegistryLike, options: MirrorOptions = {}): MirrorHandle {
  if (!isRegistryLike(registry)) {
    throw new TypeError('mirrorRegistry(registry): registry must be a prom-client Registry (it has no getMetricsAsArray())');
  }
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new RangeError(`mirrorRegistry: intervalMs must be a positive number of milliseconds (got ${intervalMs})`);
  }
  const store = options.store ?? multiprocessStore();
  const mirror = new RegistryMirror(
    () => [registry],
    () => store,
    gaugeModeResolver(options.gaugeModes ?? {}, options.defaultGaugeMode ?? DEFAULT_GAUGE_MODE),
    options.warn ?? warn,
  );
  return startMirror(mirror, intervalMs);
}

/**
 * Runs a pass every `intervalMs` on an unref'd timer (it never keeps the app alive), and flushes
 * once more when the process exits.
 */
export function startMirror(mirror: RegistryMirror, intervalMs: number): MirrorHandle {
  const timer = setInterval(() => void mirror.pass(), intervalMs);
  timer.unref();
  const removeExitFlush = flushOnExit(() => mirror.flush());
  return {
    pass: () => mirror.pass(),
    flush: () => mirror.flush(),
    stop() {
      clearInterval(timer);
      removeExitFlush();
      mirror.flush();
    },
  };
}

/**
 * The gauge mode of a metric: configured by name, else the default-metric table, else the mode of
 * its prom-client aggregator, else (aggregator 'sum', prom-client's default) the fallback.
 */
export function gaugeModeResolver(configured: Readonly<Record<string, GaugeMode>>, fallback: GaugeMode): GaugeModeResolver {
  for (const [name, mode] of [...Object.entries(configured), ['(default)', fallback]]) {
    if (!isGaugeMode(mode)) {
      throw new RangeError(`Gauge mode "${mode}" for "${name}" is not one of ${GAUGE_MODES.join(', ')}`);
    }
  }
  return (name, aggregator) =>
    (Object.hasOwn(configured, name) ? configured[name] : undefined) ??
    defaultMetricGaugeMode(name) ??
    (aggregator === 'omit' ? 'omit' : aggregatorGaugeMode(aggregator)) ??
    fallback;
}

/** The mode a prom-client aggregator other than 'sum' names, if it is one. */
function aggregatorGaugeMode(aggregator: unknown): GaugeMode | undefined {
  if (aggregator === 'sum' || typeof aggregator !== 'string' || !Object.hasOwn(AGGREGATOR_GAUGE_MODES, aggregator)) return undefined;
  return AGGREGATOR_GAUGE_MODES[aggregator as keyof typeof AGGREGATOR_GAUGE_MODES];
}

/** The mirror's warnings go to the package's logger (asked at each warning: it may be replaced). */
export function warn(message: string): void {
  logger().warn(message);
}

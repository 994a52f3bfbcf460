// Runs the `collect` callbacks of multiprocess metrics every few seconds. The scrape reads the
// files from another process, so a callback that only ran at scrape time (prom-client's way) would
// never run; Python silently ignores them. An unref'd timer never keeps the process alive.
import { logger } from '../logger';

/** Anything with a collect callback to run. */
export interface Collectable {
  readonly description: string;
  runCollect(): Promise<void>;
}

export const COLLECT_INTERVAL_MS = 5000;

const scheduled = new Set<Collectable>();
const failed = new WeakSet<Collectable>();
let timer: NodeJS.Timeout | undefined;

/** Runs every scheduled callback now; a failing one is reported once (a warning), not thrown. */
export async function refreshCollected(): Promise<void> {
  await Promise.all([...scheduled].map((metric) => runOne(metric)));
}

async function runOne(metric: Collectable): Promise<void> {
  try {
    await metric.runCollect();
  } catch (error) {
    if (failed.has(metric)) return;
    failed.add(metric);
    logger().warn(`${metric.description}: collect callback failed: ${(error as Error).message}`);
  }
}

/** Adds a metric whose callback must run although nobody calls get() in this process. */
export function scheduleCollect(metric: Collectable): void {
  scheduled.add(metric);
  if (timer === undefined) {
    let running = false;
    // A slow async callback must not pile up refreshes: a tick is skipped while one runs.
    timer = setInterval(() => {
      if (running) return;
      running = true;
      void refreshCollected().finally(() => (running = false));
    }, COLLECT_INTERVAL_MS);
    timer.unref();
  }
}

// Writes what is held back one last time when the process ends (the registry mirrors' copies, the
// exemplars not yet in their files), without changing how it ends: same exit code, same signal,
// and an app's own signal handlers keep deciding what a signal does. One module for every such
// flush, since a second set of signal listeners would defeat the "ours is the only one" test.

import { isMainThread } from 'node:worker_threads';

/** PM2 stops with SIGINT by default, other managers (systemd, Kubernetes) with SIGTERM. */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

const flushes = new Set<() => void>();

function flushAll(): void {
  for (const flush of flushes) flush();
}

/**
 * Listening to a signal turns off Node's default action (terminate). When ours is the only
 * listener at the time the signal comes, the app relied on that default: flush, step aside and
 * raise the signal again, so the process still dies of it (exit status 128 + signal, as before).
 * When the app listens too, its handler decides, and 'exit' flushes again if it exits.
 */
function onStopSignal(signal: NodeJS.Signals): void {
  flushAll();
  if (process.listenerCount(signal) === 1) {
    process.removeListener(signal, onStopSignal);
    process.kill(process.pid, signal);
  }
}

/**
 * Calls `flush` (synchronous, never throwing) at 'exit', which covers a natural end, process.exit()
 * and an uncaught exception, and on SIGINT/SIGTERM. 'beforeExit' is not used: 'exit' follows it,
 * and async work there would make the loop run again. One listener per event serves every flush,
 * so that "ours is the only listener" means what it says. Returns a function that removes `flush`.
 */
export function flushOnExit(flush: () => void): () => void {
  if (flushes.size === 0) {
    process.on('exit', flushAll);
    if (isMainThread) for (const signal of STOP_SIGNALS) process.on(signal, onStopSignal);
  }
  flushes.add(flush);
  return () => {
    if (!flushes.delete(flush) || flushes.size > 0) return;
    process.removeListener('exit', flushAll);
    for (const signal of STOP_SIGNALS) process.removeListener(signal, onStopSignal);
  };
}

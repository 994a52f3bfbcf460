// Child (run with --expose-gc, with an IPC channel): the real endpoint over a metrics directory,
// its collection instrumented to count collections and how many ever ran at once. Like the PM2
// module, each collection first awaits something outside the process (there: the PM2 process
// list), so overlapping scrapes would overlap collections unless the endpoint shares them.
// Prints {"port": N}; answers every IPC message with its stats after a garbage collection.
// argv: DIR LIMITS_JSON
import { setTimeout as sleep } from 'node:timers/promises';
import type { AddressInfo } from 'node:net';
import type { MetricFamily } from '../../../src/collect';
import { createMetricsHandler, listenOn, type ConnectionLimits } from '../../../src/server/endpoint';
import { createLogger } from '../../../src/logger';
import { MetricsService } from '../../../src/host';

const [dir, limitsJson] = process.argv.slice(2);
const limits = JSON.parse(limitsJson) as Partial<ConnectionLimits>;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined || process.send === undefined) throw new Error('run with --expose-gc and an IPC channel');
const send = process.send.bind(process);

const log = createLogger('endpoint-under-load');
const service = new MetricsService(log);
let collections = 0;
let inFlight = 0;
let maxInFlight = 0;
let requests = 0;

async function collect(): Promise<MetricFamily[]> {
  collections++;
  inFlight++;
  maxInFlight = Math.max(maxInFlight, inFlight);
  try {
    await sleep(5);
    return service.collect([{ dir }]);
  } finally {
    inFlight--;
  }
}

async function main(): Promise<void> {
  const handler = createMetricsHandler({ path: '/metrics', log, title: 'load', collect });
  const server = await listenOn(handler, '127.0.0.1', 0, { limits });
  server.on('request', () => requests++);
  process.on('message', () => {
    gc?.();
    const memory = process.memoryUsage();
    server.getConnections((error, connections) => {
      send({ collections, maxInFlight, requests, connections: error ? -1 : connections, heapUsed: memory.heapUsed, rss: memory.rss });
    });
  });
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});

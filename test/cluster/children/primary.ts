// Child: a cluster primary with serveClusterMetrics (reconcile once an hour, so only exit events
// act) that forks workers on request, with a chosen pid when asked. stdin lines:
//   fork PID   fork a worker, aiming the next pid at PID (0: any pid); prints {"forked": pid}
//              once the worker wrote its gauge
//   kill PID   SIGKILLs that worker; prints {"exited": pid} after the cluster `exit` event
// Prints {"url"} first. argv: DIR
import cluster from 'node:cluster';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { serveClusterMetrics } from '../../../src/cluster';
import { aimNextPid } from '../../support/pid-reuse';

const [dir] = process.argv.slice(2);
const print = (message: unknown): void => void process.stdout.write(`${JSON.stringify(message)}\n`);

async function main(): Promise<void> {
  const metrics = await serveClusterMetrics({ dir, port: 0, reconcileIntervalMs: 3_600_000, log: { info: () => undefined, warn: console.error, error: console.error } });
  cluster.setupPrimary({ exec: path.join(__dirname, 'gauge-worker.ts'), execArgv: ['--import', 'tsx'] });
  print({ url: metrics.url });
  createInterface({ input: process.stdin }).on('line', (line) => {
    const [command, pidText] = line.split(' ');
    const pid = Number(pidText);
    if (command === 'fork') {
      if (pid > 0) aimNextPid(pid);
      const worker = cluster.fork();
      worker.once('message', () => print({ forked: worker.process.pid }));
    } else if (command === 'kill') {
      const worker = Object.values(cluster.workers ?? {}).find((candidate) => candidate?.process.pid === pid);
      // Listed after the helper's own listener: the helper has marked the pid when this prints.
      cluster.once('exit', (exited) => print({ exited: exited.process.pid }));
      worker?.process.kill('SIGKILL');
    }
  });
}

void main();

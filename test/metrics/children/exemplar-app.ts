// Child: an app with exemplar metrics in PROMETHEUS_MULTIPROC_DIR; counts and exemplars, then ends
// the way argv[2] says: `natural` (the loop empties), `exit` (process.exit(3)), `signal` (waits
// for a SIGTERM it does not handle), `kill` (waits for SIGKILL), `thread` (the same in a worker
// thread, which then ends). Prints `ready` once everything is counted.
import { Worker, isMainThread, workerData } from 'node:worker_threads';
import { Counter, Histogram, Registry, register } from '../../../src/index';

function work(traceId: string): void {
  register.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
  const requests = new Counter({ name: 'app_requests_total', help: 'Requests.', labelNames: ['route'], enableExemplars: true });
  const latency = new Histogram({ name: 'app_latency_seconds', help: 'Latency.', labelNames: ['run'], buckets: [0.1, 1], enableExemplars: true });
  for (let i = 0; i < 100; i++) requests.inc({ labels: { route: '/a' }, exemplarLabels: { traceId: `${traceId}-${i}` } });
  latency.observe({ labels: { run: traceId }, value: 0.5, exemplarLabels: { traceId } });
}

const mode = isMainThread ? process.argv[2] : (workerData as string);
if (!isMainThread) {
  work('thread');
} else if (mode === 'thread') {
  new Worker(`require('tsx/cjs'); require(${JSON.stringify(__filename)});`, { eval: true, workerData: 'in-thread' }).on('exit', () =>
    process.stdout.write('ready\n'),
  );
} else {
  work(mode);
  process.stdout.write('ready\n');
  if (mode === 'exit') process.exit(3);
  if (mode === 'signal' || mode === 'kill') setInterval(() => {}, 1000);
}

// Runs on a worker thread: the app's usual metrics, configured by PROMETHEUS_MULTIPROC_DIR only.
import { parentPort, workerData } from 'node:worker_threads';
import { Counter, Gauge, Histogram } from '../../../src/index';
import { activeStore } from '../../../src/metrics/active-store';

const { updates } = workerData as { updates: number };
const jobs = new Counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['queue'] });
const busy = new Gauge({ name: 'busy', help: 'Busy.', multiprocessMode: 'all' });
const seconds = new Histogram({ name: 'job_seconds', help: 'Job time.', buckets: [0.1, 1] });
const child = jobs.labels('a');
for (let i = 0; i < updates; i++) {
  child.inc();
  jobs.inc({ queue: 'b' }, 2);
  seconds.observe(i % 2 === 0 ? 0.05 : 5);
}
busy.set(updates);
parentPort?.postMessage(activeStore()?.owner);

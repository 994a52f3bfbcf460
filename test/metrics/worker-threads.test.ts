// Worker threads share a pid but never a file: each writes PID-THREADID files, and the merged
// totals add up across the main thread and every worker.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import { Counter, Registry, collectDirectory } from '../../src/index';
import { FILE_BACKENDS, makeMetricsDir } from '../support/metrics-dir';
import type { MetricsDir } from '../support/metrics-dir';

/** Runs children/thread-metrics.ts on a real worker thread; resolves with its store owner. */
function runThread(dir: string, backend: string, updates: number): Promise<string> {
  const script = path.join(__dirname, 'children', 'thread-metrics.ts');
  const worker = new Worker(`require('tsx/cjs'); require(${JSON.stringify(script)});`, {
    eval: true,
    workerData: { updates },
    env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir, PM2_PROM_MULTIPROC_BACKEND: backend },
  });
  return new Promise((resolve, reject) => {
    worker.once('message', (owner: string) => resolve(owner));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`worker exited with ${code} before reporting`)));
  });
}

for (const backend of FILE_BACKENDS) {
  describe(`metrics on worker threads (${backend} backend)`, () => {
    let target: MetricsDir;
    beforeEach(() => {
      target = makeMetricsDir();
    });
    afterEach(() => target.remove());

    it('each thread writes its own files and the merged totals add up', async () => {
      const main = target.actAs(process.pid, backend);
      new Counter({ name: 'jobs_total', help: 'Jobs.', labelNames: ['queue'], registers: [new Registry()] }).inc({ queue: 'a' }, 1000);
      const owners = await Promise.all([runThread(target.dir, backend, 300), runThread(target.dir, backend, 700)]);

      for (const owner of owners) assert.match(owner, new RegExp(`^${process.pid}-\\d+$`));
      const expectedFiles = [
        `counter_${main.owner}.db`,
        ...owners.flatMap((owner) => [`counter_${owner}.db`, `gauge_all_${owner}.db`, `histogram_${owner}.db`]),
        // The threads share the process's one owner record.
        `owner_${process.pid}.json`,
      ];
      assert.deepEqual(fs.readdirSync(target.dir).sort(), expectedFiles.sort());

      const families = new Map(collectDirectory(target.dir).map((family) => [family.name, family.samples]));
      const value = (family: string, sample: string, labels: Record<string, string>): number | undefined =>
        families.get(family)?.find((s) => s.name === sample && JSON.stringify(s.labels) === JSON.stringify(labels))?.value;
      assert.equal(value('jobs', 'jobs_total', { queue: 'a' }), 1000 + 300 + 700);
      assert.equal(value('jobs', 'jobs_total', { queue: 'b' }), 2 * (300 + 700));
      assert.equal(value('job_seconds', 'job_seconds_count', {}), 1000);
      assert.equal(value('job_seconds', 'job_seconds_bucket', { le: '0.1' }), 500);
      for (const [i, owner] of owners.entries()) assert.equal(value('busy', 'busy', { pid: owner }), [300, 700][i]);
    });
  });
}

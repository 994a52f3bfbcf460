// Python's MultiProcessCollector (the current client, from the team's peers folder) reads a
// directory that holds native histogram files (live ones, an archive, a claimed one): it never
// opens them (it globs *.db) and gives exactly the classic samples our text rendering gives.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { DirectoryCollector, renderText } from '../../src/collect';
import { compactDirectory } from '../../src/host/compaction';
import { useStore } from '../../src/metrics/active-store';
import { Counter } from '../../src/metrics/counter';
import { Histogram } from '../../src/metrics/histogram';
import { ProcessStore } from '../../src/store';
import { deadPid } from '../host/compaction-support/workers';
import { PYTHON_COLLECTOR_MISSING, pythonCollect, pythonCollectorAvailable } from '../support/python-collector';
import { makeTempDir, removeDir } from './support/files';
import { assertSameSamples, parseExposition } from './support/samples';

function writeProcess(dir: string, pid: number, seed: number): void {
  const store = new ProcessStore(dir, { pid, threadId: 0, backend: 'pwrite' });
  useStore(store);
  try {
    const registers: never[] = [];
    const both = new Histogram({ name: 'rpc_seconds', help: 'RPC.', labelNames: ['method'], buckets: [0.5, 2], nativeHistogramBucketFactor: 1.1, nativeHistogramMaxBucketNumber: 3, registers });
    const nativeOnly = new Histogram({ name: 'queue_seconds', help: 'Queue.', buckets: [], nativeHistogramBucketFactor: 2, registers });
    for (const v of [0.25 * seed, 1, 4, 16, 0]) {
      both.observe({ method: 'get' }, v);
      nativeOnly.observe(v);
    }
    new Counter({ name: 'jobs_total', help: 'Jobs.', registers }).inc(seed);
  } finally {
    useStore(undefined);
    store.close();
  }
}

describe("Python's MultiProcessCollector beside native histogram files", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('pm2-prom-python-native-');
  });
  afterEach(() => removeDir(dir));

  it('reads the classic part exactly as our text rendering gives it, and never the native files', function () {
    if (!pythonCollectorAvailable()) {
      console.log(`      (${PYTHON_COLLECTOR_MISSING})`);
      this.skip();
    }
    writeProcess(dir, process.pid, 1);
    for (let i = 0; i < 3; i++) writeProcess(dir, deadPid(i), 2 + i);
    assert.deepEqual(compactDirectory(dir).problems, []);
    writeProcess(dir, deadPid(5), 7);
    // A compaction killed right after claiming leaves a claimed native file beside the archive.
    compactDirectory(dir, {
      onStep: (step) => {
        if (step === 'claimed') throw new Error('killed');
      },
    });
    const names = fs.readdirSync(dir);
    assert.ok(names.includes('histogram_archive.nhdb'), names.join(' '));
    assert.ok(names.includes(`histogram_${process.pid}.nhdb`), names.join(' '));
    assert.ok(names.some((name) => /^histogram_\d+\.g\d+\.i\d+\.(nhdb|db)$/.test(name)), names.join(' '));

    const python = pythonCollect(dir);
    const ours = renderText(new DirectoryCollector(dir).collect());
    assertSameSamples(parseExposition(python), parseExposition(ours), "Python's collector against ours");
    assert.match(python, /^queue_seconds_count 25\.0$/m);
    assert.doesNotMatch(python, /__nh|__s|__zt/);
  });
});

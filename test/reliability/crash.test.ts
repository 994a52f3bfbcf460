// Crashes: writers killed by SIGKILL at random moments keep every update they completed, and a
// file cut short or caught between writing an entry and publishing it is read up to its last
// whole entry (or skipped), never crashing the collector.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { DirectoryCollector, type MetricFamily } from '../../src/collect';
import { HEADER_BYTES, encodeKey, parseEntries } from '../../src/store/format';
import { ProcessStore, type BackendKind } from '../../src/store';
import { envNumber, makeTempDir, removeDir, startChild, waitForMessage } from './support';

const KILLS = envNumber('RELIABILITY_CRASH_KILLS', 12);
const CUTS = envNumber('RELIABILITY_CRASH_CUTS', 400);
const BACKENDS: readonly BackendKind[] = ['native', 'pwrite'];

interface Progress {
  completed: number;
}

function isProgress(message: unknown): message is Progress {
  return typeof message === 'object' && message !== null && 'completed' in message;
}

/** The sum of every sample of `name`, and whether the directory read without a problem. */
function collectTotal(dir: string, name: string): { total: number; warnings: string[] } {
  const warnings: string[] = [];
  const families = new DirectoryCollector(dir, { warn: (message) => warnings.push(message) }).collect();
  const total = families
    .flatMap((family) => family.samples)
    .filter((sample) => sample.name === name)
    .reduce((sum, sample) => sum + sample.value, 0);
  return { total, warnings };
}

/** A small deterministic generator, so that a failure can be replayed from its seed. */
function randomSource(seed: number): (limit: number) => number {
  let state = seed >>> 0 || 1;
  return (limit) => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) % limit;
  };
}

describe('reliability: writers killed by SIGKILL', function () {
  this.timeout(KILLS * 20_000);
  let dir: string;
  beforeEach(() => (dir = makeTempDir('crash')));
  afterEach(() => removeDir(dir));

  it(`keep every completed update, ${KILLS} kills at random moments`, async () => {
    const seed = Date.now();
    const random = randomSource(seed);
    // All writers start at once (starting one costs seconds); each is killed at its own moment.
    const runs = Array.from({ length: KILLS }, async (_, kill) => {
      const backend = BACKENDS[kill % BACKENDS.length];
      const batch = 1 + random(300);
      const delay = random(400);
      const runDir = path.join(dir, String(kill));
      fs.mkdirSync(runDir);
      const child = startChild('crash-writer.ts', ['run', String(batch)], {
        env: { PROMETHEUS_MULTIPROC_DIR: runDir, PM2_PROM_MULTIPROC_BACKEND: backend },
      });
      await waitForMessage(child, isProgress);
      await sleep(delay);
      child.process.kill('SIGKILL');
      const end = await child.ended;
      const context = `kill ${kill} (${backend}, batch ${batch}, seed ${seed})`;
      assert.equal(end.signal, 'SIGKILL', `${context}: ${child.stderr()}`);
      const reported = child.messages.filter(isProgress).at(-1)?.completed ?? 0;
      const { total, warnings } = collectTotal(runDir, 'crash_operations_total');
      assert.deepEqual(warnings, [], `${context}: the killed writer's file reads without a problem`);
      // At least what it reported; at most the batch it was in when killed.
      assert.ok(total >= reported, `${context}: lost updates: ${total} in the file, ${reported} reported`);
      assert.ok(total <= reported + batch, `${context}: ${total} in the file, more than ${reported} + ${batch}`);
      return total;
    });
    const totals = await Promise.all(runs);
    console.log(`      crash: killed writers had completed ${totals.join(', ')} operations`);
  });

  for (const backend of BACKENDS) {
    it(`keep exactly the count completed when the kill lands after it (${backend})`, async () => {
      const stop = 1 + Math.floor(Math.random() * 200_000);
      const child = startChild('crash-writer.ts', ['pause', '1000', String(stop)], {
        env: { PROMETHEUS_MULTIPROC_DIR: dir, PM2_PROM_MULTIPROC_BACKEND: backend },
      });
      await waitForMessage(child, (message): message is Progress => isProgress(message) && message.completed === stop);
      child.process.kill('SIGKILL');
      assert.equal((await child.ended).signal, 'SIGKILL');
      assert.deepEqual(collectTotal(dir, 'crash_operations_total'), { total: stop, warnings: [] });
    });
  }
});

describe('reliability: files cut short', () => {
  let dir: string;
  let victimPath: string;
  let original: Buffer;
  /** End offset and sample of each victim entry, in file order. */
  let victimEntries: Array<{ end: number; labels: string; value: number }>;
  let steadySamples: string[];

  before(() => {
    dir = makeTempDir('cut');
    // The victim and a steady neighbour, both written by the real store.
    const victimStore = new ProcessStore(dir, { pid: 4242, threadId: 0, backend: 'pwrite' });
    const victim = victimStore.file('counter');
    for (let i = 0; i < 600; i++) {
      victim.add(victim.slotOf(encodeKey('cut_jobs', 'cut_jobs_total', { n: String(i) }, 'Jobs.')), i + 1);
    }
    const steadyStore = new ProcessStore(dir, { pid: 4243, threadId: 0, backend: 'pwrite' });
    const steady = steadyStore.file('counter');
    for (let i = 0; i < 50; i++) {
      steady.add(steady.slotOf(encodeKey('steady_jobs', 'steady_jobs_total', { n: String(i) }, 'Jobs.')), i + 0.5);
    }
    // Written through: the files stay as they are, and no writer looks after them while they are cut.
    victimStore.close();
    steadyStore.close();
    victimPath = victim.path;
    original = fs.readFileSync(victimPath);
    const { entries } = parseEntries(original, HEADER_BYTES, original.readInt32LE(0));
    victimEntries = entries.map((entry, i) => ({ end: entry.valueOffset + 16, labels: `n=${i}`, value: i + 1 }));
    steadySamples = sampleTexts(new DirectoryCollector(dir).collect(), 'steady_jobs_total');
    assert.equal(steadySamples.length, 50);
  });
  after(() => removeDir(dir));

  function sampleTexts(families: MetricFamily[], name: string): string[] {
    return families
      .flatMap((family) => family.samples)
      .filter((sample) => sample.name === name)
      .map((sample) => `${Object.entries(sample.labels).map(([label, value]) => `${label}=${value}`).join(',')} ${sample.value}`)
      .sort();
  }

  it(`reads a cut or half-published file up to its last whole entry, or skips it (${CUTS} cuts)`, () => {
    const seed = Date.now();
    const random = randomSource(seed);
    const used = original.readInt32LE(0);
    const collector = new DirectoryCollector(dir, { warn: () => undefined });
    for (let cut = 0; cut < CUTS; cut++) {
      let bytes: Buffer;
      let readableEnd: number;
      if (cut % 2 === 0) {
        // Cut at any length, mostly around the entries: what a full disk or a copy cut short leaves.
        const length = random(used + 64);
        bytes = original.subarray(0, length);
        readableEnd = length >= used ? used : 0;
      } else {
        // `used` short of the entries present: a writer killed after writing an entry but before
        // publishing it, or any smaller header value.
        const published = HEADER_BYTES + random(used - HEADER_BYTES + 1);
        bytes = Buffer.from(original);
        bytes.writeInt32LE(published, 0);
        readableEnd = published;
      }
      fs.writeFileSync(victimPath, bytes);
      const context = `cut ${cut} (${bytes.length} bytes, used ${bytes.length >= 4 ? bytes.readInt32LE(0) : '-'}, seed ${seed})`;
      const families = collector.collect();
      assert.deepEqual(sampleTexts(families, 'steady_jobs_total'), steadySamples, `${context}: the neighbour's samples`);
      const expected = victimEntries.filter((entry) => entry.end <= readableEnd).map((entry) => `${entry.labels} ${entry.value}`).sort();
      const read = sampleTexts(families, 'cut_jobs_total');
      // Skipped as a whole is allowed; anything read is exactly the whole entries before the cut.
      if (read.length > 0 || expected.length === 0) assert.deepEqual(read, expected, context);
    }
  });
});

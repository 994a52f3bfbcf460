// A bad file never fails a scrape: it (or the rest of it) is skipped with one warning and
// counted, and every other file still merges.

import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DirectoryCollector, renderText } from '../../src/collect';
import { HEADER_BYTES, MAX_FILE_BYTES, entryBytes } from '../../src/store/format';
import { fileBytes, keyOf, makeTempDir, removeDir, writeDbFile } from './support/files';
import type { EntrySpec } from './support/files';
import { PROMTOOL_MISSING, assertPromtoolAccepts, promtoolAvailable } from './support/promtool';
import { assertSameSamples, samplesOf } from './support/samples';
import type { PlainSample } from './support/samples';
import { PYTHON_0_16 } from '../support/fixtures';

const jobs = (q: string, value: number): EntrySpec => ({ metric: 'jobs', sample: 'jobs_total', labels: { q }, value });
const GOOD_FILES: Record<string, EntrySpec[]> = {
  'counter_1.db': [jobs('a', 1), jobs('b', 2)],
  'gauge_livesum_1.db': [{ metric: 'busy_workers', value: 3 }],
  'histogram_2.db': [
    { metric: 'wait_seconds', sample: 'wait_seconds_bucket', labels: { le: '1.0' }, value: 4 },
    { metric: 'wait_seconds', sample: 'wait_seconds_bucket', labels: { le: '+Inf' }, value: 1 },
    { metric: 'wait_seconds', sample: 'wait_seconds_sum', value: 2.5 },
  ],
};
const BASELINE: PlainSample[] = [
  { name: 'jobs_total', labels: { q: 'a' }, value: 1 },
  { name: 'jobs_total', labels: { q: 'b' }, value: 2 },
  { name: 'busy_workers', labels: {}, value: 3 },
  { name: 'wait_seconds_bucket', labels: { le: '1.0' }, value: 4 },
  { name: 'wait_seconds_bucket', labels: { le: '+Inf' }, value: 5 },
  { name: 'wait_seconds_count', labels: {}, value: 5 },
  { name: 'wait_seconds_sum', labels: {}, value: 2.5 },
];
/** BASELINE plus 5 more jobs{q="a"}: what a bad counter file contributes before its bad part. */
const BASELINE_PLUS_FIRST_ENTRY = BASELINE.map((sample) =>
  sample.name === 'jobs_total' && sample.labels.q === 'a' ? { ...sample, value: 6 } : sample,
);

/** A counter file whose first entry (jobs{q="a"} 5) is good; `at` is where its second starts. */
function counterWithSecondEntry(): { data: Buffer; at: number } {
  const first = jobs('a', 5);
  return { data: fileBytes([first, jobs('c', 7), jobs('d', 9)]), at: HEADER_BYTES + entryBytes(Buffer.byteLength(keyOf(first))) };
}

interface Case {
  title: string;
  /** Makes the bad file (or files) in dir; returns the name the warning must mention. */
  make(dir: string): string;
  problem: RegExp;
  expected: PlainSample[];
}

const CASES: Case[] = [
  {
    title: 'a file truncated below its used size',
    make(dir) {
      const data = fileBytes([jobs('a', 5), jobs('c', 7)]);
      fs.writeFileSync(path.join(dir, 'counter_7.db'), data.subarray(0, data.readInt32LE(0) - 8));
      return 'counter_7.db';
    },
    problem: /header says used=\d+ but the file is \d+ bytes \(truncated\?\)/,
    expected: BASELINE,
  },
  {
    title: 'a header claiming 2 GiB in use in a 64 KiB file',
    make(dir) {
      const data = fileBytes([jobs('a', 5)]);
      data.writeInt32LE(0x7ffffff8, 0);
      fs.writeFileSync(path.join(dir, 'counter_7.db'), data);
      return 'counter_7.db';
    },
    problem: /used=2147483640 but the file is 65536 bytes/,
    expected: BASELINE,
  },
  {
    title: 'a negative used',
    make(dir) {
      const data = fileBytes([jobs('a', 5)]);
      data.writeInt32LE(-16, 0);
      fs.writeFileSync(path.join(dir, 'counter_7.db'), data);
      return 'counter_7.db';
    },
    problem: /used=-16, below the header size/,
    expected: BASELINE,
  },
  {
    title: 'used ending in the middle of an entry',
    make(dir) {
      const { data, at } = counterWithSecondEntry();
      data.writeInt32LE(at + 12, 0);
      fs.writeFileSync(path.join(dir, 'counter_7.db'), data);
      return 'counter_7.db';
    },
    problem: /entry at \d+ runs past used=\d+; the rest of the file is skipped/,
    expected: BASELINE_PLUS_FIRST_ENTRY,
  },
  {
    title: 'used ending 4 bytes into the first entry (its key length and nothing more)',
    make(dir) {
      const data = fileBytes([jobs('a', 5)]);
      data.writeInt32LE(HEADER_BYTES + 4, 0);
      fs.writeFileSync(path.join(dir, 'counter_7.db'), data);
      return 'counter_7.db';
    },
    problem: /entry at 8 runs past used=12; the rest of the file is skipped/,
    expected: BASELINE,
  },
  {
    title: 'a huge key length',
    make(dir) {
      const { data, at } = counterWithSecondEntry();
      data.writeInt32LE(0x7fffffff, at);
      fs.writeFileSync(path.join(dir, 'counter_7.db'), data);
      return 'counter_7.db';
    },
    problem: /bad key length 2147483647 at \d+/,
    expected: BASELINE_PLUS_FIRST_ENTRY,
  },
  {
    title: 'a negative key length',
    make(dir) {
      const { data, at } = counterWithSecondEntry();
      data.writeInt32LE(-3, at);
      fs.writeFileSync(path.join(dir, 'counter_7.db'), data);
      return 'counter_7.db';
    },
    problem: /bad key length -3 at \d+/,
    expected: BASELINE_PLUS_FIRST_ENTRY,
  },
  {
    title: 'a key that is not UTF-8',
    make(dir) {
      const { data, at } = counterWithSecondEntry();
      data[at + 6] = 0xff;
      fs.writeFileSync(path.join(dir, 'counter_7.db'), data);
      return 'counter_7.db';
    },
    problem: /key at \d+ is not valid UTF-8/,
    expected: BASELINE_PLUS_FIRST_ENTRY,
  },
  {
    title: 'a key that is not JSON (only that entry is skipped)',
    make(dir) {
      const { data, at } = counterWithSecondEntry();
      data[at + 4] = 0x7b; // '[' becomes '{'
      fs.writeFileSync(path.join(dir, 'counter_7.db'), data);
      return 'counter_7.db';
    },
    problem: /is not a valid key/,
    expected: [...BASELINE_PLUS_FIRST_ENTRY, { name: 'jobs_total', labels: { q: 'd' }, value: 9 }],
  },
  {
    title: 'a key whose metric name would break the exposition',
    make(dir) {
      writeDbFile(path.join(dir, 'counter_7.db'), [jobs('a', 5), { metric: 'bad name', sample: 'bad name', value: 1 }]);
      return 'counter_7.db';
    },
    problem: /metric name "bad name" is invalid/,
    expected: BASELINE_PLUS_FIRST_ENTRY,
  },
  {
    title: 'a key with an invalid label name',
    make(dir) {
      writeDbFile(path.join(dir, 'counter_7.db'), [jobs('a', 5), { metric: 'jobs', sample: 'jobs_total', labels: { 'a-b': 'x' }, value: 1 }]);
      return 'counter_7.db';
    },
    problem: /metric "jobs": label name "a-b" is invalid/,
    expected: BASELINE_PLUS_FIRST_ENTRY,
  },
  {
    title: 'a key with a __name__ label (Prometheus would refuse the whole scrape)',
    make(dir) {
      writeDbFile(path.join(dir, 'counter_7.db'), [jobs('a', 5), { metric: 'jobs', sample: 'jobs_total', labels: { __name__: 'x', q: 'e' }, value: 1 }]);
      return 'counter_7.db';
    },
    problem: /metric "jobs": label name "__name__" is reserved \(names starting with "__" belong to Prometheus\)/,
    expected: BASELINE_PLUS_FIRST_ENTRY,
  },
  {
    title: 'a key with another reserved __ label',
    make(dir) {
      writeDbFile(path.join(dir, 'gauge_all_7.db'), [{ metric: 'level', labels: { __meta_x: 'y' }, value: 1 }]);
      return 'gauge_all_7.db';
    },
    problem: /metric "level": label name "__meta_x" is reserved/,
    expected: BASELINE,
  },
  {
    title: 'a metric written as another type than in the other files',
    make(dir) {
      writeDbFile(path.join(dir, 'gauge_all_7.db'), [{ metric: 'jobs', sample: 'jobs_total', labels: { q: 'a' }, value: 5 }]);
      return 'gauge_all_7.db';
    },
    problem: /metric "jobs" is a counter in other files but a gauge \(mode all\) here/,
    expected: BASELINE,
  },
  {
    title: 'a file written by Python 0.16',
    make(dir) {
      fs.copyFileSync(path.join(PYTHON_0_16, 'db', 'counter_101.db'), path.join(dir, 'counter_101.db'));
      return 'counter_101.db';
    },
    problem: /was written by prometheus_client 0\.16 or older/,
    expected: BASELINE,
  },
  {
    title: 'a name that is not TYPE_PID.db',
    make(dir) {
      writeDbFile(path.join(dir, 'gauge_bogus_7.db'), [jobs('a', 5)]);
      return 'gauge_bogus_7.db';
    },
    problem: /its name is not TYPE_PID\.db/,
    expected: BASELINE,
  },
  {
    title: 'a file shorter than its header',
    make(dir) {
      fs.writeFileSync(path.join(dir, 'counter_7.db'), Buffer.from([8, 0, 0]));
      return 'counter_7.db';
    },
    problem: /is 3 bytes, shorter than its header/,
    expected: BASELINE,
  },
  {
    title: 'a directory named *.db',
    make(dir) {
      fs.mkdirSync(path.join(dir, 'counter_7.db'));
      return 'counter_7.db';
    },
    problem: /is not a regular file/,
    expected: BASELINE,
  },
  {
    title: 'a symbolic link named *.db (never followed)',
    make(dir) {
      const target = path.join(dir, 'elsewhere');
      writeDbFile(target, [jobs('a', 5)]);
      fs.symlinkSync(target, path.join(dir, 'counter_7.db'));
      return 'counter_7.db';
    },
    problem: /is a symbolic link \(never followed\)/,
    expected: BASELINE,
  },
  {
    title: 'a FIFO named *.db (no hang)',
    make(dir) {
      const fifo = path.join(dir, 'counter_7.db');
      const made = spawnSync('mkfifo', [fifo]);
      assert.equal(made.status, 0, 'mkfifo must exist to make this case');
      return 'counter_7.db';
    },
    problem: /is not a regular file/,
    expected: BASELINE,
  },
];

describe('collector defence against bad files', () => {
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir();
    for (const [name, entries] of Object.entries(GOOD_FILES)) writeDbFile(path.join(dir, name), entries);
  });
  afterEach(() => removeDir(dir));

  it('merges the good files to the baseline', () => {
    assertSameSamples(samplesOf(new DirectoryCollector(dir).collect()), BASELINE, 'baseline');
  });

  for (const testCase of CASES) {
    it(`skips ${testCase.title}, warns once, counts it, merges the rest`, () => {
      const badName = testCase.make(dir);
      const warnings: string[] = [];
      const collector = new DirectoryCollector(dir, { warn: (message) => warnings.push(message) });
      for (let scrape = 0; scrape < 3; scrape++) {
        assertSameSamples(samplesOf(collector.collect()), testCase.expected, `scrape ${scrape}`);
        assert.equal(collector.stats.corruptFiles, 1);
      }
      assert.equal(warnings.length, 1, `one warning in three scrapes, got: ${warnings.join('\n')}`);
      assert.ok(warnings[0].includes(badName), warnings[0]);
      assert.match(warnings[0], testCase.problem);
      const corrupt = collector.selfMetrics().find((family) => family.name === 'pm2_prom_multiproc_collector_corrupt_files');
      assert.equal(corrupt?.samples[0].value, 1);
    });
  }

  it('reads a zero-length file (a writer between creating and sizing it) as empty, without a warning', () => {
    fs.writeFileSync(path.join(dir, 'counter_7.db'), '');
    const warnings: string[] = [];
    const collector = new DirectoryCollector(dir, { warn: (message) => warnings.push(message) });
    assertSameSamples(samplesOf(collector.collect()), BASELINE, 'empty file');
    assert.equal(collector.stats.corruptFiles, 0);
    assert.deepEqual(warnings, []);
  });

  it('refuses a file over the size limit without reading it (a sparse file, no disk used)', () => {
    const filePath = path.join(dir, 'counter_7.db');
    writeDbFile(filePath, [jobs('a', 5)]);
    fs.truncateSync(filePath, MAX_FILE_BYTES + 8);
    const warnings: string[] = [];
    const collector = new DirectoryCollector(dir, { warn: (message) => warnings.push(message) });
    assertSameSamples(samplesOf(collector.collect()), BASELINE, 'oversized file skipped');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /counter_7\.db: it is 1073741832 bytes, over the 1073741824-byte limit/);
  });

  it('reads a sparse 1 GiB file claiming 1 GiB in use as what it holds: a few KiB, once, until it changes', () => {
    const filePath = path.join(dir, 'counter_7.db');
    const first = fileBytes([jobs('a', 5)]);
    const used = MAX_FILE_BYTES - 64;
    first.writeInt32LE(used, 0);
    fs.writeFileSync(filePath, first.subarray(0, HEADER_BYTES + entryBytes(Buffer.byteLength(keyOf(jobs('a', 5))))));
    fs.truncateSync(filePath, MAX_FILE_BYTES);
    const warnings: string[] = [];
    const buffersBefore = process.memoryUsage().arrayBuffers;
    const collector = new DirectoryCollector(dir, { warn: (message) => warnings.push(message) });
    for (let scrape = 0; scrape < 3; scrape++) {
      assertSameSamples(samplesOf(collector.collect()), BASELINE_PLUS_FIRST_ENTRY, `scrape ${scrape}`);
      // The good files and the bad one's first piece (64 KiB), never the gigabyte its header claims.
      assert.ok(collector.stats.bytesRead < 1 << 20, `scrape ${scrape} read ${collector.stats.bytesRead} bytes`);
      assert.equal(collector.stats.corruptFiles, 1);
    }
    assert.ok(process.memoryUsage().arrayBuffers - buffersBefore < 16 << 20, 'no buffer sized by the header');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /counter_7\.db: bad key length 0 at \d+; the rest of the file is skipped/);
    // Repaired (another size and time): read again, wholly.
    writeDbFile(filePath, [jobs('a', 5), jobs('c', 7)]);
    assertSameSamples(samplesOf(collector.collect()), [...BASELINE_PLUS_FIRST_ENTRY, { name: 'jobs_total', labels: { q: 'c' }, value: 7 }], 'repaired');
    assert.equal(collector.stats.corruptFiles, 0);
  });

  it('stops at its series limit and its bytes limit, warning how to raise them, and merges what fits', () => {
    const many = (q: string, count: number): EntrySpec[] => Array.from({ length: count }, (_, i) => jobs(`${q}${i}`, 1));
    writeDbFile(path.join(dir, 'counter_8.db'), many('x', 5000));
    const warnings: string[] = [];
    const bySeries = new DirectoryCollector(dir, { warn: (message) => warnings.push(message), limits: { series: 1000, raiseHint: 'raise it: HINT' } });
    for (let scrape = 0; scrape < 2; scrape++) {
      const samples = samplesOf(bySeries.collect());
      assert.equal(samples.length, 1000, 'exactly the limit');
      // counter_8.db reaches it; the files after it in name order find it reached.
      assert.equal(bySeries.stats.limitedFiles, 3);
      assert.equal(bySeries.stats.corruptFiles, 0);
    }
    assert.equal(warnings.length, 3, warnings.join('\n'));
    assert.match(warnings[0], /counter_8\.db: the limit of 1000 (distinct keys \(one per series\)|series) is reached at (byte|entry) \d+: the rest of this file is skipped in this scrape \(raise it: HINT\)/);
    const limited = bySeries.selfMetrics().find((family) => family.name === 'pm2_prom_multiproc_collector_limited_files');
    assert.equal(limited?.samples[0].value, 3);

    const byBytes = new DirectoryCollector(dir, { warn: (message) => warnings.push(message), limits: { bytes: 64 * 1024 } });
    const samples = samplesOf(byBytes.collect());
    assert.ok(samples.length > 100 && samples.length < 5000 + BASELINE.length, `${samples.length} samples within 64 KiB`);
    assert.ok(byBytes.stats.bytesRead <= 64 * 1024, `read ${byBytes.stats.bytesRead}`);
    assert.match(warnings.join('\n'), /counter_8\.db: the limit of bytes read per scrape is reached at byte \d+/);
    assert.match(warnings.at(-1) ?? '', /skipping \S+histogram_2\.db in this scrape: the limit of bytes read per scrape is reached/);
  });

  it('keeps every bad case from breaking the exposition, all at once', function () {
    const warnings: string[] = [];
    for (const testCase of CASES) {
      const caseDir = makeTempDir();
      try {
        testCase.make(caseDir);
        for (const name of fs.readdirSync(caseDir)) {
          if (name === 'elsewhere') continue;
          fs.renameSync(path.join(caseDir, name), path.join(dir, `${name.replace(/_(\d+)\.db$/, '')}_${900 + CASES.indexOf(testCase)}.db`));
        }
      } finally {
        removeDir(caseDir);
      }
    }
    const collector = new DirectoryCollector(dir, { warn: (message) => warnings.push(message) });
    const families = collector.collect();
    const jobsA = samplesOf(families).find((sample) => sample.name === 'jobs_total' && sample.labels.q === 'a');
    assert.ok(jobsA !== undefined && (jobsA.value as number) > 1, 'partly bad files still add their good entries');
    assert.equal(collector.stats.corruptFiles, warnings.length);
    if (!promtoolAvailable()) {
      console.log(`      (${PROMTOOL_MISSING})`);
      this.skip();
    }
    assertPromtoolAccepts(renderText(families));
  });
});

// A warm collect re-reads values and new entries only, and still notices a file that was
// replaced, rewritten, shrunk, removed or repaired between scrapes.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DirectoryCollector } from '../../src/collect';
import { markProcessDead } from '../../src/store';
import { MetricFileReader } from '../../src/store/reader';
import { fileBytes, makeTempDir, removeDir, writeDbFile } from './support/files';
import type { EntrySpec } from './support/files';
import { assertSameSamples, samplesOf } from './support/samples';

const jobs = (q: string, value: number): EntrySpec => ({ metric: 'jobs', sample: 'jobs_total', labels: { q }, value });
const jobsSample = (q: string, value: number) => ({ name: 'jobs_total', labels: { q }, value });

describe('warm collects', () => {
  let dir: string;
  let warnings: string[];
  let collector: DirectoryCollector;
  beforeEach(() => {
    dir = makeTempDir();
    warnings = [];
    collector = new DirectoryCollector(dir, { warn: (message) => warnings.push(message) });
  });
  afterEach(() => removeDir(dir));

  it('see new values and appended entries', () => {
    const file = path.join(dir, 'counter_1.db');
    writeDbFile(file, [jobs('a', 1)]);
    assertSameSamples(samplesOf(collector.collect()), [jobsSample('a', 1)], 'first');
    writeDbFile(file, [jobs('a', 4)]);
    assertSameSamples(samplesOf(collector.collect()), [jobsSample('a', 4)], 'value changed');
    writeDbFile(file, [jobs('a', 5), jobs('b', 2)]);
    assertSameSamples(samplesOf(collector.collect()), [jobsSample('a', 5), jobsSample('b', 2)], 'entry appended');
    assert.deepEqual(warnings, []);
  });

  it('see a file replaced by a new one (another inode) with other keys', () => {
    const file = path.join(dir, 'counter_1.db');
    writeDbFile(file, [jobs('a', 1), jobs('b', 2)]);
    collector.collect();
    writeDbFile(path.join(dir, 'next'), [jobs('bb', 3), jobs('a', 4), jobs('c', 5)]);
    fs.renameSync(path.join(dir, 'next'), file);
    assertSameSamples(samplesOf(collector.collect()), [jobsSample('bb', 3), jobsSample('a', 4), jobsSample('c', 5)], 'replaced');
  });

  it('see a file rewritten in place (same inode, same size) with keys at other offsets', () => {
    const file = path.join(dir, 'counter_1.db');
    writeDbFile(file, [jobs('a', 1), jobs('b', 2)]);
    const inode = fs.statSync(file).ino;
    collector.collect();
    writeDbFile(file, [jobs('a-much-longer-label-value', 3), jobs('b', 4)]);
    assert.equal(fs.statSync(file).ino, inode);
    assertSameSamples(
      samplesOf(collector.collect()),
      [jobsSample('a-much-longer-label-value', 3), jobsSample('b', 4)],
      'rewritten in place',
    );
  });

  it('see a file that shrank, and one whose used went backwards', () => {
    const file = path.join(dir, 'counter_1.db');
    const many = Array.from({ length: 2000 }, (_, i) => jobs(`q${i}`, i));
    writeDbFile(file, many);
    assert.equal(samplesOf(collector.collect()).length, 2000);
    writeDbFile(file, [jobs('z', 1)]);
    assertSameSamples(samplesOf(collector.collect()), [jobsSample('z', 1)], 'shrunk');
    const data = fileBytes([jobs('y', 1), jobs('x', 2)]);
    fs.writeFileSync(file, data);
    collector.collect();
    data.writeInt32LE(8, 0);
    fs.writeFileSync(file, data);
    assertSameSamples(samplesOf(collector.collect()), [], 'used back to the header');
  });

  it('drop live gauges quietly once markProcessDead removed them, keep the rest', () => {
    writeDbFile(path.join(dir, 'gauge_liveall_7.db'), [{ metric: 'conns', value: 3 }]);
    writeDbFile(path.join(dir, 'gauge_liveall_8.db'), [{ metric: 'conns', value: 4 }]);
    writeDbFile(path.join(dir, 'counter_7.db'), [jobs('a', 1)]);
    assert.equal(samplesOf(collector.collect()).length, 3);
    markProcessDead(7, dir);
    assertSameSamples(
      samplesOf(collector.collect()),
      [{ name: 'conns', labels: { pid: '8' }, value: 4 }, jobsSample('a', 1)],
      'after pid 7 died',
    );
    assert.deepEqual(warnings, []);
  });

  it('report a file deleted between listing and reading as missing, not as an error', () => {
    const file = path.join(dir, 'gauge_livesum_7.db');
    writeDbFile(file, [{ metric: 'conns', value: 3 }]);
    const reader = new MetricFileReader(file);
    assert.equal(reader.read().status, 'ok');
    fs.unlinkSync(file);
    assert.deepEqual(reader.read(), { status: 'missing' });
  });

  it('merge a repaired file again, and warn again when it breaks again', () => {
    const file = path.join(dir, 'counter_1.db');
    fs.writeFileSync(file, Buffer.from([8, 0, 0]));
    collector.collect();
    collector.collect();
    assert.equal(warnings.length, 1);
    writeDbFile(file, [jobs('a', 1)]);
    assertSameSamples(samplesOf(collector.collect()), [jobsSample('a', 1)], 'repaired');
    assert.equal(collector.stats.corruptFiles, 0);
    fs.writeFileSync(file, Buffer.from([8, 0, 0]));
    collector.collect();
    assert.equal(warnings.length, 2);
  });

  it('keep no series of files long gone (the series table is rebuilt)', () => {
    const thousandGauges = (pid: number): EntrySpec[] =>
      Array.from({ length: 1000 }, (_, i) => ({ metric: 'conns', labels: { port: String(i) }, value: pid }));
    const start = (pid: number) => writeDbFile(path.join(dir, `gauge_liveall_${pid}.db`), thousandGauges(pid));
    [1, 2, 3].forEach(start);
    assert.equal(samplesOf(collector.collect()).length, 3000);
    [2, 3].forEach((pid) => markProcessDead(pid, dir));
    [4, 5, 6].forEach(start);
    assert.equal(samplesOf(collector.collect()).length, 4000);
    [4, 5, 6].forEach((pid) => markProcessDead(pid, dir));
    assert.equal(samplesOf(collector.collect()).length, 1000);
    assert.equal(collector.stats.trackedSeries, 6000, 'the table is rebuilt at the start of a collect');
    assertSameSamples(samplesOf(collector.collect()), samplesOf(new DirectoryCollector(dir).collect()), 'after rebuild');
    assert.equal(collector.stats.trackedSeries, 1000);
  });
});

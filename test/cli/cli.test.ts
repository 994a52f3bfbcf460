// The pm2-prom-multiproc command as a user runs it: a real child process on real files.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runCli, runCliBytes } from '../collect/support/cli';
import { classicSamplesOf, decodeFamilies, nativeOf } from '../support/protobuf';
import { HEADER_BYTES, entryBytes } from '../../src/store/format';
import { ProcessStore, SeriesSketch, nativeSeries } from '../../src/store';
import { fileBytes, keyOf, makeTempDir, removeDir, writeDbFile } from '../collect/support/files';
import type { EntrySpec } from '../collect/support/files';
import { PROMTOOL_MISSING, assertPromtoolAccepts, promtoolAvailable } from '../collect/support/promtool';
import { assertSameSamples, parseExposition, pythonExpectedSamples } from '../collect/support/samples';
import { PYTHON_CURRENT } from '../support/fixtures';


describe('pm2-prom-multiproc command line', () => {
  let dir: string;
  beforeEach(() => (dir = makeTempDir('pm2-prom-cli-')));
  afterEach(() => removeDir(dir));

  it('prints its usage for --help, and fails with it on stderr for an unknown command', () => {
    const help = runCli(['--help']);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /^Usage: pm2-prom-multiproc <command>/);
    for (const command of ['collect DIR', 'inspect FILE.db', 'mark-dead DIR PID']) assert.ok(help.stdout.includes(command));
    const unknown = runCli(['frobnicate']);
    assert.equal(unknown.status, 2);
    assert.match(unknown.stderr, /unknown command "frobnicate"[\s\S]*Usage:/);
    assert.equal(runCli([]).status, 2);
  });

  it('collect: text by default, OpenMetrics on request, both with the samples Python merged', function () {
    const db = path.join(PYTHON_CURRENT, 'db');
    const text = runCli(['collect', db]);
    assert.equal(text.status, 0, text.stderr);
    assertSameSamples(parseExposition(text.stdout), pythonExpectedSamples(PYTHON_CURRENT), 'text');
    const openMetrics = runCli(['collect', db, '--openmetrics']);
    assert.equal(openMetrics.status, 0, openMetrics.stderr);
    assert.ok(openMetrics.stdout.endsWith('# EOF\n'));
    assertSameSamples(parseExposition(openMetrics.stdout), pythonExpectedSamples(PYTHON_CURRENT), 'OpenMetrics');
    if (!promtoolAvailable()) {
      console.log(`      (${PROMTOOL_MISSING})`);
      this.skip();
    }
    assertPromtoolAccepts(text.stdout, [/^g_sum non-histogram and non-summary metrics should not have "_sum" suffix$/]);
  });

  it('collect --protobuf: delimited MetricFamily messages on stdout, native histograms included', () => {
    for (const name of fs.readdirSync(path.join(PYTHON_CURRENT, 'db'))) fs.copyFileSync(path.join(PYTHON_CURRENT, 'db', name), path.join(dir, name));
    const store = new ProcessStore(dir, { pid: 404, threadId: 0, backend: 'pwrite' });
    const series = nativeSeries(store.nativeHistogramFile(), 'native_seconds', {}, 'Native.', { schema: 0, zeroThreshold: 0, maxBuckets: 0 });
    for (const v of [0, 1, 3, 3]) series.observe(v);
    store.close();
    const result = runCliBytes(['collect', dir, '--protobuf']);
    assert.equal(result.status, 0, result.stderr);
    const families = decodeFamilies(result.stdout);
    const classic = classicSamplesOf(families.filter((family) => family.name !== 'native_seconds'));
    assertSameSamples(classic, pythonExpectedSamples(PYTHON_CURRENT), 'protobuf');
    const native = families.find((family) => family.name === 'native_seconds')?.metric[0].histogram;
    assert.ok(native !== undefined);
    assert.deepEqual(nativeOf(native), { schema: 0, zeroThreshold: 0, zeroCount: 1, count: 4, sum: 7, positive: new Map([[0, 1], [2, 2]]), negative: new Map() });
    // inspect reads a native file's entries as the collector does: no problem in a good one.
    const inspected = runCli(['inspect', path.join(dir, 'histogram_404.nhdb')]);
    assert.equal(inspected.status, 0, inspected.stdout);
    assert.match(inspected.stdout, /histogram_404\.nhdb: \d+ bytes, \d+ in use, 4 entries/);
  });

  it('collect: says what is wrong with the directory or the options', () => {
    const missing = runCli(['collect', path.join(dir, 'nope')]);
    assert.equal(missing.status, 1);
    assert.match(missing.stderr, /metrics directory .*nope does not exist/);
    assert.equal(missing.stdout, '');
    const both = runCli(['collect', dir, '--json', '--openmetrics']);
    assert.equal(both.status, 2);
    assert.match(both.stderr, /choose one of --json, --openmetrics, --protobuf/);
    assert.match(runCli(['collect', dir, '--yaml']).stderr, /unknown option --yaml/);
  });

  it('collect: warns about a bad file on stderr and prints the rest', () => {
    writeDbFile(path.join(dir, 'counter_1.db'), [{ metric: 'jobs', sample: 'jobs_total', value: 4 }]);
    fs.writeFileSync(path.join(dir, 'counter_2.db'), Buffer.from([8, 0, 0]));
    const result = runCli(['collect', dir, '--json']);
    assert.equal(result.status, 0);
    assert.deepEqual(JSON.parse(result.stdout), [{ name: 'jobs_total', labels: {}, value: 4 }]);
    assert.match(result.stderr, /counter_2\.db: it is 3 bytes, shorter than its header/);
  });

  it('collect --json spells non-finite values as strings', () => {
    writeDbFile(path.join(dir, 'gauge_all_1.db'), [
      { metric: 'a', value: Infinity },
      { metric: 'b', value: NaN },
    ]);
    const result = runCli(['collect', dir, '--json']);
    assert.deepEqual(JSON.parse(result.stdout), [
      { name: 'a', labels: { pid: '1' }, value: '+Inf' },
      { name: 'b', labels: { pid: '1' }, value: 'NaN' },
    ]);
  });

  it('inspect: dumps offsets, value, timestamp and key of every entry', () => {
    const file = path.join(dir, 'gauge_mostrecent_5.db');
    writeDbFile(file, [
      { metric: 'temp', value: 21.5, timestamp: 1700000000.25 },
      { metric: 'temp', labels: { room: 'b' }, value: -3, timestamp: 1700000001 },
    ]);
    const result = runCli(['inspect', file]);
    assert.equal(result.status, 0, result.stderr);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines[0], `${file}: 65536 bytes, 144 in use, 2 entries`);
    assert.equal(lines[1], 'offset\tvalue@\tvalue\ttimestamp\tkey');
    assert.equal(lines[2], '8\t56\t21.5\t1700000000.25\t["temp", "temp", {}, "Help of temp."]');
    assert.equal(lines[3], '72\t128\t-3\t1700000001\t["temp", "temp", {"room": "b"}, "Help of temp."]');
    assert.equal(lines.length, 4);
  });

  it("inspect: dumps a sketch file's records and the windows that count", () => {
    const store = new ProcessStore(dir, { pid: 5, threadId: 0, backend: 'pwrite' });
    const series = { name: 'lat', labels: { route: '/a' }, help: 'L.' };
    const sketch = new SeriesSketch(store.sketchFile(), series, { windowMs: 0, windows: 1, flags: 0, percentiles: [0.5, 0.99] }, () => {});
    for (const value of [0.5, 2, 0, -1]) sketch.observe(value);
    store.close();
    const result = runCli(['inspect', path.join(dir, 'summary_5.sketch')]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(
      result.stdout,
      `${path.join(dir, 'summary_5.sketch')}: 2 records\n` +
        '["lat", "lat", {"route": "/a"}, "L."]  one window for all time, percentiles 0.5 0.99\n' +
        '  valid always .. never: 3 observations, min 0, max 2\n' +
        '["lat", "lat:negative", {"route": "/a"}, "L."]  negative values, one window for all time, percentiles 0.5 0.99\n' +
        '  valid always .. never: 1 observations, min -1, max -1\n',
    );
  });

  it('inspect: lists what is corrupt and exits 1', () => {
    const file = path.join(dir, 'counter_5.db');
    const entries: EntrySpec[] = [
      { metric: 'jobs', sample: 'jobs_total', value: 1 },
      { metric: 'bad name', value: 2 },
      { metric: 'jobs', sample: 'jobs_total', labels: { a: 'b' }, value: 3 },
    ];
    const data = fileBytes(entries);
    const thirdEntry = HEADER_BYTES + entryBytes(Buffer.byteLength(keyOf(entries[0]))) + entryBytes(Buffer.byteLength(keyOf(entries[1])));
    data.writeInt32LE(-1, thirdEntry);
    fs.writeFileSync(file, data);
    const result = runCli(['inspect', file]);
    assert.equal(result.status, 1);
    assert.match(result.stdout, /^problem: entry at 72: metric name "bad name" is invalid$/m);
    assert.match(result.stdout, new RegExp(`^problem: bad key length -1 at ${thirdEntry}; the rest of the file is skipped$`, 'm'));
    const unreadable = runCli(['inspect', path.join(dir, 'missing_1.db')]);
    assert.equal(unreadable.status, 1);
    assert.match(unreadable.stderr, /missing_1\.db does not exist/);
  });

  it("mark-dead: removes the pid's live gauge files and says which", () => {
    for (const name of ['gauge_livesum_42.db', 'gauge_liveall_42-2.db', 'counter_42.db', 'gauge_livesum_420.db']) {
      writeDbFile(path.join(dir, name), [{ metric: 'x', value: 1 }]);
    }
    const result = runCli(['mark-dead', dir, '42']);
    assert.equal(result.status, 0, result.stderr);
    assert.deepEqual(
      result.stdout.trimEnd().split('\n').sort(),
      [`removed ${path.join(dir, 'gauge_liveall_42-2.db')}`, `removed ${path.join(dir, 'gauge_livesum_42.db')}`],
    );
    assert.deepEqual(fs.readdirSync(dir).sort(), ['counter_42.db', 'gauge_livesum_420.db']);
    assert.match(runCli(['mark-dead', dir, '42']).stdout, /no live gauge files of pid 42/);
    const bad = runCli(['mark-dead', dir, '4x']);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /"4x" is not a pid/);
  });
});

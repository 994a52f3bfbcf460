// The collector's exemplars: per series and bucket the latest across every process's exemplar file
// (dead ones too), on the samples OpenMetrics allows and nowhere else; crafted and damaged files
// skipped without costing the rest; Python's collector still reads the directory, and Python's
// OpenMetrics parser accepts what we render. Text 0.0.4 stays as it was.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DirectoryCollector, renderOpenMetrics, renderText } from '../../src/collect';
import { ProcessStore, encodeKey, floatToGoString, markProcessDead } from '../../src/store';
import { makeTempDir, removeDir, writeDbFile } from './support/files';
import { PROMTOOL_MISSING, assertPromtoolAccepts, promtoolAvailable } from './support/promtool';
import { assertSameSamples, parseExposition, samplesOf } from './support/samples';
import { NO_PYTHON_CLIENT } from '../support/python-client';
import { PYTHON_COLLECTOR_MISSING, pythonCollect, pythonCollectorAvailable } from '../support/python-collector';
import { pythonParseOpenMetrics } from '../support/python-openmetrics';

const HELP = 'Help.';
const counterKey = (labels: Record<string, string>): string => encodeKey('jobs', 'jobs_total', labels, HELP);
const bucketKey = (le: number, labels: Record<string, string> = {}): string =>
  encodeKey('latency_seconds', 'latency_seconds_bucket', { ...labels, le: floatToGoString(le) }, HELP);
const BOUNDS = [0.1, 1, Infinity];

interface Written {
  key: string;
  labels: Record<string, string | number>;
  value: number;
  timestamp: number;
}

/** A process's exemplar file, written by the real exemplar log (timestamps as given). */
function writeExemplars(dir: string, pid: number, type: 'counter' | 'histogram', exemplars: readonly Written[]): void {
  const store = new ProcessStore(dir, { pid, threadId: 0, backend: 'native' });
  const log = store.exemplars(type);
  for (const { key, labels, value, timestamp } of exemplars) log.record(log.indexOf(key), labels, value, timestamp);
  store.close();
}

/** The .db files the exemplars belong to: counter jobs{queue}, histogram latency_seconds. */
function writeCounts(dir: string, pid: number, queues: readonly string[] = ['a', 'b']): void {
  writeDbFile(
    path.join(dir, `counter_${pid}.db`),
    queues.map((queue) => ({ metric: 'jobs', sample: 'jobs_total', labels: { queue }, help: HELP, value: 1 })),
  );
  writeDbFile(
    path.join(dir, `histogram_${pid}.db`),
    [
      ...BOUNDS.map((le) => ({ metric: 'latency_seconds', sample: 'latency_seconds_bucket', labels: { le: floatToGoString(le) }, help: HELP, value: 1 })),
      { metric: 'latency_seconds', sample: 'latency_seconds_sum', help: HELP, value: 2 },
    ],
  );
}

function exemplarLines(text: string): string[] {
  return text.split('\n').filter((line) => line.includes(' # {'));
}

describe('exemplars merged from a directory', () => {
  let dir: string;
  let warnings: string[];
  let collector: DirectoryCollector;
  beforeEach(() => {
    dir = makeTempDir('pm2-prom-exemplars-');
    warnings = [];
    collector = new DirectoryCollector(dir, { warn: (message) => warnings.push(message) });
  });
  afterEach(() => removeDir(dir));

  it('take per series and bucket the latest across processes, dead ones included', () => {
    for (const pid of [101, 202, 303]) writeCounts(dir, pid);
    writeExemplars(dir, 101, 'counter', [
      { key: counterKey({ queue: 'a' }), labels: { traceId: 'a101' }, value: 1, timestamp: 1000.5 },
      { key: counterKey({ queue: 'b' }), labels: { traceId: 'b101' }, value: 1, timestamp: 3000 },
    ]);
    writeExemplars(dir, 202, 'counter', [{ key: counterKey({ queue: 'a' }), labels: { traceId: 'a202' }, value: 2, timestamp: 2000.25 }]);
    writeExemplars(dir, 303, 'counter', [{ key: counterKey({ queue: 'b' }), labels: { traceId: 'b303' }, value: 3, timestamp: 1500 }]);
    writeExemplars(dir, 202, 'histogram', [
      { key: bucketKey(0.1), labels: { traceId: 'fast202' }, value: 0.05, timestamp: 10 },
      { key: bucketKey(Infinity), labels: { traceId: 'slow202', spanId: 's' }, value: 7, timestamp: 20 },
    ]);
    writeExemplars(dir, 303, 'histogram', [{ key: bucketKey(0.1), labels: { traceId: 'fast303' }, value: 0.1, timestamp: 11 }]);
    markProcessDead(202, dir); // a dead process's exemplars stay, as its counts do
    const text = renderOpenMetrics(collector.collect());
    assert.deepEqual(exemplarLines(text), [
      'jobs_total{queue="a"} 3 # {traceId="a202"} 2 2000.25',
      'jobs_total{queue="b"} 3 # {traceId="b101"} 1 3000',
      'latency_seconds_bucket{le="0.1"} 3 # {traceId="fast303"} 0.1 11',
      'latency_seconds_bucket{le="+Inf"} 9 # {traceId="slow202",spanId="s"} 7 20',
    ]);
    assert.deepEqual(warnings, []);
    assert.equal(collector.stats.filesRead, 6 + 5, "six .db files, five exemplar files");
    // Warm: the same, with the same exemplar objects (nothing decoded again).
    const first = collector.collect().flatMap((family) => family.samples).map((sample) => sample.exemplar);
    const second = collector.collect().flatMap((family) => family.samples).map((sample) => sample.exemplar);
    assert.deepEqual(second, first);
    assert.ok(second.every((exemplar, i) => exemplar === first[i]));
    // Text 0.0.4 has no place for them: byte for byte what the same .db files give without them.
    const withoutExemplars = makeTempDir('pm2-prom-no-exemplars-');
    try {
      for (const name of fs.readdirSync(dir).filter((file) => file.endsWith('.db'))) fs.copyFileSync(path.join(dir, name), path.join(withoutExemplars, name));
      assert.equal(renderText(collector.collect()), renderText(new DirectoryCollector(withoutExemplars).collect()));
      if (promtoolAvailable()) assertPromtoolAccepts(renderText(collector.collect()));
      else console.log(`      (${PROMTOOL_MISSING})`);
    } finally {
      removeDir(withoutExemplars);
    }
  });

  it('settle equal timestamps by value, then labels, whatever the file names and order', () => {
    const tie = (pidA: number, pidB: number): string[] => {
      const tieDir = makeTempDir('pm2-prom-tie-');
      try {
        writeCounts(tieDir, pidA);
        writeCounts(tieDir, pidB);
        writeExemplars(tieDir, pidA, 'counter', [{ key: counterKey({ queue: 'a' }), labels: { traceId: 'x' }, value: 1, timestamp: 5 }]);
        writeExemplars(tieDir, pidB, 'counter', [{ key: counterKey({ queue: 'a' }), labels: { traceId: 'y' }, value: 1, timestamp: 5 }]);
        writeExemplars(tieDir, pidA, 'histogram', [{ key: bucketKey(1), labels: { traceId: 'big' }, value: 0.9, timestamp: 5 }]);
        writeExemplars(tieDir, pidB, 'histogram', [{ key: bucketKey(1), labels: { traceId: 'small' }, value: 0.2, timestamp: 5 }]);
        return exemplarLines(renderOpenMetrics(new DirectoryCollector(tieDir).collect()));
      } finally {
        removeDir(tieDir);
      }
    };
    const expected = ['jobs_total{queue="a"} 2 # {traceId="y"} 1 5', 'latency_seconds_bucket{le="1.0"} 4 # {traceId="big"} 0.9 5'];
    assert.deepEqual(tie(1, 2), expected);
    assert.deepEqual(tie(2, 1), expected);
  });

  it('leave out what OpenMetrics or Prometheus would refuse, and skip damaged files, keeping the rest', () => {
    writeCounts(dir, 101);
    writeDbFile(path.join(dir, 'counter_404.db'), [{ metric: 'legacy_events', value: 5, help: HELP }]);
    writeExemplars(dir, 101, 'counter', [
      { key: counterKey({ queue: 'a' }), labels: { traceId: 'kept' }, value: 1, timestamp: 9 },
      // No count for it in any .db file: no sample, so no exemplar.
      { key: counterKey({ queue: 'nowhere' }), labels: { traceId: 'orphan' }, value: 1, timestamp: 9 },
    ]);
    // A counter named without _total is typed unknown in OpenMetrics: an exemplar there fails the scrape.
    writeExemplars(dir, 404, 'counter', [{ key: encodeKey('legacy_events', 'legacy_events', {}, HELP), labels: { traceId: 'no' }, value: 1, timestamp: 9 }]);
    writeExemplars(dir, 101, 'histogram', [
      { key: bucketKey(0.1), labels: { traceId: 'outside' }, value: 5, timestamp: 9 },
      { key: encodeKey('latency_seconds', 'latency_seconds_sum', {}, HELP), labels: { traceId: 'sum' }, value: 2, timestamp: 9 },
    ]);
    // Damage: a file without the format tag, a file with a slot broken under a valid checksum, a name no writer makes.
    writeExemplars(dir, 505, 'counter', [{ key: counterKey({ queue: 'a' }), labels: { traceId: 'untagged' }, value: 1, timestamp: 99 }]);
    const untagged = fs.readFileSync(path.join(dir, 'counter_505.exemplars'));
    untagged.fill(0, 4, 8);
    fs.writeFileSync(path.join(dir, 'counter_505.exemplars'), untagged);
    writeExemplars(dir, 606, 'counter', [
      { key: counterKey({ queue: 'b' }), labels: { traceId: 'later-but-broken' }, value: 1, timestamp: 99 },
    ]);
    const broken = fs.readFileSync(path.join(dir, 'counter_606.exemplars'));
    const slot = 8 + 4 + Buffer.byteLength(counterKey({ queue: 'b' })) + (8 - ((Buffer.byteLength(counterKey({ queue: 'b' })) + 4) % 8));
    broken.writeUInt32LE((broken.readUInt32LE(slot + 4) ^ 1) >>> 0, slot + 4); // checksum off, seq even: stable corruption
    fs.writeFileSync(path.join(dir, 'counter_606.exemplars'), broken);
    fs.writeFileSync(path.join(dir, 'gauge_all_707.exemplars'), 'x');

    const text = renderOpenMetrics(collector.collect());
    assert.deepEqual(exemplarLines(text), ['jobs_total{queue="a"} 1 # {traceId="kept"} 1 9']);
    assert.match(text, /^# TYPE legacy_events unknown\nlegacy_events 5$/m);
    assert.deepEqual(warnings.sort(), [
      `${path.join(dir, 'counter_606.exemplars')}: the exemplar slot at ${slot} fails its checksum (its other exemplars are merged)`,
      `skipping ${path.join(dir, 'counter_505.exemplars')}: it does not start like an exemplar file`,
      `skipping ${path.join(dir, 'gauge_all_707.exemplars')}: its name is not counter_PID.exemplars or histogram_PID.exemplars`,
    ]);
    assert.equal(collector.stats.corruptFiles, 3);
    collector.collect();
    assert.equal(warnings.length, 3, 'each problem is warned about once');
  });

  it("are never read by Python's MultiProcessCollector, which merges the directory as before", function () {
    if (!pythonCollectorAvailable()) {
      console.log(`      (${PYTHON_COLLECTOR_MISSING})`);
      this.skip();
    }
    for (const pid of [101, 202]) writeCounts(dir, pid);
    writeExemplars(dir, 101, 'counter', [{ key: counterKey({ queue: 'a' }), labels: { traceId: 'abc' }, value: 1, timestamp: 9 }]);
    writeExemplars(dir, 202, 'histogram', [{ key: bucketKey(0.1), labels: { traceId: 'def' }, value: 0.05, timestamp: 9 }]);
    assert.deepEqual(fs.readdirSync(dir).filter((name) => name.endsWith('.exemplars')).length, 2);
    const python = pythonCollect(dir);
    assertSameSamples(parseExposition(python), samplesOf(collector.collect()), "Python's merge of a directory with exemplar files");
  });

  // (Python 0.25's parser refuses an escaped quote inside an exemplar label value, which
  // OpenMetrics allows and Prometheus takes: its exemplar scanner toggles on every '"'.)
  it("render OpenMetrics that Python's parser accepts, exemplars and all, escaped values unescaped back", function () {
    writeCounts(dir, 101);
    const awkward = 'back\\slash new\nline ünï 日本';
    writeExemplars(dir, 101, 'counter', [
      { key: counterKey({ queue: 'a' }), labels: { traceId: 'abc', note: awkward }, value: 1, timestamp: 1733040000.123 },
      { key: counterKey({ queue: 'b' }), labels: {}, value: 2.5, timestamp: 1733040000 },
    ]);
    writeExemplars(dir, 101, 'histogram', [{ key: bucketKey(Infinity), labels: { traceId: 'x'.repeat(121) }, value: 12, timestamp: 1733040001.5 }]);
    const parsed = pythonParseOpenMetrics(renderOpenMetrics(collector.collect()));
    if (parsed === undefined) {
      console.log(`      (${NO_PYTHON_CLIENT})`);
      this.skip();
    }
    const exemplars = parsed.filter((sample) => sample.exemplar !== null).map((sample) => [sample.name, sample.labels, sample.exemplar]);
    assert.deepEqual(exemplars, [
      ['jobs_total', { queue: 'a' }, { labels: { traceId: 'abc', note: awkward }, value: 1, timestamp: 1733040000.123 }],
      ['jobs_total', { queue: 'b' }, { labels: {}, value: 2.5, timestamp: 1733040000 }],
      ['latency_seconds_bucket', { le: '+Inf' }, { labels: { traceId: 'x'.repeat(121) }, value: 12, timestamp: 1733040001.5 }],
    ]);
  });
});

// The collector's reading of native histogram files: entries that a writer appends between two
// scrapes (a series entry first, its sum next) are counted once they are there, by the same
// collector that read the file before them, as a fresh collector counts them; a file with counts
// no process reaches is left out alone, never taking the other processes' series with it.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DirectoryCollector } from '../../src/collect';
import type { NativeHistogram } from '../../src/store';
import { keyedFileBytes } from './support/files';

const SERIES = '["lat", "lat", {"__n": "0", "__nh": "series", "__s": "3", "__zt": "0.5"}, "Latency."]';

function nativeOf(collector: DirectoryCollector): Pick<NativeHistogram, 'count' | 'zeroCount' | 'sum'> | undefined {
  const family = collector.collect().find((candidate) => candidate.name === 'lat');
  const histogram = family?.nativeHistograms?.[0]?.histogram;
  return histogram && { count: histogram.count, zeroCount: histogram.zeroCount, sum: histogram.sum };
}

describe('collect: native histogram files read again as they grow', () => {
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'native-files-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('counts a sum entry appended after the series entry was read, as a fresh collector does', () => {
    const file = path.join(dir, 'histogram_4242.nhdb');
    const collector = new DirectoryCollector(dir, { warn: (message) => assert.fail(message) });
    // A scrape between the writer's two appends sees the series entry alone.
    fs.writeFileSync(file, keyedFileBytes([{ key: SERIES, value: 0 }]));
    assert.deepEqual(nativeOf(collector), { count: 0, zeroCount: 0, sum: 0 });
    fs.writeFileSync(file, keyedFileBytes([{ key: SERIES, value: 2 }, { key: 's 0', value: 0.7 }]));
    assert.deepEqual(nativeOf(collector), { count: 2, zeroCount: 2, sum: 0.7 });
    fs.writeFileSync(file, keyedFileBytes([{ key: SERIES, value: 4 }, { key: 's 0', value: 1.1 }]));
    assert.deepEqual(nativeOf(collector), { count: 4, zeroCount: 4, sum: 1.1 });
    assert.deepEqual(nativeOf(new DirectoryCollector(dir)), nativeOf(collector));
  });

  it('leaves out a file whose series counts more than any process, and merges the others', () => {
    const warnings: string[] = [];
    fs.writeFileSync(path.join(dir, 'histogram_4242.nhdb'), keyedFileBytes([{ key: SERIES, value: 3 }, { key: 's 0', value: 0.3 }]));
    // 2^53 - 1 observations in the zero bucket: a count, but 3 more would pass 2^53.
    fs.writeFileSync(path.join(dir, 'histogram_999999.nhdb'), keyedFileBytes([{ key: SERIES, value: Number.MAX_SAFE_INTEGER }, { key: 's 0', value: 1 }]));
    const collector = new DirectoryCollector(dir, { warn: (message) => warnings.push(message) });
    assert.deepEqual(nativeOf(collector), { count: 3, zeroCount: 3, sum: 0.3 });
    assert.equal(warnings.length, 1, warnings.join('\n'));
    assert.match(warnings[0], /histogram_999999\.nhdb.*9007199254740991 observations, more than any process counts/);
  });
});

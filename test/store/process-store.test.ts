import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { INITIAL_FILE_BYTES, MAX_KEY_BYTES, encodeKey } from '../../src/store/format';
import { ProcessStore, checkDirectory } from '../../src/store';
import { readFileSamples } from '../support/file-samples';
import { FILE_BACKENDS, makeTempDir } from './helpers';

const keyOf = (name: string, labels: Record<string, string> = {}): string =>
  encodeKey(name, `${name}_total`, labels, 'help text');

for (const backend of FILE_BACKENDS) {
  describe(`ProcessStore with the ${backend} backend`, () => {
    let dir: string;
    let remove: () => void;
    beforeEach(() => ({ dir, remove } = makeTempDir()));
    afterEach(() => remove());

    it('writes values and timestamps that another reader finds under their keys', () => {
      const store = new ProcessStore(dir, { backend, pid: 4242 });
      const counter = store.file('counter');
      const requests = counter.slotOf(keyOf('requests', { method: 'GET' }));
      const errors = counter.slotOf(keyOf('errors'));
      counter.add(requests, 1);
      counter.add(requests, 2.5);
      counter.add(errors, 7);
      const gauge = store.file('gauge', 'mostrecent');
      const temperature = gauge.slotOf(keyOf('temperature'));
      gauge.setWithTimestamp(temperature, -3.25, 1_700_000_000.5);

      assert.equal(counter.path, path.join(dir, 'counter_4242.db'));
      assert.equal(gauge.path, path.join(dir, 'gauge_mostrecent_4242.db'));
      assert.equal(counter.backend, backend);
      assert.equal(counter.get(requests), 3.5);
      assert.deepEqual(
        [...readFileSamples(counter.path)],
        [
          [keyOf('requests', { method: 'GET' }), { value: 3.5, timestamp: 0 }],
          [keyOf('errors'), { value: 7, timestamp: 0 }],
        ],
      );
      assert.deepEqual(readFileSamples(gauge.path).get(keyOf('temperature')), {
        value: -3.25,
        timestamp: 1_700_000_000.5,
      });
      assert.equal(gauge.timestampOf(temperature), 1_700_000_000.5);
      gauge.set(temperature, 9);
      assert.deepEqual(readFileSamples(gauge.path).get(keyOf('temperature')), { value: 9, timestamp: 1_700_000_000.5 });
      store.close();
    });

    it('gives the same slot for the same key and lists entries in file order', () => {
      const store = new ProcessStore(dir, { backend, pid: 1 });
      const file = store.file('histogram');
      const first = file.slotOf(keyOf('a'));
      const second = file.slotOf(keyOf('b'));
      assert.equal(file.slotOf(keyOf('a')), first);
      assert.deepEqual(file.entries(), [
        { key: keyOf('a'), slot: first },
        { key: keyOf('b'), slot: second },
      ]);
      assert.equal(store.file('histogram'), file, 'one MetricFile per type and owner');
      store.close();
    });

    it('hands every file an earlier process with the same pid left to the dead, and starts its own from zero', () => {
      // As this very process: a store standing in for another pid hands over only what it opens.
      const pid = process.pid;
      const earlier = new ProcessStore(dir, { backend });
      const file = earlier.file('counter');
      file.add(file.slotOf(keyOf('kept')), 5);
      const all = earlier.file('gauge', 'all');
      all.set(all.slotOf(keyOf('temperature')), 21);
      const live = earlier.file('gauge', 'livesum');
      live.set(live.slotOf(keyOf('busy')), 3);
      earlier.close();
      const inodes = new Map([`counter_${pid}.db`, `gauge_all_${pid}.db`].map((name) => [name, fs.statSync(path.join(dir, name)).ino]));

      const later = new ProcessStore(dir, { backend });
      const reopened = later.file('counter');
      const kept = reopened.slotOf(keyOf('kept'));
      assert.equal(reopened.get(kept), 0, "the earlier process's count is not this one's");
      reopened.add(kept, 1);
      reopened.add(reopened.slotOf(keyOf('added')), 2);
      later.close();
      const deadCounter = `counter_${pid}.dead${inodes.get(`counter_${pid}.db`)}.db`;
      const deadGauge = `gauge_all_${pid}.dead${inodes.get(`gauge_all_${pid}.db`)}.db`;
      // Its live gauge goes although this store never opened a livesum file; the rest keep counting.
      assert.deepEqual(fs.readdirSync(dir).sort(), [`counter_${pid}.db`, deadCounter, deadGauge, `owner_${pid}.json`].sort());
      const valuesIn = (name: string): Array<[string, number]> => [...readFileSamples(path.join(dir, name))].map(([key, sample]) => [key, sample.value]);
      assert.deepEqual(valuesIn(deadCounter), [[keyOf('kept'), 5]]);
      assert.deepEqual(valuesIn(deadGauge), [[keyOf('temperature'), 21]]);
      assert.deepEqual(valuesIn(`counter_${pid}.db`), [
        [keyOf('kept'), 1],
        [keyOf('added'), 2],
      ]);
    });

    it('keeps every value while the file doubles many times past 64 KiB', () => {
      const store = new ProcessStore(dir, { backend, pid: 9 });
      const file = store.file('counter');
      const count = 20_000;
      for (let i = 0; i < count; i++) {
        const slot = file.slotOf(keyOf('series', { id: String(i) }));
        file.add(slot, i);
        // Touch an early slot after every growth to prove it still points at the live image.
        file.add(file.slotOf(keyOf('series', { id: '0' })), 1);
      }
      const size = fs.statSync(file.path).size;
      assert.ok(size >= INITIAL_FILE_BYTES * 32, `file grew to ${size} bytes`);
      assert.equal(Math.log2(size / INITIAL_FILE_BYTES) % 1, 0, 'size stays 64 KiB times a power of two');
      store.close();
      const samples = readFileSamples(path.join(dir, 'counter_9.db'));
      assert.equal(samples.size, count);
      for (let i = 1; i < count; i++) assert.equal(samples.get(keyOf('series', { id: String(i) }))?.value, i);
      assert.equal(samples.get(keyOf('series', { id: '0' }))?.value, count);
    });

    it('creates files readable and writable by the owner only', () => {
      const store = new ProcessStore(dir, { backend, pid: 3 });
      const file = store.file('summary');
      assert.equal(fs.statSync(file.path).mode & 0o777, 0o600);
      store.close();
    });

    it('refuses a symbolic link at the file path and leaves its target alone', () => {
      const target = path.join(dir, 'target');
      fs.writeFileSync(target, 'untouched');
      fs.symlinkSync(target, path.join(dir, 'counter_5.db'));
      const store = new ProcessStore(dir, { backend, pid: 5 });
      assert.throws(() => store.file('counter'), /counter_5\.db" is a symbolic link/);
      assert.equal(fs.readFileSync(target, 'utf8'), 'untouched');
    });

    it('refuses an over-long key before writing a byte', () => {
      const store = new ProcessStore(dir, { backend, pid: 6 });
      const file = store.file('counter');
      const before = fs.readFileSync(file.path);
      const huge = encodeKey('big', 'big_total', { label: 'x'.repeat(MAX_KEY_BYTES) }, '');
      assert.throws(() => file.slotOf(huge), /Metric "big": its key is \d+ bytes, the file format allows 1\.\.1048576/);
      assert.deepEqual(fs.readFileSync(file.path), before);
      assert.deepEqual(file.entries(), []);
      store.close();
    });

    it('never reads a file it finds under its name: a corrupt or odd-sized one is handed over unread', () => {
      const corrupt = Buffer.alloc(INITIAL_FILE_BYTES);
      corrupt.writeInt32LE(64, 0);
      corrupt.writeInt32LE(-5, 8);
      fs.writeFileSync(path.join(dir, 'counter_8.db'), corrupt);
      fs.writeFileSync(path.join(dir, 'gauge_all_8.db'), Buffer.alloc(100));
      const inodes = ['counter_8.db', 'gauge_all_8.db'].map((name) => fs.statSync(path.join(dir, name)).ino);
      const store = new ProcessStore(dir, { backend, pid: 8 });
      const counter = store.file('counter');
      counter.add(counter.slotOf(keyOf('fresh')), 4);
      store.file('gauge', 'all');
      store.close();
      assert.deepEqual(fs.readFileSync(path.join(dir, `counter_8.dead${inodes[0]}.db`)), corrupt, 'left as it was, for the collector to skip');
      assert.equal(fs.statSync(path.join(dir, `gauge_all_8.dead${inodes[1]}.db`)).size, 100);
      assert.deepEqual([...readFileSamples(path.join(dir, 'counter_8.db'))].map(([key, sample]) => [key, sample.value]), [[keyOf('fresh'), 4]]);
    });

    it('drops updates after close and refuses new keys', () => {
      const store = new ProcessStore(dir, { backend, pid: 10 });
      const file = store.file('counter');
      const slot = file.slotOf(keyOf('late'));
      file.add(slot, 1);
      store.close();
      file.add(slot, 100);
      assert.throws(() => file.slotOf(keyOf('other')), /is closed/);
      assert.equal(readFileSamples(file.path).get(keyOf('late'))?.value, 1);
    });
  });
}

describe('ProcessStore owners and directories', () => {
  let dir: string;
  let remove: () => void;
  beforeEach(() => ({ dir, remove } = makeTempDir()));
  afterEach(() => remove());

  it('names a worker thread owner PID-THREADID', () => {
    const store = new ProcessStore(dir, { backend: 'pwrite', pid: 12, threadId: 3 });
    assert.equal(store.owner, '12-3');
    assert.equal(store.file('gauge', 'livesum').path, path.join(dir, 'gauge_livesum_12-3.db'));
    assert.equal(store.file('gauge').path, path.join(dir, 'gauge_livesum_12-3.db'), 'the mode of a gauge that names none');
    assert.equal(store.sketchFile().path, path.join(dir, 'summary_12-3.sketch'));
    store.close();
  });

  it('uses this process pid by default', () => {
    const store = new ProcessStore(dir, { backend: 'pwrite' });
    assert.equal(store.owner, String(process.pid));
    store.close();
  });

  it('says what is wrong with the directory', () => {
    const missing = path.join(dir, 'missing');
    assert.throws(() => checkDirectory(missing), { message: `PROMETHEUS_MULTIPROC_DIR "${missing}": directory does not exist` });
    const plainFile = path.join(dir, 'file');
    fs.writeFileSync(plainFile, '');
    assert.throws(() => new ProcessStore(plainFile, { backend: 'pwrite' }), {
      message: `PROMETHEUS_MULTIPROC_DIR "${plainFile}": not a directory`,
    });
  });

  it('refuses a read-only directory', function () {
    if (process.getuid?.() === 0) this.skip(); // root writes anywhere
    fs.chmodSync(dir, 0o500);
    try {
      assert.throws(() => checkDirectory(dir), { message: `PROMETHEUS_MULTIPROC_DIR "${dir}": directory is not writable by this process` });
    } finally {
      fs.chmodSync(dir, 0o700);
    }
  });

  it('rejects a gauge mode on other types and unknown modes', () => {
    const store = new ProcessStore(dir, { backend: 'pwrite' });
    assert.throws(() => store.file('counter', 'sum'), /A counter file has no gauge mode/);
    assert.throws(() => store.file('gauge', 'median' as 'sum'), /Gauge mode "median" is not one of all, liveall/);
    store.close();
  });
});

describe('ProcessStore in memory (no directory)', () => {
  it('keeps values, timestamps and growth in the same layout without any file', () => {
    const store = new ProcessStore(undefined);
    assert.equal(store.backend, 'memory');
    const file = store.file('counter');
    assert.equal(file.path, '');
    const slots: number[] = [];
    for (let i = 0; i < 5_000; i++) {
      slots.push(file.slotOf(keyOf('m', { i: String(i) })));
      file.add(slots[i], i);
    }
    file.setWithTimestamp(slots[0], 42, 17);
    assert.equal(file.get(slots[0]), 42);
    assert.equal(file.timestampOf(slots[0]), 17);
    assert.equal(file.get(slots[4_999]), 4_999);
    assert.equal(file.entries().length, 5_000);
    store.close();
  });

  it('refuses a file backend without a directory', () => {
    assert.throws(() => new ProcessStore(undefined, { backend: 'pwrite' }), /needs a directory/);
  });
});

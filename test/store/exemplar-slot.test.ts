// An exemplar slot, byte for byte: what a writer puts in it comes back whole and exact; anything
// torn, half-written or not an exemplar OpenMetrics allows is never handed out.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  LABELS_BAD_NAME,
  LABELS_BAD_VALUE,
  LABELS_NOT_AN_OBJECT,
  LABELS_TOO_LONG,
  MAX_LABEL_BYTES,
  SLOT_BYTES,
  SLOT_EMPTY,
  SLOT_INVALID,
  SLOT_UNSETTLED,
  checkExemplarLabels,
  readExemplarSlot,
  slotSeq,
  writeExemplarSlot,
} from '../../src/store/exemplar-format';
import type { Exemplar, ExemplarLabels } from '../../src/store/exemplar-format';
import { ExemplarFileReader, exemplarKeys as keysOf } from '../../src/store/exemplar-reader';
import { ProcessStore } from '../../src/store';
import { setLogger } from '../../src/logger';
import { FILE_BACKENDS, makeTempDir } from './helpers';

/** A slot at offset 8 of a buffer, as in a file (entries are 8-aligned). */
function slotBuffer(): { image: Buffer; words: Int32Array } {
  const image = Buffer.alloc(8 + SLOT_BYTES);
  return { image, words: new Int32Array(image.buffer, image.byteOffset, image.length >>> 2) };
}

function written(labels: ExemplarLabels, value = 0.42, timestamp = 1733040000.123): Exemplar | number {
  const { image, words } = slotBuffer();
  assert.equal(writeExemplarSlot(words, 8, labels, value, timestamp), true);
  return readExemplarSlot(image, 8);
}

/** Recomputes the checksum of a slot edited by hand, as a writer of other content would. */
function rewriteWholeBy(image: Buffer, edit: (image: Buffer) => void): void {
  edit(image);
  const seq = slotSeq(image, 8);
  let hash = 0x811c9dc5;
  for (let i = 0; i < 4; i++) hash = Math.imul(hash ^ ((seq >>> (8 * i)) & 0xff), 0x01000193);
  const end = 8 + 32 + image.readUInt16LE(8 + 24);
  for (let i = 8 + 8; i < end; i++) hash = Math.imul(hash ^ image[i], 0x01000193);
  image.writeUInt32LE(hash >>> 0, 8 + 4);
}

describe('exemplar slots', () => {
  it('give back what was written: labels in their order, values as text, value and timestamp exact', () => {
    assert.deepEqual(written({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' }), {
      labels: { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' },
      value: 0.42,
      timestamp: 1733040000.123,
    });
    const decoded = written({ z: 'last', a: 'first', n: 12.5 }) as Exemplar;
    assert.deepEqual(Object.entries(decoded.labels), [
      ['z', 'last'],
      ['a', 'first'],
      ['n', '12.5'],
    ]);
    assert.ok(Object.isFrozen(decoded.labels));
    assert.deepEqual(written({}, 1, 1), { labels: {}, value: 1, timestamp: 1 });
    assert.deepEqual(written({ q: 'a"b\\c\nd ünï 日本 🎉' }), { labels: { q: 'a"b\\c\nd ünï 日本 🎉' }, value: 0.42, timestamp: 1733040000.123 });
  });

  it('hold every exemplar OpenMetrics allows, up to 128 code points, astral characters included', () => {
    // 1-character names with 4-byte characters: the most bytes 128 code points can take.
    const worst: Record<string, string> = {};
    for (let i = 0; i < 32; i++) worst[String.fromCharCode(97 + (i % 26)) + (i >= 26 ? 'x' : '')] = '🎉'.repeat(i >= 26 ? 2 : 3);
    assert.ok(checkExemplarLabels(worst) >= 0, 'the worst case passes the check');
    assert.deepEqual((written(worst) as Exemplar).labels, worst);
    const atLimit = { t: '🎉'.repeat(127) };
    assert.equal(checkExemplarLabels(atLimit), 1, '1 + 127 code points (255 UTF-16 units) is allowed');
    assert.deepEqual((written(atLimit) as Exemplar).labels, atLimit);
    assert.equal(checkExemplarLabels({ t: '🎉'.repeat(128) }), LABELS_TOO_LONG);
    assert.equal(checkExemplarLabels({ traceId: 'x'.repeat(121) }), 1, '7 + 121 = 128');
    assert.equal(checkExemplarLabels({ traceId: 'x'.repeat(122) }), LABELS_TOO_LONG, '7 + 122 = 129');
    assert.ok(MAX_LABEL_BYTES + 32 === SLOT_BYTES);
  });

  it('refuse, at the check and at the write, labels OpenMetrics does not allow', () => {
    assert.equal(checkExemplarLabels(null), LABELS_NOT_AN_OBJECT);
    assert.equal(checkExemplarLabels('traceId'), LABELS_NOT_AN_OBJECT);
    assert.equal(checkExemplarLabels(['a']), LABELS_NOT_AN_OBJECT);
    assert.equal(checkExemplarLabels({ 'trace-id': 'x' }), LABELS_BAD_NAME);
    assert.equal(checkExemplarLabels({ '0bad': 'x' }), LABELS_BAD_NAME);
    assert.equal(checkExemplarLabels({ ok: 'x', '': 'y' }), LABELS_BAD_NAME);
    assert.equal(checkExemplarLabels({ traceId: {} }), LABELS_BAD_VALUE);
    assert.equal(checkExemplarLabels({ traceId: undefined }), LABELS_BAD_VALUE);
    const { image, words } = slotBuffer();
    assert.equal(writeExemplarSlot(words, 8, { traceId: 'ok' }, 1, 5), true);
    const before = Buffer.from(image);
    assert.equal(writeExemplarSlot(words, 8, { 'trace-id': 'x' }, 2, 6), false);
    assert.equal(writeExemplarSlot(words, 8, { t: 'x'.repeat(200) }, 2, 6), false);
    assert.deepEqual(image, before, 'a refused write leaves the slot as it was');
  });

  it('count writes with an even seq, past the 32-bit wrap, and never 0 (which means empty)', () => {
    const { image, words } = slotBuffer();
    assert.equal(readExemplarSlot(image, 8), SLOT_EMPTY);
    writeExemplarSlot(words, 8, { a: '1' }, 1, 1);
    assert.equal(slotSeq(image, 8), 2);
    writeExemplarSlot(words, 8, { a: '2' }, 2, 2);
    assert.equal(slotSeq(image, 8), 4);
    image.writeUInt32LE(0xfffffffe, 8);
    writeExemplarSlot(words, 8, { a: '3' }, 3, 3);
    assert.equal(slotSeq(image, 8), 2);
    assert.deepEqual(readExemplarSlot(image, 8), { labels: { a: '3' }, value: 3, timestamp: 3 });
    image.writeUInt32LE(7, 8); // a writer died mid-write
    assert.equal(readExemplarSlot(image, 8), SLOT_UNSETTLED);
    writeExemplarSlot(words, 8, { a: '4' }, 4, 4);
    assert.equal(slotSeq(image, 8), 8);
  });

  it('never hand out a torn or mid-write copy, nor one that is whole but not a valid exemplar', () => {
    const { image, words } = slotBuffer();
    writeExemplarSlot(words, 8, { traceId: 'aaaa' }, 1, 100);
    const odd = Buffer.from(image);
    odd.writeUInt32LE(3, 8);
    assert.equal(readExemplarSlot(odd, 8), SLOT_UNSETTLED, 'odd seq');
    // A copy that mixed two writes: the old seq and checksum, a byte of the new labels.
    const mixed = Buffer.from(image);
    mixed[8 + 32 + 1 + 7 + 2] = 'b'.charCodeAt(0);
    assert.equal(readExemplarSlot(mixed, 8), SLOT_UNSETTLED, 'payload changed under the checksum');
    const mixedValue = Buffer.from(image);
    mixedValue.writeDoubleLE(2, 8 + 8);
    assert.equal(readExemplarSlot(mixedValue, 8), SLOT_UNSETTLED, 'value changed under the checksum');
    const longLength = Buffer.from(image);
    longLength.writeUInt16LE(MAX_LABEL_BYTES + 1, 8 + 24);
    assert.equal(readExemplarSlot(longLength, 8), SLOT_UNSETTLED, 'label length past the slot');

    // Whole by their checksums, yet not exemplars a scrape could carry.
    const invalid = (edit: (bytes: Buffer) => void): number | Exemplar => {
      const copy = Buffer.from(image);
      rewriteWholeBy(copy, edit);
      return readExemplarSlot(copy, 8);
    };
    assert.equal(invalid((bytes) => bytes.write('-', 8 + 32 + 1, 'latin1')), SLOT_INVALID, 'label name "-raceId"');
    assert.equal(invalid((bytes) => bytes.writeDoubleLE(NaN, 8 + 8)), SLOT_INVALID, 'NaN value');
    assert.equal(invalid((bytes) => bytes.writeDoubleLE(0, 8 + 16)), SLOT_INVALID, 'no timestamp');
    assert.equal(invalid((bytes) => bytes.writeDoubleLE(Infinity, 8 + 16)), SLOT_INVALID, 'infinite timestamp');
    assert.equal(invalid((bytes) => (bytes[8 + 32 + 1 + 7 + 2] = 0xff)), SLOT_INVALID, 'value not UTF-8');
    assert.equal(invalid((bytes) => bytes.writeUInt16LE(9, 8 + 32 + 1 + 7)), SLOT_INVALID, 'value length past the labels');
    assert.equal(invalid((bytes) => (bytes[8 + 26] = 2)), SLOT_INVALID, 'more labels than the bytes hold');
    assert.equal(invalid((bytes) => bytes.writeUInt16LE(20, 8 + 24)), SLOT_INVALID, 'bytes left after the labels');
  });

  for (const backend of FILE_BACKENDS) {
    it(`reach their file through the ${backend} backend at a flush, under the tag "pmx1", read back by the reader`, () => {
      const { dir, remove } = makeTempDir();
      try {
        const store = new ProcessStore(dir, { pid: 4321, backend });
        const log = store.exemplars('counter');
        const a = log.indexOf('["jobs", "jobs_total", {"queue": "a"}, "Jobs."]');
        const b = log.indexOf('["jobs", "jobs_total", {"queue": "b"}, "Jobs."]');
        assert.equal(log.indexOf('["jobs", "jobs_total", {"queue": "a"}, "Jobs."]'), a, 'one index per key');
        log.record(a, { traceId: 'one' }, 1, 10);
        log.record(a, { traceId: 'two' }, 2, 11);
        const filePath = path.join(dir, 'counter_4321.exemplars');
        const before = new ExemplarFileReader(filePath).read();
        assert.ok(before.status === 'ok', 'the file is created with the log');
        assert.equal(before.contents.count, 0, 'no exemplar is written before a flush');
        store.flushExemplars();
        log.record(b, { traceId: 'three' }, 3, 12);
        assert.deepEqual(log.latest(b), { labelSet: { traceId: 'three' }, value: 3, timestamp: 12 }, 'get() sees what is not flushed yet');
        const reader = new ExemplarFileReader(filePath);
        const first = reader.read();
        assert.equal(first.status, 'ok');
        if (first.status !== 'ok') return;
        assert.deepEqual(keysOf(first.contents), ['["jobs", "jobs_total", {"queue": "a"}, "Jobs."]']);
        assert.deepEqual([...first.contents.exemplars], [{ labels: { traceId: 'two' }, value: 2, timestamp: 11 }]);
        const kept = first.contents.exemplars[0];
        store.close();
        const second = reader.read();
        assert.equal(second.status, 'ok');
        if (second.status !== 'ok') return;
        assert.equal(second.contents.exemplars.length, 2, 'close() flushed the last one');
        assert.equal(second.contents.exemplars[0], kept, 'an unchanged slot is not decoded again');
        assert.deepEqual(second.contents.exemplars[1], { labels: { traceId: 'three' }, value: 3, timestamp: 12 });
        assert.equal(fs.readFileSync(filePath).subarray(4, 8).toString('latin1'), 'pmx1');
      } finally {
        remove();
      }
    });
  }

  it('hand a file an earlier process of the same pid left to the dead, whatever it holds, and start their own', () => {
    const { dir, remove } = makeTempDir();
    try {
      const key = '["jobs", "jobs_total", {}, "Jobs."]';
      const slotOffset = 8 + 4 + key.length + (8 - ((key.length + 4) % 8));
      const first = new ProcessStore(dir, { pid: 55, backend: 'native' });
      first.exemplars('counter').record(first.exemplars('counter').indexOf(key), { traceId: 'before' }, 1, 1);
      first.close();
      const inode = fs.statSync(path.join(dir, 'counter_55.exemplars')).ino;
      const again = new ProcessStore(dir, { pid: 55, backend: 'native' });
      const log = again.exemplars('counter');
      log.record(log.indexOf(key), { traceId: 'after' }, 1, 2);
      again.close();
      const own = new ExemplarFileReader(path.join(dir, 'counter_55.exemplars')).read();
      assert.ok(own.status === 'ok');
      assert.deepEqual(keysOf(own.contents), [key]);
      assert.deepEqual(own.contents.exemplars[0]?.labels, { traceId: 'after' });
      assert.equal(slotSeq(fs.readFileSync(path.join(dir, 'counter_55.exemplars')), slotOffset), 2, 'a fresh slot, written once');
      const dead = new ExemplarFileReader(path.join(dir, `counter_55.dead${inode}.exemplars`)).read();
      assert.ok(dead.status === 'ok');
      assert.deepEqual(dead.contents.exemplars[0]?.labels, { traceId: 'before' }, "the predecessor's, as it left it");

      // A file that is no exemplar file under the name: handed over unread, for the collector to skip.
      const filePath = path.join(dir, 'counter_56.exemplars');
      const bytes = fs.readFileSync(path.join(dir, 'counter_55.exemplars'));
      bytes.write('pmx9', 4, 'latin1');
      fs.writeFileSync(filePath, bytes);
      const oddInode = fs.statSync(filePath).ino;
      assert.deepEqual(new ExemplarFileReader(filePath).read(), {
        status: 'unreadable',
        problem: 'does not start like an exemplar file',
      });
      const store = new ProcessStore(dir, { pid: 56, backend: 'pwrite' });
      const fresh = store.exemplars('counter');
      const warnings: string[] = [];
      setLogger({ info: () => {}, warn: (message) => warnings.push(message), error: () => {} });
      try {
        fresh.record(fresh.indexOf(key), { traceId: 'x' }, 1, 3);
        store.flushExemplars();
      } finally {
        setLogger(undefined);
      }
      assert.deepEqual(warnings, []);
      const written = new ExemplarFileReader(filePath).read();
      assert.ok(written.status === 'ok');
      assert.deepEqual(written.contents.exemplars[0]?.labels, { traceId: 'x' });
      assert.deepEqual(fs.readFileSync(path.join(dir, `counter_56.dead${oddInode}.exemplars`)), bytes, 'kept as it was');
      store.close();
    } finally {
      remove();
    }
  });
});

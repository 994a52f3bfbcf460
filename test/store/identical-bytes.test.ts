import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { HEADER_BYTES, encodeKey, parseEntries, parseFileName } from '../../src/store/format';
import { ProcessStore } from '../../src/store';
import type { BackendKind } from '../../src/store';
import { readFileSamples } from '../support/file-samples';
import { makeTempDir } from './helpers';
import { PYTHON_CURRENT } from '../support/fixtures';

const PYTHON_DB = path.join(PYTHON_CURRENT, 'db');

type Operation =
  | { kind: 'add'; key: number; amount: number }
  | { kind: 'set'; key: number; value: number }
  | { kind: 'setWithTimestamp'; key: number; value: number; timestamp: number }
  | { kind: 'manyKeys'; count: number; helpBytes: number }
  | { kind: 'reopen' };

const LABEL_VALUES = ['GET', 'POST', 'q"uote', 'back\\slash', 'new\nline', 'ünïcødé', '日本', ''];
const keyNumber = fc.integer({ min: 0, max: LABEL_VALUES.length * 3 - 1 });
const finite = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e12, max: 1e12 });
const operation: fc.Arbitrary<Operation> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('add' as const), key: keyNumber, amount: finite }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('set' as const), key: keyNumber, value: finite }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('setWithTimestamp' as const), key: keyNumber, value: finite, timestamp: fc.double({ min: 0, max: 2e9, noNaN: true }) }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('manyKeys' as const), count: fc.integer({ min: 1, max: 300 }), helpBytes: fc.integer({ min: 0, max: 600 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('reopen' as const) }) },
);

function keyFor(key: number): string {
  const method = LABEL_VALUES[key % LABEL_VALUES.length];
  return encodeKey('requests', 'requests_total', { method, shard: String(Math.floor(key / LABEL_VALUES.length)) }, 'Requests.');
}

/**
 * Runs the operations through one backend. Returns the bytes of every file it left, in name order
 * with the inodes of the names of handed-over files left out, and what the values of each should
 * be: a reopened store starts its own file from zero and hands the earlier one to the dead.
 */
function runOperations(backend: BackendKind, dir: string, operations: readonly Operation[]): { files: Buffer[]; models: Array<Map<string, number>> } {
  const models = [new Map<string, number>()];
  let model = models[0];
  let store = new ProcessStore(dir, { backend, pid: 1234 });
  let file = store.file('counter');
  let bulk = 0;
  for (const op of operations) {
    if (op.kind === 'reopen') {
      store.close();
      store = new ProcessStore(dir, { backend, pid: 1234 });
      file = store.file('counter');
      model = new Map();
      models.push(model);
    } else if (op.kind === 'manyKeys') {
      for (let i = 0; i < op.count; i++) {
        const key = encodeKey('bulk', 'bulk_total', { n: String(bulk++) }, 'h'.repeat(op.helpBytes));
        file.slotOf(key);
        model.set(key, 0);
      }
    } else {
      const key = keyFor(op.key);
      const slot = file.slotOf(key);
      if (op.kind === 'add') file.add(slot, op.amount);
      else if (op.kind === 'set') file.set(slot, op.value);
      else file.setWithTimestamp(slot, op.value, op.timestamp);
      model.set(key, op.kind === 'add' ? (model.get(key) ?? 0) + op.amount : op.value);
    }
  }
  store.close();
  // The files a reopen handed over are counter_1234.dead<inode>.db: ordered by what they hold.
  const files = fs.readdirSync(dir).filter((name) => name.endsWith('.db')).map((name) => fs.readFileSync(path.join(dir, name)));
  return { files: files.sort(Buffer.compare), models };
}

/** A file's values by key, in a form that compares as a whole. */
function valuesOf(bytes: Buffer): string {
  const { entries } = parseEntries(bytes, HEADER_BYTES, bytes.readInt32LE(0));
  return JSON.stringify(entries.map((entry) => [entry.key, bytes.readDoubleLE(entry.valueOffset)]).sort());
}

describe('native and pwrite backends', () => {
  it('write byte-identical files for the same operations, holding the expected values', () => {
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), (operations) => {
        const native = makeTempDir();
        const pwrite = makeTempDir();
        try {
          const fromNative = runOperations('native', native.dir, operations);
          const fromPwrite = runOperations('pwrite', pwrite.dir, operations);
          assert.equal(fromNative.files.length, fromPwrite.files.length, 'as many files');
          fromNative.files.forEach((bytes, i) => assert.ok(bytes.equals(fromPwrite.files[i]), 'same bytes'));
          const samples = readFileSamples(path.join(native.dir, 'counter_1234.db'));
          const current = fromNative.models[fromNative.models.length - 1];
          assert.deepEqual(new Map([...samples].map(([key, sample]) => [key, sample.value])), current);
          const expected = fromNative.models.map((values) => JSON.stringify([...values].sort()));
          assert.deepEqual(fromNative.files.map(valuesOf).sort(), expected.sort(), 'every earlier file is kept as it was left');
        } finally {
          native.remove();
          pwrite.remove();
        }
      }),
      { numRuns: 40 },
    );
  });
});

for (const backend of ['native', 'pwrite'] as const) {
  describe(`Python's own files (${backend} backend)`, () => {
    let dir: string;
    let remove: () => void;
    beforeEach(() => ({ dir, remove } = makeTempDir()));
    afterEach(() => remove());

    it('are reproduced byte for byte by appending the same keys and writing the same values', () => {
      const names = fs.readdirSync(PYTHON_DB);
      assert.ok(names.length > 20, `fixtures in ${PYTHON_DB}`);
      for (const name of names) {
        const parsed = parseFileName(name);
        assert.ok(parsed, name);
        const python = fs.readFileSync(path.join(PYTHON_DB, name));
        const { entries, error } = parseEntries(python, HEADER_BYTES, python.readInt32LE(0));
        assert.equal(error, undefined);
        const store = new ProcessStore(dir, { backend, pid: parsed.pid });
        const file = store.file(parsed.type, parsed.mode);
        for (const entry of entries) {
          file.setWithTimestamp(file.slotOf(entry.key), python.readDoubleLE(entry.valueOffset), python.readDoubleLE(entry.valueOffset + 8));
        }
        store.close();
        assert.ok(fs.readFileSync(path.join(dir, name)).equals(python), `${name} differs from Python's`);
      }
    });
  });
}

import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HEADER_BYTES, INITIAL_FILE_BYTES, decodeKey, parseEntries } from '../../src/store/format';
import { loadMmapAddon } from '../../src/store/backends/loader';
import { readFileSamples } from '../support/file-samples';
import { FILE_BACKENDS, makeTempDir, runChild } from './helpers';
import { appendedKey, finalValueOf, PROGRESS_KEY } from './children/append-many-keys';

const KEYS = 20_000;

/** What one look at the file found: every entry's value, by key. */
type Snapshot = Map<string, number>;

/** Reads `used`, then the bytes before it, with two positioned reads (how a plain reader works). */
function readWithPread(fd: number): Buffer | undefined {
  const header = Buffer.alloc(4);
  fs.readSync(fd, header, 0, 4, 0);
  const used = header.readInt32LE(0);
  if (used < HEADER_BYTES) return undefined;
  const bytes = Buffer.alloc(used);
  let read = 0;
  while (read < used) read += fs.readSync(fd, bytes, read, used - read, read);
  return bytes;
}

/** A shared read-write mapping of the writer's file, mapped again when the file has grown. */
class Mapping {
  private view = Buffer.alloc(0);

  constructor(private readonly fd: number) {}

  /** `used` by an acquire load, then the mapped bytes before it (none before the file is sized). */
  usedBytes(): Buffer {
    if (this.view.length < HEADER_BYTES && !this.remap()) return this.view;
    const used = Atomics.load(new Int32Array(this.view.buffer, 0, 1), 0);
    // The writer sizes the file before it publishes a `used` that needs the room.
    if (used > this.view.length) this.remap();
    return this.view.subarray(0, used);
  }

  private remap(): boolean {
    const size = fs.fstatSync(this.fd).size;
    if (size < HEADER_BYTES) return false;
    this.view = Buffer.from(loadMmapAddon().map(this.fd, size, size, 'reader'));
    return true;
  }
}

/**
 * Parses only the entries appended since `from`, right after loading `used`, many times in a row:
 * an entry published before it is whole would show up here as a zero length or a key that is not
 * a key. Returns where the next look starts.
 */
function checkNewEntries(mapping: Mapping, from: number, rounds: number): number {
  let position = from;
  for (let round = 0; round < rounds; round++) {
    const bytes = mapping.usedBytes();
    if (bytes.length <= position) continue;
    const { entries, end, error } = parseEntries(bytes, position, bytes.length);
    assert.equal(error, undefined, `a reader honouring used=${bytes.length} met a torn entry: ${error?.message}`);
    for (const entry of entries) assert.doesNotThrow(() => decodeKey(entry.key), `torn key ${JSON.stringify(entry.key)}`);
    position = end;
  }
  return position;
}

function snapshotOf(bytes: Buffer): Snapshot {
  const { entries, error } = parseEntries(bytes, HEADER_BYTES, bytes.length);
  assert.equal(error, undefined, `a reader honouring used=${bytes.length} met a torn entry: ${error?.message}`);
  return new Map(entries.map((entry) => [entry.key, bytes.readDoubleLE(entry.valueOffset)]));
}

for (const backend of FILE_BACKENDS) {
  describe(`a reader while another process appends (${backend} backend)`, () => {
    let dir: string;
    let remove: () => void;
    beforeEach(() => ({ dir, remove } = makeTempDir()));
    afterEach(() => remove());

    it('never sees a torn entry nor a value going backwards while the file grows', async () => {
      let writerDone = false;
      const writer = runChild('append-many.ts', [dir, backend, String(KEYS)]).finally(() => (writerDone = true));
      let fd: number | undefined;
      let mapping: Mapping | undefined;
      let checkedUpTo = HEADER_BYTES;
      const seen = new Map<string, number>();
      let looks = 0;
      let partialLooks = 0;
      const look = (bytes: Buffer | undefined): void => {
        if (bytes === undefined || bytes.length < HEADER_BYTES) return;
        const snapshot = snapshotOf(bytes);
        looks++;
        if (snapshot.size > 1 && snapshot.size < KEYS + 1) partialLooks++;
        for (const [key, value] of snapshot) {
          assert.ok(value >= (seen.get(key) ?? 0), `${key} went back from ${seen.get(key)} to ${value}`);
          seen.set(key, value);
        }
      };
      while (!writerDone) {
        const file = fs.readdirSync(dir).find((name) => name.startsWith('counter_'));
        if (fd === undefined && file !== undefined) {
          fd = fs.openSync(path.join(dir, file), 'r+');
          mapping = new Mapping(fd);
        }
        if (fd !== undefined && mapping !== undefined) {
          look(looks % 2 === 0 ? readWithPread(fd) : mapping.usedBytes());
          checkedUpTo = checkNewEntries(mapping, checkedUpTo, 2_000);
        }
        await new Promise((resolve) => setImmediate(resolve));
      }
      const child = await writer;
      assert.equal(child.code, 0, child.stderr);
      if (fd !== undefined) fs.closeSync(fd);

      assert.ok(partialLooks > 0, `the reader looked ${looks} times but never while the writer was midway`);
      const filePath = path.join(dir, `counter_${child.pid}.db`);
      assert.ok(fs.statSync(filePath).size >= INITIAL_FILE_BYTES * 16, 'the file grew at least four times');
      const final = readFileSamples(filePath);
      assert.equal(final.size, KEYS + 1);
      assert.equal(final.get(PROGRESS_KEY)?.value, KEYS);
      for (let i = 0; i < KEYS; i++) assert.equal(final.get(appendedKey(i))?.value, finalValueOf(i, KEYS));
    });
  });
}

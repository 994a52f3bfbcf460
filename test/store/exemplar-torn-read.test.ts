// A writer process rewrites exemplar slots at full speed while this process reads them every way
// a reader can: the collector's reader (pread, per-slot retries), a bare pread copy of the file,
// and (native backend) memcpy copies of a shared mapping. Every exemplar accepted must be one that
// was written whole. EXEMPLAR_TORN_SECONDS sets the duration. (Decoding straight off a live
// mapping is not among them, and must never be: the bytes can change between the checksum and the
// decode, and a first run of this test caught exactly that. A slot is decoded from a copy.)
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadMmapAddon } from '../../src/store/backends/loader';
import { HEADER_BYTES, parseEntries } from '../../src/store/format';
import { EXEMPLAR_LAYOUT, SLOT_BYTES, SLOT_UNSETTLED, readExemplarSlot, slotSeq } from '../../src/store/exemplar-format';
import { ExemplarFileReader } from '../../src/store/exemplar-reader';
import { FILE_BACKENDS, makeTempDir } from './helpers';
import { REWRITTEN_SLOTS, isWholeWrite } from './children/exemplar-ids';

const SECONDS = Number(process.env.EXEMPLAR_TORN_SECONDS ?? 3);

interface Tally {
  accepted: number;
  refused: number;
  /** Refused by the checksum although the seq was even: what a seqlock alone would have let through. */
  checksumOnly: number;
  torn: string[];
  distinct: Set<number>;
}

function tally(): Tally {
  return { accepted: 0, refused: 0, checksumOnly: 0, torn: [], distinct: new Set() };
}

function check(result: Tally, decoded: ReturnType<typeof readExemplarSlot> | undefined, copy?: Uint8Array, offset = 0): void {
  if (decoded === undefined || typeof decoded === 'number') {
    result.refused++;
    if (copy !== undefined && decoded === SLOT_UNSETTLED && slotSeq(copy, offset) % 2 === 0) result.checksumOnly++;
    return;
  }
  result.accepted++;
  result.distinct.add(decoded.value);
  if (!isWholeWrite(decoded) && result.torn.length < 5) result.torn.push(JSON.stringify(decoded));
}

/** The slot offsets of the file's entries (keys never move, so parsed once). */
function slotOffsets(bytes: Uint8Array): number[] {
  const used = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).readInt32LE(0);
  return parseEntries(bytes, HEADER_BYTES, used, EXEMPLAR_LAYOUT.bodySize).entries.map((entry) => entry.valueOffset);
}

for (const backend of FILE_BACKENDS) {
  describe(`exemplar slots rewritten at full speed by another process (${backend} backend)`, function () {
    this.timeout(60_000 + SECONDS * 4000);

    it('are only ever read whole, by every kind of reader', async () => {
      const { dir, remove } = makeTempDir();
      try {
        const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'children', 'exemplar-rewriter.ts'), dir, backend, String(SECONDS)], {
          stdio: ['ignore', 'pipe', 'inherit'],
        });
        let output = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
        const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
        let running = true;
        void exited.then(() => (running = false));
        while (running && !output.includes('started')) await new Promise((resolve) => setTimeout(resolve, 20));
        const filePath = path.join(dir, `counter_${child.pid}.exemplars`);

        const collector = tally();
        const preadCopy = tally();
        const mappedCopy = tally();
        const reader = new ExemplarFileReader(filePath);
        // Read-write only because the addon maps MAP_SHARED read-write; nothing is written through it.
        const fd = fs.openSync(filePath, 'r+');
        const size = fs.fstatSync(fd).size;
        const whole = Buffer.alloc(size);
        fs.readSync(fd, whole, 0, size, 0);
        const offsets = slotOffsets(whole);
        assert.equal(offsets.length, REWRITTEN_SLOTS);
        const mapping = backend === 'native' ? Buffer.from(loadMmapAddon().map(fd, size, size, filePath)) : undefined;
        const copy = Buffer.alloc(SLOT_BYTES);
        while (running) {
          for (let round = 0; round < 200; round++) {
            const result = reader.read();
            assert.equal(result.status, 'ok');
            if (result.status === 'ok') for (const exemplar of result.contents.exemplars) check(collector, exemplar);
            fs.readSync(fd, whole, 0, size, 0);
            for (const offset of offsets) check(preadCopy, readExemplarSlot(whole, offset), whole, offset);
            if (mapping !== undefined) {
              for (const offset of offsets) {
                mapping.copy(copy, 0, offset, offset + SLOT_BYTES);
                check(mappedCopy, readExemplarSlot(copy, 0), copy);
              }
            }
          }
          await new Promise((resolve) => setImmediate(resolve));
        }
        fs.closeSync(fd);
        assert.equal(await exited, 0);
        const writes = Number(output.split('\n')[1]);
        const kinds = { collector, preadCopy, ...(mapping === undefined ? {} : { mappedCopy }) };
        for (const [kind, result] of Object.entries(kinds)) {
          assert.deepEqual(result.torn, [], `${kind}: exemplars accepted although not written whole`);
          // The readers overlapped the writer: they accepted many different writes, not one.
          assert.ok(result.distinct.size > 100, `${kind}: only ${result.distinct.size} distinct writes of ${writes} seen`);
        }
        console.log(
          `      ${writes} writes; accepted/refused (of which by the checksum alone, seq even): ` +
            Object.entries(kinds)
              .map(([kind, result]) => `${kind} ${result.accepted}/${result.refused} (${result.checksumOnly})`)
              .join(', '),
        );
        // After the writer closed, the collector's reader sees the last write of every slot.
        const last = reader.read();
        assert.ok(last.status === 'ok');
        const lastValues = last.contents.exemplars.map((exemplar) => exemplar?.value).sort((a, b) => (a ?? 0) - (b ?? 0));
        assert.deepEqual(lastValues, Array.from({ length: REWRITTEN_SLOTS }, (_, i) => writes - REWRITTEN_SLOTS + i));
      } finally {
        remove();
      }
    });
  });
}

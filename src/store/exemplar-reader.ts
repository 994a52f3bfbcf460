// Read-only, defensive reading of one exemplar file written by any process, alive or dead: the
// shared container reader (reader.ts, with the exemplar layout) finds the entries, this checks
// each slot. A slot whose seq and checksum are those of the last read is not decoded again. A slot
// caught mid-write is read again on its own; if it stays unsettled, its last whole exemplar stands.
// Nothing torn or half-written is ever returned.

import { SLOT_BYTES, SLOT_EMPTY, SLOT_INVALID, SLOT_UNSETTLED, EXEMPLAR_LAYOUT, readExemplarSlot, slotCheck, slotSeq } from './exemplar-format';
import type { Exemplar, ExemplarEntry } from './exemplar-format';
import type { KeyIndex } from './key-index';
import { MetricFileReader, ReadBuffer } from './reader';

/** Times a slot is read again, on its own, when the first copy caught it mid-write. */
const SLOT_RETRIES = 3;

export interface ExemplarFileContents {
  /** Entries parsed; while `layoutVersion` is unchanged, a later read only appends. */
  readonly count: number;
  /** The id of each entry's key (the key of its series' .db entry) in `keys`. */
  readonly keyIds: Int32Array;
  readonly keys: KeyIndex;
  /** The exemplar of each entry, or undefined when its slot holds none (yet). */
  readonly exemplars: ReadonlyArray<Exemplar | undefined>;
  readonly layoutVersion: number;
  /** Why entries past the last whole one, or some slots, could not be used. */
  readonly problem: string | undefined;
  /** Which limit left the rest of the file unread this time, when one did. */
  readonly limit: string | undefined;
  readonly bytesRead: number;
}

export type ExemplarReadResult = { status: 'ok'; contents: ExemplarFileContents } | { status: 'missing' } | { status: 'unreadable'; problem: string };

/** What a slot last decoded to: reused while its seq and checksum stay the same. */
interface SlotMemo {
  seq: number;
  check: number;
  exemplar: Exemplar | undefined;
}

/** Reads one exemplar file again and again; one instance per path. */
export class ExemplarFileReader {
  private readonly reader: MetricFileReader;
  private readonly buffer: ReadBuffer;
  private memos: Array<SlotMemo | undefined> = [];
  private exemplars: Array<Exemplar | undefined> = [];
  private layoutVersion = -1;

  /** `keys` and `buffer`: shared with the other readers of a collector. */
  constructor(
    readonly path: string,
    options: { keys?: KeyIndex; buffer?: ReadBuffer } = {},
  ) {
    this.buffer = options.buffer ?? new ReadBuffer();
    this.reader = new MetricFileReader(path, { keys: options.keys, buffer: this.buffer, layout: EXEMPLAR_LAYOUT });
  }

  /** `maxBytes`: past this many bytes of the file the rest is left unread (a limit). */
  read(maxBytes = Infinity): ExemplarReadResult {
    const result = this.reader.read(maxBytes);
    if (result.status !== 'ok') return result;
    const { count, keyIds, keys, slots, layoutVersion, problem, limit, bytesRead } = result.contents;
    if (layoutVersion !== this.layoutVersion) {
      this.layoutVersion = layoutVersion;
      this.memos = [];
      this.exemplars = [];
    }
    this.exemplars.length = count;
    let slotProblem: string | undefined;
    for (let i = 0; i < count; i++) slotProblem ??= this.readSlot(i, slots[i] * 8);
    const problems = [problem, slotProblem].filter((text) => text !== undefined);
    return {
      status: 'ok',
      contents: {
        count,
        keyIds,
        keys,
        exemplars: this.exemplars,
        layoutVersion,
        problem: problems.length === 0 ? undefined : problems.join('; '),
        limit,
        bytesRead,
      },
    };
  }

  /** The exemplar of entry i this read, from the memo when its slot is unchanged; or a problem. */
  private readSlot(i: number, offset: number): string | undefined {
    const memo = this.memos[i];
    const firstSeq = slotSeq(this.buffer.bytes, offset);
    for (let attempt = 0; ; attempt++) {
      // The buffer is read again below: look at it afresh each time.
      const bytes = this.buffer.bytes;
      const seq = slotSeq(bytes, offset);
      const check = slotCheck(bytes, offset);
      if (memo !== undefined && memo.seq === seq && memo.check === check) {
        this.exemplars[i] = memo.exemplar;
        return undefined;
      }
      const decoded = readExemplarSlot(bytes, offset);
      if (decoded === SLOT_EMPTY) {
        this.exemplars[i] = undefined;
        return undefined;
      }
      if (decoded === SLOT_INVALID) {
        this.exemplars[i] = undefined;
        return `the exemplar slot at ${offset} holds no valid exemplar`;
      }
      if (decoded !== SLOT_UNSETTLED) {
        this.memos[i] = { seq, check, exemplar: decoded };
        this.exemplars[i] = decoded;
        return undefined;
      }
      if (attempt === SLOT_RETRIES || !this.reader.reread(offset, SLOT_BYTES)) {
        // Still being rewritten (or its writer died mid-write): its last whole exemplar stands.
        this.exemplars[i] = memo?.exemplar;
        const stable = (seq & 1) === 0 && seq === firstSeq;
        return stable ? `the exemplar slot at ${offset} fails its checksum` : undefined;
      }
    }
  }
}

/** The text of each entry's key, in file order (for tools and tests: the collector works with key ids). */
export function exemplarKeys(contents: ExemplarFileContents): string[] {
  return Array.from({ length: contents.count }, (_, i) => contents.keys.text(contents.keyIds[i]));
}

/**
 * Every exemplar of a file, by key, in file order (compaction folds these). A damaged part is
 * left out, not fatal: the exemplars are an aid, and the counts beside them must be archived.
 */
export function readWholeExemplarFile(filePath: string): ExemplarEntry[] {
  const result = new ExemplarFileReader(filePath).read();
  if (result.status === 'missing') throw new Error(`${filePath} disappeared while being compacted`);
  if (result.status === 'unreadable') throw new Error(`${filePath} cannot be used: it ${result.problem}`);
  const { count, keyIds, keys, exemplars } = result.contents;
  const entries: ExemplarEntry[] = [];
  for (let i = 0; i < count; i++) {
    const exemplar = exemplars[i];
    if (exemplar !== undefined) entries.push({ key: keys.text(keyIds[i]), exemplar });
  }
  return entries;
}

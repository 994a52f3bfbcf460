// The byte layout of exemplar files (`counter_PID.exemplars`, `histogram_PID.exemplars`): the
// .db framing (int32 `used`, then length-prefixed keys padded to 8 bytes) with a format tag after
// `used` and, after each key, one fixed-size slot holding the latest exemplar of that series or
// bucket. The key is the very key of the sample's .db entry, so the merge lines the two up. Python's
// collector globs `*.db` and never opens these files. The only place that knows a slot's bytes.
//
// Slot (SLOT_BYTES, little-endian, 8-aligned):
//    0  u32  seq         0 = never written; odd = being written; even = whole
//    4  u32  check       FNV-1a-32 over seq (4 LE bytes), then bytes [8, 32 + labelBytes)
//    8  f64  value       a counter's increment, a histogram's observed value
//   16  f64  timestamp   unix seconds (Date.now() / 1000 at the call)
//   24  u16  labelBytes  0..MAX_LABEL_BYTES
//   26  u8   labelCount
//   27  u8   flags (0)
//   28  u32  reserved (0)
//   32  labelCount x [u8 nameLength][name, ASCII][u16 valueLength][value, UTF-8]
//
// A reader copies slots with pread, which orders nothing between the bytes of one copy, and on
// arm64 the writer's plain stores may become visible before its odd seq: a seqlock alone let torn
// copies through in a stress test (40 in 750k), the checksum over seq and payload let none (0 in
// 798k). So a reader accepts a slot only with an even seq and a matching checksum.

import { MAX_FILE_BYTES, encodeArchiveOf } from './format';
import type { FileLayout } from './format';
import { LABEL_NAME_PATTERN } from './names';

/** OpenMetrics: label names and values of one exemplar together hold at most 128 code points. */
export const MAX_EXEMPLAR_CODE_POINTS = 128;
/**
 * Room for every exemplar OpenMetrics allows: with k labels, N name characters (k <= N) and
 * values of at most 4 UTF-8 bytes per code point, N + 4 (128 - N) + 3k <= 512. No truncation path.
 */
export const MAX_LABEL_BYTES = 512;
const LABELS_OFFSET = 32;
export const SLOT_BYTES = LABELS_OFFSET + MAX_LABEL_BYTES;

/** The body of a new entry: a slot nobody wrote yet (seq 0); never written to. */
export const EMPTY_SLOT = new Float64Array(SLOT_BYTES / 8);

/** Exemplar files in the shared container: `pmx1` after `used` (a .db file renamed, or a later layout, is refused), one slot per entry. */
export const EXEMPLAR_LAYOUT: FileLayout = {
  magic: 0x31786d70,
  describe: 'Exemplar file',
  bodySize: () => SLOT_BYTES,
  maxBytes: MAX_FILE_BYTES,
};

/** The types whose samples carry exemplars in OpenMetrics: counters' totals, histograms' buckets. */
export type ExemplarFileType = 'counter' | 'histogram';
/** Exemplar labels as an app gives them (prom-client's LabelValues). */
export type ExemplarLabels = Readonly<Record<string, string | number>>;

/** One exemplar read back from a slot; labels frozen, in the order the app gave them. */
export interface Exemplar {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestamp: number;
}

// ---- labels: the check at the call ----------------------------------------------------------------

/** What checkExemplarLabels answers for labels that cannot be stored (a count >= 0 otherwise). */
export const LABELS_NOT_AN_OBJECT = -1;
export const LABELS_BAD_NAME = -2;
export const LABELS_BAD_VALUE = -3;
export const LABELS_TOO_LONG = -4;

/**
 * Names already proven valid, in the order of the last labels checked. Apps give the same names
 * call after call ({ traceId, spanId }), so a name usually settles with a pointer compare instead of
 * the regex.
 */
const provenNames: string[] = [];

/**
 * The hot check, run at every call with exemplar labels (and again before a slot is written): an
 * object of valid label names to strings or numbers, at most 128 code points in all. Returns the
 * number of labels, or a negative LABELS_ code; allocates nothing for string values. The messages
 * are built elsewhere, only when something is wrong.
 */
export function checkExemplarLabels(labels: unknown): number {
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels)) return LABELS_NOT_AN_OBJECT;
  let units = 0;
  let position = 0;
  for (const name in labels) {
    const value: unknown = (labels as Record<string, unknown>)[name];
    if (typeof value === 'string') units += value.length;
    else if (typeof value === 'number') units += String(value).length;
    else return LABELS_BAD_VALUE;
    if (name !== provenNames[position]) {
      if (!LABEL_NAME_PATTERN.test(name)) return LABELS_BAD_NAME;
      provenNames[position] = name;
    }
    units += name.length;
    position++;
  }
  // UTF-16 units are never fewer than code points: only a long set needs counting them.
  if (units > MAX_EXEMPLAR_CODE_POINTS && exemplarCodePoints(labels as ExemplarLabels) > MAX_EXEMPLAR_CODE_POINTS) {
    return LABELS_TOO_LONG;
  }
  return position;
}

/** Code points of the label names and values together, as OpenMetrics and Prometheus count them. */
export function exemplarCodePoints(labels: ExemplarLabels): number {
  let count = 0;
  for (const name in labels) count += name.length + codePoints(String(labels[name]));
  return count;
}

/** Code points of a string: a surrogate pair is one (a lone surrogate too, as for...of counts it). */
function codePoints(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length - 1; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}

// ---- a slot: writing ------------------------------------------------------------------------------

/** Encoded here first, so the slot is rewritten only with a payload known to be whole and valid. */
const scratch = Buffer.alloc(SLOT_BYTES);
const scratchNumbers = new Float64Array(scratch.buffer, scratch.byteOffset, 4);
const scratchWords = new Int32Array(scratch.buffer, scratch.byteOffset, SLOT_BYTES >>> 2);

/**
 * Writes one exemplar into the slot at byte `offset` of the file image `i32` views: odd seq,
 * payload and checksum, even seq. Returns false, leaving the slot as it was, when the labels no
 * longer pass the check (an app may change the object after the call).
 */
export function writeExemplarSlot(
  i32: Int32Array,
  offset: number,
  labels: ExemplarLabels,
  value: number,
  timestamp: number,
): boolean {
  const labelBytes = encodeLabels(labels);
  if (labelBytes < 0) return false;
  // Bytes 8 and 16: the format is little-endian, and so is every CPU the store opens files on.
  scratchNumbers[1] = value;
  scratchNumbers[2] = timestamp;
  const seqIndex = offset >>> 2;
  // The next even seq after whatever is there (odd only if a writer died mid-write); 0 is "empty".
  let even = ((i32[seqIndex] | 1) + 1) >>> 0;
  if (even === 0) even = 2;
  const end = LABELS_OFFSET + labelBytes;
  const check = slotChecksum(even, scratch, 0, end);
  scratch[4] = check & 0xff;
  scratch[5] = (check >>> 8) & 0xff;
  scratch[6] = (check >>> 16) & 0xff;
  scratch[7] = check >>> 24;
  Atomics.store(i32, seqIndex, (even - 1) | 0);
  // Word by word: no call, no view made; the last word may carry stale bytes past the labels,
  // which nothing reads (labelBytes says where they end, and the checksum stops there).
  const words = (end + 3) >>> 2;
  for (let word = 1; word < words; word++) i32[seqIndex + word] = scratchWords[word];
  Atomics.store(i32, seqIndex, even | 0);
  return true;
}

/** Labels into scratch[24, ...): meta, then the pairs; returns the label bytes, or -1 when they fail the check now. */
function encodeLabels(labels: ExemplarLabels): number {
  if (checkExemplarLabels(labels) < 0) return -1;
  let position = LABELS_OFFSET;
  let count = 0;
  const limit = SLOT_BYTES;
  for (const name in labels) {
    const value: unknown = labels[name];
    // A getter may answer differently from the check a moment ago: every length is bounded here.
    if (typeof value !== 'string' && typeof value !== 'number') return -1;
    const text = typeof value === 'string' ? value : String(value);
    if (position + 1 + name.length + 2 > limit) return -1;
    scratch[position] = name.length;
    // Names are ASCII (the check's pattern); ids are ASCII too, so bytes are copied in JS, and
    // only a value with other characters goes through the UTF-8 encoder.
    writeAscii(name, position + 1);
    position += 1 + name.length;
    let written = text.length <= limit - position - 2 ? writeAscii(text, position + 2) : -1;
    if (written < 0) {
      written = scratch.write(text, position + 2, limit - position - 2, 'utf8');
      if (written !== Buffer.byteLength(text)) return -1;
    }
    scratch[position] = written & 0xff;
    scratch[position + 1] = written >>> 8;
    position += 2 + written;
    count++;
  }
  const labelBytes = position - LABELS_OFFSET;
  if (labelBytes > MAX_LABEL_BYTES || count > 255) return -1;
  scratch[24] = labelBytes & 0xff;
  scratch[25] = labelBytes >>> 8;
  scratch[26] = count;
  scratch[27] = 0;
  scratchWords[7] = 0;
  return labelBytes;
}

/** Copies `text` into scratch at `at` when it is all ASCII, returning its length; -1 otherwise. */
function writeAscii(text: string, at: number): number {
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit > 0x7f) return -1;
    scratch[at + i] = unit;
  }
  return text.length;
}

/** FNV-1a-32 over the seq (4 bytes LE), then bytes [from + 8, from + end) of `bytes`. */
function slotChecksum(seq: number, bytes: Uint8Array, from: number, end: number): number {
  let hash = 0x811c9dc5;
  hash = Math.imul(hash ^ (seq & 0xff), 0x01000193);
  hash = Math.imul(hash ^ ((seq >>> 8) & 0xff), 0x01000193);
  hash = Math.imul(hash ^ ((seq >>> 16) & 0xff), 0x01000193);
  hash = Math.imul(hash ^ (seq >>> 24), 0x01000193);
  for (let i = from + 8; i < from + end; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
  return hash >>> 0;
}

// ---- a slot: reading ------------------------------------------------------------------------------

/** A slot nobody wrote yet. */
export const SLOT_EMPTY = 0;
/** A writer is in the middle of it, or the copy mixed two writes: read it again. */
export const SLOT_UNSETTLED = 1;
/** Whole by its checksum but not an exemplar this format allows: corruption or a foreign writer. */
export const SLOT_INVALID = 2;
export type SlotProblem = 0 | 1 | 2;

function uint32At(bytes: Uint8Array, offset: number): number {
  return (bytes[offset] | (bytes[offset + 1] << 8) | (bytes[offset + 2] << 16) | (bytes[offset + 3] << 24)) >>> 0;
}

/** The seq and checksum of a slot as copied: a decode may be reused while both stay the same. */
export function slotSeq(bytes: Uint8Array, offset: number): number {
  return uint32At(bytes, offset);
}

export function slotCheck(bytes: Uint8Array, offset: number): number {
  return uint32At(bytes, offset + 4);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes the slot at `offset` of a copy (never of live shared memory: the bytes could change between
 * the checksum and the decode), or says why not. Accepts only an even, non-zero seq with
 * a matching checksum, then checks everything else a scrape relies on: finite value, a positive
 * finite timestamp, label names by the pattern, strict UTF-8 values, at most 128 code points.
 */
export function readExemplarSlot(bytes: Uint8Array, offset: number): Exemplar | SlotProblem {
  const seq = slotSeq(bytes, offset);
  if (seq === 0) return SLOT_EMPTY;
  if ((seq & 1) === 1) return SLOT_UNSETTLED;
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, SLOT_BYTES);
  const labelBytes = view.getUint16(24, true);
  if (labelBytes > MAX_LABEL_BYTES) return SLOT_UNSETTLED;
  if (slotChecksum(seq, bytes, offset, LABELS_OFFSET + labelBytes) !== slotCheck(bytes, offset)) return SLOT_UNSETTLED;

  const value = view.getFloat64(8, true);
  const timestamp = view.getFloat64(16, true);
  if (!Number.isFinite(value) || !(timestamp > 0 && timestamp < Number.MAX_SAFE_INTEGER / 1000)) return SLOT_INVALID;
  const labels: Record<string, string> = {};
  const count = view.getUint8(26);
  const end = LABELS_OFFSET + labelBytes;
  let position = LABELS_OFFSET;
  let length = 0;
  for (let i = 0; i < count; i++) {
    if (position + 1 > end) return SLOT_INVALID;
    const nameLength = view.getUint8(position);
    if (position + 1 + nameLength + 2 > end) return SLOT_INVALID;
    const name = latin1(bytes, offset + position + 1, nameLength);
    position += 1 + nameLength;
    const valueLength = view.getUint16(position, true);
    position += 2;
    if (position + valueLength > end) return SLOT_INVALID;
    if (!LABEL_NAME_PATTERN.test(name) || Object.hasOwn(labels, name)) return SLOT_INVALID;
    let text: string;
    try {
      text = strictUtf8.decode(bytes.subarray(offset + position, offset + position + valueLength));
    } catch {
      return SLOT_INVALID;
    }
    position += valueLength;
    length += nameLength + codePoints(text);
    labels[name] = text;
  }
  if (position !== end || length > MAX_EXEMPLAR_CODE_POINTS) return SLOT_INVALID;
  return { labels: Object.freeze(labels), value, timestamp };
}

function latin1(bytes: Uint8Array, from: number, length: number): string {
  let text = '';
  for (let i = from; i < from + length; i++) text += String.fromCharCode(bytes[i]);
  return text;
}

/**
 * The order exemplars of one series compete in, across processes and in compaction alike: the
 * latest timestamp wins; equal timestamps are settled by value, then labels, never by which file
 * came first, so the choice does not flip when files are renamed or compacted (Prometheus refuses
 * an exemplar with the timestamp of the last one but other labels).
 */
export function exemplarIsLater(candidate: Exemplar, best: Exemplar): boolean {
  if (candidate.timestamp !== best.timestamp) return candidate.timestamp > best.timestamp;
  if (candidate.value !== best.value) return candidate.value > best.value;
  return labelsOrderKey(candidate) > labelsOrderKey(best);
}

const orderKeys = new WeakMap<Exemplar, string>();

function labelsOrderKey(exemplar: Exemplar): string {
  let key = orderKeys.get(exemplar);
  if (key === undefined) {
    key = JSON.stringify(Object.entries(exemplar.labels));
    orderKeys.set(exemplar, key);
  }
  return key;
}

// ---- archives -----------------------------------------------------------------------------------

/** One exemplar of a file with the key of its series (or bucket). */
export interface ExemplarEntry {
  key: string;
  exemplar: Exemplar;
}

/** The bytes of a whole exemplar archive: header and tag, entries with fresh slots, generation trailer. */
export function encodeExemplarArchive(entries: readonly ExemplarEntry[], generation: number): Buffer {
  const records = entries.map(({ key, exemplar }) => {
    const body = new Float64Array(SLOT_BYTES / 8);
    if (!writeExemplarSlot(new Int32Array(body.buffer), 0, exemplar.labels, exemplar.value, exemplar.timestamp)) {
      throw new Error(`the exemplar of ${JSON.stringify(key)} cannot be written back`);
    }
    return { key, body };
  });
  return encodeArchiveOf(records, EXEMPLAR_LAYOUT, generation);
}

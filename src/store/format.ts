// The byte layout of a multiprocess .db file, shared with Python's prometheus_client >= 0.18.
// This module is the only place that knows offsets, padding and how a key is spelled.

import { ARCHIVE_GAUGE_MODES, DEFAULT_GAUGE_MODE, isGaugeMode } from './gauge-modes';
import type { ArchiveGaugeMode, GaugeMode } from './gauge-modes';

/** Bytes before the first entry: int32 `used`, then 4 bytes of padding. */
export const HEADER_BYTES = 8;
/** A new file's size; it doubles whenever an entry does not fit. */
export const INITIAL_FILE_BYTES = 1 << 16;
/** value (float64) + timestamp (float64) after each key. */
export const VALUE_BYTES = 16;
/** Keys longer than this are refused on write and treated as corruption on read. */
export const MAX_KEY_BYTES = 1 << 20;
/** A file larger than this is refused by readers: no size read from a file is trusted past it. */
export const MAX_FILE_BYTES = 1 << 30;

/** Padding after a key so that (4 + keyLength + padding) % 8 == 0, always at least one space. */
export function keyPadding(keyByteLength: number): number {
  return 8 - ((keyByteLength + 4) % 8);
}

/** Size of a whole entry: length prefix, key, padding, value and timestamp. */
export function entryBytes(keyByteLength: number): number {
  return 4 + keyByteLength + keyPadding(keyByteLength) + VALUE_BYTES;
}

/**
 * Writes a whole new entry (value and timestamp zero) at `position` and returns the offset of its
 * value. The caller advances `used` only after this returns, so readers never see half an entry.
 */
export function writeEntry(target: Buffer, position: number, encodedKey: Buffer): number {
  const padding = keyPadding(encodedKey.length);
  target.writeInt32LE(encodedKey.length, position);
  encodedKey.copy(target, position + 4);
  const valueOffset = position + 4 + encodedKey.length + padding;
  target.fill(0x20, position + 4 + encodedKey.length, valueOffset);
  target.fill(0, valueOffset, valueOffset + VALUE_BYTES);
  return valueOffset;
}

/** One entry as found in a file. */
export interface RawEntry {
  key: string;
  /** Byte offset of the value; the timestamp follows it. */
  valueOffset: number;
}

/** Why a file (or the rest of it) could not be read. */
export class FileFormatError extends Error {
  constructor(
    message: string,
    /** Offset of the first byte that could not be read as an entry. */
    readonly offset: number,
  ) {
    super(message);
    this.name = 'FileFormatError';
  }
}

/**
 * Called for each whole entry by walkEntries: the key is bytes [keyStart, keyStart + keyLength).
 * `'invalid'` (the key is not UTF-8) ends the walk at that entry with an error, `'stop'` without.
 */
export type EntryVisitor = (keyStart: number, keyLength: number, valueOffset: number) => 'next' | 'invalid' | 'stop';

/** Where a walk stopped: `end` is the first entry not visited. */
export interface WalkResult {
  end: number;
  /** Set when the entry at `end` is not whole and valid; undefined when the walk ran out of bytes. */
  error?: FileFormatError;
}

/**
 * The size in bytes of the body that starts at `bodyOffset` (its first 8 bytes are readable), or
 * undefined when they are not the start of a valid body. A `.db` entry's body is its value and
 * timestamp; other kinds of file say their bodies' sizes in their first word.
 */
export type BodySize = (view: DataView, bodyOffset: number) => number | undefined;

const VALUE_AND_TIMESTAMP: BodySize = () => VALUE_BYTES;

/**
 * Visits the entries in bytes [from, used) of a file of which only [0, available) is in `data`
 * (available <= used). Stops at the first entry that is not whole and valid, with an error, or,
 * without one, at the first entry that needs bytes past `available` (the caller may read more and
 * walk on from `end`). Allocates nothing: a key is handed over as a range, never as a string.
 */
export function walkEntries(
  data: Uint8Array,
  from: number,
  available: number,
  used: number,
  visit: EntryVisitor,
  bodySize: BodySize = VALUE_AND_TIMESTAMP,
): WalkResult {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let position = from;
  while (position < used) {
    if (position + 4 > used) return { end: position, error: new FileFormatError(`entry at ${position} runs past used=${used}`, position) };
    if (position + 4 > available) return { end: position };
    const keyLength = view.getInt32(position, true);
    if (keyLength <= 0 || keyLength > MAX_KEY_BYTES) {
      return { end: position, error: new FileFormatError(`bad key length ${keyLength} at ${position}`, position) };
    }
    const valueOffset = position + 4 + keyLength + keyPadding(keyLength);
    if (valueOffset + VALUE_BYTES > used) {
      return { end: position, error: new FileFormatError(`entry at ${position} runs past used=${used}`, position) };
    }
    if (valueOffset + VALUE_BYTES > available) return { end: position };
    const size = bodySize(view, valueOffset);
    if (size === undefined || size < VALUE_BYTES || size % 8 !== 0 || valueOffset + size > used) {
      return { end: position, error: new FileFormatError(`entry at ${position} has no valid body`, position) };
    }
    if (valueOffset + size > available) return { end: position };
    const verdict = visit(position + 4, keyLength, valueOffset);
    if (verdict === 'invalid') return { end: position, error: new FileFormatError(`key at ${position} is not valid UTF-8`, position) };
    if (verdict === 'stop') return { end: position };
    position = valueOffset + size;
  }
  return { end: position };
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The key in bytes [start, start + length) as text, or undefined when it is not valid UTF-8. */
export function keyText(data: Uint8Array, start: number, length: number): string | undefined {
  try {
    return strictUtf8.decode(data.subarray(start, start + length));
  } catch {
    return undefined;
  }
}

/**
 * Parses the entries in bytes [from, used) of `data` with their keys as text. Stops with a
 * FileFormatError at the first entry that is not whole and valid, handing back the entries read
 * before it, so a caller can keep them. `data` must hold at least `used` bytes.
 */
export function parseEntries(
  data: Uint8Array,
  from: number,
  used: number,
  bodySize?: BodySize,
): { entries: RawEntry[]; end: number; error?: FileFormatError } {
  const entries: RawEntry[] = [];
  const visit: EntryVisitor = (keyStart, keyLength, valueOffset) => {
    const key = keyText(data, keyStart, keyLength);
    if (key === undefined) return 'invalid';
    entries.push({ key, valueOffset });
    return 'next';
  };
  const { end, error } = walkEntries(data, from, used, used, visit, bodySize);
  return { entries, end, error };
}

/**
 * What the shared writable-file code and the reader need to know of a kind of file: how its header
 * marks it, how large its entries' bodies are and how large it may grow. Python's `.db` files are one kind.
 */
export interface FileLayout {
  /** Bytes 4..8 of the header as a uint32 LE: undefined for `.db` (Python's padding, not checked). */
  readonly magic: number | undefined;
  /** What the file is, for errors: `Metric file`. */
  readonly describe: string;
  /** The size of an entry's body; undefined: a value and a timestamp. */
  readonly bodySize: BodySize | undefined;
  /** Growth past this many bytes is refused. */
  readonly maxBytes: number;
}

/** `a metric file`, `an exemplar file`: the kind of file, lower case, for errors. */
export function kindOfFile(layout: FileLayout): string {
  const kind = layout.describe.toLowerCase();
  return `${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind}`;
}

export const DB_LAYOUT: FileLayout = { magic: undefined, describe: 'Metric file', bodySize: undefined, maxBytes: MAX_FILE_BYTES };

/** Value bytes after each key in files of prometheus_client <= 0.16: a float64, no timestamp. */
export const LEGACY_VALUE_BYTES = 8;

/**
 * How far bytes [from, available) of a file parse as the layout of prometheus_client <= 0.16
 * (8-byte values, no timestamps): the offset of the first entry that needs bytes past `available`
 * (`used` when the whole file does), or undefined at the first entry that does not fit it. Such
 * a file misaligns under the current layout, so a reader asks this only after walkEntries failed,
 * to refuse the file by name instead of misreading it.
 */
export function legacyLayoutEnd(data: Uint8Array, from: number, available: number, used: number): number | undefined {
  if (used <= HEADER_BYTES) return undefined;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  let position = from;
  while (position < used) {
    if (position + 5 > used) return undefined;
    if (position + 5 > available) return position;
    const keyLength = view.getInt32(position, true);
    if (keyLength <= 0 || keyLength > MAX_KEY_BYTES) return undefined;
    const valueOffset = position + 4 + keyLength + keyPadding(keyLength);
    if (valueOffset + LEGACY_VALUE_BYTES > used) return undefined;
    // Keys are JSON arrays in every version: a misaligned read almost never lands on '['.
    if (data[position + 4] !== 0x5b) return undefined;
    if (valueOffset + LEGACY_VALUE_BYTES > available) return position;
    position = valueOffset + LEGACY_VALUE_BYTES;
  }
  return position === used ? used : undefined;
}

// ---- keys ----------------------------------------------------------------------------------

const PLAIN_ASCII = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;
const SHORT_ESCAPES: Record<number, string> = {
  0x22: '\\"',
  0x5c: '\\\\',
  0x08: '\\b',
  0x0c: '\\f',
  0x0a: '\\n',
  0x0d: '\\r',
  0x09: '\\t',
};

/** A JSON string literal exactly as Python's json.dumps(ensure_ascii=True) writes it. */
export function pythonJsonString(text: string): string {
  if (PLAIN_ASCII.test(text)) return `"${text}"`;
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= 0x20 && unit <= 0x7e && unit !== 0x22 && unit !== 0x5c) {
      out += text[i];
    } else {
      // UTF-16 code units map one to one onto Python's escapes, surrogate pairs included.
      out += SHORT_ESCAPES[unit] ?? `\\u${unit.toString(16).padStart(4, '0')}`;
    }
  }
  return `${out}"`;
}

/**
 * The key of one sample: `json.dumps([metricName, sampleName, labels, help], sort_keys=True)`.
 * Label names are sorted; the same operations in Python and Node give the same bytes.
 */
export function encodeKey(
  metricName: string,
  sampleName: string,
  labels: Readonly<Record<string, string>>,
  help: string,
): string {
  const names = Object.keys(labels).sort();
  let labelJson = '{';
  for (let i = 0; i < names.length; i++) {
    if (i > 0) labelJson += ', ';
    labelJson += `${pythonJsonString(names[i])}: ${pythonJsonString(labels[names[i]])}`;
  }
  labelJson += '}';
  return `[${pythonJsonString(metricName)}, ${pythonJsonString(sampleName)}, ${labelJson}, ${pythonJsonString(help)}]`;
}

/** A key taken apart. Throws (SyntaxError or FileFormatError) when it is not a well-formed key. */
export interface DecodedKey {
  metricName: string;
  sampleName: string;
  labels: Record<string, string>;
  help: string;
}

export function decodeKey(key: string): DecodedKey {
  const parsed: unknown = JSON.parse(key);
  if (!Array.isArray(parsed) || parsed.length !== 4) throw new FileFormatError('key is not a 4-element JSON array', 0);
  const [metricName, sampleName, labels, help] = parsed as unknown[];
  if (typeof metricName !== 'string' || typeof sampleName !== 'string' || typeof help !== 'string') {
    throw new FileFormatError('key names or help are not strings', 0);
  }
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) {
    throw new FileFormatError('key labels are not an object', 0);
  }
  const labelRecord: Record<string, string> = {};
  for (const [name, value] of Object.entries(labels as Record<string, unknown>)) {
    if (typeof value !== 'string') throw new FileFormatError(`label "${name}" is not a string`, 0);
    labelRecord[name] = value;
  }
  return { metricName, sampleName, labels: labelRecord, help };
}

// ---- floats as Python spells them -------------------------------------------------------------

/** Python's repr() of a float: shortest round-trip digits, ".0" on integers, exponent past 1e16. */
export function pythonFloatRepr(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (value === Infinity) return 'inf';
  if (value === -Infinity) return '-inf';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const sign = value < 0 ? '-' : '';
  // toExponential() with no argument gives the shortest digits that round-trip, as repr does.
  const [mantissa, exponentText] = Math.abs(value).toExponential().split('e');
  const digits = mantissa.replace('.', '');
  const exponent = Number(exponentText);
  const pointPosition = exponent + 1;
  if (pointPosition < -3 || pointPosition > 16) {
    const fraction = digits.length > 1 ? `.${digits.slice(1)}` : '';
    const exponentSign = exponent < 0 ? '-' : '+';
    return `${sign}${digits[0]}${fraction}e${exponentSign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  if (pointPosition <= 0) return `${sign}0.${'0'.repeat(-pointPosition)}${digits}`;
  if (pointPosition >= digits.length) return `${sign}${digits}${'0'.repeat(pointPosition - digits.length)}.0`;
  return `${sign}${digits.slice(0, pointPosition)}.${digits.slice(pointPosition)}`;
}

/**
 * A bucket bound or quantile as Python's floatToGoString spells it in keys and labels:
 * `+Inf`, `1.0`, `0.005`, and Go's exponent form for large positive values (`1.0e+06`).
 */
export function floatToGoString(value: number): string {
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  if (Number.isNaN(value)) return 'NaN';
  const repr = pythonFloatRepr(value);
  const dot = repr.indexOf('.');
  if (value > 0 && dot > 6) {
    const mantissa = `${repr[0]}.${repr.slice(1, dot)}${repr.slice(dot + 1)}`.replace(/[0.]+$/, '');
    return `${mantissa}e+0${dot - 1}`;
  }
  return repr;
}

// ---- file names -------------------------------------------------------------------------------

/** The four metric types; each has files of its own, named after it. */
export const METRIC_TYPES = ['counter', 'gauge', 'histogram', 'summary'] as const;
export type MetricType = (typeof METRIC_TYPES)[number];
/** A file holds the samples of one metric type. */
export type FileType = MetricType;

export function isMetricType(type: unknown): type is MetricType {
  return typeof type === 'string' && (METRIC_TYPES as readonly string[]).includes(type);
}

/**
 * The extension of a native histogram file, `histogram_PID.nhdb`: entries of this byte format that
 * only this package reads (Python's collector globs `*.db` and would refuse their keys).
 */
export const NATIVE_HISTOGRAM_EXTENSION = '.nhdb';

/**
 * The extension of an exemplar file, `counter_PID.exemplars` or `histogram_PID.exemplars`: the
 * latest exemplar of each series or bucket (exemplar-format.ts), which Python's collector never opens.
 */
export const EXEMPLAR_EXTENSION = '.exemplars';

/** What a file's name says: its type, gauge mode and owner (`PID` or `PID-THREADID`). */
export interface FileName {
  type: FileType;
  mode?: GaugeMode;
  /** A native histogram file (`.nhdb`), beside the histogram's classic `.db` file. */
  native?: true;
  /**
   * The owner as written in the name: `123`, `123-4` for a worker thread, `123.dead5678` for a
   * file its pid's next owner handed to the dead (`archive` for an archive).
   */
  owner: string;
  /** The process that wrote the file; undefined only for an archive, which no process owns. */
  pid?: number;
  /** An archive: what compaction folded of dead processes' files of this type and mode. */
  archive?: true;
  /** A dead process's file claimed by compaction: absorbed once its archive reaches this generation. */
  claimGeneration?: number;
  /** The app an archive (or a claim, the archive it is for) holds the files of; none when unknown. */
  app?: string;
  /** A summary's quantile sketches (`summary_OWNER.sketch`), beside its `.db` file of counts and sums. */
  sketch?: true;
  /** A counter's or histogram's exemplars (`counter_OWNER.exemplars`), beside its `.db` file. */
  exemplars?: true;
  /** Handed to the dead (see deadFileName): its writer is gone, whoever holds the pid now. */
  dead?: true;
}

/** `counter_123.db`, `gauge_livesum_123-2.db`: the name of a file for one type and owner. */
export function fileNameFor(type: FileType, owner: string, mode?: GaugeMode): string {
  return type === 'gauge' ? `gauge_${mode ?? DEFAULT_GAUGE_MODE}_${owner}.db` : `${type}_${owner}.db`;
}

/** `histogram_123.nhdb`: the native histogram file of one owner. */
export function nativeHistogramFileName(owner: string): string {
  return `histogram_${owner}${NATIVE_HISTOGRAM_EXTENSION}`;
}

/** `counter_123.exemplars`: the exemplar file of a counter's or histogram's owner. */
export function exemplarFileNameFor(type: 'counter' | 'histogram', owner: string): string {
  return `${type}_${owner}${EXEMPLAR_EXTENSION}`;
}

/** What names a kind of file: its type, gauge mode, and whether it holds native histograms, sketches or exemplars. */
export type FileKind = Pick<FileName, 'type' | 'mode' | 'native' | 'sketch' | 'exemplars'>;

/** The name a file of `name`'s type, mode and kind has for `owner`. */
export function fileNameOf(name: FileKind, owner: string): string {
  if (name.native === true) return nativeHistogramFileName(owner);
  if (name.exemplars === true) return exemplarFileNameFor(name.type as 'counter' | 'histogram', owner);
  return name.sketch === true ? sketchFileNameFor(owner) : fileNameFor(name.type, owner, name.mode);
}

/** The owner string of this process or thread, as used in file names. */
export function ownerFor(pid: number, threadId: number): string {
  return threadId === 0 ? String(pid) : `${pid}-${threadId}`;
}

/**
 * `counter_123.dead5678.db` (`summary_123.dead5678.sketch`, `histogram_123.dead5678.nhdb`): the
 * name a process gives a file of its own owner that it finds when it starts (`counter_123.db`,
 * inode 5678): a dead predecessor with the same pid left it. The
 * collectors read it as any other file, so its counts stay in the totals; its `all` gauges keep
 * their own pid label (`123.dead5678`, in Python's collector too); compaction folds it like the
 * file of a dead process without asking whether pid 123 lives. Unlike a claim it says nothing of
 * archive generations, so a process may give it while a compaction runs. The inode keeps it
 * unique however often the pid comes back.
 */
export function deadFileName(source: FileName, inode: number): string {
  return fileNameOf(source, `${source.owner}.dead${inode}`);
}

/** An owner as file names spell it: `123`, `123-4` (a worker thread), then maybe `.dead5678`. */
const OWNER = '((\\d+)(?:-\\d+)?(\\.dead\\d+)?)';
const FILE_NAME = new RegExp(`^(counter|histogram|summary|gauge_([a-z]+))_${OWNER}\\.db$`);

/**
 * `summary_123.sketch`: where one process keeps the quantile sketches of its summaries. Not `*.db`,
 * which Python's collector reads (and fails on, for any type it does not know).
 */
export function sketchFileNameFor(owner: string): string {
  return `summary_${owner}${SKETCH_EXTENSION}`;
}

const SKETCH_EXTENSION = '.sketch';

/** The name a file had before compaction claimed it (or has, when unclaimed). */
export function originalFileName(name: FileName): string {
  return fileNameOf(name, name.owner);
}

/**
 * Whether a directory entry is a metric file by its extension (`.db`, a summary's `.sketch`, a
 * native histogram's `.nhdb` or a counter's or histogram's `.exemplars`).
 */
export function hasMetricFileExtension(name: string): boolean {
  return name.endsWith('.db') || name.endsWith(SKETCH_EXTENSION) || name.endsWith(NATIVE_HISTOGRAM_EXTENSION) || name.endsWith(EXEMPLAR_EXTENSION);
}

/** Parses a file name, or returns undefined for a name this format does not produce. */
export function parseFileName(name: string): FileName | undefined {
  if (name.endsWith(SKETCH_EXTENSION)) {
    // Sketch files are named as their summary's .db files are, with another extension.
    const asDb = parseFileName(`${name.slice(0, -SKETCH_EXTENSION.length)}.db`);
    return asDb?.type === 'summary' ? { ...asDb, sketch: true } : undefined;
  }
  if (name.endsWith(NATIVE_HISTOGRAM_EXTENSION)) {
    // So are native histogram files (live, archives and claims), after their classic .db files.
    const asDb = parseFileName(`${name.slice(0, -NATIVE_HISTOGRAM_EXTENSION.length)}.db`);
    return asDb?.type === 'histogram' ? { ...asDb, native: true } : undefined;
  }
  if (name.endsWith(EXEMPLAR_EXTENSION)) {
    // And exemplar files, of the two types whose samples carry exemplars.
    const asDb = parseFileName(`${name.slice(0, -EXEMPLAR_EXTENSION.length)}.db`);
    return asDb?.type === 'counter' || asDb?.type === 'histogram' ? { ...asDb, exemplars: true } : undefined;
  }
  const match = FILE_NAME.exec(name);
  if (!match) return parseCompactionFileName(name);
  const pid = Number(match[4]);
  if (!Number.isSafeInteger(pid)) return undefined;
  const parsed: FileName = { type: match[1] as FileType, owner: match[3], pid };
  if (match[2] !== undefined) {
    const mode = match[2];
    if (!isGaugeMode(mode)) return undefined;
    parsed.type = 'gauge';
    parsed.mode = mode;
  }
  if (match[5] !== undefined) parsed.dead = true;
  return parsed;
}

// ---- compaction: archives and claimed files ---------------------------------------------------
//
// Both kinds of name keep Python's reading: its collector splits a name on '_' and takes the type
// from the first part, the gauge mode from the second and the pid label (which these modes drop)
// from the third, so `gauge_sum_archive@api.db` and `gauge_sum_123@api.g4.i5678.db` read as
// gauge sum. An archive holds the files of one app, named after `@` (`counter_archive@api.db`), or
// of processes whose app is unknown (`counter_archive.db`, also the name of every archive written
// before archives were kept per app); a claim names the archive it is for the same way.

export const ARCHIVE_OWNER = 'archive';

/** Bytes an app's name may take in a file name once encoded: NAME_MAX (255) is never reached. */
const MAX_ENCODED_APP_BYTES = 150;

/**
 * An app's name as written in a file name: letters, digits, `_` and `-` as they are, every other
 * UTF-8 byte as `%XX`; undefined when it cannot be written (too long, or not valid Unicode).
 */
export function encodeAppName(app: string): string | undefined {
  let encoded: string;
  try {
    encoded = encodeURIComponent(app).replace(/[.!~*'()]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase()}`);
  } catch {
    return undefined; // a lone surrogate
  }
  return encoded !== '' && encoded.length <= MAX_ENCODED_APP_BYTES ? encoded : undefined;
}

/** The app of an encoded name, or undefined unless it is exactly what encodeAppName writes. */
function decodeAppName(encoded: string | undefined): string | undefined {
  if (encoded === undefined) return undefined;
  let app: string;
  try {
    app = decodeURIComponent(encoded);
  } catch {
    return undefined;
  }
  // One spelling per app: otherwise `%61pi` and `api` would be two archives of one app.
  return encodeAppName(app) === encoded ? app : undefined;
}

function appSuffix(app: string | undefined): string {
  if (app === undefined) return '';
  const encoded = encodeAppName(app);
  if (encoded === undefined) throw new Error(`app name ${JSON.stringify(app.slice(0, 40))} cannot be written in a file name`);
  return `@${encoded}`;
}

/** `counter_archive.db`, `gauge_sum_archive@api.db`: the archive of a type (and gauge mode) and app. */
export function archiveFileName(type: FileType, mode?: ArchiveGaugeMode, app?: string): string {
  return fileNameFor(type, `${ARCHIVE_OWNER}${appSuffix(app)}`, mode);
}

/** `summary_archive.sketch`, `summary_archive@api.sketch`: the folded sketches of an app's dead processes. */
export function sketchArchiveFileName(app?: string): string {
  return sketchFileNameFor(`${ARCHIVE_OWNER}${appSuffix(app)}`);
}

/** `histogram_archive.nhdb`: the archive of native histograms of processes whose app is unknown. */
export const NATIVE_HISTOGRAM_ARCHIVE = nativeHistogramFileName(ARCHIVE_OWNER);

/**
 * The archive of a kind of file and an app: `histogram_archive@api.nhdb` for native histograms,
 * `summary_archive@api.sketch` for sketches, `counter_archive@api.db` and so on.
 */
export function archiveFileNameOf(kind: FileKind, app?: string): string {
  if (kind.native === true || kind.sketch === true || kind.exemplars === true) return fileNameOf(kind, `${ARCHIVE_OWNER}${appSuffix(app)}`);
  return archiveFileName(kind.type, kind.mode as ArchiveGaugeMode | undefined, app);
}

/**
 * `counter_123@api.g4.i5678.db`: a dead process's `counter_123.db` claimed for generation 4 of
 * the archive of app `api` (no `@...` for the archive of unknown apps). The inode keeps the name
 * unique when a reused pid's file is claimed for the same generation.
 */
export function claimFileName(source: FileName, generation: number, inode: number, app?: string): string {
  return fileNameOf(source, `${source.owner}${appSuffix(app)}`).replace(/\.(db|sketch|nhdb|exemplars)$/, `.g${generation}.i${inode}.$1`);
}

const ENCODED_APP = '@([A-Za-z0-9_%-]+)';
const COMPACTION_FILE_NAME = new RegExp(
  `^(counter|histogram|summary|gauge_(${ARCHIVE_GAUGE_MODES.join('|')}))_` +
    `(?:(archive)(?:${ENCODED_APP})?|${OWNER}(?:${ENCODED_APP})?\\.g(\\d+)\\.i\\d+)\\.db$`,
);

function parseCompactionFileName(name: string): FileName | undefined {
  const match = COMPACTION_FILE_NAME.exec(name);
  if (!match) return undefined;
  const type: FileType = match[2] === undefined ? (match[1] as FileType) : 'gauge';
  const mode = match[2] as GaugeMode | undefined;
  // Groups: 3-4 an archive and its app; 5 a claim's owner (6 its pid, 7 `.deadINODE`), 8 its app, 9 its generation.
  const encodedApp = match[3] !== undefined ? match[4] : match[8];
  const app = decodeAppName(encodedApp);
  if (encodedApp !== undefined && app === undefined) return undefined;
  const credit = app === undefined ? {} : { app };
  if (match[3] !== undefined) return { type, mode, owner: ARCHIVE_OWNER, archive: true, ...credit };
  const pid = Number(match[6]);
  const claimGeneration = Number(match[9]);
  if (!Number.isSafeInteger(pid) || !Number.isSafeInteger(claimGeneration)) return undefined;
  return { type, mode, owner: match[5], pid, claimGeneration, ...credit };
}

/**
 * An archive keeps its generation in a trailer after `used`, where no reader of entries looks
 * (Python's included): 8 magic bytes, then the generation as a uint64 LE.
 */
export const ARCHIVE_TRAILER_BYTES = 16;
const ARCHIVE_TRAILER_MAGIC = Buffer.from('pm2parc1', 'latin1');

/** One entry of a file to be written whole: its key, value and timestamp. */
export interface EntryValue {
  key: string;
  value: number;
  timestamp: number;
}

/** The bytes of a whole archive: header, entries in order, then the generation trailer. */
export function encodeArchive(entries: readonly EntryValue[], generation: number): Buffer {
  return encodeArchiveOf(
    entries.map((entry) => ({ key: entry.key, body: new Float64Array([entry.value, entry.timestamp]) })),
    DB_LAYOUT,
    generation,
  );
}

/**
 * The bytes of a whole archive of any layout: header (with the layout's magic), each key with its
 * body, then the generation trailer after `used`, where no reader of entries looks.
 */
export function encodeArchiveOf(entries: ReadonlyArray<{ key: string; body: Float64Array }>, layout: FileLayout, generation: number): Buffer {
  const keys = entries.map((entry) => Buffer.from(entry.key, 'utf8'));
  let used = HEADER_BYTES;
  for (const [i, key] of keys.entries()) {
    if (key.length > MAX_KEY_BYTES) throw new Error(`key of ${key.length} bytes is over the ${MAX_KEY_BYTES}-byte limit`);
    used += entryBytes(key.length) - VALUE_BYTES + entries[i].body.byteLength;
  }
  if (used + ARCHIVE_TRAILER_BYTES > layout.maxBytes) {
    throw new Error(`an archive of ${used} bytes would pass the ${layout.maxBytes}-byte file limit`);
  }
  const bytes = Buffer.alloc(used + ARCHIVE_TRAILER_BYTES);
  bytes.writeInt32LE(used, 0);
  if (layout.magic !== undefined) bytes.writeUInt32LE(layout.magic, 4);
  let position = HEADER_BYTES;
  for (let i = 0; i < keys.length; i++) {
    const valueOffset = writeEntry(bytes, position, keys[i]);
    const body = entries[i].body;
    Buffer.from(body.buffer, body.byteOffset, body.byteLength).copy(bytes, valueOffset);
    position = valueOffset + body.byteLength;
  }
  ARCHIVE_TRAILER_MAGIC.copy(bytes, used);
  bytes.writeBigUInt64LE(BigInt(generation), used + ARCHIVE_TRAILER_MAGIC.length);
  return bytes;
}

/** The generation in the trailer at `used` of `trailer` bytes, or undefined when there is none. */
export function decodeArchiveTrailer(trailer: Uint8Array): number | undefined {
  if (trailer.byteLength < ARCHIVE_TRAILER_BYTES) return undefined;
  const bytes = Buffer.from(trailer.buffer, trailer.byteOffset, ARCHIVE_TRAILER_BYTES);
  if (!bytes.subarray(0, ARCHIVE_TRAILER_MAGIC.length).equals(ARCHIVE_TRAILER_MAGIC)) return undefined;
  const generation = bytes.readBigUInt64LE(ARCHIVE_TRAILER_MAGIC.length);
  return generation <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(generation) : undefined;
}

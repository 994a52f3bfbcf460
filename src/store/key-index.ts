// Interns the keys of metric files by their bytes: each distinct key gets a small number, the
// same in every file. The workers of one app write the same keys, so across a directory most
// entries repeat a key already seen; such an entry costs a hash and a compare of 32-bit words,
// never a string, a UTF-8 decode or a Map lookup with a long string key (which a profile showed
// to be most of a cold scrape).

import { keyText } from './format';

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/** The bits of a 32-bit word that hold its first `bytes` (1..3) bytes in memory order. */
function leadingBytesMask(bytes: number): number {
  return LITTLE_ENDIAN ? (1 << (8 * bytes)) - 1 : ~((1 << (8 * (4 - bytes))) - 1);
}
const TAIL_MASKS = [0, leadingBytesMask(1), leadingBytesMask(2), leadingBytesMask(3)];
const HIGH_BITS = 0x80808080 | 0;

/** idOf's answer for a new key that is not valid UTF-8. */
export const INVALID_KEY = -1;
/** idOf's answer for a new key when the index already holds its limit of keys. */
export const KEY_LIMIT_REACHED = -2;

export class KeyIndex {
  /** Key bytes, each key from a 4-byte boundary, its last word's unused bytes zero. */
  private arena = new Int32Array(1 << 14);
  private arenaBytes = Buffer.from(this.arena.buffer);
  private arenaWords = 0;
  /** Per id: first word in the arena, byte length, hash. */
  private offsets = new Int32Array(1024);
  private lengths = new Int32Array(1024);
  private hashes = new Int32Array(1024);
  /** Open addressing: id + 1, or 0 for an empty slot. Never more than half full. */
  private table = new Int32Array(2048);
  private count = 0;

  /** `limit`: most distinct keys held; a new key past it gets KEY_LIMIT_REACHED. */
  constructor(readonly limit: number = Infinity) {}

  /** Distinct keys held. */
  get size(): number {
    return this.count;
  }

  /** Bytes held for the keys and the table. */
  get bytes(): number {
    return this.arena.byteLength + this.table.byteLength + 3 * this.offsets.byteLength;
  }

  /**
   * The id of the key in bytes [start, start + length) of `words`' buffer; `start` is a multiple
   * of 4 (keys follow their int32 length in 8-byte-aligned entries) and the word holding the last
   * key byte lies in the buffer (keys are padded). A new key is checked to be UTF-8 first.
   */
  idOf(words: Int32Array, start: number, length: number): number {
    const first = start >>> 2;
    const whole = length >>> 2;
    const tailMask = TAIL_MASKS[length & 3];
    let hash = length | 0;
    let highBits = 0;
    for (let i = 0; i < whole; i++) {
      const word = words[first + i];
      highBits |= word;
      hash = Math.imul(hash ^ word, 0x5bd1e995);
      hash ^= hash >>> 15;
    }
    const tail = tailMask === 0 ? 0 : words[first + whole] & tailMask;
    highBits |= tail;
    hash = Math.imul(hash ^ tail, 0x5bd1e995);
    hash ^= hash >>> 13;

    const mask = this.table.length - 1;
    for (let slot = hash & mask; ; slot = (slot + 1) & mask) {
      const entry = this.table[slot];
      if (entry === 0) break;
      const id = entry - 1;
      if (this.hashes[id] === hash && this.lengths[id] === length && this.sameWords(id, words, first, whole, tail)) return id;
    }
    if (this.count >= this.limit) return KEY_LIMIT_REACHED;
    // Pure ASCII is valid UTF-8; anything else is decoded once, strictly, to make sure.
    if ((highBits & HIGH_BITS) !== 0 && keyText(new Uint8Array(words.buffer, words.byteOffset), start, length) === undefined) {
      return INVALID_KEY;
    }
    return this.add(words, first, whole, tail, length, hash);
  }

  /** The key of `id` as text. */
  text(id: number): string {
    const start = this.offsets[id] * 4;
    return this.arenaBytes.toString('utf8', start, start + this.lengths[id]);
  }

  /** The byte length of the key of `id`. */
  lengthOf(id: number): number {
    return this.lengths[id];
  }

  private sameWords(id: number, words: Int32Array, first: number, whole: number, tail: number): boolean {
    const arena = this.arena;
    const at = this.offsets[id];
    for (let i = 0; i < whole; i++) if (arena[at + i] !== words[first + i]) return false;
    return tail === 0 || arena[at + whole] === tail;
  }

  private add(words: Int32Array, first: number, whole: number, tail: number, length: number, hash: number): number {
    const needed = whole + (tail === 0 ? 0 : 1);
    if (this.arenaWords + needed > this.arena.length) {
      const arena = new Int32Array(Math.max(this.arena.length * 2, this.arenaWords + needed));
      arena.set(this.arena.subarray(0, this.arenaWords));
      this.arena = arena;
      this.arenaBytes = Buffer.from(arena.buffer);
    }
    const at = this.arenaWords;
    this.arena.set(words.subarray(first, first + whole), at);
    if (tail !== 0) this.arena[at + whole] = tail;
    this.arenaWords += needed;

    if (this.count === this.offsets.length) {
      this.offsets = grown(this.offsets);
      this.lengths = grown(this.lengths);
      this.hashes = grown(this.hashes);
    }
    const id = this.count++;
    this.offsets[id] = at;
    this.lengths[id] = length;
    this.hashes[id] = hash;
    if (this.count * 2 > this.table.length) this.rehash();
    else this.place(id);
    return id;
  }

  private place(id: number): void {
    const mask = this.table.length - 1;
    let slot = this.hashes[id] & mask;
    while (this.table[slot] !== 0) slot = (slot + 1) & mask;
    this.table[slot] = id + 1;
  }

  private rehash(): void {
    this.table = new Int32Array(this.table.length * 2);
    for (let id = 0; id < this.count; id++) this.place(id);
  }
}

function grown(source: Int32Array): Int32Array<ArrayBuffer> {
  const target = new Int32Array(source.length * 2);
  target.set(source);
  return target;
}

// The keys append-many.ts writes and the values it leaves, shared with the test that reads them.
import { encodeKey } from '../../../src/store/format';

export const PROGRESS_KEY = encodeKey('progress', 'progress_total', {}, 'Keys appended so far.');

export function appendedKey(index: number): string {
  return encodeKey('appended', 'appended_total', { index: String(index), padding: 'p'.repeat(index % 40) }, 'A key per step.');
}

/** Key `index` gets 1 when created and 1 from each of steps 2*index and 2*index+1 that ran. */
export function finalValueOf(index: number, keys: number): number {
  return 1 + (2 * index < keys ? 1 : 0) + (2 * index + 1 < keys ? 1 : 0);
}

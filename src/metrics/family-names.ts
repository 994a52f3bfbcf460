// One family name, one type, per metrics directory: the merge groups samples by family name, so
// a counter `jobs_total` and a gauge `jobs` in one directory would be merged into nonsense.
import type { ProcessStore } from '../store';

/** Family name -> metric type (with a gauge's mode), per directory store. */
const familyTypes = new WeakMap<ProcessStore, Map<string, string>>();

/**
 * Records that `family` is a metric of `type` (`gauge in mode max`) in a directory store, throwing
 * when the name was already used there with another type or mode: the merge could not tell them apart.
 */
export function claimFamilyName(store: ProcessStore, family: string, type: string, describe: string): void {
  if (store.dir === undefined) return;
  let types = familyTypes.get(store);
  if (types === undefined) {
    types = new Map();
    familyTypes.set(store, types);
  }
  const existing = types.get(family);
  if (existing !== undefined && existing !== type) {
    throw new Error(`${describe}: the name "${family}" is already used by a ${existing} in ${store.dir}`);
  }
  types.set(family, type);
}

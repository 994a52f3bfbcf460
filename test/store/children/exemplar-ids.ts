// What the exemplar rewriter writes for write number k, so a reader can tell a whole exemplar from
// a torn one: every field is a function of k, and the label lengths vary with k.

export const REWRITTEN_SLOTS = 8;

export function rewrittenKey(slot: number): string {
  return `["rewritten", "rewritten_total", {"slot": "${slot}"}, "Rewritten."]`;
}

export function traceIdOf(k: number): string {
  return ((k * 2654435761) >>> 0).toString(16).padStart(8, '0').repeat(1 + (k % 4));
}

export function spanIdOf(k: number): string {
  return k.toString(36).repeat(1 + (k % 3));
}

export function timestampOf(k: number): number {
  return 1_700_000_000 + k / 1000;
}

/** Whether an exemplar read back is the whole of some write k (its value). */
export function isWholeWrite(exemplar: { labels: Readonly<Record<string, string>>; value: number; timestamp: number }): boolean {
  const k = exemplar.value;
  return (
    Number.isSafeInteger(k) &&
    exemplar.timestamp === timestampOf(k) &&
    Object.keys(exemplar.labels).join(',') === 'traceId,spanId' &&
    exemplar.labels.traceId === traceIdOf(k) &&
    exemplar.labels.spanId === spanIdOf(k)
  );
}

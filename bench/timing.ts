// Timing helpers shared by the benchmarks: medians, never means, on a noisy shared machine.

export function median(values: readonly number[]): number {
  return [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
}

export interface MedianOptions {
  /** Run once, uncounted, before the measured rounds (default true). */
  warmUp?: boolean;
  /** Called before each round, outside the measured time. */
  beforeRound?: () => void;
}

/** Median milliseconds of `run` over `rounds` rounds. */
export async function medianMs(run: () => unknown, rounds: number, options: MedianOptions = {}): Promise<number> {
  if (options.warmUp !== false) await run();
  const times: number[] = [];
  for (let round = 0; round < rounds; round++) {
    options.beforeRound?.();
    const start = process.hrtime.bigint();
    await run();
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  return median(times);
}

// Known distributions for the summary tests and benchmarks, from a seeded generator, so that a
// worker process and the test that checks it draw exactly the same observations.

/** mulberry32: a small seeded generator of uniform numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal value (Box-Muller) from a uniform generator. */
function normal(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

export const DISTRIBUTIONS = {
  /** Latencies around 50 ms, every worker alike. */
  lognormal: (random: () => number) => () => Math.exp(-3 + normal(random)),
  /** Evenly over [0, 2) seconds. */
  uniform: (random: () => number) => () => 2 * random(),
  /** 70% fast (10 ms) and 30% slow (500 ms) requests. */
  bimodal: (random: () => number) => () => (random() < 0.7 ? Math.abs(0.01 + 0.001 * normal(random)) : Math.abs(0.5 + 0.05 * normal(random))),
  /** Worker w around 2.5 ms x 20^w: four decades apart, the union dominated by none. */
  skewed: (random: () => number, worker: number) => () => Math.exp(-6 + 3 * worker + 0.5 * normal(random)),
} satisfies Record<string, (random: () => number, worker: number) => () => number>;

export type DistributionName = keyof typeof DISTRIBUTIONS;

/** The observations worker `worker` makes of `distribution`: `count` of them, from `seed`. */
export function observations(distribution: DistributionName, worker: number, count: number, seed: number): number[] {
  const next = DISTRIBUTIONS[distribution](seededRandom(seed * 7919 + worker), worker);
  return Array.from({ length: count }, next);
}

/** The exact nearest-rank quantile (the smallest x with F(x) >= q) of ascending `sorted`. */
export function exactQuantile(sorted: readonly number[], q: number): number {
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
}

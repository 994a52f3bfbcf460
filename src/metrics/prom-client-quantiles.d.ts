// prom-client's sliding-window t-digest, which Summary uses for quantiles in memory mode; the
// module ships no types of its own.
declare module 'prom-client/lib/timeWindowQuantiles' {
  class TimeWindowQuantiles {
    constructor(maxAgeSeconds: number | undefined, ageBuckets: number | undefined);
    size(): number;
    percentile(quantile: number): number;
    push(value: number): void;
    reset(): void;
    compress(): void;
  }
  export = TimeWindowQuantiles;
}

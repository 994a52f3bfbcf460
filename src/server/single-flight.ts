// Concurrent scrapes share one collection: callers that arrive while a run is in flight get its
// result instead of starting another, so N scrapers never cost N directory reads at once.

export function singleFlight<T>(task: () => Promise<T>): () => Promise<T> {
  let inFlight: Promise<T> | undefined;
  return () => {
    if (inFlight === undefined) {
      inFlight = task().finally(() => {
        inFlight = undefined;
      });
    }
    return inFlight;
  };
}

// Concurrent scrapes share one collection. A collection is synchronous and blocks the event loop,
// so the scrapes that arrive meanwhile wait in the socket queue and are read only after it is
// done; "concurrent" therefore means: read in the same I/O phase as the run starts (a run starts
// on setImmediate, after that phase), or in the first I/O phase after it ends (its result is kept
// until then). N scrapers arriving together cost one directory read, never N.

export function singleFlight<T>(task: () => Promise<T>): () => Promise<T> {
  let shared: Promise<T> | undefined;
  return () => {
    if (shared === undefined) {
      const run: Promise<T> = new Promise<void>((resolve) => setImmediate(resolve)).then(task);
      const forget = (): void => {
        setImmediate(() => {
          if (shared === run) shared = undefined;
        });
      };
      run.then(forget, forget);
      shared = run;
    }
    return shared;
  };
}

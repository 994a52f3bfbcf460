// Child process: COUNT times, a dead process's counter file appears (jobs_total 1, pid above
// pid_max so it is never alive) and the directory is compacted right away, then a short pause:
// compactions overlap scrapes often, but never run back to back (the module runs one per
// reconcile), or a loaded machine could see every retry of a scrape overlap one.
import * as path from 'node:path';
import { compactDirectory } from '../../../src/host/compaction';
import { writeDbFile } from '../support/files';

const [dir, countText] = process.argv.slice(2);
const pause = new Int32Array(new SharedArrayBuffer(4));
for (let i = 1; i <= Number(countText); i++) {
  writeDbFile(path.join(dir, `counter_${100_000 + i}.db`), [{ metric: 'jobs', sample: 'jobs_total', value: 1 }]);
  const report = compactDirectory(dir);
  if (report.problems.length > 0) throw new Error(report.problems.join('; '));
  Atomics.wait(pause, 0, 0, 5);
}

// Child process: COUNT times, a dead process's counter file appears (jobs_total 1, pid above
// pid_max so it is never alive) and the directory is compacted right away.
import * as path from 'node:path';
import { compactDirectory } from '../../../src/collect/compaction';
import { writeDbFile } from '../support/files';

const [dir, countText] = process.argv.slice(2);
for (let i = 1; i <= Number(countText); i++) {
  writeDbFile(path.join(dir, `counter_${100_000 + i}.db`), [{ metric: 'jobs', sample: 'jobs_total', value: 1 }]);
  const report = compactDirectory(dir);
  if (report.problems.length > 0) throw new Error(report.problems.join('; '));
}

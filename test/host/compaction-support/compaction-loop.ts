// Child process: compacts DIR again and again, 20 ms apart, until DIR/STOP appears (real
// compactions are seconds apart: back to back, they could overlap every retry of a scrape). Prints
// `{"ready": true}` after its first compaction, and at the end how many files the compactions
// folded. A compaction problem (a file left as it is) fails it. argv: DIR
import * as fs from 'node:fs';
import * as path from 'node:path';
import { compactDirectory } from '../../../src/host/compaction';

const [dir] = process.argv.slice(2);
const pause = new Int32Array(new SharedArrayBuffer(4));
let absorbed = 0;
for (let compactions = 0; !fs.existsSync(path.join(dir, 'STOP')); compactions++) {
  const report = compactDirectory(dir);
  if (report.problems.length > 0) throw new Error(report.problems.join('; '));
  absorbed += report.absorbed;
  if (compactions === 0) process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
  Atomics.wait(pause, 0, 0, 20);
}
process.stdout.write(`${JSON.stringify({ absorbed })}\n`);

// Child of the fault-injection test: compacts DIR and kills itself with SIGKILL right after its
// Nth change to the directory (N = 0: never), printing each change as "N STEP FILE" first.

import * as fs from 'node:fs';
import { compactDirectory } from '../../../src/host/compaction';

const [dir, killAtText] = process.argv.slice(2);
const killAt = Number(killAtText);
let steps = 0;
compactDirectory(dir, {
  onStep: (step, fileName) => {
    steps++;
    fs.writeSync(1, `${steps} ${step} ${fileName}\n`);
    if (steps === killAt) process.kill(process.pid, 'SIGKILL');
  },
});
fs.writeSync(1, `done ${steps}\n`);

// Child: counts operations through the public library (PROMETHEUS_MULTIPROC_DIR), adding a label
// set every 40 operations, and prints `{"completed": N}` after every BATCH operations. It goes on
// only once the line has reached the pipe (the write callback): Node may queue pipe writes in the
// process, and a queued line dies with it. So every line the test reads was completed, and at most
// one batch more can be in the file. Mode `run` goes on until killed; mode `pause` stops after
// STOP operations and idles until killed, so the test knows the exact count.
// argv: MODE BATCH STOP
import { Counter } from '../../../src';

const [mode, batchText, stopText] = process.argv.slice(2);
const batch = Number(batchText);
const stop = mode === 'pause' ? Number(stopText) : Infinity;

const operations = new Counter({
  name: 'crash_operations_total',
  help: 'Operations completed before the kill.',
  labelNames: ['series'],
});

let completed = 0;

function runBatch(): void {
  const end = Math.min(completed + batch, stop);
  while (completed < end) {
    operations.inc({ series: String(Math.floor(completed / 40)) });
    completed++;
  }
  process.stdout.write(`${JSON.stringify({ completed })}\n`, () => {
    if (completed < stop) runBatch();
  });
}

runBatch();
setInterval(() => undefined, 1 << 30);

// Child: a summary of SERIES series, each observing COUNT values of a known distribution (series i
// as worker i), written to PROMETHEUS_MULTIPROC_DIR (run under `ulimit -f` by the test, so most
// sketch records wait in memory). Prints `{"pid", "values"}` (its summary's get() values) at the
// start and again on each SIGUSR2; lives until killed.
// argv: SERIES COUNT SEED PERCENTILES_JSON
import { Registry, Summary } from '../../../src';
import { observations } from '../../support/distributions';

const [series, count, seed, percentilesJson] = process.argv.slice(2);
const summary = new Summary<'series'>({
  name: 'held_seconds',
  help: 'Held in memory.',
  labelNames: ['series'],
  percentiles: JSON.parse(percentilesJson) as number[],
  registers: [new Registry()],
});
for (let i = 0; i < Number(series); i++) {
  for (const value of observations('lognormal', i, Number(count), Number(seed))) summary.observe({ series: `s${i}` }, value);
}

async function report(): Promise<void> {
  process.stdout.write(`${JSON.stringify({ pid: process.pid, values: (await summary.get()).values })}\n`);
}

void report();
process.on('SIGUSR2', () => void report());
// Nothing else keeps the process alive (the store's timer is unref'd).
setInterval(() => undefined, 60_000);

// Child: writes through the public library (PROMETHEUS_MULTIPROC_DIR) as fast as it can for a
// while, adding label sets all along so its files keep growing; prints its exact totals last.
// argv: WRITER_ID SECONDS MAX_SERIES
import { Counter, Histogram } from '../../../src';

const [writer, seconds, maxSeriesText] = process.argv.slice(2);
const durationMs = Number(seconds) * 1000;
const maxSeries = Number(maxSeriesText);

const operations = new Counter({
  name: 'torture_operations_total',
  help: 'Operations done by a torture writer.',
  labelNames: ['writer', 'series'],
});
const sizes = new Histogram({
  name: 'torture_size',
  help: 'Sizes observed by a torture writer.',
  labelNames: ['writer', 'shard'],
  buckets: [1, 2, 4, 8],
});

const started = Date.now();
let done = 0;
let observedSum = 0;
let series = 1;

function batch(): void {
  // New label sets arrive in step with time, so the files grow during the whole run.
  const elapsed = Date.now() - started;
  series = Math.max(series, Math.min(maxSeries, Math.ceil((maxSeries * elapsed) / durationMs)));
  for (let i = 0; i < 2000; i++) {
    operations.inc({ writer, series: String(done % series) });
    const size = done % 10;
    sizes.observe({ writer, shard: String(done % 8) }, size);
    observedSum += size;
    done++;
  }
  if (elapsed < durationMs) {
    setImmediate(batch);
    return;
  }
  process.stdout.write(`${JSON.stringify({ writer, operations: done, observedSum, series })}\n`);
}

batch();

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

// Native buckets on a budget of 6, over a range that widens all run long: the series lowers its
// schema again and again while the scrape loop reads it.
const latency = new Histogram({
  name: 'torture_latency_seconds',
  help: 'Latencies observed by a torture writer.',
  labelNames: ['writer'],
  buckets: [],
  nativeHistogramBucketFactor: 1.1,
  nativeHistogramMaxBucketNumber: 6,
});

const started = Date.now();
let done = 0;
let observedSum = 0;
let latencySum = 0;
let series = 1;

function batch(): void {
  // New label sets arrive in step with time, so the files grow during the whole run.
  const elapsed = Date.now() - started;
  series = Math.max(series, Math.min(maxSeries, Math.ceil((maxSeries * elapsed) / durationMs)));
  const span = 1 + Math.floor((30 * elapsed) / durationMs);
  for (let i = 0; i < 2000; i++) {
    // Binary fractions under 2^21: the sum stays exact.
    const seconds = (1 + (done % 7) / 8) * 2 ** ((done % span) - 10);
    latency.observe({ writer }, seconds);
    latencySum += seconds;
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
  process.stdout.write(`${JSON.stringify({ writer, operations: done, observedSum, latencySum, series })}\n`);
}

batch();

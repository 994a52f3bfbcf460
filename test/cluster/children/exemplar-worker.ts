// A worker of the Prometheus exemplar test: counts requests and observes latencies with a fresh
// trace id each, as an instrumented app does, in PROMETHEUS_MULTIPROC_DIR (with NATIVE=1, also a
// native-only histogram). Every 100 ms it sends the parent what it wrote (trace id, series, value,
// the wall clock just before and after the call); on "pause" it stops writing and sends the rest
// (so that a SIGKILL after its "paused" loses no write the parent has not heard of); on "stop" it
// sends its own latest exemplar of each series (get(): value and timestamp) and ends, its exit
// flush writing the last ones.
import { Counter, Histogram, Registry, register } from '../../../src/index';

const ROUTES = ['/a', '/b'];
const BUCKETS = [0.1, 0.5, 1];
/** The bounds as the merged exposition (and so Prometheus) spells them. */
const BUCKET_LABELS = ['0.1', '0.5', '1.0'];

interface Write {
  traceId: string;
  /** `requests_total{route}` or `latency_seconds_bucket{route,le}` as Prometheus names the series. */
  series: string;
  value: number;
  /** Date.now() just before and just after the call: the exemplar's timestamp lies between. */
  at: [number, number];
}

register.setContentType(Registry.OPENMETRICS_CONTENT_TYPE);
const requests = new Counter({ name: 'requests_total', help: 'Requests.', labelNames: ['route'], enableExemplars: true });
const latency = new Histogram({ name: 'latency_seconds', help: 'Latency.', labelNames: ['route'], buckets: BUCKETS, enableExemplars: true });
const native =
  process.env.NATIVE === '1'
    ? new Histogram({ name: 'service_seconds', help: 'Service.', labelNames: ['route'], buckets: [], nativeHistogramBucketFactor: 1.1, enableExemplars: true })
    : undefined;

let sequence = 0;
let pending: Write[] = [];
const traceId = (): string => `${process.pid.toString(16).padStart(8, '0')}${(sequence++).toString(16).padStart(24, '0')}`;
const bucketOf = (value: number): string => {
  const bucket = BUCKETS.findIndex((bound) => value <= bound);
  return bucket < 0 ? '+Inf' : BUCKET_LABELS[bucket];
};

function work(): void {
  for (const route of ROUTES) {
    const countId = traceId();
    const amount = 1 + (sequence % 3);
    let before = Date.now();
    requests.inc({ labels: { route }, value: amount, exemplarLabels: { traceId: countId } });
    pending.push({ traceId: countId, series: `requests_total{route="${route}"}`, value: amount, at: [before, Date.now()] });
    const observeId = traceId();
    // Values in every bucket, +Inf included; at most 3 decimals, as they travel through text.
    const value = Math.round(Math.random() * 1500) / 1000;
    before = Date.now();
    latency.observe({ labels: { route }, value, exemplarLabels: { traceId: observeId } });
    pending.push({ traceId: observeId, series: `latency_seconds_bucket{route="${route}",le="${bucketOf(value)}"}`, value, at: [before, Date.now()] });
    if (native === undefined) continue;
    const nativeId = traceId();
    before = Date.now();
    native.observe({ labels: { route }, value, exemplarLabels: { traceId: nativeId } });
    pending.push({ traceId: nativeId, series: `service_seconds{route="${route}"}`, value, at: [before, Date.now()] });
  }
}

const writer = setInterval(work, 7);
const reporter = setInterval(() => {
  process.send?.({ writes: pending });
  pending = [];
}, 100);

process.on('message', (message) => {
  if (message === 'pause') {
    clearInterval(writer);
    clearInterval(reporter);
    process.send?.({ writes: pending, paused: true });
    pending = [];
    return;
  }
  if (message !== 'stop') return;
  clearInterval(writer);
  clearInterval(reporter);
  void Promise.all([requests.get(), latency.get(), native?.get()]).then(([counts, buckets, nativeBuckets]) => {
    const latest: Record<string, { traceId: string; value: number; timestamp: number }> = {};
    for (const value of counts.values) {
      if (value.exemplar) latest[`requests_total{route="${value.labels.route}"}`] = exemplarOf(value.exemplar);
    }
    for (const value of buckets.values) {
      if (value.metricName !== 'latency_seconds_bucket' || !value.exemplar) continue;
      const le = value.labels.le === '+Inf' ? '+Inf' : BUCKET_LABELS[BUCKETS.indexOf(Number(value.labels.le))];
      latest[`latency_seconds_bucket{route="${value.labels.route}",le="${le}"}`] = exemplarOf(value.exemplar);
    }
    // A native-only histogram's one classic bucket (+Inf) holds the latest exemplar of its series.
    for (const value of nativeBuckets?.values ?? []) {
      if (value.metricName === 'service_seconds_bucket' && value.exemplar) latest[`service_seconds{route="${value.labels.route}"}`] = exemplarOf(value.exemplar);
    }
    process.send?.({ writes: pending, latest }, () => process.disconnect());
  });
});

function exemplarOf(exemplar: { labelSet: Readonly<Record<string, string | number>>; value: number; timestamp: number }): {
  traceId: string;
  value: number;
  timestamp: number;
} {
  return { traceId: String(exemplar.labelSet.traceId), value: exemplar.value, timestamp: exemplar.timestamp };
}

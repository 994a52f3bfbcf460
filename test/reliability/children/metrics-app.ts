// Child: an HTTP app with one metric of each type, written through the public library to
// PROMETHEUS_MULTIPROC_DIR, as a user's app would be. It prints `{"pid", "port"}` once listening.
//   GET /hit?route=R&n=N   app_requests_total{route} += N (the counter, and so its file, is made
//                          inside the handler of the first /hit), one latency observation for R
//                          (classic buckets in histogram_PID.db, native ones in histogram_PID.nhdb)
//                          and one size observation (count and sum in summary_PID.db, the quantile
//                          sketch in summary_PID.sketch), and the livesum gauge of routes seen :=
//                          their number; a new R is a new series in each of those files
//   GET /set?value=V       the `all` gauge app_temperature := V
//   GET /chdir?to=DIR      process.chdir(DIR), then a gauge of a new mode (a file opened later)
//   GET /values            get() of every metric, as this process sees them
// Any error from the library answers 500 with its message: the tests require none. APP_CWD, when
// set, is where the app starts (a relative PROMETHEUS_MULTIPROC_DIR is relative to it).
import http from 'node:http';
import { Counter, Gauge, Histogram, Summary } from '../../../src';

if (process.env.APP_CWD !== undefined) process.chdir(process.env.APP_CWD);

let requests: Counter<'route'> | undefined;
const latency = new Histogram<'route'>({
  name: 'app_latency_seconds',
  help: 'Latency.',
  labelNames: ['route'],
  buckets: [0.1, 1],
  nativeHistogramBucketFactor: 1.1,
});
const size = new Summary<'route'>({ name: 'app_size_bytes', help: 'Sizes.', labelNames: ['route'] });
const routes = new Gauge({ name: 'app_routes', help: 'Routes seen.', multiprocessMode: 'livesum' });
// Per pid (main's default for a gauge with no mode is livesum).
const temperature = new Gauge({ name: 'app_temperature', help: 'Temperature.', multiprocessMode: 'all' });
let late: Gauge | undefined;
const seen = new Set<string>();

async function values(): Promise<Record<string, unknown>> {
  const byLabel = async (metric: Counter<'route'> | Histogram<'route'> | Summary<'route'> | undefined, sample: string): Promise<Record<string, number>> =>
    Object.fromEntries(
      (metric === undefined ? [] : (await metric.get()).values)
        .filter((value) => (value.metricName ?? metric?.name) === sample)
        .map((value) => [String(value.labels.route), value.value]),
    );
  return {
    requests: await byLabel(requests, 'app_requests_total'),
    latencyCount: await byLabel(latency, 'app_latency_seconds_count'),
    latencyNativeCount: Object.fromEntries(((await latency.get()).nativeHistograms ?? []).map((value) => [String(value.labels.route), value.count])),
    sizeSum: await byLabel(size, 'app_size_bytes_sum'),
    routes: (await routes.get()).values[0]?.value,
    temperature: (await temperature.get()).values[0]?.value,
    late: late === undefined ? undefined : (await late.get()).values[0]?.value,
  };
}

function handle(url: URL): unknown {
  switch (url.pathname) {
    case '/hit': {
      const route = url.searchParams.get('route') ?? '/';
      requests ??= new Counter({ name: 'app_requests_total', help: 'Requests.', labelNames: ['route'] });
      requests.inc({ route }, Number(url.searchParams.get('n') ?? 1));
      latency.startTimer({ route })();
      size.observe({ route }, 10);
      seen.add(route);
      routes.set(seen.size);
      return { ok: true };
    }
    case '/set':
      temperature.set(Number(url.searchParams.get('value')));
      return { ok: true };
    case '/chdir':
      process.chdir(url.searchParams.get('to') ?? '/');
      late ??= new Gauge({ name: 'app_late', help: 'A file opened after chdir.', multiprocessMode: 'max' });
      late.set(1);
      return { ok: true };
    default:
      return undefined;
  }
}

const server = http.createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://app');
  const reply = (status: number, body: unknown): void => {
    response.statusCode = status;
    response.end(JSON.stringify(body));
  };
  try {
    if (url.pathname === '/values') {
      values().then((body) => reply(200, body), (error: Error) => reply(500, { error: error.message }));
      return;
    }
    const body = handle(url);
    reply(body === undefined ? 404 : 200, body ?? { error: 'no such path' });
  } catch (error) {
    reply(500, { error: (error as Error).message });
  }
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address() as { port: number };
  process.stdout.write(`${JSON.stringify({ pid: process.pid, port: address.port })}\n`);
});
process.once('SIGTERM', () => server.close(() => process.exit(0)));

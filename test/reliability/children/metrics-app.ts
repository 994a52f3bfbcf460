// Child: an HTTP app with one metric of each type, written through the public library to
// PROMETHEUS_MULTIPROC_DIR, as a user's app would be. It prints `{"pid", "port"}` once listening.
//   GET /hit?route=R&n=N   app_requests_total{route} += N (the counter, and so its file, is made
//                          inside the handler of the first /hit), one latency observation for R
//                          (classic buckets in histogram_PID.db, native ones in histogram_PID.nhdb)
//                          and one size observation (count and sum in summary_PID.db, the quantile
//                          sketch in summary_PID.sketch), and the livesum gauge of routes seen :=
//                          their number; a new R is a new series in each of those files
//                          and app_jobs_total{route} += N, one app_job_seconds observation N
//                          (buckets 1 and 10); with &trace=T each with the exemplar {traceId: T}
//                          (counter_PID.exemplars, histogram_PID.exemplars)
//   GET /exemplars         the exemplars of those two: get()'s as [series, `{traceId="T"} N`,
//                          timestamp] rows (series as OpenMetrics names it, labels sorted), and
//                          their registry's OpenMetrics scrape (the merged directory)
//   GET /set?value=V       the `all` gauge app_temperature := V
//   GET /chdir?to=DIR      process.chdir(DIR), then a gauge of a new mode (a file opened later)
//   GET /values            get() of every metric, as this process sees them (the summary's
//                          quantiles from its own sketch, series waiting in memory included)
// Any error from the library answers 500 with its message: the tests require none. APP_CWD, when
// set, is where the app starts (a relative PROMETHEUS_MULTIPROC_DIR is relative to it).
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, Summary } from '../../../src';

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
// Exemplars need an OpenMetrics registry; their metrics, and so their exemplar files, open at start.
const exemplarRegistry = new Registry(Registry.OPENMETRICS_CONTENT_TYPE);
const jobs = new Counter<'route'>({ name: 'app_jobs_total', help: 'Jobs.', labelNames: ['route'], enableExemplars: true, registers: [exemplarRegistry] });
const jobSeconds = new Histogram<'route'>({
  name: 'app_job_seconds',
  help: 'Job time.',
  labelNames: ['route'],
  buckets: [1, 10],
  enableExemplars: true,
  registers: [exemplarRegistry],
});
let late: Gauge | undefined;
const seen = new Set<string>();

/** Per route the summary's quantile values, in get()'s order. */
async function quantilesByRoute(): Promise<Record<string, number[]>> {
  const byRoute: Record<string, number[]> = {};
  for (const value of (await size.get()).values) {
    if (value.metricName === undefined) (byRoute[String(value.labels.route)] ??= []).push(value.value);
  }
  return byRoute;
}

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
    jobs: await byLabel(jobs, 'app_jobs_total'),
    jobSecondsCount: await byLabel(jobSeconds, 'app_job_seconds_count'),
    sizeQuantiles: await quantilesByRoute(),
    routes: (await routes.get()).values[0]?.value,
    temperature: (await temperature.get()).values[0]?.value,
    late: late === undefined ? undefined : (await late.get()).values[0]?.value,
  };
}

/** get()'s exemplars of the jobs metrics, in the words of an OpenMetrics line. */
async function ownExemplars(): Promise<Array<[string, string, number]>> {
  const text = (name: string, value: string | number): string => `${name}="${name === 'le' && Number.isInteger(value) ? `${value}.0` : value}"`;
  const rows: Array<[string, string, number]> = [];
  for (const metric of [jobs, jobSeconds]) {
    for (const { metricName, labels, exemplar } of (await metric.get()).values) {
      if (exemplar === undefined || exemplar === null) continue;
      const series = `${metricName ?? metric.name}{${Object.entries(labels).map(([name, value]) => text(name, value)).sort().join(',')}}`;
      const exemplarLabels = Object.entries(exemplar.labelSet).map(([name, value]) => text(name, value)).join(',');
      rows.push([series, `{${exemplarLabels}} ${exemplar.value}`, exemplar.timestamp]);
    }
  }
  return rows;
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
      const trace = url.searchParams.get('trace');
      const n = Number(url.searchParams.get('n') ?? 1);
      const exemplarLabels = trace === null ? undefined : { traceId: trace };
      jobs.inc({ labels: { route }, value: n, exemplarLabels });
      jobSeconds.observe({ labels: { route }, value: n, exemplarLabels });
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
    if (url.pathname === '/exemplars') {
      Promise.all([ownExemplars(), exemplarRegistry.metrics()]).then(
        ([own, scrape]) => reply(200, { own, scrape }),
        (error: Error) => reply(500, { error: error.message }),
      );
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

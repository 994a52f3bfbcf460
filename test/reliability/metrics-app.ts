// The test side of children/metrics-app.ts: starting it, driving it over HTTP while keeping the
// reference of what it was asked to count, and what a scrape of its directory must then show.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { DirectoryCollector, renderOpenMetrics, renderText } from '../../src/collect';
import type { BackendKind } from '../../src/store';
import { httpGet } from '../server/support';
import { parseTextExposition, startChild, waitForMessage } from './support';
import type { Child } from './support';

export interface MetricsApp {
  child: Child;
  pid: number;
  base: string;
  /** Every request the app was sent, as the reference of what must be counted. */
  model: AppModel;
  /** Whether hits carry exemplars (true unless a test turns it off). */
  exemplars: boolean;
}

/**
 * What the app was asked to count: per route the sum of `n` and the number of hits; and the
 * latest exemplar of each jobs series and job-time bucket, `{traceId="T"} n` as OpenMetrics writes it.
 */
export class AppModel {
  readonly requests = new Map<string, number>();
  readonly hits = new Map<string, number>();
  readonly exemplars = new Map<string, string>();
  temperature: number | undefined;
  private traces = 0;

  /** Counts a hit and returns the trace id of its exemplars, when it has them. */
  hit(route: string, n: number, withExemplars: boolean): string | undefined {
    this.requests.set(route, (this.requests.get(route) ?? 0) + n);
    this.hits.set(route, (this.hits.get(route) ?? 0) + 1);
    if (!withExemplars) return undefined;
    const trace = `t${++this.traces}`;
    const exemplar = `{traceId="${trace}"} ${n}`;
    this.exemplars.set(`app_jobs_total{route="${route}"}`, exemplar);
    // The app's buckets are 1 and 10; every n is at most 7.
    this.exemplars.set(`app_job_seconds_bucket{le="${n <= 1 ? '1.0' : '10.0'}",route="${route}"}`, exemplar);
    return trace;
  }

  /** The app's own get() values for this model (GET /values). */
  values(): Record<string, unknown> {
    const perRoute = (map: ReadonlyMap<string, number>, scale = 1): Record<string, number> =>
      Object.fromEntries([...map].map(([route, value]) => [route, value * scale]));
    return {
      requests: perRoute(this.requests),
      latencyCount: perRoute(this.hits),
      latencyNativeCount: perRoute(this.hits),
      sizeSum: perRoute(this.hits, 10),
      jobs: perRoute(this.requests),
      jobSecondsCount: perRoute(this.hits),
      // Every observation is 10, so is every quantile (nearest rank, clamped into the exact min and max).
      sizeQuantiles: Object.fromEntries([...this.hits.keys()].map((route) => [route, SUMMARY_QUANTILES.map(() => 10)])),
      routes: this.requests.size,
      temperature: this.temperature ?? 0,
    };
  }

  /**
   * The series a scrape of the app's directory shows for them, `pid` being the app's: every
   * quantile of a size is 10 (each observation is), and a native histogram's count is written
   * `native app_latency_seconds_count{...}` (see exposedSeries).
   */
  exposed(pid: number | string): Map<string, number> {
    const series = new Map<string, number>();
    for (const [route, n] of this.requests) {
      series.set(`app_requests_total{route="${route}"}`, n);
      series.set(`app_jobs_total{route="${route}"}`, n);
    }
    for (const [route, hits] of this.hits) {
      series.set(`app_latency_seconds_count{route="${route}"}`, hits);
      series.set(`app_job_seconds_count{route="${route}"}`, hits);
      series.set(`native app_latency_seconds_count{route="${route}"}`, hits);
      series.set(`app_size_bytes_sum{route="${route}"}`, hits * 10);
      for (const quantile of SUMMARY_QUANTILES) series.set(`app_size_bytes{quantile="${quantile}",route="${route}"}`, 10);
    }
    series.set('app_routes', this.requests.size);
    series.set(`app_temperature{pid="${pid}"}`, this.temperature ?? 0);
    return series;
  }
}

export interface AppOptions {
  backend: BackendKind;
  env?: NodeJS.ProcessEnv;
  fileSizeLimitKiB?: number;
  /** Starts the child another way (with a chosen pid): gets what startChild would be called with. */
  start?: (start: () => Child) => Promise<Child>;
}

export async function startMetricsApp(dir: string, options: AppOptions): Promise<MetricsApp> {
  const start = (): Child =>
    startChild('metrics-app.ts', [], {
      env: { PROMETHEUS_MULTIPROC_DIR: dir, PM2_PROM_MULTIPROC_BACKEND: options.backend, ...options.env },
      fileSizeLimitKiB: options.fileSizeLimitKiB,
    });
  const child = options.start === undefined ? start() : await options.start(start);
  const { pid, port } = await waitForMessage(child, (message): message is { pid: number; port: number } => typeof message === 'object' && message !== null && 'port' in message);
  return { child, pid, base: `http://127.0.0.1:${port}`, model: new AppModel(), exemplars: true };
}

async function ask(app: MetricsApp, pathAndQuery: string): Promise<unknown> {
  const response = await httpGet(`${app.base}${pathAndQuery}`);
  assert.equal(response.status, 200, `GET ${pathAndQuery}: ${response.text}; stderr:\n${app.child.stderr()}`);
  return JSON.parse(response.text) as unknown;
}

/** GET /hit for `route` (a new one is a new series in every file but the gauges'), with exemplars. */
export async function hit(app: MetricsApp, route: string, n: number): Promise<void> {
  const trace = app.model.hit(route, n, app.exemplars);
  await ask(app, `/hit?route=${encodeURIComponent(route)}&n=${n}${trace === undefined ? '' : `&trace=${trace}`}`);
}

/** Hits routes /r0 .. /r(count-1), route i with n = i % 7 + 1. */
export async function hitRoutes(app: MetricsApp, count: number, first = 0): Promise<void> {
  for (let i = first; i < first + count; i++) await hit(app, `/r${i}`, (i % 7) + 1);
}

export async function setTemperature(app: MetricsApp, value: number): Promise<void> {
  await ask(app, `/set?value=${value}`);
  app.model.temperature = value;
}

/** The app's own get() values. */
export function appValues(app: MetricsApp): Promise<unknown> {
  return ask(app, '/values');
}

/** GET any other path of the app, requiring a 200. */
export function appRequest(app: MetricsApp, pathAndQuery: string): Promise<unknown> {
  return ask(app, pathAndQuery);
}

const APP_FAMILIES = ['app_requests_total', 'app_jobs_total', 'app_job_seconds_count', 'app_latency_seconds_count', 'app_size_bytes', 'app_size_bytes_sum', 'app_routes', 'app_temperature'];
/** prom-client's default percentiles, which the app's summary has. */
const SUMMARY_QUANTILES = ['0.01', '0.05', '0.5', '0.9', '0.95', '0.99', '0.999'];

/**
 * The app's series in a scrape of `dir` (the families AppModel.exposed lists), parsed strictly,
 * and the count of each native histogram series (`native app_latency_seconds_count{route="/a"}`).
 * Empty files (a writer creating one, or one that has no room yet) are the only thing tolerated.
 */
export function exposedSeries(dir: string): Map<string, number> {
  const collector = new DirectoryCollector(dir, {
    warn: (message) => assert.match(message, /is empty \(0 bytes; a writer may be creating it\)/),
  });
  const families = collector.collect();
  const parsed = parseTextExposition(renderText(families));
  const series = new Map([...parsed.samples].filter(([name]) => APP_FAMILIES.includes(name.split('{')[0])));
  for (const family of families) {
    for (const { labels, histogram } of family.nativeHistograms ?? []) {
      const labelText = Object.entries(labels).map(([name, value]) => `${name}="${value}"`).join(',');
      series.set(`native ${family.name}_count{${labelText}}`, histogram.count);
    }
  }
  return series;
}

/** The exemplars of an OpenMetrics exposition: series (labels sorted) -> `{labels} value`, and each one's timestamp. */
export function exemplarsIn(text: string): { exemplars: Map<string, string>; timestamps: Map<string, number> } {
  const exemplars = new Map<string, string>();
  const timestamps = new Map<string, number>();
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*?)\})? \S+ # (\{.*\}) (\S+) (\S+)$/.exec(line);
    if (match === null) continue;
    const [, name, labels = '', exemplarLabels, value, timestamp] = match;
    const series = `${name}{${labels.split(',').filter((pair) => pair !== '').sort().join(',')}}`;
    assert.equal(exemplars.has(series), false, `one exemplar per series: ${line}`);
    exemplars.set(series, `${exemplarLabels} ${value}`);
    timestamps.set(series, Number(timestamp));
  }
  return { exemplars, timestamps };
}

export type Exemplars = ReturnType<typeof exemplarsIn>;

/**
 * The app's exemplars (GET /exemplars): its get()'s, this process's own, and those of its
 * registry's OpenMetrics scrape, which in multiprocess mode merges the directory.
 */
export async function appExemplars(app: MetricsApp): Promise<{ own: Exemplars; scrape: Exemplars }> {
  const { own, scrape } = (await ask(app, '/exemplars')) as { own: Array<[string, string, number]>; scrape: string };
  return {
    own: { exemplars: new Map(own.map(([series, exemplar]) => [series, exemplar])), timestamps: new Map(own.map(([series, , timestamp]) => [series, timestamp])) },
    scrape: exemplarsIn(scrape),
  };
}

/** The exemplars of the merged OpenMetrics scrape of `dir` (the collector over every file). */
export function exposedExemplars(dir: string): ReturnType<typeof exemplarsIn> {
  const collector = new DirectoryCollector(dir, {
    warn: (message) => assert.match(message, /is empty \(0 bytes; a writer may be creating it\)/),
  });
  return exemplarsIn(renderOpenMetrics(collector.collect()));
}

/** Stops the app with SIGTERM and waits for it; SIGKILL when it does not end. */
export async function stopApp(app: MetricsApp | ChildProcess | undefined): Promise<void> {
  const child = app === undefined ? undefined : 'child' in app ? app.child.process : app;
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const ended = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await ended;
  clearTimeout(timer);
}

// A real Prometheus server (Debian's 2.42) of a test's own: its configuration and storage in a
// temp directory, its HTTP API queried as a user would, and always killed by the test's after().
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { freePort, httpGet, makeTempDir, waitFor } from '../server/support';

export const PROMETHEUS_BIN = '/usr/bin/prometheus';

/** Skips the calling suite with a clear message when the server is not installed. */
export function skipWithoutPrometheus(context: Mocha.Context): void {
  if (!fs.existsSync(PROMETHEUS_BIN)) {
    console.warn(`      skipped: ${PROMETHEUS_BIN} is absent (apt-get install prometheus; .ci/run does)`);
    context.skip();
  }
}

export interface QueryResult {
  metric: Record<string, string>;
  value: number;
}

/** A native histogram in a query's answer: count, sum, and buckets as [lower, upper, count]. */
export interface HistogramResult {
  metric: Record<string, string>;
  count: number;
  sum: number;
  buckets: Array<[number, number, number]>;
}

/** One series' exemplars as /api/v1/query_exemplars gives them (--enable-feature=exemplar-storage). */
export interface ExemplarSeries {
  seriesLabels: Record<string, string>;
  exemplars: Array<{ labels: Record<string, string>; value: number; timestamp: number }>;
}

export class PrometheusServer {
  private constructor(
    private readonly child: ChildProcess,
    private readonly exited: Promise<unknown>,
    private readonly storage: string,
    readonly api: string,
  ) {}

  /**
   * Starts scraping every second with these scrape_configs entries (YAML lines, indented as
   * items of the list) and extra command-line `flags`; resolves once its API answers.
   */
  static async start(jobs: readonly string[], flags: readonly string[] = []): Promise<PrometheusServer> {
    const storage = makeTempDir('prometheus');
    const webPort = await freePort();
    const config = path.join(storage, 'prometheus.yml');
    fs.writeFileSync(config, ['global: { scrape_interval: 1s, evaluation_interval: 1s }', 'scrape_configs:', ...jobs, ''].join('\n'));
    const child = spawn(
      PROMETHEUS_BIN,
      [`--config.file=${config}`, `--storage.tsdb.path=${path.join(storage, 'data')}`, `--web.listen-address=127.0.0.1:${webPort}`, ...flags],
      { stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const server = new PrometheusServer(child, exited, storage, `http://127.0.0.1:${webPort}/api/v1`);
    await waitFor('Prometheus to answer', async () => ((await httpGet(`${server.api}/status/buildinfo`)).status === 200 ? true : undefined), 60_000);
    return server;
  }

  /** An instant query's vector. */
  async query(expression: string): Promise<QueryResult[]> {
    const data = await this.get(`query?query=${encodeURIComponent(expression)}`);
    return (data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map((series) => ({
      metric: series.metric,
      value: Number(series.value[1]),
    }));
  }

  /** An instant query's native histograms (--enable-feature=native-histograms). */
  async histograms(expression: string): Promise<HistogramResult[]> {
    type Raw = { metric: Record<string, string>; histogram: [number, { count: string; sum: string; buckets?: Array<[number, string, string, string]> }] };
    const data = await this.get(`query?query=${encodeURIComponent(expression)}`);
    return (data.result as Raw[]).map(({ metric, histogram: [, histogram] }) => ({
      metric,
      count: Number(histogram.count),
      sum: Number(histogram.sum),
      buckets: (histogram.buckets ?? []).map(([, lower, upper, count]): [number, number, number] => [Number(lower), Number(upper), Number(count)]),
    }));
  }

  /** The exemplars stored for a selector since `startSeconds` (unix seconds), values as numbers. */
  async exemplars(selector: string, startSeconds: number): Promise<ExemplarSeries[]> {
    type Raw = { seriesLabels: Record<string, string>; exemplars: Array<{ labels: Record<string, string>; value: string; timestamp: number }> };
    const query = `query_exemplars?query=${encodeURIComponent(selector)}&start=${startSeconds}&end=${Date.now() / 1000 + 60}`;
    const data = (await this.get(query)) as unknown as Raw[];
    return data.map(({ seriesLabels, exemplars }) => ({
      seriesLabels,
      exemplars: exemplars.map(({ labels, value, timestamp }) => ({ labels, value: Number(value), timestamp })),
    }));
  }

  /** A sample of Prometheus's own /metrics (its counters of refused exemplars, say), undefined when absent. */
  async ownMetric(name: string): Promise<number | undefined> {
    const response = await httpGet(`${this.api.replace(/\/api\/v1$/, '')}/metrics`);
    const value = new RegExp(`^${name} (\\S+)$`, 'm').exec(response.text)?.[1];
    return value === undefined ? undefined : Number(value);
  }

  /** The values of a float query over the last `seconds`, one a second. */
  async recentValues(expression: string, seconds: number): Promise<number[]> {
    const end = Date.now() / 1000;
    const data = await this.get(`query_range?query=${encodeURIComponent(expression)}&start=${end - seconds}&end=${end}&step=1`);
    return (data.result as Array<{ values: Array<[number, string]> }>).flatMap((series) => series.values.map(([, value]) => Number(value)));
  }

  /** The value of a query with one result, undefined with none. */
  async value(expression: string): Promise<number | undefined> {
    const result = await this.query(expression);
    if (result.length > 1) throw new Error(`${expression} has ${result.length} results`);
    return result[0]?.value;
  }

  /** Every label set a selector matched at any time since `startSeconds` (unix seconds). */
  async series(selector: string, startSeconds: number): Promise<Array<Record<string, string>>> {
    const data = await this.get(`series?match[]=${encodeURIComponent(selector)}&start=${startSeconds}&end=${Date.now() / 1000 + 60}`);
    return data as unknown as Array<Record<string, string>>;
  }

  /** Waits until every target has been scraped at least once since `sinceMs`, and returns their health. */
  async scrapedSince(sinceMs: number): Promise<Array<{ job: string; health: string; lastError: string }>> {
    type Target = { labels: { job: string }; health: string; lastError: string; lastScrape: string };
    return waitFor('a scrape of every target', async () => {
      const data = await this.get('targets');
      const targets = data.activeTargets as Target[];
      if (targets.length === 0 || targets.some((target) => Date.parse(target.lastScrape) < sinceMs)) return undefined;
      return targets.map((target) => ({ job: target.labels.job, health: target.health, lastError: target.lastError }));
    }, 60_000);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exited;
    fs.rmSync(this.storage, { recursive: true, force: true });
  }

  private async get(pathAndQuery: string): Promise<Record<string, unknown>> {
    const response = await httpGet(`${this.api}/${pathAndQuery}`);
    const body = JSON.parse(response.text) as { status: string; data: Record<string, unknown>; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${pathAndQuery}: ${body.error ?? response.text}`);
    return body.data;
  }
}

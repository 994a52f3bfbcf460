// prom-client's cluster surface over the directory: an app written for prom-client's cluster mode
// changes only its import; AggregatorRegistry.aggregate and `aggregators` behave as prom-client's
// on the same inputs; a real Pushgateway receives the merged directory.
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import * as promClient from 'prom-client';
import {
  AggregatorFactory,
  AggregatorRegistry,
  Counter,
  Gauge,
  Histogram,
  Pushgateway,
  Registry,
  Summary,
  aggregators,
  register,
} from '../../src/index';
import type { MetricJson } from '../../src/index';
import { parseExposition } from '../collect/support/samples';
import type { PlainSample } from '../collect/support/samples';
import { makeMetricsDir } from '../support/metrics-dir';
import type { MetricsDir } from '../support/metrics-dir';
import { makeTempDir, removeDir } from '../collect/support/files';
import { PUSHGATEWAY_MISSING, startPushgateway } from '../support/pushgateway';
import type { RunningPushgateway } from '../support/pushgateway';

const OURS = path.join(__dirname, '..', '..', 'src', 'index.ts');

/** Runs fixtures/cluster-app.js with `lib`; resolves with what its primary's clusterMetrics() gave. */
function runClusterApp(lib: string, env: Record<string, string>): Promise<string> {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'fixtures', 'cluster-app.js')], {
    env: { ...process.env, METRICS_LIB: lib, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let stdout = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      const line = stdout.split('\n')[0];
      if (line === '') reject(new Error(`cluster app (${lib}) printed nothing, exit ${code}`));
      else resolve(JSON.parse(line) as string);
    });
  });
}

function valueOf(samples: readonly PlainSample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort());
  const sample = samples.find((candidate) => candidate.name === name && JSON.stringify(Object.entries(candidate.labels).sort()) === wanted);
  return sample === undefined ? undefined : Number(sample.value);
}

describe("AggregatorRegistry: an app written for prom-client's cluster mode, import changed", function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('pm2-prom-cluster-app-');
  });
  afterEach(() => removeDir(dir));

  it("gives prom-client's values from the merged directory, with quantiles of all workers' observations", async () => {
    const theirs = parseExposition(await runClusterApp('prom-client', {}));
    const ours = parseExposition(await runClusterApp(OURS, { PROMETHEUS_MULTIPROC_DIR: dir }));
    for (const [name, labels] of [
      ['app_requests_total', { route: '/a' }],
      ['app_connections', {}],
      ['app_peak_connections', {}],
      ['app_latency_seconds_bucket', { le: '0.1' }],
      ['app_latency_seconds_bucket', { le: '+Inf' }],
      ['app_latency_seconds_sum', {}],
      ['app_payload_bytes_count', {}],
      ['app_payload_bytes_sum', {}],
    ] as const) {
      assert.equal(valueOf(ours, name, labels), valueOf(theirs, name, labels), `${name} ${JSON.stringify(labels)}`);
    }
    assert.equal(valueOf(ours, 'app_requests_total', { route: '/a' }), 60);
    assert.equal(valueOf(ours, 'app_peak_connections'), 30, "aggregator 'max'");
    // The workers observed 100..199, 200..299, 300..399: the median of the union is 249.
    for (const [quantile, exact] of [['0.01', 102], ['0.5', 249], ['0.99', 396]] as const) {
      const value = valueOf(ours, 'app_payload_bytes', { quantile }) ?? NaN;
      assert.ok(Math.abs(value - exact) <= 0.01 * exact, `quantile ${quantile}: ${value}, exact ${exact}`);
    }
    // prom-client sums the workers' quantiles: its median is the sum of 149, 249 and 349.
    assert.ok(Math.abs((valueOf(theirs, 'app_payload_bytes', { quantile: '0.5' }) ?? NaN) - 747) < 5);
  });

  it("keeps counting a worker that died, where prom-client's IPC only hears the live ones", async () => {
    const theirs = parseExposition(await runClusterApp('prom-client', { KILL_FIRST: '1' }));
    const ours = parseExposition(await runClusterApp(OURS, { PROMETHEUS_MULTIPROC_DIR: dir, KILL_FIRST: '1' }));
    assert.equal(valueOf(ours, 'app_requests_total', { route: '/a' }), 60);
    assert.equal(valueOf(theirs, 'app_requests_total', { route: '/a' }), 50);
    assert.equal(valueOf(ours, 'app_connections'), 5, 'the dead worker is not among the live connections (livesum, as prom-client sums the live)');
    assert.equal(valueOf(theirs, 'app_connections'), 5);
  });
});

describe('AggregatorRegistry in one process', () => {
  let target: MetricsDir;
  beforeEach(() => {
    target = makeMetricsDir();
  });
  afterEach(() => target.remove());

  it('renders the whole directory in its own content type and default labels, naming the fix without a directory', async () => {
    for (const pid of [1, 2]) {
      target.actAs(pid, 'native');
      new Counter({ name: 'jobs_total', help: 'Jobs.', registers: [] }).inc(pid);
    }
    const registry = new AggregatorRegistry(Registry.OPENMETRICS_CONTENT_TYPE);
    registry.setDefaultLabels({ host: 'a' });
    assert.equal(await registry.clusterMetrics(), '# HELP jobs Jobs.\n# TYPE jobs counter\njobs_total{host="a"} 3\n# EOF\n');
    target.remove();
    await assert.rejects(new AggregatorRegistry().clusterMetrics(), /AggregatorRegistry.clusterMetrics\(\): PROMETHEUS_MULTIPROC_DIR is not set/);
    target = makeMetricsDir();
  });

  it("shows this process's latest exemplars at once, as metrics() does, not those of the last flush", async () => {
    target.actAs(3, 'native');
    const counter = new Counter({ name: 'traced_total', help: 'Traced.', enableExemplars: true, registers: [] });
    const before = Date.now();
    counter.inc({ value: 2, exemplarLabels: { traceId: 'abc' } });
    const after = Date.now();
    const text = await new AggregatorRegistry(Registry.OPENMETRICS_CONTENT_TYPE).clusterMetrics();
    const seconds = Number(/^traced_total 2 # \{traceId="abc"\} 2 (\d+(?:\.\d+)?)$/m.exec(text)?.[1]);
    assert.ok(seconds * 1000 >= before && seconds * 1000 <= after, `the exemplar's timestamp ${seconds} is its call's (${text})`);
  });

  it("aggregates getMetricsAsJSON() outputs exactly as prom-client's aggregate does, quantiles shared by workers aside", async () => {
    const outputs: MetricJson[][] = [];
    for (const worker of [0, 1, 2]) {
      const registry = new promClient.Registry();
      const registers = [registry];
      new promClient.Counter({ name: 'c_total', help: 'C.', labelNames: ['k'], registers }).inc({ k: String(worker % 2) }, worker + 1);
      for (const aggregator of ['sum', 'first', 'min', 'max', 'average'] as const) {
        new promClient.Gauge({ name: `g_${aggregator}`, help: 'G.', aggregator, registers }).set(worker * 10 - 5);
      }
      new promClient.Gauge({ name: 'g_omit', help: 'G.', aggregator: 'omit', registers }).set(1);
      new promClient.Histogram({ name: 'h', help: 'H.', buckets: [1, 2], registers }).observe(worker);
      const summary = new promClient.Summary({ name: 's', help: 'S.', percentiles: [0.5], labelNames: ['only'], registers });
      summary.observe({ only: 'all' }, worker);
      if (worker === 1) summary.observe({ only: 'one' }, 42);
      outputs.push((await registry.getMetricsAsJSON()) as unknown as MetricJson[]);
    }
    const theirs = parseExposition(await promClient.AggregatorRegistry.aggregate(outputs as never).metrics());
    const ours = await AggregatorRegistry.aggregate(outputs).metrics();
    // The same samples, but for the summed median of several workers, which prom-client shows.
    const sharedMedian = (sample: PlainSample): boolean => sample.name === 's' && sample.labels.only === 'all';
    assert.equal(theirs.filter(sharedMedian).length, 1);
    assert.deepEqual(parseExposition(ours), theirs.filter((sample) => !sharedMedian(sample)));
    assert.match(ours, /^s\{quantile="0.5",only="one"\} 42$/m, "a quantile of one worker's series is kept");
    assert.doesNotMatch(ours, /g_omit/);
  });

  it("looks aggregators up when it runs, as prom-client does, and fails with prom-client's words for an unknown one", async () => {
    const metric = (value: number, aggregator: string): MetricJson[] => [
      { name: 'load', help: 'L.', type: 'gauge', aggregator: aggregator as never, values: [{ value, labels: {} }] },
    ];
    aggregators.median = AggregatorFactory((values) => values.map((value) => value.value).sort((a, b) => a - b)[Math.floor(values.length / 2)]);
    try {
      const registry = AggregatorRegistry.aggregate([metric(1, 'median'), metric(7, 'median'), metric(3, 'median')]);
      assert.equal(await registry.metrics(), '# HELP load L.\n# TYPE load gauge\nload 3\n');
    } finally {
      delete aggregators.median;
    }
    assert.throws(() => AggregatorRegistry.aggregate([metric(1, 'median')]), /^Error: 'median' is not a defined aggregator\.$/);
    assert.throws(() => promClient.AggregatorRegistry.aggregate([metric(1, 'median')] as never), /^Error: 'median' is not a defined aggregator\.$/);
  });

  it('renders an aggregated registry from its values in multiprocess mode too', async () => {
    target.actAs(1, 'native');
    new Counter({ name: 'in_files_total', help: 'F.', registers: [] }).inc();
    const registry = AggregatorRegistry.aggregate([[{ name: 'x_total', help: 'X.', type: 'counter', aggregator: 'sum', values: [{ value: 2, labels: {} }] }]]);
    assert.equal(await registry.metrics(), '# HELP x_total X.\n# TYPE x_total counter\nx_total 2\n');
  });

  it("checks setRegistries' argument as prom-client does, and needs it for nothing", () => {
    assert.doesNotThrow(() => AggregatorRegistry.setRegistries([new Registry(), register]));
    assert.throws(() => AggregatorRegistry.setRegistries({} as Registry), /^TypeError: Expected Registry, got object$/);
    assert.throws(() => promClient.AggregatorRegistry.setRegistries({} as promClient.Registry), /^TypeError: Expected Registry, got object$/);
  });
});

describe('Pushgateway (a real prometheus-pushgateway)', function () {
  this.timeout(30_000);
  let gateway: RunningPushgateway | undefined;
  let target: MetricsDir;
  before(async function () {
    gateway = await startPushgateway();
    if (gateway === undefined) {
      console.log(`      (${PUSHGATEWAY_MISSING})`);
      this.skip();
    }
  });
  after(() => gateway?.stop());
  beforeEach(() => {
    target = makeMetricsDir();
  });
  afterEach(() => target.remove());

  const pushed = async (): Promise<PlainSample[]> => parseExposition(await (await fetch(`${gateway?.url}/metrics`)).text());

  it("pushes the merged directory of the global registry: every worker's totals in one group", async () => {
    for (const pid of [1, 2, 3]) {
      target.actAs(pid, 'native');
      new Counter({ name: 'batch_items_total', help: 'Items.', registers: [] }).inc(pid * 100);
      new Summary({ name: 'batch_item_seconds', help: 'Item time.', percentiles: [0.5], registers: [] }).observe(pid);
      new Histogram({ name: 'batch_wait_seconds', help: 'Wait.', buckets: [1], registers: [] }).observe(pid);
    }
    const gatewayClient = new Pushgateway(`${gateway?.url}/`, { timeout: 5000 });
    const { resp, body } = await gatewayClient.pushAdd({ jobName: 'nightly', groupings: { path: '/var/tmp', instance: '' } });
    assert.equal(resp.statusCode, 200);
    assert.equal(body, '');
    const samples = await pushed();
    const group = { job: 'nightly', path: '/var/tmp', instance: '' };
    assert.equal(valueOf(samples, 'batch_items_total', group), 600);
    const median = valueOf(samples, 'batch_item_seconds', { ...group, quantile: '0.5' }) ?? NaN;
    assert.ok(Math.abs(median - 2) <= 0.02, `the median of 1, 2 and 3: ${median}`);
    assert.equal(valueOf(samples, 'batch_wait_seconds_bucket', { ...group, le: '1' }), 1);
    await gatewayClient.delete({ jobName: 'nightly', groupings: { path: '/var/tmp', instance: '' } });
    assert.equal(valueOf(await pushed(), 'batch_items_total', group), undefined);
  });

  it('pushes an OpenMetrics registry as text, gzipped on request, replaces with push(), and rejects what the gateway refuses', async () => {
    const registry = new Registry(Registry.OPENMETRICS_CONTENT_TYPE);
    const gauge = new Gauge({ name: 'last_run_seconds', help: 'Last run.', registers: [registry] });
    const counter = new Counter({ name: 'runs_total', help: 'Runs.', registers: [registry] });
    gauge.set(12);
    counter.inc(3);
    const headers = { 'Content-Encoding': 'gzip' };
    const gatewayClient = new Pushgateway(gateway?.url ?? '', { headers }, registry);
    await gatewayClient.push({ jobName: 'om' });
    await gatewayClient.delete({ jobName: 'om2' });
    assert.deepEqual(headers, { 'Content-Encoding': 'gzip' }, "the caller's headers are never changed");
    let samples = await pushed();
    assert.equal(valueOf(samples, 'runs_total', { job: 'om', instance: '' }), 3, 'a counter keeps its _total');
    assert.equal(valueOf(samples, 'last_run_seconds', { job: 'om', instance: '' }), 12);
    registry.removeSingleMetric('last_run_seconds');
    await gatewayClient.push({ jobName: 'om' });
    samples = await pushed();
    assert.equal(valueOf(samples, 'last_run_seconds', { job: 'om', instance: '' }), undefined, 'push() replaces the whole group');
    // A metric that clashes with one the gateway holds for another group under another type is refused.
    const clash = new Registry();
    new Counter({ name: 'last_run_seconds', help: 'Other.', registers: [clash] }).inc();
    new Gauge({ name: 'runs_total', help: 'Other type.', registers: [clash] }).set(1);
    await assert.rejects(new Pushgateway(gateway?.url ?? '', {}, clash).push({ jobName: 'clash' }), /^Error: push failed with status 400, /);
    assert.throws(() => gatewayClient.push({}), /^Error: Missing jobName parameter$/);
  });
});

// Every code block in README.md runs as written, or is checked as far as it can be here: each
// is claimed in test/package/readme.ts by the test that runs it. The library's snippets run in
// an app that installed the packed tarball; install.test.ts runs the Install section's.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { collectDirectory, renderOpenMetrics, renderProtobuf } from '../../src/collect';
import { DEFAULT_ZERO_THRESHOLD, bucketIndex } from '../../src/store';
import { PROMTOOL_MISSING, promtoolAvailable } from '../collect/support/promtool';
import { freePort, httpGet, makeTempDir, sampleValue, waitFor } from '../server/support';
import { PUSHGATEWAY_MISSING, startPushgateway } from '../support/pushgateway';
import { ROOT, freshProject, installInto, packedTarball } from './packed';
import { BLOCKS, matches, readmeBlock, readmeBlocks, substituted } from './readme';

describe('README snippets', function () {
  this.timeout(120_000);
  let work: string;
  let app: string;

  before(() => {
    work = makeTempDir('readme');
    app = freshProject(work, 'my-app');
    installInto(app, packedTarball());
  });
  after(() => fs.rmSync(work, { recursive: true, force: true }));

  it('are each run, or checked, by the test test/package/readme.ts names', () => {
    const unclaimed = readmeBlocks()
      .filter((block) => Object.values(BLOCKS).filter((ref) => matches(block, ref)).length !== 1)
      .map((block) => `README.md line ${block.line} (${block.language}): claim it in test/package/readme.ts with the test that runs it`);
    assert.deepEqual(unclaimed, []);
  });

  it('the metrics API: writes what the snippet records into PROMETHEUS_MULTIPROC_DIR', () => {
    fs.writeFileSync(path.join(app, 'metrics-api.js'), readmeBlock(BLOCKS.metricsApi));
    const dir = fs.mkdtempSync(path.join(work, 'metrics-'));
    execFileSync(process.execPath, ['metrics-api.js'], { cwd: app, env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir }, stdio: 'pipe' });
    const samples = collectDirectory(dir).flatMap((family) => family.samples);
    const value = (name: string, labels: Record<string, string> = {}): number | undefined =>
      samples.find((sample) => sample.name === name && JSON.stringify(sample.labels) === JSON.stringify(labels))?.value;
    assert.equal(value('http_requests_total', { method: 'GET' }), 1);
    assert.equal(value('http_requests_total', { method: 'POST' }), 2);
    assert.equal(value('latency_seconds_bucket', { le: '+Inf' }), 1);
    assert.equal(value('latency_seconds_count'), 1);
    // Without the variable the same snippet runs on in-memory metrics.
    execFileSync(process.execPath, ['metrics-api.js'], { cwd: app, env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: '' }, stdio: 'pipe' });
  });

  it('native histograms: prints the size of exactly the protobuf it describes, in memory and in a directory', () => {
    fs.writeFileSync(path.join(app, 'native.js'), readmeBlock(BLOCKS.nativeHistograms));
    const run = (dir: string): string => execFileSync(process.execPath, ['native.js'], { cwd: app, env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir }, encoding: 'utf8' });
    // What the snippet describes, made from its facts alone: one series, one observation, schema 3.
    const observed = 0.042;
    const bytes = renderProtobuf([
      {
        name: 'http_request_duration_seconds',
        help: 'Request latency',
        type: 'histogram',
        samples: [
          { name: 'http_request_duration_seconds_bucket', labels: { route: '/', le: '+Inf' }, value: 1 },
          { name: 'http_request_duration_seconds_sum', labels: { route: '/' }, value: observed },
          { name: 'http_request_duration_seconds_count', labels: { route: '/' }, value: 1 },
        ],
        nativeHistograms: [
          {
            labels: { route: '/' },
            histogram: {
              schema: 3,
              zeroThreshold: DEFAULT_ZERO_THRESHOLD,
              zeroCount: 0,
              count: 1,
              sum: observed,
              positiveSpans: [{ offset: bucketIndex(observed, 3), length: 1 }],
              positiveDeltas: [1],
              negativeSpans: [],
              negativeDeltas: [],
            },
          },
        ],
      },
    ]);
    const expected = `${bytes.length} bytes of Prometheus protobuf\n`;
    assert.equal(run(''), expected);
    const dir = fs.mkdtempSync(path.join(work, 'native-'));
    assert.equal(run(dir), expected);
    assert.ok(fs.readdirSync(dir).some((name) => /^histogram_\d+\.nhdb$/.test(name)), 'native buckets in histogram_PID.nhdb');
  });

  it('exemplars: the latest per series and bucket reach the directory, and the OpenMetrics of it', () => {
    fs.writeFileSync(path.join(app, 'exemplars.js'), readmeBlock(BLOCKS.exemplars));
    const dir = fs.mkdtempSync(path.join(work, 'exemplars-'));
    execFileSync(process.execPath, ['exemplars.js'], { cwd: app, env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir }, stdio: 'pipe' });
    const exemplarLines = renderOpenMetrics(collectDirectory(dir))
      .split('\n')
      .filter((line) => line.includes(' # {'))
      .map((line) => line.replace(/ \d+(\.\d+)?$/, ' TIMESTAMP'))
      // The timer's exemplar holds the seconds it measured: a few microseconds, in any spelling.
      .map((line) => (line.includes('route="/b"') ? line.replace(/\} \S+ TIMESTAMP$/, '} ELAPSED TIMESTAMP') : line));
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    assert.deepEqual(exemplarLines, [
      `http_request_seconds_bucket{route="/a",le="0.5"} 1 # {traceId="${traceId}"} 0.42 TIMESTAMP`,
      `http_request_seconds_bucket{route="/b",le="0.05"} 1 # {traceId="${traceId}"} ELAPSED TIMESTAMP`,
      `http_requests_total{route="/a"} 1 # {traceId="${traceId}"} 1 TIMESTAMP`,
    ]);
    // Without the variable the same snippet runs on in-memory metrics.
    execFileSync(process.execPath, ['exemplars.js'], { cwd: app, env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: '' }, stdio: 'pipe' });
  });

  it("without PM2: the cluster primary serves its four workers' metrics (with a temporary directory and a free port)", async () => {
    const dir = fs.mkdtempSync(path.join(work, 'cluster-'));
    const port = await freePort();
    const primary = substituted(readmeBlock(BLOCKS.clusterPrimary), [
      ["'/var/lib/myapp/metrics'", JSON.stringify(dir)],
      ['port: 9321', `port: ${port}`],
    ]);
    fs.writeFileSync(path.join(app, 'primary.js'), primary);
    fs.writeFileSync(
      path.join(app, 'server.js'),
      "new (require('pm2-prom-multiproc').Counter)({ name: 'worker_starts_total', help: 'Starts.' }).inc();\nsetInterval(() => {}, 1 << 30);\n",
    );
    // Its own process group, so that the primary and its workers end together.
    const child = spawn(process.execPath, ['primary.js'], { cwd: app, detached: true, stdio: 'ignore' });
    try {
      await waitFor('worker_starts_total 4', async () =>
        sampleValue((await httpGet(`http://127.0.0.1:${port}/metrics`)).text, 'worker_starts_total') === 4 ? true : undefined,
      );
    } finally {
      process.kill(-(child.pid as number), 'SIGKILL');
    }
  });

  it("prom-client's cluster mode: the primary's clusterMetrics() gives both workers' counter, from the directory", () => {
    fs.writeFileSync(path.join(app, 'aggregator-registry.js'), readmeBlock(BLOCKS.aggregatorRegistry));
    const dir = fs.mkdtempSync(path.join(work, 'aggregator-'));
    const out = execFileSync(process.execPath, ['aggregator-registry.js'], { cwd: app, env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir }, encoding: 'utf8' });
    assert.equal(sampleValue(out, 'jobs_total'), 2);
  });

  it('the Pushgateway: pushes the counter to a real Pushgateway (on a free port)', async function () {
    const gateway = await startPushgateway();
    if (gateway === undefined) {
      console.log(`      (${PUSHGATEWAY_MISSING})`);
      this.skip();
    }
    try {
      fs.writeFileSync(path.join(app, 'push.js'), substituted(readmeBlock(BLOCKS.pushgateway), [["'http://127.0.0.1:9091'", JSON.stringify(gateway.url)]]));
      const dir = fs.mkdtempSync(path.join(work, 'push-'));
      const out = execFileSync(process.execPath, ['push.js'], { cwd: app, env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir }, encoding: 'utf8' });
      assert.equal(out, 'pushed: 200\n');
      const pushed = await (await fetch(`${gateway.url}/metrics`)).text();
      assert.match(pushed, /^batch_items_total\{instance="",job="nightly",path="\/var\/tmp"\} 42$/m);
    } finally {
      gateway.stop();
    }
  });

  it('the Prometheus scrape config: promtool accepts it', function () {
    if (!promtoolAvailable()) {
      console.log(`      (${PROMTOOL_MISSING})`);
      this.skip();
    }
    const config = path.join(work, 'prometheus.yml');
    fs.writeFileSync(config, readmeBlock(BLOCKS.scrapeConfig));
    execFileSync('promtool', ['check', 'config', config], { stdio: 'pipe' });
  });

  it("the clone's commands: every npm script they name exists", () => {
    const scripts = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    for (const ref of [BLOCKS.quickStart, BLOCKS.development]) {
      for (const [, run, name] of readmeBlock(ref).matchAll(/^npm (run )?([\w:-]+)/gm)) {
        if (run === undefined && ['install', 'ci'].includes(name)) continue;
        assert.ok(name in scripts, `README runs npm ${run ?? ''}${name}, which package.json does not define`);
      }
    }
  });
});

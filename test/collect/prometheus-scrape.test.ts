// Both renderings as a real Prometheus server parses them: a scrape of each succeeds (no parse
// error on the target) and queries return the merged values, awkward labels included.

import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { DirectoryCollector, OPENMETRICS_CONTENT_TYPE, TEXT_CONTENT_TYPE, renderOpenMetrics, renderText } from '../../src/collect';
import * as fc from 'fast-check';
import { damage, damagedVictim } from './support/damage';
import { makeTempDir, removeDir, writeDbFile } from './support/files';
import { PYTHON_CURRENT } from '../support/fixtures';

const PROMETHEUS = '/usr/bin/prometheus';
const PYTHON_DB = path.join(PYTHON_CURRENT, 'db');

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

async function freePort(): Promise<number> {
  const probe = http.createServer();
  const port = await listen(probe);
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

async function getJson(url: string): Promise<unknown> {
  const response = await fetch(url);
  return response.json();
}

describe('renderings scraped by a real Prometheus server', function () {
  let dir: string;
  let server: http.Server | undefined;
  let prometheus: ChildProcess | undefined;
  let exited: Promise<unknown> = Promise.resolve();

  before(function () {
    if (!fs.existsSync(PROMETHEUS)) {
      console.log(`      (${PROMETHEUS} is not installed (Debian: apt-get install prometheus): not scraped)`);
      this.skip();
    }
  });

  /** Starts Prometheus with `config` (its lines) on `webPort`, killed by afterEach; its API URL. */
  function startPrometheus(config: string, webPort: number, lines: readonly string[]): string {
    fs.writeFileSync(config, [...lines, ''].join('\n'));
    prometheus = spawn(
      PROMETHEUS,
      [`--config.file=${config}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${webPort}`],
      { stdio: 'ignore' },
    );
    exited = new Promise((resolve) => prometheus?.on('exit', resolve));
    return `http://127.0.0.1:${webPort}/api/v1`;
  }

  afterEach(async () => {
    if (prometheus !== undefined && prometheus.exitCode === null && prometheus.signalCode === null) prometheus.kill('SIGKILL');
    await exited;
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    if (dir) removeDir(dir);
  });

  it('parses text 0.0.4 and OpenMetrics without error and answers queries with the merged values', async () => {
    dir = makeTempDir('pm2-prom-scrape-');
    const db = path.join(dir, 'db');
    fs.mkdirSync(db);
    for (const name of fs.readdirSync(PYTHON_DB)) fs.copyFileSync(path.join(PYTHON_DB, name), path.join(db, name));
    const awkward = ['q"uote', 'back\\slash', 'new\nline', 'ünïcødé 日本', ''];
    writeDbFile(
      path.join(db, 'counter_404.db'),
      [
        ...awkward.map((value, i) => ({ metric: 'jobs', sample: 'jobs_total', labels: { value }, help: 'Jobs "done"\\\n.', value: i + 1 })),
        { metric: 'legacy_events', value: 5, help: 'A counter named without _total.' },
        // Only a foreign or crafted file holds these: exposed, Prometheus would mark the whole target
        // down (`label name "__name__" is not unique`); they are skipped with a warning.
        { metric: 'jobs', sample: 'jobs_total', labels: { __name__: 'forged', value: 'x' }, value: 9 },
        { metric: 'jobs', sample: 'jobs_total', labels: { __address__: 'forged', value: 'y' }, value: 9 },
      ],
    );
    writeDbFile(path.join(db, 'gauge_all_404.db'), [
      { metric: 'ratio', labels: { kind: 'inf' }, value: Infinity },
      { metric: 'ratio', labels: { kind: 'nan' }, value: NaN },
    ]);

    const warnings: string[] = [];
    const collector = new DirectoryCollector(db, { warn: (message) => warnings.push(message) });
    server = http.createServer((request, response) => {
      const families = collector.collect();
      const openMetrics = request.url === '/openmetrics';
      response.setHeader('Content-Type', openMetrics ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE);
      response.end(openMetrics ? renderOpenMetrics(families) : renderText(families));
    });
    const metricsPort = await listen(server);
    const webPort = await freePort();
    const config = path.join(dir, 'prometheus.yml');
    const job = (name: string, metricsPath: string): string[] => [
      `  - job_name: ${name}`,
      `    metrics_path: ${metricsPath}`,
      `    static_configs: [{ targets: ["127.0.0.1:${metricsPort}"] }]`,
    ];
    const api = startPrometheus(config, webPort, [
      'global: { scrape_interval: 1s }',
      'scrape_configs:',
      ...job('text', '/text'),
      ...job('openmetrics', '/openmetrics'),
    ]);

    type Target = { labels: { job: string }; health: string; lastError: string };
    let targets: Target[] = [];
    for (let attempt = 0; attempt < 240; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      try {
        const body = (await getJson(`${api}/targets`)) as { data: { activeTargets: Target[] } };
        targets = body.data.activeTargets;
      } catch {
        continue; // not listening yet
      }
      if (targets.length === 2 && targets.every((target) => target.health !== 'unknown')) break;
    }
    assert.deepEqual(
      targets.map((target) => [target.labels.job, target.health, target.lastError]).sort(),
      [
        ['openmetrics', 'up', ''],
        ['text', 'up', ''],
      ],
    );

    const query = async (expression: string): Promise<Array<[string, string]>> => {
      const body = (await getJson(`${api}/query?query=${encodeURIComponent(expression)}`)) as {
        data: { result: Array<{ metric: { job: string }; value: [number, string] }> };
      };
      return body.data.result.map((series): [string, string] => [series.metric.job, series.value[1]]).sort();
    };
    const both = (value: string): Array<[string, string]> => [
      ['openmetrics', value],
      ['text', value],
    ];
    assert.deepEqual(await query('requests_total{method="GET"}'), both('6'));
    assert.deepEqual(await query('latency_seconds_bucket{method="POST",le="+Inf"}'), both('9'));
    // README, "differs from prom-client": a bound as prom-client spells it finds nothing (Python's
    // spelling is 1.0, which Prometheus 3 also normalises to); the regex form finds either.
    assert.deepEqual(await query('latency_seconds_bucket{method="POST",le="1"}'), []);
    assert.deepEqual(await query('latency_seconds_bucket{method="POST",le=~"1|1.0"}'), both('5'));
    assert.deepEqual(await query('latency_seconds_count{method="POST"}'), both('9'));
    assert.deepEqual(await query('g_all{method="GET",pid="303"}'), both('15'));
    assert.deepEqual(await query('jobs_total{value="q\\"uote"}'), both('1'));
    assert.deepEqual(await query('jobs_total{value="new\\nline"}'), both('3'));
    assert.deepEqual(await query('jobs_total{value="ünïcødé 日本"}'), both('4'));
    assert.deepEqual(await query('jobs_total{value=""}'), both('5'));
    assert.deepEqual(await query('legacy_events'), both('5'));
    assert.deepEqual(await query('ratio{kind="inf"}'), both('+Inf'));
    assert.deepEqual(await query('ratio{kind="nan"}'), both('NaN'));
    assert.deepEqual(await query('jobs_total{value=~"x|y"}'), []);
    assert.match(warnings.join('\n'), /counter_404\.db: metric "jobs": label name "__name__" is reserved/);
  });

  it('keeps the target up while every scrape serves another damaged file (text and OpenMetrics)', async () => {
    dir = makeTempDir('pm2-prom-scrape-fuzz-');
    const db = path.join(dir, 'db');
    fs.mkdirSync(db);
    writeDbFile(path.join(db, 'counter_1.db'), [{ metric: 'steady', sample: 'steady_total', value: 7 }]);
    const cases = fc.sample(fc.array(damage, { minLength: 1, maxLength: 4 }), { numRuns: 400, seed: 42 });
    const served = { text: 0, openmetrics: 0 };
    server = http.createServer((request, response) => {
      const openMetrics = request.url === '/openmetrics';
      const job = openMetrics ? 'openmetrics' : 'text';
      // Forged entries are the most likely to reach the exposition: every scrape gets a new case.
      fs.writeFileSync(path.join(db, 'counter_2.db'), damagedVictim(cases[served[job]++ % cases.length]));
      const families = new DirectoryCollector(db, { warn: () => undefined }).collect();
      response.setHeader('Content-Type', openMetrics ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE);
      response.end(openMetrics ? renderOpenMetrics(families) : renderText(families));
    });
    const metricsPort = await listen(server);
    const webPort = await freePort();
    const config = path.join(dir, 'prometheus.yml');
    const job = (name: string): string[] => [
      `  - job_name: ${name}`,
      `    metrics_path: /${name}`,
      '    scrape_interval: 100ms',
      '    scrape_timeout: 90ms',
      `    static_configs: [{ targets: ["127.0.0.1:${metricsPort}"] }]`,
    ];
    const api = startPrometheus(config, webPort, ['scrape_configs:', ...job('text'), ...job('openmetrics')]);
    const SCRAPES = 40;
    for (let attempt = 0; attempt < 600 && Math.min(served.text, served.openmetrics) < SCRAPES; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.ok(Math.min(served.text, served.openmetrics) >= SCRAPES, `only ${JSON.stringify(served)} scrapes`);
    // Prometheus records up=0 for a scrape it refused: the lowest up of every job must be 1.
    type Series = { metric: { job: string }; value: [number, string] };
    let result: Series[] = [];
    for (let attempt = 0; attempt < 40; attempt++) {
      const body = (await getJson(`${api}/query?query=${encodeURIComponent('min_over_time(up[10m])')}`)) as { data: { result: Series[] } };
      result = body.data.result;
      if (result.length === 2) break;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.deepEqual(result.map((series) => [series.metric.job, series.value[1]]).sort(), [
      ['openmetrics', '1'],
      ['text', '1'],
    ]);
  });
});

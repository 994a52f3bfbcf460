// The protobuf exposition as a real Prometheus (2.42, native histograms on) parses it: one invalid
// native histogram would make it drop the whole scrape (up = 0), so a damaged native file, a new
// one on every scrape, must never reach it.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { DirectoryCollector, PROTOBUF_CONTENT_TYPE, renderProtobuf } from '../../src/collect';
import { PrometheusServer, skipWithoutPrometheus } from '../support/prometheus';
import { damage, damaged, nativeFileBytes } from './support/damage';
import { makeTempDir, removeDir } from './support/files';

describe('protobuf scraped by a real Prometheus server', function () {
  this.timeout(120_000);
  let dir: string;
  let server: http.Server | undefined;
  let prometheus: PrometheusServer | undefined;

  before(function () {
    skipWithoutPrometheus(this);
  });

  after(async () => {
    await prometheus?.stop();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
    if (dir) removeDir(dir);
  });

  it('keeps the target up while every scrape serves another damaged native histogram file', async () => {
    dir = makeTempDir('pm2-prom-scrape-native-fuzz-');
    fs.writeFileSync(path.join(dir, 'histogram_1.nhdb'), nativeFileBytes(1, 'steady_seconds'));
    const victim = nativeFileBytes(2, 'victim_seconds').subarray(0, 4096);
    const cases = fc.sample(fc.array(damage, { minLength: 1, maxLength: 4 }), { numRuns: 400, seed: 7 });
    let served = 0;
    server = http.createServer((_request, response) => {
      fs.writeFileSync(path.join(dir, 'histogram_2.nhdb'), damaged(victim, cases[served++ % cases.length]));
      const families = new DirectoryCollector(dir, { warn: () => undefined }).collect();
      response.setHeader('Content-Type', PROTOBUF_CONTENT_TYPE);
      response.end(renderProtobuf(families));
    });
    const port = await new Promise<number>((resolve) => server?.listen(0, '127.0.0.1', () => resolve((server?.address() as AddressInfo).port)));
    prometheus = await PrometheusServer.start(
      ['  - job_name: protobuf', '    scrape_interval: 100ms', '    scrape_timeout: 90ms', `    static_configs: [{ targets: ["127.0.0.1:${port}"] }]`],
      ['--enable-feature=native-histograms'],
    );
    const running = prometheus;
    for (let attempt = 0; attempt < 600 && served < 40; attempt++) await new Promise((resolve) => setTimeout(resolve, 100));
    assert.ok(served >= 40, `only ${served} scrapes`);
    // Prometheus records up = 0 for a scrape it refused: the lowest up must be 1.
    let lowest: number | undefined;
    for (let attempt = 0; attempt < 40 && lowest === undefined; attempt++) {
      lowest = await running.value('min_over_time(up[10m])');
      if (lowest === undefined) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal(lowest, 1);
    const [steady] = await running.histograms('steady_seconds');
    assert.equal(steady?.count, 8, 'the steady file is stored whole');
  });
});

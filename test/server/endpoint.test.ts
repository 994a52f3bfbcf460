import assert from 'node:assert/strict';
import fs from 'node:fs';
import type http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { once } from 'node:events';
import { gunzipSync } from 'node:zlib';
import { renderText, type MetricFamily } from '../../src/collect';
import { createMetricsHandler, listenOn, type EndpointOptions } from '../../src/server';
import type { Logger } from '../../src/logger';
import { MetricsService } from '../../src/host';
import { httpGet, makeTempDir, sampleValue, writeCounter, writeCounters } from './support';
import { decodeFamilies, labelsOf } from '../support/protobuf';

const quietLog: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

async function serve(options: Partial<EndpointOptions> & Pick<EndpointOptions, 'collect'>): Promise<{ server: http.Server; base: string }> {
  const handler = createMetricsHandler({ path: '/metrics', log: quietLog, title: 'test', ...options });
  const server = await listenOn(handler, '127.0.0.1', 0);
  return { server, base: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('server: the HTTP endpoint', () => {
  let dir: string;
  let server: http.Server;
  let base: string;

  before(async () => {
    dir = makeTempDir('endpoint');
    writeCounter(dir, 101, 'requests', { route: '/a' }, 3);
    writeCounters(dir, 102, [
      { name: 'requests', labels: { route: '/a' }, value: 4 },
      { name: 'requests', labels: { route: '/b' }, value: 5 },
    ]);
    const service = new MetricsService(quietLog);
    ({ server, base } = await serve({ collect: async () => service.collect([{ dir }]) }));
  });

  after(() => {
    server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves the merged directory in the text format 0.0.4 with the module health', async () => {
    const response = await httpGet(`${base}/metrics`);
    assert.equal(response.status, 200);
    assert.match(String(response.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.equal(sampleValue(response.text, 'requests_total', { route: '/a' }), 7);
    assert.equal(sampleValue(response.text, 'requests_total', { route: '/b' }), 5);
    assert.equal(sampleValue(response.text, 'pm2_prom_multiproc_directories'), 1);
    assert.equal(sampleValue(response.text, 'pm2_prom_multiproc_collector_files'), 2);
    assert.ok((sampleValue(response.text, 'pm2_prom_multiproc_scrape_duration_seconds') ?? -1) >= 0);
  });

  it('serves OpenMetrics when the Accept header prefers it, and gzip when asked', async () => {
    const accept = 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5';
    const plain = await httpGet(`${base}/metrics`, { accept });
    assert.match(String(plain.headers['content-type']), /^application\/openmetrics-text; version=1\.0\.0/);
    assert.ok(plain.text.endsWith('# EOF\n'));
    const gzipped = await httpGet(`${base}/metrics`, { accept, 'accept-encoding': 'gzip' });
    assert.equal(gzipped.headers['content-encoding'], 'gzip');
    const unzipped = gunzipSync(gzipped.body).toString('utf8');
    assert.equal(sampleValue(unzipped, 'requests_total', { route: '/a' }), 7);
    assert.ok(unzipped.endsWith('# EOF\n'));
  });

  it('serves protobuf to a Prometheus that scrapes native histograms, gzipped when asked, rendered once per collection', async () => {
    const accept =
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
    const [plain, gzipped] = await Promise.all([httpGet(`${base}/metrics`, { accept }), httpGet(`${base}/metrics`, { accept, 'accept-encoding': 'gzip' })]);
    assert.equal(plain.headers['content-type'], 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited');
    assert.equal(plain.headers.vary, 'Accept, Accept-Encoding');
    assert.equal(gzipped.headers['content-encoding'], 'gzip');
    // Both requests shared one collection: the gzipped body is the plain one compressed.
    assert.deepEqual(gunzipSync(gzipped.body), plain.body);
    const requests = decodeFamilies(plain.body).find((family) => family.name === 'requests_total');
    assert.deepEqual(
      requests?.metric.map((metric) => [labelsOf(metric).route, metric.counter?.value]),
      [
        ['/a', 7],
        ['/b', 5],
      ],
    );
  });

  it('answers /, /healthz, HEAD, unknown paths and other methods', async () => {
    const landing = await httpGet(`${base}/`);
    assert.equal(landing.status, 200);
    assert.match(landing.text, /<a href="\/metrics">\/metrics<\/a>/);
    const health = await httpGet(`${base}/healthz`);
    assert.deepEqual([health.status, health.text], [200, 'ok\n']);
    const fixed: MetricFamily[] = [{ name: 'fixed', help: 'h', type: 'gauge', samples: [{ name: 'fixed', labels: {}, value: 2 }] }];
    const still = await serve({ collect: async () => fixed });
    const head = await httpGet(`${still.base}/metrics`, {}, 'HEAD');
    still.server.close();
    assert.deepEqual([head.status, head.body.length], [200, 0]);
    assert.equal(Number(head.headers['content-length']), Buffer.byteLength(renderText(fixed)));
    assert.equal((await httpGet(`${base}/metrics/x`)).status, 404);
    assert.equal((await httpGet(`${base}/metrics?x=1`)).status, 200);
    const post = await httpGet(`${base}/metrics`, {}, 'POST');
    assert.deepEqual([post.status, post.headers.allow], [405, 'GET, HEAD']);
  });

  it('serves a request whose target is in absolute form (RFC 9112 3.2.2), as a proxy sends it', async () => {
    const { port } = server.address() as AddressInfo;
    /** One raw request (Node's client always sends the origin form); returns the status line and body. */
    const raw = async (target: string): Promise<{ status: string; body: string }> => {
      const socket = net.connect(port, '127.0.0.1');
      await once(socket, 'connect');
      socket.end(`GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`);
      let text = '';
      socket.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      await once(socket, 'close');
      return { status: text.slice(0, text.indexOf('\r\n')), body: text.slice(text.indexOf('\r\n\r\n') + 4) };
    };
    const absolute = await raw(`http://127.0.0.1:${port}/metrics`);
    assert.equal(absolute.status, 'HTTP/1.1 200 OK');
    assert.equal(sampleValue(absolute.body, 'requests_total', { route: '/a' }), 7);
    assert.equal((await raw(`HTTP://localhost:${port}/metrics?x=1`)).status, 'HTTP/1.1 200 OK');
    assert.equal((await raw(`http://127.0.0.1:${port}/healthz`)).status, 'HTTP/1.1 200 OK');
    assert.equal((await raw(`http://127.0.0.1:${port}/metrics/x`)).status, 'HTTP/1.1 404 Not Found');
    assert.equal((await raw('/metrics')).status, 'HTTP/1.1 200 OK');
  });

  it('shares one collection between concurrent scrapes', async () => {
    let calls = 0;
    let release: (() => void) | undefined;
    const families: MetricFamily[] = [
      { name: 'shared', help: 'h', type: 'gauge', samples: [{ name: 'shared', labels: {}, value: 1 }] },
    ];
    const gated = await serve({
      collect: async () => {
        calls += 1;
        await new Promise<void>((resolve) => (release = resolve));
        return families;
      },
    });
    let received = 0;
    const allReceived = new Promise<void>((resolve) =>
      gated.server.on('request', () => {
        received += 1;
        if (received === 20) resolve();
      }),
    );
    const scrapes = Array.from({ length: 20 }, (_, i) =>
      httpGet(`${gated.base}/metrics`, i % 2 === 0 ? { 'accept-encoding': 'gzip' } : {}),
    );
    await allReceived;
    release?.();
    const responses = await Promise.all(scrapes);
    gated.server.close();
    assert.equal(calls, 1);
    for (const response of responses) {
      const text = response.headers['content-encoding'] === 'gzip' ? gunzipSync(response.body).toString() : response.text;
      assert.equal(sampleValue(text, 'shared'), 1);
    }
  });

  it('answers 500 with the reason when a collection fails, and recovers', async () => {
    let fail = true;
    const flaky = await serve({
      collect: async () => {
        if (fail) throw new Error('directory vanished');
        return [];
      },
    });
    const failed = await httpGet(`${flaky.base}/metrics`);
    assert.deepEqual([failed.status, failed.text], [500, 'scrape failed: directory vanished\n']);
    fail = false;
    assert.equal((await httpGet(`${flaky.base}/metrics`)).status, 200);
    flaky.server.close();
  });

  it('asks for basic auth when configured, on everything but /healthz', async () => {
    const guarded = await serve({ collect: async () => [], basicAuth: { username: 'prom', password: 's3cret:x' } });
    const basic = (credentials: string): string => `Basic ${Buffer.from(credentials).toString('base64')}`;
    const anonymous = await httpGet(`${guarded.base}/metrics`);
    assert.equal(anonymous.status, 401);
    assert.match(String(anonymous.headers['www-authenticate']), /^Basic realm=/);
    assert.equal((await httpGet(`${guarded.base}/`)).status, 401);
    assert.equal((await httpGet(`${guarded.base}/metrics`, { authorization: basic('prom:wrong') })).status, 401);
    assert.equal((await httpGet(`${guarded.base}/metrics`, { authorization: basic('prom:s3cret') })).status, 401);
    assert.equal((await httpGet(`${guarded.base}/metrics`, { authorization: 'Bearer abc' })).status, 401);
    assert.equal((await httpGet(`${guarded.base}/metrics`, { authorization: basic('prom:s3cret:x') })).status, 200);
    assert.equal((await httpGet(`${guarded.base}/healthz`)).status, 200);
    guarded.server.close();
  });

  it('names the address and the cause when it cannot listen', async () => {
    const port = (server.address() as AddressInfo).port;
    await assert.rejects(
      listenOn(() => undefined, '127.0.0.1', port),
      new RegExp(`^Error: cannot listen on 127\\.0\\.0\\.1:${port}: the port is already in use by another process$`),
    );
  });
});

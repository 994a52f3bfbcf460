// The `export` precedence of LabelExtension against its reference, Prometheus itself: the same
// label sets scraped by a real Prometheus whose target has the label pm2_app (honor_labels: false)
// come out as the extension makes them.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LabelExtension, TEXT_CONTENT_TYPE, renderText, type MetricFamily } from '../../src/collect';
import { PrometheusServer, skipWithoutPrometheus } from '../support/prometheus';

/** Label sets of a metric that already has some of the names the target adds. */
const CASES: ReadonlyArray<Record<string, string>> = [
  {},
  { pm2_app: 'own' },
  { pm2_app: '' },
  { pm2_app: 'own', exported_pm2_app: 'x' },
  { pm2_app: 'own', exported_pm2_app: 'x', exported_exported_pm2_app: 'y' },
  { exported_pm2_app: 'x' },
  { pm2_app: 'own', route: '/' },
];

function withoutTargetLabels(labels: Record<string, string>): string {
  const rest = Object.entries(labels).filter(([name]) => !['__name__', 'job', 'instance', 'case'].includes(name) && labels[name] !== '');
  return JSON.stringify(rest.sort(([a], [b]) => (a < b ? -1 : 1)));
}

describe('collect: a label an app set itself is exported as Prometheus exports it', function () {
  this.timeout(120_000);
  let server: http.Server | undefined;
  let prometheus: PrometheusServer | undefined;

  before(function () {
    skipWithoutPrometheus(this);
  });
  after(async () => {
    await prometheus?.stop();
    server?.close();
  });

  it('gives the same label sets as a Prometheus target label pm2_app="app"', async () => {
    const family: MetricFamily = {
      name: 'clash',
      help: 'Label sets that clash with a target label.',
      type: 'gauge',
      samples: CASES.map((labels, index) => ({ name: 'clash', labels: { ...labels, case: String(index) }, value: index })),
    };
    const exposition = renderText([family]);
    server = http.createServer((_request, response) => {
      response.setHeader('Content-Type', TEXT_CONTENT_TYPE);
      response.end(exposition);
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    prometheus = await PrometheusServer.start([
      '  - job_name: clash',
      `    static_configs: [{ targets: ["127.0.0.1:${port}"], labels: { pm2_app: "app" } }]`,
    ]);
    const started = Date.now();
    assert.deepEqual((await prometheus.scrapedSince(started)).map((target) => target.health), ['up']);

    const scraped = new Map((await prometheus.query('clash')).map((series) => [series.metric.case, withoutTargetLabels(series.metric)]));
    const extension = new LabelExtension({ pm2_app: 'app' }, 'export');
    for (const [index, labels] of CASES.entries()) {
      assert.equal(withoutTargetLabels(extension.labels(labels)), scraped.get(String(index)), `labels ${JSON.stringify(labels)}`);
    }
  });
});

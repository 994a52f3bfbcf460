import assert from 'node:assert/strict';
import { acceptsGzip, chooseFormat } from '../../src/server/negotiation';

describe('server: content negotiation', () => {
  it('gives OpenMetrics to Prometheus, which prefers it', () => {
    const prometheus2 =
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
    assert.equal(chooseFormat(prometheus2), 'openmetrics');
    assert.equal(chooseFormat('application/openmetrics-text; version="1.0.0"; charset=utf-8'), 'openmetrics');
  });

  it('gives protobuf to Prometheus scraping native histograms, exactly as 2.42 and 3.x ask for it', () => {
    // prometheus 2.42 --enable-feature=native-histograms (logged from the real server).
    const prometheus242Native =
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited,application/openmetrics-text;version=1.0.0;q=0.8,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
    // 3.14 with scrape_native_histograms: true; 3.0 adds escaping=allow-utf-8 to every entry.
    const prometheus314Native =
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1';
    const prometheus30Native =
      'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,*/*;q=0.1';
    assert.equal(chooseFormat(prometheus242Native), 'protobuf');
    assert.equal(chooseFormat(prometheus314Native), 'protobuf');
    assert.equal(chooseFormat(prometheus30Native), 'protobuf');
    // Without native histograms, Prometheus asks for no protobuf and gets OpenMetrics as before.
    const prometheus314 =
      'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';
    assert.equal(chooseFormat(prometheus314), 'openmetrics');
    // Another protobuf encoding or message is not ours; a lower q loses.
    assert.equal(chooseFormat('application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=text'), 'text');
    assert.equal(chooseFormat('application/vnd.google.protobuf;proto=other.Message'), 'text');
    assert.equal(chooseFormat('application/vnd.google.protobuf;q=0.4,application/openmetrics-text;version=1.0.0;q=0.5'), 'openmetrics');
    assert.equal(chooseFormat('application/vnd.google.protobuf;q=0'), 'text');
  });

  it('gives the text format to browsers, curl, text-only clients and unknown OpenMetrics versions', () => {
    assert.equal(chooseFormat(undefined), 'text');
    assert.equal(chooseFormat('*/*'), 'text');
    assert.equal(chooseFormat('text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'), 'text');
    assert.equal(chooseFormat('text/plain;version=0.0.4'), 'text');
    assert.equal(chooseFormat('application/openmetrics-text;version=2.0.0'), 'text');
    assert.equal(chooseFormat('application/openmetrics-text;q=0, text/plain'), 'text');
    assert.equal(chooseFormat('text/plain;q=1, application/openmetrics-text;q=0.5'), 'text');
  });

  it('gzips only when Accept-Encoding allows it', () => {
    assert.equal(acceptsGzip('gzip, deflate, br'), true);
    assert.equal(acceptsGzip('*'), true);
    assert.equal(acceptsGzip(undefined), false);
    assert.equal(acceptsGzip('identity'), false);
    assert.equal(acceptsGzip('gzip;q=0'), false);
    assert.equal(acceptsGzip('*;q=0.5, gzip;q=0'), false);
  });
});

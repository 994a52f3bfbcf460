import assert from 'node:assert/strict';
import { acceptsGzip, chooseFormat } from '../../src/server/negotiation';

describe('server: content negotiation', () => {
  it('gives OpenMetrics to Prometheus, which prefers it', () => {
    const prometheus2 =
      'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
    assert.equal(chooseFormat(prometheus2), 'openmetrics');
    assert.equal(chooseFormat('application/openmetrics-text; version="1.0.0"; charset=utf-8'), 'openmetrics');
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

import assert from 'node:assert/strict';
import fs from 'node:fs';
import { renderText } from '../../src/collect';
import { APP_LABEL, ServedDirectories } from '../../src/host/served-directories';
import type { Logger } from '../../src/logger';
import { makeTempDir, sampleLines, sampleValue, writeCounter, writeGauge } from '../server/support';

describe('server: several directories', () => {
  const warnings: string[] = [];
  const log: Logger = { info: () => undefined, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) };
  let api: string;
  let worker: string;

  before(() => {
    api = makeTempDir('api');
    worker = makeTempDir('worker');
    writeCounter(api, 201, 'jobs', { kind: 'a' }, 2);
    writeCounter(api, 202, 'jobs', { kind: 'a' }, 3);
    writeCounter(worker, 301, 'jobs', { kind: 'a' }, 10);
    writeGauge(api, 201, 'all', 'queue', 4);
    writeCounter(worker, 301, 'queue', {}, 1);
  });

  after(() => {
    for (const dir of [api, worker]) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('labels each directory with its app so that equal names cannot collide', () => {
    const text = renderText(new ServedDirectories(log).collect([
      { dir: api, app: 'api' },
      { dir: worker, app: 'worker' },
    ]));
    assert.equal(sampleValue(text, 'jobs_total', { kind: 'a', [APP_LABEL]: 'api' }), 5);
    assert.equal(sampleValue(text, 'jobs_total', { kind: 'a', [APP_LABEL]: 'worker' }), 10);
    assert.equal(sampleLines(text, 'jobs_total').length, 2);
  });

  it('keeps the first type of a name used with two types, and says so once', () => {
    warnings.length = 0;
    const collector = new ServedDirectories(log);
    const sources = [
      { dir: api, app: 'api' },
      { dir: worker, app: 'worker' },
    ];
    collector.collect(sources);
    const text = renderText(collector.collect(sources));
    assert.equal(sampleValue(text, 'queue', { pid: '201', [APP_LABEL]: 'api' }), 4);
    assert.equal(sampleLines(text, 'queue_total').length, 0);
    assert.deepEqual(
      warnings.filter((w) => w.includes('"queue"')),
      ['metric "queue" is a gauge in one directory and a counter in another: only the gauge is exposed'],
    );
  });

  it('adds no label when one directory is served', () => {
    const text = renderText(new ServedDirectories(log).collect([{ dir: api, app: 'api' }]));
    assert.equal(sampleValue(text, 'jobs_total', { kind: 'a' }), 5);
  });
});

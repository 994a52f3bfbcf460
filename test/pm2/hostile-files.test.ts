// The module under a real PM2 daemon (its max_memory_restart: 300M, checked every second here)
// with files that once took it down: a sparse 1 GiB file whose header claims 1 GiB in use cost
// 1 GiB of RAM and three restarts in 80 s; a directory past the series limit is merged up to it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ensureBuilt, freePort, httpGet, sampleValue, waitFor, writeCounter, writeCounters } from '../server/support';
import { IsolatedPm2 } from './support';

const MODULE = 'pm2-prom-multiproc';
const GiB = 1 << 30;
const SCRAPES = 30;

describe('pm2: the module against hostile files', function () {
  this.timeout(180_000);
  // PM2 checks max_memory_restart every PM2_WORKER_INTERVAL ms (30 s by default).
  const pm2 = new IsolatedPm2({ PM2_WORKER_INTERVAL: '1000' });
  const dir = path.join(pm2.home, 'prom-multiproc');
  let url: string;

  const moduleProcess = () => pm2.list().find((p) => p.name === MODULE);

  before(async () => {
    ensureBuilt();
    const port = await freePort();
    url = `http://127.0.0.1:${port}/metrics`;
    pm2.run('set', `${MODULE}:host`, '127.0.0.1');
    pm2.run('set', `${MODULE}:port`, String(port));
    pm2.startFromEcosystem(MODULE);
    await waitFor('the module', async () => ((await httpGet(url)).status === 200 ? true : undefined));
  });

  after(() => pm2.kill());

  it('answers every scrape with a sparse 1 GiB file in the directory, without a restart', async () => {
    writeCounter(dir, process.pid, 'steady_jobs', {}, 7);
    const hostile = path.join(dir, 'counter_999999.db');
    const header = Buffer.alloc(8);
    header.writeInt32LE(GiB - 8, 0);
    fs.writeFileSync(hostile, header);
    fs.truncateSync(hostile, GiB);
    const before = moduleProcess();
    for (let scrape = 0; scrape < SCRAPES; scrape++) {
      const response = await httpGet(url);
      assert.equal(response.status, 200, `scrape ${scrape}`);
      assert.equal(sampleValue(response.text, 'steady_jobs_total'), 7);
      assert.equal(sampleValue(response.text, 'pm2_prom_multiproc_collector_corrupt_files'), 1);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const after = moduleProcess();
    assert.equal(after?.restarts, before?.restarts, 'no restart');
    assert.equal(after?.pid, before?.pid);
    assert.match(pm2.logs(MODULE), /counter_999999\.db: bad key length 0 at 8; the rest of the file is skipped/);
    fs.rmSync(hostile);
  });

  it('merges a directory past max_series up to the limit, and says how to raise it', async () => {
    pm2.run('set', `${MODULE}:max_series`, '100');
    await waitFor('the module with its new setting', async () => ((await httpGet(url)).status === 200 ? true : undefined));
    writeCounters(dir, 4242, Array.from({ length: 300 }, (_, i) => ({ name: 'many_jobs', labels: { i: String(i) }, value: 1 })));
    const response = await httpGet(url);
    assert.equal(response.status, 200);
    assert.equal(sampleValue(response.text, 'pm2_prom_multiproc_collector_series'), 100);
    assert.ok((sampleValue(response.text, 'pm2_prom_multiproc_collector_limited_files') ?? 0) >= 1);
    await waitFor('the warning', () =>
      /counter_4242\.db: the limit of 100 .* is reached .*raise it: pm2 set pm2-prom-multiproc:max_series N/.test(pm2.logs(MODULE)) ? true : undefined,
    );
  });
});

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import {
  deadPid,
  ensureBuilt,
  freePort,
  httpGet,
  makeTempDir,
  projectRoot,
  sampleLines,
  sampleValue,
  sendRequests,
  waitFor,
  writeCounter,
} from '../server/support';

const REQUESTS = { method: 'GET', route: '/', status: '200' };

/** The pids of the workers whose live gauge is in the exposition. */
function workerPids(exposition: string): string[] {
  return sampleLines(exposition, 'demo_http_requests_in_flight').map((line) => /pid="(\d+)"/.exec(line)?.[1] ?? '');
}

describe('cluster: Node cluster primary without PM2 (examples/cluster-app.js)', () => {
  let dir: string;
  let primary: ChildProcess;
  let metricsUrl: string;
  let appUrl: string;
  let output = '';
  let deadPidBefore: number;

  before(async () => {
    ensureBuilt();
    dir = path.join(makeTempDir('cluster'), 'metrics');
    // What an earlier primary's worker left, beside a writer still alive (this test process):
    // the directory is kept, and the dead worker's counts are folded into an archive at start.
    fs.mkdirSync(dir, { mode: 0o700 });
    deadPidBefore = await deadPid();
    writeCounter(dir, deadPidBefore, 'demo_http_requests', REQUESTS, 5);
    writeCounter(dir, process.pid, 'seed_writer_alive', {}, 1);
    const [metricsPort, appPort] = [await freePort(), await freePort()];
    metricsUrl = `http://127.0.0.1:${metricsPort}/metrics`;
    appUrl = `http://127.0.0.1:${appPort}/`;
    primary = spawn(process.execPath, [path.join(projectRoot, 'examples', 'cluster-app.js')], {
      env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir, METRICS_PORT: String(metricsPort), PORT: String(appPort), WORKERS: '2' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    primary.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    primary.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await waitFor('two workers writing their live gauge', async () => {
      const exposition = (await httpGet(metricsUrl)).text;
      return workerPids(exposition).length === 2 ? true : undefined;
    });
  });

  after(async () => {
    if (primary.exitCode === null) {
      primary.kill('SIGTERM');
      await new Promise((resolve) => primary.once('exit', resolve));
    }
    fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  });

  it('serves the exact sum of the workers and of what a dead worker left, compacted at start', async () => {
    assert.ok(!fs.existsSync(path.join(dir, `counter_${deadPidBefore}.db`)), 'the dead worker file is folded');
    assert.ok(fs.existsSync(path.join(dir, 'counter_archive.db')));
    await sendRequests(appUrl, 200);
    const exposition = (await httpGet(metricsUrl)).text;
    assert.equal(sampleValue(exposition, 'demo_http_requests_total', REQUESTS), 205);
    assert.equal(sampleValue(exposition, 'demo_http_request_duration_seconds_count', { route: '/' }), 200);
  });

  it('marks a worker killed with SIGKILL dead: its live gauge goes, its counts stay', async () => {
    const before = workerPids((await httpGet(metricsUrl)).text);
    const victim = Number(before[0]);
    process.kill(victim, 'SIGKILL');
    const after = await waitFor('the replacement worker, without the dead one', async () => {
      const pids = workerPids((await httpGet(metricsUrl)).text);
      return pids.length === 2 && !pids.includes(String(victim)) ? pids : undefined;
    });
    assert.ok(after.includes(before[1]));
    assert.equal(fs.readdirSync(dir).filter((name) => name.includes(`_${victim}.db`) && name.startsWith('gauge_live')).length, 0);
    await sendRequests(appUrl, 50);
    const exposition = (await httpGet(metricsUrl)).text;
    assert.equal(sampleValue(exposition, 'demo_http_requests_total', REQUESTS), 255);
    // The worker an earlier primary left (marked at start) and the one killed here.
    assert.equal(sampleValue(exposition, 'pm2_prom_multiproc_dead_pids_marked_total'), 2);
    assert.match(output, new RegExp(`pid ${victim} exited: its live gauges are removed`));
  });
});

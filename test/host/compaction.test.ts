import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { markProcessDead } from '../../src/store';
import { compactDirectory } from '../../src/host/compaction';
import { COMPACTION_LOCK_NAME } from '../../src/host/compaction-lock';
import { decodeKey, parseFileName } from '../../src/store/format';
import { readDbEntries } from '../support/metrics-dir';
import { NO_PYTHON_CLIENT, PYTHON, pythonClientEnv } from '../support/python-client';
import { writeOwnerRecord } from '../../src/store/owner-record';
import { deadPid, killWorker, nextMillisecond, scrape, workerLifetime, writeWorker } from './compaction-support/workers';
import { makeTempDir, removeDir, writeDbFile } from '../collect/support/files';
import { assertSameSamples, parseExposition } from '../collect/support/samples';

const LIVE_WORKERS = 4;
/** Archives at most: counter, histogram, summary and its sketches, gauge sum, min, max, mostrecent, native histogram. */
const ARCHIVES = 9;

/** Python's MultiProcessCollector's text of a directory. */
const PYTHON_COLLECT = `
import sys
from prometheus_client import CollectorRegistry, generate_latest, multiprocess
registry = CollectorRegistry()
multiprocess.MultiProcessCollector(registry, path=sys.argv[1])
sys.stdout.write(generate_latest(registry).decode())
`;

function pythonCollect(dir: string): string | undefined {
  const env = pythonClientEnv();
  if (env === undefined) return undefined;
  const result = spawnSync(PYTHON, ['-c', PYTHON_COLLECT, dir], { encoding: 'utf8', env });
  assert.equal(result.status, 0, result.stderr);
  return result.stdout;
}

function listing(dir: string): string[] {
  return fs.readdirSync(dir).sort();
}

/** Starts live workers: this process's worker threads 1..n, each with its files. */
function startLiveWorkers(dir: string, count: number): void {
  for (let thread = 1; thread <= count; thread++) writeWorker(dir, { pid: process.pid, threadId: thread }, 10_000 + thread).close();
}

function sampleValue(text: string, series: string): number {
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  assert.ok(line, `${series} is in the scrape`);
  return Number(line.slice(series.length + 1));
}

describe('compaction', function () {
  this.timeout(120_000);
  let dir: string;
  beforeEach(() => {
    dir = makeTempDir('pm2-prom-compaction-');
  });
  afterEach(() => removeDir(dir));

  it('keeps the merge unchanged and the directory bounded over 1,000 worker lifetimes', () => {
    startLiveWorkers(dir, LIVE_WORKERS);
    const liveFiles = listing(dir).length;
    nextMillisecond();
    let expectedMail = 0;
    for (let thread = 1; thread <= LIVE_WORKERS; thread++) expectedMail += 1 + ((10_000 + thread) % 5);
    for (let lifetime = 0; lifetime < 1000; lifetime++) {
      workerLifetime(dir, lifetime);
      expectedMail += 1 + (lifetime % 5);
      if ((lifetime + 1) % 50 !== 0) continue;
      const before = scrape(dir);
      const report = compactDirectory(dir);
      assert.deepEqual(report.problems, []);
      assert.equal(report.absorbed, 50 * ARCHIVES, `after lifetime ${lifetime}: every dead file absorbed`);
      assert.equal(scrape(dir), before, `after lifetime ${lifetime}: the merge is unchanged`);
      assert.equal(listing(dir).length, liveFiles + ARCHIVES, `after lifetime ${lifetime}: ${listing(dir).join(' ')}`);
    }
    const text = scrape(dir);
    assert.equal(sampleValue(text, 'jobs_total{queue="mail"}'), expectedMail);
    assert.equal(sampleValue(text, 'latency_seconds_count{route="/a"}') + sampleValue(text, 'latency_seconds_count{route="/b"}'), 2 * 1004);
    assert.equal(sampleValue(text, 'payload_bytes_count'), 1004);
    assert.equal(sampleValue(text, 'last_deploy_id'), 999, 'the newest worker set the mostrecent gauge');
    assert.equal(sampleValue(text, 'open_connections'), 3 * LIVE_WORKERS, 'only live workers count in a livesum');
  });

  it('folds histogram buckets per labels and le, keeping per-bucket counts as writers do', () => {
    for (let lifetime = 0; lifetime < 4; lifetime++) workerLifetime(dir, lifetime);
    const before = scrape(dir);
    compactDirectory(dir);
    assert.equal(scrape(dir), before);
    // Seeds 0..3 observe 0.0625, 0.25, 2 and 8 on /a, and 0.5 on /a (seeds 1, 2) or /b (0, 3).
    const text = scrape(dir);
    assert.match(text, /latency_seconds_bucket\{route="\/a",le="0\.1"\} 1\n/);
    assert.match(text, /latency_seconds_bucket\{route="\/a",le="1\.0"\} 4\n/);
    assert.match(text, /latency_seconds_bucket\{route="\/a",le="\+Inf"\} 6\n/);
    assert.match(text, /latency_seconds_sum\{route="\/a"\} 11\.3125\n/);
    const buckets = readDbEntries(path.join(dir, 'histogram_archive.db'))
      .map((entry) => ({ ...decodeKey(entry.key), value: entry.value }))
      .filter((entry) => entry.metricName === 'latency_seconds' && entry.labels.route === '/a' && entry.labels.le !== undefined)
      .map((entry) => `${entry.labels.le}:${entry.value}`);
    assert.deepEqual(buckets, ['0.1:1', '1.0:3', '5.0:1', '+Inf:1'], 'the archive holds per-bucket counts');
  });

  it("never touches a live process's files, and absorbs them once the process has exited", async () => {
    const sleeper = spawn('sleep', ['60'], { stdio: 'ignore' });
    const pid = sleeper.pid;
    assert.ok(pid !== undefined);
    const exited = new Promise((resolve) => sleeper.once('exit', resolve));
    try {
      writeWorker(dir, { pid }, 1).close();
      workerLifetime(dir, 0);
      const liveFiles = listing(dir).filter((name) => parseFileName(name)?.pid === pid);
      const bytes = liveFiles.map((name) => fs.readFileSync(path.join(dir, name)));
      const before = scrape(dir);
      compactDirectory(dir);
      assert.deepEqual(
        liveFiles.map((name) => fs.readFileSync(path.join(dir, name))),
        bytes,
        'the live process keeps every file, byte for byte',
      );
      assert.equal(scrape(dir), before);
    } finally {
      sleeper.kill('SIGKILL');
      await exited;
    }
    markProcessDead(pid, dir);
    const afterExit = scrape(dir);
    compactDirectory(dir);
    assert.equal(scrape(dir), afterExit);
    assert.deepEqual(
      listing(dir).filter((name) => parseFileName(name)?.archive !== true),
      [],
      'everything of the exited process is in the archives, its live gauge removed',
    );
  });

  it('does not mistake the file of a new process that got a reused pid for the absorbed one', () => {
    const pid = deadPid(0);
    killWorker(dir, writeWorker(dir, { pid }, 3), pid);
    const firstLife = scrape(dir);
    // A compaction killed right after its new archive is in place leaves its claims behind.
    const report = compactDirectory(dir, {
      onStep: (step) => {
        if (step === 'archive-renamed') throw new Error('killed');
      },
    });
    assert.equal(report.problems.length, ARCHIVES);
    assert.ok(listing(dir).some((name) => parseFileName(name)?.claimGeneration !== undefined), listing(dir).join(' '));
    assert.equal(scrape(dir), firstLife, 'claims already in the archive are not counted twice');

    // The pid is reused: the new process writes counter_PID.db afresh, and dies too.
    const reborn = writeWorker(dir, { pid }, 3);
    const bothLives = scrape(dir);
    assert.equal(sampleValue(bothLives, 'jobs_total{queue="mail"}'), 2 * sampleValue(firstLife, 'jobs_total{queue="mail"}'));
    killWorker(dir, reborn, pid);
    const beforeCompaction = scrape(dir);
    const next = compactDirectory(dir);
    assert.deepEqual(next.problems, []);
    assert.equal(scrape(dir), beforeCompaction);
    assert.equal(sampleValue(scrape(dir), 'jobs_total{queue="mail"}'), 2 * sampleValue(firstLife, 'jobs_total{queue="mail"}'));
    assert.equal(listing(dir).length, ARCHIVES, listing(dir).join(' '));
  });

  it('drops the claimed name of a file a killed compaction was giving back to its live process', () => {
    writeWorker(dir, { pid: process.pid, threadId: 1 }, 5).close();
    const expected = scrape(dir);
    // The state a kill leaves between giving the file back (link) and dropping the claim (unlink).
    const original = path.join(dir, `counter_${process.pid}-1.db`);
    const claimed = path.join(dir, `counter_${process.pid}-1.g1.i${fs.statSync(original).ino}.db`);
    fs.linkSync(original, claimed);
    const report = compactDirectory(dir);
    assert.deepEqual(report, { absorbed: 0, archivesWritten: 0, removed: 1, problems: [] });
    assert.ok(fs.existsSync(original) && !fs.existsSync(claimed));
    assert.equal(scrape(dir), expected);
  });

  it('compacts only the pids the caller lists as dead when it gives a list', () => {
    workerLifetime(dir, 0);
    workerLifetime(dir, 1);
    const before = scrape(dir);
    const report = compactDirectory(dir, { deadPids: [deadPid(1)] });
    assert.equal(report.absorbed, ARCHIVES);
    assert.equal(scrape(dir), before);
    const owners = new Set(listing(dir).map((name) => parseFileName(name)?.owner));
    assert.deepEqual([...owners].sort(), [String(deadPid(0)), 'archive']);
  });

  it("keeps dead pids' all gauges (a sample per pid, as Python) unless asked to drop them", () => {
    workerLifetime(dir, 0, { allGauge: true });
    workerLifetime(dir, 1, { allGauge: true });
    compactDirectory(dir);
    const kept = scrape(dir);
    assert.match(kept, new RegExp(`worker_rss_bytes\\{pid="${deadPid(0)}"\\} 1024\\n`));
    assert.match(kept, new RegExp(`worker_rss_bytes\\{pid="${deadPid(1)}"\\} 2048\\n`));

    const report = compactDirectory(dir, { deadAllGauges: 'drop' });
    assert.equal(report.removed, 2);
    assert.doesNotMatch(scrape(dir), /worker_rss_bytes/);
    assert.equal(scrape(dir), kept.replace(/# HELP worker_rss_bytes[^]*?\n(?=# HELP|$)/, ''));
  });

  it('leaves a damaged file of a dead pid in place, says so, and compacts the rest', () => {
    workerLifetime(dir, 0);
    const damaged = path.join(dir, `counter_${deadPid(1)}.db`);
    const bytes = writeDbFile(damaged, [{ metric: 'jobs', sample: 'jobs_total', labels: { queue: 'mail' }, value: 5 }]);
    fs.writeFileSync(damaged, bytes.subarray(0, 20));
    const report = compactDirectory(dir);
    assert.equal(report.problems.length, 1);
    assert.match(report.problems[0], new RegExp(`${damaged} left as it is: it header says used=\\d+ but the file is 20 bytes`));
    assert.ok(fs.existsSync(damaged));
    assert.equal(report.absorbed, ARCHIVES);
  });

  it('refuses to run beside a live compaction, and takes over the lock of a killed one', async () => {
    workerLifetime(dir, 0);
    const lockPath = path.join(dir, COMPACTION_LOCK_NAME);
    const holder = spawn('sleep', ['60'], { stdio: 'ignore' });
    const exited = new Promise((resolve) => holder.once('exit', resolve));
    try {
      fs.writeFileSync(lockPath, `${holder.pid}\n`);
      assert.throws(() => compactDirectory(dir), new RegExp(`another compaction \\(pid ${holder.pid}\\) is running in ${dir}`));
      assert.ok(listing(dir).some((name) => name === `counter_${deadPid(0)}.db`), 'nothing was compacted');
    } finally {
      holder.kill('SIGKILL');
      await exited;
    }
    assert.equal(compactDirectory(dir).absorbed, ARCHIVES, "the dead holder's lock is taken over");
    assert.ok(!fs.existsSync(lockPath), 'the lock is released');
  });

  it('takes over, after a few seconds, a lock that names no pid (its writer was killed before writing it)', () => {
    workerLifetime(dir, 0);
    const lockPath = path.join(dir, COMPACTION_LOCK_NAME);
    fs.writeFileSync(lockPath, '');
    // Just created: its writer may be between creating it and writing its pid.
    assert.throws(() => compactDirectory(dir), new RegExp(`another compaction is starting in ${dir}`));
    const threeSecondsAgo = new Date(Date.now() - 3000);
    fs.utimesSync(lockPath, threeSecondsAgo, threeSecondsAgo);
    assert.equal(compactDirectory(dir).absorbed, ARCHIVES);
    for (const text of ['not a pid\n', '0\n', '-5']) {
      fs.writeFileSync(lockPath, text);
      fs.utimesSync(lockPath, threeSecondsAgo, threeSecondsAgo);
      assert.deepEqual(compactDirectory(dir).problems, [], `a lock holding ${JSON.stringify(text)}`);
    }
    assert.ok(!fs.existsSync(lockPath));
  });

  it('leaves no lock behind when the disk is full as it takes one (tmpfs, as root)', function () {
    const mounted = path.join(dir, 'full');
    const reference = path.join(dir, 'reference');
    fs.mkdirSync(mounted);
    fs.mkdirSync(reference);
    // Room for the worker's files: their space is reserved when they are created (64 KiB a file at
    // first, where a sparse file took a page), so the size is what the same worker lifetime takes
    // on an ordinary disk, and 64 KiB for the lock and tmpfs's own pages; checked below.
    workerLifetime(reference, 0);
    const needed = fs.readdirSync(reference).reduce((total, name) => total + fs.statSync(path.join(reference, name)).blocks * 512, 64 * 1024);
    const mount = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${needed},mode=700`, 'tmpfs', mounted], { encoding: 'utf8' });
    if (mount.status !== 0) {
      console.log(`      (cannot mount a tmpfs here, run as root to test a full disk: ${mount.stderr.trim()})`);
      this.skip();
    }
    try {
      workerLifetime(mounted, 0);
      const sizes = (at: string): string[] => fs.readdirSync(at).sort().map((name) => `${name} ${fs.statSync(path.join(at, name)).blocks}`);
      assert.deepEqual(sizes(mounted), sizes(reference), "the worker's files grew on the mount as on a disk with room");
      assert.equal(scrape(mounted), scrape(reference));
      // Fill what is left: creating the lock still works (an inode), writing its pid does not.
      const filler = path.join(mounted, 'filler');
      const fd = fs.openSync(filler, 'w');
      try {
        for (;;) fs.writeSync(fd, Buffer.alloc(4096));
      } catch (error) {
        assert.equal((error as NodeJS.ErrnoException).code, 'ENOSPC');
      } finally {
        fs.closeSync(fd);
      }
      assert.throws(() => compactDirectory(mounted), /cannot write the compaction lock .*ENOSPC/);
      assert.ok(!fs.existsSync(path.join(mounted, COMPACTION_LOCK_NAME)), 'no empty lock is left');
      fs.rmSync(filler);
      assert.equal(compactDirectory(mounted).absorbed, ARCHIVES, 'the next compaction runs at once');
    } finally {
      spawnSync('umount', [mounted]);
    }
  });

  it("reads the same in Python's MultiProcessCollector: archives, and claims not yet absorbed", function () {
    for (let thread = 1; thread <= 2; thread++) writeWorker(dir, { pid: process.pid, threadId: thread }, thread).close();
    nextMillisecond();
    for (let lifetime = 0; lifetime < 6; lifetime++) workerLifetime(dir, lifetime);
    // Half of the dead workers were PM2 apps: their files go into archives of their own.
    for (let lifetime = 0; lifetime < 6; lifetime += 2) writeOwnerRecord(dir, { pid: deadPid(lifetime), app: lifetime < 3 ? 'api' : 'my_app.v2' });
    const before = pythonCollect(dir);
    if (before === undefined) {
      console.log(`      (${NO_PYTHON_CLIENT})`);
      this.skip();
    }
    compactDirectory(dir);
    assert.ok(listing(dir).includes('counter_archive@api.db') && listing(dir).includes('gauge_sum_archive@my_app%2Ev2.db'), listing(dir).join(' '));
    assertSameSamples(parseExposition(pythonCollect(dir) ?? ''), parseExposition(before), 'Python after compaction');
    // Ours as Python's, but for the summaries' quantiles, which Python's collector does not merge.
    const withoutQuantiles = parseExposition(scrape(dir)).filter((sample) => !('quantile' in sample.labels));
    assertSameSamples(withoutQuantiles, parseExposition(before), 'ours after compaction');

    for (let lifetime = 6; lifetime < 9; lifetime++) workerLifetime(dir, lifetime);
    const withDead = pythonCollect(dir) ?? '';
    // Killed after claiming: claims of the next generation are read by Python as plain files.
    compactDirectory(dir, {
      onStep: (step) => {
        if (step === 'claimed') throw new Error('killed');
      },
    });
    assert.ok(listing(dir).some((name) => parseFileName(name)?.claimGeneration !== undefined), listing(dir).join(' '));
    assertSameSamples(parseExposition(pythonCollect(dir) ?? ''), parseExposition(withDead), 'Python with claims pending');
  });

  it("names archives and claims so that Python's collector reads their type and mode", () => {
    workerLifetime(dir, 0);
    compactDirectory(dir, {
      onStep: (step) => {
        if (step === 'archive-renamed') throw new Error('killed');
      },
    });
    const names = listing(dir);
    for (const name of names) {
      const parsed = parseFileName(name);
      assert.ok(parsed, `${name} parses`);
      // prometheus_client.multiprocess: parts = basename.split('_'); typ = parts[0]; for gauges
      // the mode is parts[1] and the pid label parts[2][:-3], which these modes drop.
      const parts = name.split('_');
      assert.equal(parts[0], parsed.type, name);
      if (parsed.type === 'gauge') {
        assert.equal(parts.length, 3, name);
        assert.equal(parts[1], parsed.mode, name);
        assert.ok(parts[2].endsWith('.db'), name);
      } else {
        assert.equal(parts.length, 2, name);
      }
    }
    assert.ok(names.includes('counter_archive.db') && names.includes('gauge_mostrecent_archive.db'), names.join(' '));
  });

  it('folds exemplar files too, keeping the latest exemplar of the dead per series, the scrape unchanged', () => {
    for (let thread = 1; thread <= 2; thread++) writeWorker(dir, { pid: process.pid, threadId: thread }, 1000 + thread, { exemplars: true }).close();
    const liveFiles = fs.readdirSync(dir).length;
    for (let lifetime = 0; lifetime < 120; lifetime++) {
      workerLifetime(dir, lifetime, { exemplars: true });
      if ((lifetime + 1) % 40 !== 0) continue;
      const before = scrape(dir, 'openmetrics');
      const report = compactDirectory(dir);
      assert.deepEqual(report.problems, []);
      // Per dead worker: the ARCHIVES kinds of file, and 2 exemplar files.
      assert.equal(report.absorbed, 40 * (ARCHIVES + 2), `after lifetime ${lifetime}`);
      assert.equal(scrape(dir, 'openmetrics'), before, `after lifetime ${lifetime}: the scrape, exemplars included, is unchanged`);
      assert.equal(fs.readdirSync(dir).length, liveFiles + ARCHIVES + 2, `after lifetime ${lifetime}: ${fs.readdirSync(dir).join(' ')}`);
    }
    const text = scrape(dir, 'openmetrics');
    // The newest lifetime (119) wrote the latest mail exemplar; live workers wrote theirs before all of them.
    assert.match(text, /^jobs_total\{queue="mail"\} \d+ # \{traceId="w119-mail"\} 5 \d+(\.\d+)?$/m);
    assert.match(text, /^jobs_total\{queue="odd"\} \d+ # \{traceId="w119-odd"\} 2 /m);
    assert.match(text, /^jobs_total\{queue="even"\} \d+ # \{traceId="w118-even"\} 2 /m);
    assert.match(text, /^latency_seconds_bucket\{route="\/a",le="\+Inf"\} \d+ # \{traceId="w119-\/a-8"\} 8 /m);
    nextMillisecond();
    // A live worker's newer exemplar wins over the archive's.
    writeWorker(dir, { pid: process.pid, threadId: 1 }, 1001, { exemplars: true }).close();
    assert.match(scrape(dir, 'openmetrics'), /^jobs_total\{queue="mail"\} \d+ # \{traceId="w1001-mail"\} 2 /m);
  });

  it("leaves Python's merge of a directory with exemplar archives as it was", function () {
    writeWorker(dir, { pid: process.pid, threadId: 1 }, 7, { exemplars: true }).close();
    for (let lifetime = 0; lifetime < 5; lifetime++) workerLifetime(dir, lifetime, { exemplars: true });
    const python = pythonCollect(dir);
    if (python === undefined) {
      console.log(`      (${NO_PYTHON_CLIENT})`);
      this.skip();
    }
    const before = parseExposition(python);
    assert.deepEqual(compactDirectory(dir).problems, []);
    assert.ok(fs.existsSync(`${dir}/counter_archive.exemplars`) && fs.existsSync(`${dir}/histogram_archive.exemplars`));
    assertSameSamples(parseExposition(pythonCollect(dir) ?? ''), before, "Python's merge after compaction");
    // Ours as Python's, but for the summaries' quantiles, which Python's collector does not merge.
    const withoutQuantiles = parseExposition(scrape(dir)).filter((sample) => !('quantile' in sample.labels));
    assertSameSamples(withoutQuantiles, before, 'ours and Python agree');
  });
});

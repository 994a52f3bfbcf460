// A hostile metrics directory: symlinks are never followed for writing (store) or reading
// (collector), a world-writable directory without the sticky bit is refused by the server side
// with a clear message, odd entries cannot stop the safe clean, and files are created 0600.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DirectoryCollector } from '../../src/collect';
import { serveClusterMetrics } from '../../src/cluster';
import { prepareDirectory } from '../../src/host/prepare-directory';
import type { Logger } from '../../src/logger';
import { ProcessStore } from '../../src/store';
import { deadPid, writeCounter } from '../server/support';
import { FILE_BACKENDS } from '../store/helpers';
import { makeTempDir, removeDir } from './support';

const quietLog: Logger = { info: () => undefined, warn: () => undefined, error: () => undefined };

describe('reliability: a hostile metrics directory', () => {
  let dir: string;
  let outside: string;
  beforeEach(() => {
    dir = makeTempDir('hostile');
    outside = makeTempDir('outside');
  });
  afterEach(() => {
    removeDir(dir);
    removeDir(outside);
  });

  for (const backend of FILE_BACKENDS) {
    it(`never writes through a symlink planted at a metric file's name (${backend})`, () => {
      const victim = path.join(outside, 'victim');
      fs.writeFileSync(victim, 'precious');
      const dangling = path.join(outside, 'would-be-created');
      const store = new ProcessStore(dir, { pid: 4321, threadId: 0, backend });
      fs.symlinkSync(victim, path.join(dir, 'counter_4321.db'));
      fs.symlinkSync(dangling, path.join(dir, 'gauge_all_4321.db'));
      assert.throws(() => store.file('counter'), /counter_4321\.db" is a symbolic link; refusing to follow it/);
      assert.throws(() => store.file('gauge', 'all'), /gauge_all_4321\.db" is a symbolic link; refusing to follow it/);
      store.close();
      assert.equal(fs.readFileSync(victim, 'utf8'), 'precious');
      assert.equal(fs.existsSync(dangling), false, 'a dangling link must not create its target');
    });
  }

  it('never writes into a metric file that another user created first', function () {
    if (process.geteuid?.() !== 0) this.skip(); // giving a file away needs root
    for (const backend of FILE_BACKENDS) {
      const planted = path.join(dir, `counter_${backend === 'native' ? 4322 : 4323}.db`);
      fs.writeFileSync(planted, '', { mode: 0o666 });
      fs.chownSync(planted, 65534, 65534);
      const store = new ProcessStore(dir, { pid: backend === 'native' ? 4322 : 4323, threadId: 0, backend });
      assert.throws(() => store.file('counter'), /belongs to user 65534, not to this process's user 0: someone else created it/);
      store.close();
      assert.equal(fs.statSync(planted).size, 0, 'nothing was written to it');
    }
  });

  it('never reads through a symlink named like a metric file', () => {
    writeCounter(outside, 77, 'smuggled', {}, 1000);
    writeCounter(dir, 78, 'honest', {}, 1);
    fs.symlinkSync(path.join(outside, 'counter_77.db'), path.join(dir, 'counter_77.db'));
    fs.symlinkSync(path.join(dir, 'counter_78.db'), path.join(dir, 'counter_79.db'));
    const warnings: string[] = [];
    const collector = new DirectoryCollector(dir, { warn: (message) => warnings.push(message) });
    const samples = collector.collect().flatMap((family) => family.samples);
    assert.deepEqual(
      samples.map((sample) => [sample.name, sample.value]),
      [['honest_total', 1]],
      'neither the outside file nor a second view of a file inside is merged',
    );
    assert.equal(warnings.length, 2);
    for (const warning of warnings) assert.match(warning, /is a symbolic link \(never followed\)/);
  });

  it('refuses a world-writable directory without the sticky bit, with a clear message', async () => {
    fs.chmodSync(dir, 0o777);
    const expected = new RegExp(
      `metrics directory "${dir}" is writable by every user without the sticky bit \\(mode 777\\): ` +
        'any local user could delete or replace its metric files; run chmod o-w',
    );
    assert.throws(() => prepareDirectory(dir), expected);
    await assert.rejects(serveClusterMetrics({ dir, port: 0, log: quietLog }), expected);
    // The sticky bit (as on /tmp) keeps users from deleting or renaming each other's files.
    fs.chmodSync(dir, 0o1777);
    assert.equal(prepareDirectory(dir), 'empty');
    fs.chmodSync(dir, 0o770);
    assert.equal(prepareDirectory(dir), 'empty');
  });

  it('cleans a stale directory without following links or tripping on directories named *.db', async () => {
    const stalePid = await deadPid();
    writeCounter(dir, stalePid, 'old', {}, 1);
    const victim = path.join(outside, 'victim.db');
    fs.writeFileSync(victim, 'precious');
    fs.symlinkSync(victim, path.join(dir, `gauge_all_${stalePid}.db`));
    fs.mkdirSync(path.join(dir, `histogram_${stalePid}.db`));
    assert.equal(prepareDirectory(dir), 'wiped');
    assert.deepEqual(fs.readdirSync(dir), [`histogram_${stalePid}.db`]);
    assert.equal(fs.readFileSync(victim, 'utf8'), 'precious');
  });

  it('creates metric files 0600 whatever the umask, or with the configured mode', () => {
    const umask = process.umask(0);
    try {
      const store = new ProcessStore(dir, { pid: 11, threadId: 0, backend: 'pwrite' });
      store.file('counter');
      const shared = new ProcessStore(dir, { pid: 12, threadId: 0, backend: 'native', fileMode: 0o640 });
      shared.file('histogram');
      store.close();
      shared.close();
    } finally {
      process.umask(umask);
    }
    assert.equal(fs.statSync(path.join(dir, 'counter_11.db')).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.join(dir, 'histogram_12.db')).mode & 0o777, 0o640);
  });
});

// Several directories and several apps per directory, with real files and real owner records:
// each sample is credited to the app that wrote it, whatever else runs, and a label the app set
// itself is kept as exported_pm2_app.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { renderText } from '../../src/collect';
import { APP_LABEL, OwnerRecorder } from '../../src/host';
import { ServedDirectories } from '../../src/host/served-directories';
import { compactDirectory } from '../../src/host/compaction';
import type { Logger } from '../../src/logger';
import { writeOwnerRecord } from '../../src/store/owner-record';
import { deadPid } from './compaction-support/workers';
import { makeTempDir, sampleLines, sampleValue, writeCounter, writeGauge } from '../server/support';

describe('host: served directories, each sample credited to its app', () => {
  const warnings: string[] = [];
  const log: Logger = { info: () => undefined, warn: (m) => warnings.push(m), error: (m) => warnings.push(m) };
  const attributed = (): ServedDirectories => new ServedDirectories(log, { recorder: new OwnerRecorder(log) });
  let shared: string;
  let other: string;

  /** A dead process of `app` (none: no record) with a counter in `dir`. */
  function deadWriter(dir: string, index: number, app: string | undefined, name: string, labels: Record<string, string>, value: number): number {
    const pid = deadPid(index);
    writeOwnerRecord(dir, app === undefined ? { pid } : { pid, app });
    writeCounter(dir, pid, name, labels, value);
    return pid;
  }

  beforeEach(() => {
    warnings.length = 0;
    shared = makeTempDir('shared');
    other = makeTempDir('other');
  });

  afterEach(() => {
    for (const dir of [shared, other]) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('labels each file with the app its writer recorded, in a shared directory, one app or many', () => {
    deadWriter(shared, 1, 'api', 'jobs', { kind: 'a' }, 2);
    deadWriter(shared, 2, 'api', 'jobs', { kind: 'a' }, 3);
    const alone = renderText(attributed().collect([{ dir: shared }]));
    assert.equal(sampleValue(alone, 'jobs_total', { kind: 'a', [APP_LABEL]: 'api' }), 5, 'one app: labelled too');

    deadWriter(shared, 3, 'worker', 'jobs', { kind: 'a' }, 10);
    deadWriter(shared, 4, undefined, 'jobs', { kind: 'a' }, 100);
    writeCounter(other, deadPid(5), 'jobs', { kind: 'a' }, 1000);
    const text = renderText(attributed().collect([{ dir: shared }, { dir: other }]));
    assert.equal(sampleValue(text, 'jobs_total', { kind: 'a', [APP_LABEL]: 'api' }), 5);
    assert.equal(sampleValue(text, 'jobs_total', { kind: 'a', [APP_LABEL]: 'worker' }), 10);
    // A record without an app (not run by PM2), and no record at all: no label, summed as one series.
    assert.equal(sampleValue(text, 'jobs_total', { kind: 'a' }), 1100);
    assert.equal(sampleLines(text, 'jobs_total').length, 3, text);
  });

  it('never changes a series because another app starts, stops or is deleted', () => {
    const served = attributed();
    deadWriter(shared, 1, 'api', 'jobs', { kind: 'a' }, 2);
    const before = sampleLines(renderText(served.collect([{ dir: shared }])), 'jobs_total');
    assert.deepEqual(before, ['jobs_total{kind="a",pm2_app="api"} 2']);

    // Another app starts in the same directory, then in a directory of its own.
    const pyPid = deadWriter(shared, 2, 'pyapp', 'py_requests', {}, 7);
    const otherPid = deadWriter(other, 3, 'other', 'jobs', { kind: 'a' }, 9);
    const during = renderText(served.collect([{ dir: shared }, { dir: other }]));
    assert.deepEqual(sampleLines(during, 'jobs_total').filter((line) => line.includes('"api"')), before);
    assert.deepEqual(sampleLines(during, 'py_requests_total'), ['py_requests_total{pm2_app="pyapp"} 7']);

    // It is deleted: its files go (or stay, counting): no label of the first app moves.
    fs.rmSync(path.join(other, `counter_${otherPid}.db`));
    const after = renderText(served.collect([{ dir: shared }]));
    assert.deepEqual(sampleLines(after, 'jobs_total'), before);
    assert.deepEqual(sampleLines(after, 'py_requests_total'), ['py_requests_total{pm2_app="pyapp"} 7']);
    assert.ok(fs.existsSync(path.join(shared, `counter_${pyPid}.db`)));
  });

  it('keeps the label an app set itself as exported_pm2_app, as Prometheus does', () => {
    deadWriter(shared, 1, 'jobs-app', 'jobs', { [APP_LABEL]: 'app-a' }, 5);
    deadWriter(shared, 2, 'jobs-app', 'jobs', { [APP_LABEL]: 'app-b' }, 7);
    deadWriter(shared, 3, 'jobs-app', 'jobs', { [APP_LABEL]: 'app-c', exported_pm2_app: 'x' }, 11);
    const text = renderText(attributed().collect([{ dir: shared }]));
    // Series in the order of the app's own label sets, sorted by the merge.
    assert.deepEqual(sampleLines(text, 'jobs_total'), [
      'jobs_total{exported_pm2_app="x",exported_exported_pm2_app="app-c",pm2_app="jobs-app"} 11',
      'jobs_total{exported_pm2_app="app-a",pm2_app="jobs-app"} 5',
      'jobs_total{exported_pm2_app="app-b",pm2_app="jobs-app"} 7',
    ]);
  });

  it('sums one app\'s series found in two directories instead of exposing it twice', () => {
    deadWriter(shared, 1, 'api', 'jobs', { kind: 'a' }, 2);
    deadWriter(other, 2, 'api', 'jobs', { kind: 'a' }, 3);
    // An unattributed file whose own pm2_app says "api" is the same series to Prometheus.
    deadWriter(other, 3, undefined, 'jobs', { kind: 'a', [APP_LABEL]: 'api' }, 4);
    writeOwnerRecord(shared, { pid: deadPid(4), app: 'api' });
    writeGauge(shared, deadPid(4), 'sum', 'depth', 6);
    writeOwnerRecord(other, { pid: deadPid(5), app: 'api' });
    writeGauge(other, deadPid(5), 'sum', 'depth', 8);
    const text = renderText(attributed().collect([{ dir: shared }, { dir: other }]));
    assert.deepEqual(sampleLines(text, 'jobs_total'), ['jobs_total{kind="a",pm2_app="api"} 9']);
    assert.deepEqual(sampleLines(text, 'depth'), ['depth{pm2_app="api"} 6']);
    assert.match(warnings.join('\n'), /gauge "depth" has a series written in two places .*only the first value is exposed/);
  });

  it('credits the same app after compaction folds the files into per-app archives', () => {
    deadWriter(shared, 1, 'api', 'jobs', { kind: 'a' }, 2);
    deadWriter(shared, 2, 'worker', 'jobs', { kind: 'a' }, 3);
    deadWriter(shared, 3, undefined, 'jobs', { kind: 'a' }, 4);
    const served = attributed();
    const before = renderText(served.collect([{ dir: shared }]));
    assert.deepEqual(compactDirectory(shared).problems, []);
    assert.deepEqual(
      fs.readdirSync(shared).sort(),
      ['counter_archive.db', 'counter_archive@api.db', 'counter_archive@worker.db'],
      'one archive per app, none per dead process, and their records gone',
    );
    assert.equal(renderText(served.collect([{ dir: shared }])), before);
    assert.equal(renderText(attributed().collect([{ dir: shared }])), before, 'a restarted module reads the same');
  });

  it('adds no label without attribution (the cluster helper), even for recorded apps', () => {
    deadWriter(shared, 1, 'api', 'jobs', { kind: 'a' }, 2);
    const text = renderText(new ServedDirectories(log).collect([{ dir: shared }]));
    assert.deepEqual(sampleLines(text, 'jobs_total'), ['jobs_total{kind="a"} 2']);
  });

  it('keeps the first type of a name used with two types, and says so once', () => {
    deadWriter(shared, 1, 'api', 'queue', {}, 1);
    writeOwnerRecord(other, { pid: deadPid(2), app: 'worker' });
    writeGauge(other, deadPid(2), 'all', 'queue_total', 4);
    const served = attributed();
    served.collect([{ dir: shared }, { dir: other }]);
    const text = renderText(served.collect([{ dir: shared }, { dir: other }]));
    assert.equal(sampleValue(text, 'queue_total', { [APP_LABEL]: 'api' }), 1);
    assert.equal(sampleLines(text, 'queue_total').length, 1);
    assert.equal(warnings.filter((w) => w.includes('"queue_total"')).length, 1, warnings.join('\n'));
  });
});

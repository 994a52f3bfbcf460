// markProcessDead removes exactly a dead pid's live gauge files, its threads' included.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { markProcessDead } from '../../src/store';
import { makeTempDir, removeDir, writeDbFile } from '../collect/support/files';

describe('markProcessDead', () => {
  let dir: string;
  beforeEach(() => (dir = makeTempDir()));
  afterEach(() => removeDir(dir));

  it("removes the pid's and its threads' live gauge files, nothing else", () => {
    const names = [
      'gauge_livesum_12.db',
      'gauge_liveall_12.db',
      'gauge_livemax_12-3.db',
      'gauge_livemostrecent_12-14.db',
      'gauge_livemin_12.db',
      'gauge_all_12.db',
      'gauge_sum_12.db',
      'gauge_mostrecent_12.db',
      'counter_12.db',
      'histogram_12-3.db',
      'summary_12.db',
      'gauge_livesum_123.db',
      'gauge_livesum_1.db',
      'gauge_liveall_112.db',
      'gauge_livesum_12.db.tmp',
      'notes_12.txt',
    ];
    for (const name of names) writeDbFile(path.join(dir, name), [{ metric: 'x', value: 1 }]);
    const removed = markProcessDead(12, dir);
    const expectedRemoved = [
      'gauge_livesum_12.db',
      'gauge_liveall_12.db',
      'gauge_livemax_12-3.db',
      'gauge_livemostrecent_12-14.db',
      'gauge_livemin_12.db',
    ];
    assert.deepEqual(removed.map((filePath) => path.basename(filePath)).sort(), [...expectedRemoved].sort());
    assert.deepEqual(fs.readdirSync(dir).sort(), names.filter((name) => !expectedRemoved.includes(name)).sort());
    assert.deepEqual(markProcessDead(12, dir), [], 'a second call finds nothing to do');
  });

  it('refuses something that is not a pid', () => {
    assert.throws(() => markProcessDead(0, dir), /pid must be a positive integer, got 0/);
    assert.throws(() => markProcessDead(1.5, dir), /pid must be a positive integer, got 1.5/);
  });
});

// Scrapes that overlap a compaction running in another process neither lose nor double-count a
// value: the collector notices files moving under it and scrapes again.

import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { DirectoryCollector } from '../../src/collect';
import { makeTempDir, removeDir } from './support/files';
import { samplesOf } from './support/samples';

const FILES = 120;

describe('scrapes during compaction', () => {
  let dir: string;
  let stopChild: () => Promise<unknown> = async () => undefined;
  beforeEach(() => (dir = makeTempDir()));
  afterEach(async () => {
    await stopChild();
    removeDir(dir);
  });

  it('see a total that never goes down nor past what was written, and ends exact', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'children', 'compact-loop.ts'), dir, String(FILES)], {
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    stopChild = () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    };
    let running = true;
    void exited.then(() => (running = false));

    const warnings: string[] = [];
    const collector = new DirectoryCollector(dir, { warn: (message) => warnings.push(message) });
    const total = (): number => samplesOf(collector.collect()).reduce((sum, sample) => sum + (sample.value as number), 0);
    let previous = 0;
    let scrapes = 0;
    let midway = 0;
    while (running) {
      const now = total();
      assert.ok(now >= previous, `scrape ${scrapes}: total went down from ${previous} to ${now} (a value lost)`);
      assert.ok(now <= FILES, `scrape ${scrapes}: total ${now} is past the ${FILES} written (a value counted twice)`);
      previous = now;
      scrapes++;
      if (now > 0 && now < FILES) midway++;
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(await exited, 0);
    assert.equal(total(), FILES);
    assert.ok(midway > 0, `none of ${scrapes} scrapes overlapped the compactions`);
    assert.deepEqual(warnings, []);
  });
});

import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import ts from 'typescript';
import { compactDirectory } from '../../src/host/compaction';
import { parseFileName } from '../../src/store/format';
import { attributedScrape, nextMillisecond, scrape, workerLifetime, writeWorker } from './compaction-support/workers';
import { makeTempDir, removeDir } from '../collect/support/files';

const REPO = path.resolve(__dirname, '..', '..');
const CHILD_SOURCE = path.join(__dirname, 'compaction-support', 'crash-child.ts');

/**
 * Compiles the child and what it imports to plain JavaScript once: a child started through tsx
 * takes seconds on a busy machine, and this test starts one per step.
 */
function compileChild(outDir: string): string {
  const program = ts.createProgram([CHILD_SOURCE], {
    module: ts.ModuleKind.CommonJS,
    target: ts.ScriptTarget.ES2022,
    esModuleInterop: true,
    skipLibCheck: true,
    types: ['node'],
    rootDir: REPO,
    outDir,
  });
  const result = program.emit();
  assert.equal(result.emitSkipped, false, 'the crash child compiles');
  fs.symlinkSync(path.join(REPO, 'node_modules'), path.join(outDir, 'node_modules'));
  return path.join(outDir, path.relative(REPO, CHILD_SOURCE).replace(/\.ts$/, '.js'));
}

/** Runs one compaction of `dir` in a child killed after its `killAt`th step; returns its lines. */
function compactInChild(childScript: string, dir: string, killAt: number): { lines: string[]; signal: NodeJS.Signals | null } {
  const child = spawnSync(process.execPath, [childScript, dir, String(killAt)], { encoding: 'utf8' });
  assert.equal(child.stderr, '', `the child printed nothing on stderr: ${child.stderr}`);
  return { lines: child.stdout.split('\n').filter((line) => line !== ''), signal: child.signal };
}

describe('compaction killed after each of its steps', function () {
  this.timeout(300_000);
  let workDir: string;
  let pristine: string;
  let buildDir: string;
  let childScript: string;

  before(() => {
    buildDir = makeTempDir('pm2-prom-compaction-build-');
    childScript = compileChild(buildDir);
    pristine = makeTempDir('pm2-prom-compaction-pristine-');
    // Live workers (this process's threads), archives from an earlier compaction, and the files
    // of more dead workers since: the compaction under test folds those into the archives, one
    // set per app (the workers of app "api", and those that recorded no app). Exemplar files go
    // through the same steps into their own archives.
    for (let thread = 1; thread <= 2; thread++) writeWorker(pristine, { pid: process.pid, threadId: thread }, 100 + thread, { exemplars: true }).close();
    nextMillisecond();
    const app = (lifetime: number): string | undefined => (lifetime % 2 === 0 ? 'api' : undefined);
    for (let lifetime = 0; lifetime < 3; lifetime++) workerLifetime(pristine, lifetime, { app: app(lifetime), exemplars: true });
    assert.deepEqual(compactDirectory(pristine).problems, []);
    for (let lifetime = 3; lifetime < 5; lifetime++) workerLifetime(pristine, lifetime, { app: app(lifetime), exemplars: true });
  });
  after(() => {
    removeDir(buildDir);
    removeDir(pristine);
  });
  beforeEach(() => {
    workDir = makeTempDir('pm2-prom-compaction-crash-');
    fs.cpSync(pristine, workDir, { recursive: true });
  });
  afterEach(() => removeDir(workDir));

  it('loses no value and counts none twice: scrapes after the kill, after a killed recovery, after the next compaction', () => {
    // Text (with the native histograms) and OpenMetrics: every sample, and the exemplars.
    const scrapeAll = (dir: string): string => `${scrape(dir)}${scrape(dir, 'openmetrics')}`;
    const expected = scrapeAll(pristine);
    assert.match(expected, /# \{traceId="w4-mail"\}/, 'the latest dead worker\'s exemplar is there');
    const expectedByApp = attributedScrape(pristine);
    assert.match(expectedByApp, /pm2_app="api"/);
    const liveFiles = fs.readdirSync(pristine).filter((name) => parseFileName(name)?.pid === process.pid).length;
    const full = compactInChild(childScript, workDir, 0);
    assert.equal(full.signal, null);
    const stepLines = full.lines.slice(0, -1);
    assert.equal(full.lines.at(-1), `done ${stepLines.length}`);
    const seen = new Set(stepLines.map((line) => line.split(' ')[1]));
    assert.deepEqual([...seen].sort(), ['archive-renamed', 'archive-written', 'claim-deleted', 'claimed']);
    assert.deepEqual(
      stepLines.filter((line) => /archive(@\S+)?\.exemplars$/.test(line)).map((line) => line.split(' ').slice(1).join(' ')),
      [
        'archive-renamed counter_archive.exemplars',
        'archive-renamed counter_archive@api.exemplars',
        'archive-renamed histogram_archive.exemplars',
        'archive-renamed histogram_archive@api.exemplars',
      ],
      'the exemplar files go through the same steps',
    );
    assert.equal(scrapeAll(workDir), expected);
    assert.equal(attributedScrape(workDir), expectedByApp);

    for (let killAt = 1; killAt <= stepLines.length; killAt++) {
      const step = stepLines[killAt - 1];
      removeDir(workDir);
      fs.cpSync(pristine, workDir, { recursive: true });
      const killed = compactInChild(childScript, workDir, killAt);
      assert.equal(killed.signal, 'SIGKILL', `killed after step ${step}`);
      // Claimed names hold the inode, which differs in every copy of the directory.
      const withoutInode = (line: string | undefined): string | undefined => line?.replace(/\.i\d+\.(db|sketch|nhdb|exemplars)/g, '.$1');
      assert.equal(withoutInode(killed.lines.at(-1)), withoutInode(step), 'the child ran the same steps as the full run');
      assert.equal(scrapeAll(workDir), expected, `scrape right after a kill after step ${step}`);
      assert.equal(attributedScrape(workDir), expectedByApp, `labelled scrape right after a kill after step ${step}`);

      // The compaction that cleans up after the kill is killed too, after its own first step.
      const recovery = compactInChild(childScript, workDir, 1);
      assert.equal(scrapeAll(workDir), expected, `scrape after killing the recovery (${recovery.lines.join(', ')}) of a kill after ${step}`);
      assert.equal(attributedScrape(workDir), expectedByApp, `labelled scrape after killing the recovery of a kill after ${step}`);

      const next = compactDirectory(workDir);
      assert.deepEqual(next.problems, [], `next compaction after a kill after step ${step}`);
      assert.equal(scrapeAll(workDir), expected, `scrape after the next compaction (killed after step ${step})`);
      assert.equal(attributedScrape(workDir), expectedByApp, `labelled scrape after the next compaction (killed after step ${step})`);
      const left = fs.readdirSync(workDir).sort();
      // The live files, eleven archives for each app (api, and none: a summary's sketches, native
      // histograms and the two types' exemplars have their own), and the live process's owner record.
      assert.equal(left.length, liveFiles + 2 * 11 + 1, `only live files and archives are left (killed after step ${step}): ${left.join(' ')}`);
    }
  });
});

// Property: for random files of live and dead owners (every archived type and gauge mode, keys
// present in some files only, values of any sign, owners of any app or none), a compaction, or
// two with more deaths in between, leaves the merge exactly as it was, each sample credited to
// the same app, and leaves only live files and archives.

import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as fc from 'fast-check';
import { compactDirectory } from '../../src/host/compaction';
import { fileNameFor, parseFileName } from '../../src/store/format';
import type { FileType } from '../../src/store/format';
import type { GaugeMode } from '../../src/store/gauge-modes';
import { attributedScrape, deadPid, scrape } from './compaction-support/workers';
import { writeOwnerRecord } from '../../src/store/owner-record';
import { makeTempDir, removeDir, writeDbFile } from '../collect/support/files';
import type { EntrySpec } from '../collect/support/files';

interface Kind {
  type: FileType;
  mode?: GaugeMode;
  /** The entries a file of this kind may hold (a subset is written). */
  entries: ReadonlyArray<Omit<EntrySpec, 'value' | 'timestamp'>>;
}

const LABELS = ['a', 'b', 'c'];
const KINDS: readonly Kind[] = [
  { type: 'counter', entries: LABELS.map((k) => ({ metric: 'c', sample: 'c_total', labels: { k } })) },
  {
    type: 'histogram',
    entries: [
      ...['0.5', '1.0', '+Inf'].map((le) => ({ metric: 'h', sample: 'h_bucket', labels: { le, k: 'a' } })),
      { metric: 'h', sample: 'h_sum', labels: { k: 'a' } },
    ],
  },
  { type: 'summary', entries: ['s_count', 's_sum'].map((sample) => ({ metric: 's', sample, labels: {} })) },
  ...(['sum', 'min', 'max', 'mostrecent'] as const).map(
    (mode): Kind => ({ type: 'gauge', mode, entries: LABELS.map((k) => ({ metric: `g_${mode}`, labels: { k } })) }),
  ),
];

interface FileSpec {
  /** 0-2: live (this process's threads 1-3); 3-8: dead. */
  owner: number;
  kind: number;
  /** One value (or none, for an entry the file lacks) per entry of the kind. */
  values: Array<number | null>;
  /** Written in a second round, after a first compaction. */
  late: boolean;
}

const fileSpec: fc.Arbitrary<FileSpec> = fc.record({
  owner: fc.integer({ min: 0, max: 8 }),
  kind: fc.integer({ min: 0, max: KINDS.length - 1 }),
  values: fc.array(fc.option(fc.integer({ min: -1000, max: 1000 }), { nil: null }), { minLength: 4, maxLength: 4 }),
  late: fc.boolean(),
});

/** The app each owner's record names (none: a record without one, or no record at all). */
const APPS = ['api', 'worker', 'py app', null, undefined] as const;
const ownerApps = fc.array(fc.constantFrom(...APPS), { minLength: 9, maxLength: 9 });

function ownerOf(index: number): { owner: string; live: boolean } {
  return index < 3 ? { owner: `${process.pid}-${index + 1}`, live: true } : { owner: String(deadPid(index)), live: false };
}

/** Writes the files of one round; mostrecent stamps all differ, so no tie depends on file order. */
function writeFiles(dir: string, specs: readonly FileSpec[], stampBase: number, apps: ReadonlyArray<(typeof APPS)[number]>): void {
  specs.forEach((spec, fileIndex) => {
    const kind = KINDS[spec.kind];
    const { owner, live } = ownerOf(spec.owner);
    const app = apps[spec.owner];
    if (!live && app !== undefined) writeOwnerRecord(dir, app === null ? { pid: deadPid(spec.owner) } : { pid: deadPid(spec.owner), app });
    const entries: EntrySpec[] = [];
    kind.entries.forEach((entry, entryIndex) => {
      const value = spec.values[entryIndex];
      if (value === null) return;
      const counting = kind.type !== 'gauge';
      entries.push({ ...entry, value: counting ? Math.abs(value) : value, timestamp: stampBase + fileIndex * 10 + entryIndex + 1 });
    });
    writeDbFile(path.join(dir, fileNameFor(kind.type, owner, kind.mode)), entries);
  });
}

/**
 * The exposition's lines, sorted: the same series with the same values, byte for byte. Sorted
 * because the merge lists a label set's samples (a summary's `_count` and `_sum`) in the order
 * files first showed them, and compaction changes which file that is.
 */
function sortedScrape(dir: string): string {
  return [scrape(dir), attributedScrape(dir)].map((text) => text.split('\n').sort().join('\n')).join('\n---\n');
}

/** One file per name: the last spec for an owner and kind wins. */
function distinct(specs: readonly FileSpec[]): FileSpec[] {
  const byName = new Map<string, FileSpec>();
  for (const spec of specs) byName.set(`${spec.owner}/${spec.kind}`, spec);
  return [...byName.values()];
}

describe('compaction (property)', function () {
  this.timeout(120_000);

  it('leaves the merge exactly as it was, over one or two compactions', () => {
    fc.assert(
      fc.property(fc.array(fileSpec, { minLength: 1, maxLength: 14 }), ownerApps, (specs, apps) => {
        const dir = makeTempDir('pm2-prom-compaction-property-');
        try {
          const early = distinct(specs.filter((spec) => !spec.late));
          // A late file of an owner that had an early one is a reused pid's new file.
          const late = distinct(specs.filter((spec) => spec.late));
          writeFiles(dir, early, 1_000, apps);
          const before = sortedScrape(dir);
          assert.deepEqual(compactDirectory(dir).problems, []);
          assert.equal(sortedScrape(dir), before, 'after the first compaction');

          const lateDead = late.filter((spec) => !ownerOf(spec.owner).live);
          writeFiles(dir, lateDead, 10_000, apps);
          const beforeSecond = sortedScrape(dir);
          assert.deepEqual(compactDirectory(dir).problems, []);
          assert.equal(sortedScrape(dir), beforeSecond, 'after the second compaction');
          for (const name of fs.readdirSync(dir).filter((file) => file.endsWith('.db'))) {
            const parsed = parseFileName(name);
            assert.ok(parsed?.archive === true || parsed?.pid === process.pid, `${name} is a live file or an archive`);
          }
        } finally {
          removeDir(dir);
        }
      }),
      { numRuns: 60 },
    );
  });
});

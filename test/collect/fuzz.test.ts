// Property: whatever bytes a *.db file holds (a valid file with random bytes overwritten, cut
// short, a random used, or a crafted entry with any names and labels), a collect never throws,
// keeps every other file's samples, and renders text in which every line is a comment or a
// well-formed sample; every distinct text rendering is then checked by promtool.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { DirectoryCollector, renderOpenMetrics, renderText } from '../../src/collect';
import { VICTIM, damage, damagedVictim } from './support/damage';
import { makeTempDir, removeDir, writeDbFile } from './support/files';
import { PROMTOOL_MISSING, assertPromtoolAccepts, promtoolAvailable } from './support/promtool';
import { assertSameSamples, parseExposition, samplesOf } from './support/samples';

const GOOD = [{ metric: 'jobs', sample: 'jobs_total', labels: { queue: 'a' }, value: 7 }];

describe('collector against arbitrary file contents (fast-check)', () => {
  let dir: string;
  before(() => {
    dir = makeTempDir('pm2-prom-fuzz-');
    writeDbFile(path.join(dir, 'counter_1.db'), GOOD);
  });
  after(() => removeDir(dir));
  /** Every distinct text rendering the property produced, for promtool. */
  const texts = new Set<string>();

  it('never throws, keeps the good file, renders only well-formed lines', () => {
    const victimPath = path.join(dir, 'counter_2.db');
    fc.assert(
      fc.property(fc.array(damage, { minLength: 1, maxLength: 4 }), fc.boolean(), (damages, warm) => {
        const data = damagedVictim(damages);
        const collector = new DirectoryCollector(dir, { warn: () => undefined });
        if (warm) {
          fs.writeFileSync(victimPath, VICTIM);
          collector.collect();
        }
        fs.writeFileSync(victimPath, data);
        const families = collector.collect();
        // Forged entries may add series to the good file's family (with value 0), never change its own.
        const jobs = samplesOf(families).filter((sample) => sample.name === 'jobs_total' && sample.labels.queue === 'a');
        assertSameSamples(jobs, [{ name: 'jobs_total', labels: { queue: 'a' }, value: 7 }], 'the good file');
        const text = renderText(families);
        for (const rendering of [text, renderOpenMetrics(families)]) {
          assert.doesNotThrow(() => parseExposition(rendering));
        }
        texts.add(text);
      }),
      { numRuns: 400 },
    );
  });

  it('renders only text that promtool accepts', function () {
    if (!promtoolAvailable()) {
      console.log(`      (${PROMTOOL_MISSING})`);
      this.skip();
    }
    // Lint findings are allowed: crafted names may be as odd as their data; a parse error is not.
    for (const text of texts) assertPromtoolAccepts(text, [/./]);
  });
});

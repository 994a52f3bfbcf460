// Property: whatever bytes a *.db or *.nhdb file holds (a valid file with random bytes
// overwritten, cut short, a random used, or a crafted entry with any names and labels), a collect
// never throws, keeps every other file's samples, and renders text in which every line is a
// comment or a well-formed sample (every distinct text rendering is then checked by promtool), and
// protobuf in which every native histogram is one Prometheus accepts.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { DirectoryCollector, renderOpenMetrics, renderProtobuf, renderText } from '../../src/collect';
import { decodeFamilies, nativeOf } from '../support/protobuf';
import { VICTIM, damage, damaged, damagedVictim, nativeFileBytes } from './support/damage';
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

  it('never throws on a damaged native histogram file, keeps the good one, and exposes only valid native histograms', () => {
    fs.writeFileSync(path.join(dir, 'histogram_1.nhdb'), nativeFileBytes(1, 'good_seconds'));
    const victim = nativeFileBytes(2, 'victim_seconds').subarray(0, 4096);
    const victimPath = path.join(dir, 'histogram_2.nhdb');
    const goodState = (families: ReturnType<DirectoryCollector['collect']>): unknown =>
      decodeFamilies(renderProtobuf(families)).find((family) => family.name === 'good_seconds');
    const expected = goodState(new DirectoryCollector(dir, { warn: () => undefined }).collect());
    fc.assert(
      fc.property(fc.array(damage, { minLength: 1, maxLength: 4 }), fc.boolean(), (damages, warm) => {
        const collector = new DirectoryCollector(dir, { warn: () => undefined });
        if (warm) {
          fs.writeFileSync(victimPath, victim);
          collector.collect();
        }
        fs.writeFileSync(victimPath, damaged(victim, damages));
        const families = collector.collect();
        assert.deepEqual(goodState(families), expected, 'the good file');
        for (const family of decodeFamilies(renderProtobuf(families))) {
          for (const metric of family.metric) if (metric.histogram !== undefined) nativeOf(metric.histogram);
        }
        assert.doesNotThrow(() => parseExposition(renderText(families)));
      }),
      { numRuns: 400 },
    );
    fs.rmSync(victimPath);
    fs.rmSync(path.join(dir, 'histogram_1.nhdb'));
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

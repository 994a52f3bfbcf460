// Property: whatever bytes a *.db file holds (a valid file with random bytes overwritten, cut
// short, or a random used), a collect never throws, keeps every other file's samples, and
// renders text in which every line is a comment or a well-formed sample.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as fc from 'fast-check';
import { DirectoryCollector, renderOpenMetrics, renderText } from '../../src/collect';
import { fileBytes, makeTempDir, removeDir, writeDbFile } from './support/files';
import { assertSameSamples, parseExposition, samplesOf } from './support/samples';

const GOOD = [{ metric: 'jobs', sample: 'jobs_total', labels: { queue: 'a' }, value: 7 }];
const VICTIM = fileBytes([
  { metric: 'other_jobs', sample: 'other_jobs_total', labels: { q: 'x"y' }, value: 1 },
  { metric: 'temperature', labels: { room: 'ü' }, value: -2.5, timestamp: 1700000000 },
  { metric: 'wait_seconds', sample: 'wait_seconds_bucket', labels: { le: '+Inf' }, value: 3 },
]).subarray(0, 4096);

const damage = fc.oneof(
  fc.record({ kind: fc.constant('overwrite' as const), at: fc.nat(600), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('cut' as const), length: fc.nat(600) }),
  fc.record({ kind: fc.constant('used' as const), used: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) }),
);

describe('collector against arbitrary file contents (fast-check)', () => {
  let dir: string;
  before(() => {
    dir = makeTempDir('pm2-prom-fuzz-');
    writeDbFile(path.join(dir, 'counter_1.db'), GOOD);
  });
  after(() => removeDir(dir));

  it('never throws, keeps the good file, renders only well-formed lines', () => {
    const victimPath = path.join(dir, 'counter_2.db');
    fc.assert(
      fc.property(fc.array(damage, { minLength: 1, maxLength: 4 }), fc.boolean(), (damages, warm) => {
        const bytes = Buffer.from(VICTIM);
        let data: Buffer = bytes;
        for (const change of damages) {
          if (change.kind === 'overwrite') {
            if (data.length > 0) Buffer.from(change.bytes).copy(data, Math.min(change.at, data.length - 1));
          }
          else if (change.kind === 'cut') data = data.subarray(0, change.length);
          else if (data.length >= 4) data.writeInt32LE(change.used, 0);
        }
        const collector = new DirectoryCollector(dir, { warn: () => undefined });
        if (warm) {
          fs.writeFileSync(victimPath, VICTIM);
          collector.collect();
        }
        fs.writeFileSync(victimPath, data);
        const families = collector.collect();
        const jobs = samplesOf(families).filter((sample) => sample.name === 'jobs_total');
        assertSameSamples(jobs, [{ name: 'jobs_total', labels: { queue: 'a' }, value: 7 }], 'the good file');
        for (const text of [renderText(families), renderOpenMetrics(families)]) {
          assert.doesNotThrow(() => parseExposition(text));
        }
      }),
      { numRuns: 400 },
    );
  });
});

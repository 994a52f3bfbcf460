// The collector against files written by Python's real client, compared with what Python's own
// MultiProcessCollector made of them (test/fixtures/python).

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DirectoryCollector, renderOpenMetrics, renderText } from '../../src/collect';
import { runCli } from './support/cli';
import { PROMTOOL_MISSING, assertPromtoolAccepts, promtoolAvailable } from './support/promtool';
import { assertSameSamples, parseExposition, pythonExpectedSamples, samplesOf } from './support/samples';
import type { PlainSample } from './support/samples';
import { PYTHON_FIXTURES } from '../support/fixtures';

const FIXTURES = PYTHON_FIXTURES;
const CURRENT = path.join(FIXTURES, 'python-current');
const LEGACY = path.join(FIXTURES, 'python-0.16');
// Python's fixture names its sum-mode gauge g_sum; promtool's linter dislikes the suffix.
const FIXTURE_LINT = [/^g_sum non-histogram and non-summary metrics should not have "_sum" suffix$/];

describe('files written by Python prometheus_client (current layout)', () => {
  it('merge to exactly the samples Python merged', () => {
    const warnings: string[] = [];
    const collector = new DirectoryCollector(path.join(CURRENT, 'db'), { warn: (message) => warnings.push(message) });
    assertSameSamples(samplesOf(collector.collect()), pythonExpectedSamples(CURRENT), 'python-current');
    assert.deepEqual(warnings, []);
    assert.equal(collector.stats.filesRead, fs.readdirSync(path.join(CURRENT, 'db')).length);
    assert.equal(collector.stats.corruptFiles, 0);
  });

  it('merge to the same samples on a warm collect', () => {
    const collector = new DirectoryCollector(path.join(CURRENT, 'db'));
    const cold = samplesOf(collector.collect());
    assertSameSamples(samplesOf(collector.collect()), cold, 'warm vs cold');
    assertSameSamples(samplesOf(collector.collect()), pythonExpectedSamples(CURRENT), 'third collect');
  });

  it('`collect DIR --json` (the CLI, a real child process) prints the samples Python merged', () => {
    const result = runCli(['collect', path.join(CURRENT, 'db'), '--json']);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stderr, '');
    assertSameSamples(JSON.parse(result.stdout) as PlainSample[], pythonExpectedSamples(CURRENT), 'CLI --json');
  });

  it('render as text that promtool accepts, with the samples of Python expected.prom', function () {
    const text = renderText(new DirectoryCollector(path.join(CURRENT, 'db')).collect());
    assertSameSamples(parseExposition(text), parseExposition(fs.readFileSync(path.join(CURRENT, 'expected.prom'), 'utf8')), 'text');
    for (const family of ['requests_total', 'plain_events_total']) assert.match(text, new RegExp(`^# TYPE ${family} counter$`, 'm'));
    if (!promtoolAvailable()) {
      console.log(`      (${PROMTOOL_MISSING})`);
      this.skip();
    }
    assertPromtoolAccepts(text, FIXTURE_LINT);
  });

  it('render as OpenMetrics with the samples and family names of Python expected.openmetrics', () => {
    const text = renderOpenMetrics(new DirectoryCollector(path.join(CURRENT, 'db')).collect());
    const expected = fs.readFileSync(path.join(CURRENT, 'expected.openmetrics'), 'utf8');
    assertSameSamples(parseExposition(text), parseExposition(expected), 'OpenMetrics');
    const typeLines = (exposition: string): string[] => exposition.split('\n').filter((line) => line.startsWith('# TYPE')).sort();
    assert.deepEqual(typeLines(text), typeLines(expected));
    assert.ok(text.endsWith('\n# EOF\n'));
  });
});

describe('files written by Python prometheus_client 0.16 (8-byte values, no timestamps)', () => {
  it('are refused with a clear message, never misread', () => {
    const warnings: string[] = [];
    const collector = new DirectoryCollector(path.join(LEGACY, 'db'), { warn: (message) => warnings.push(message) });
    assert.deepEqual(collector.collect(), []);
    const fileCount = fs.readdirSync(path.join(LEGACY, 'db')).length;
    assert.equal(collector.stats.corruptFiles, fileCount);
    assert.equal(warnings.length, fileCount);
    for (const warning of warnings) assert.match(warning, /written by prometheus_client 0\.16 or older.*upgrade the Python client/);
    collector.collect();
    assert.equal(warnings.length, fileCount, 'warned once per file, not once per scrape');
  });

  it('are refused by the CLI, which says why on stderr', () => {
    const result = runCli(['collect', path.join(LEGACY, 'db'), '--json']);
    assert.equal(result.status, 0);
    assert.deepEqual(JSON.parse(result.stdout), []);
    assert.match(result.stderr, /counter_101\.db: it was written by prometheus_client 0\.16 or older/);
    const inspect = runCli(['inspect', path.join(LEGACY, 'db', 'counter_101.db')]);
    assert.equal(inspect.status, 1);
    assert.match(inspect.stderr, /was written by prometheus_client 0\.16 or older/);
  });
});

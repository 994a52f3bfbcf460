// Concurrency torture: eight writer processes add label sets and update them at full speed while
// the collector scrapes in a loop. Every scrape must parse, counters must never go down, sampled
// scrapes must pass promtool, and the last scrape must hold exactly what the writers wrote. Native
// histograms, lowering their schema all run long, must decode valid in every protobuf scrape and
// never read as a reset to Prometheus.
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { DirectoryCollector, renderProtobuf, renderText } from '../../src/collect';
import { assertNoReset } from '../support/native-reference';
import type { PlainNative } from '../support/native-reference';
import { decodeFamilies, labelsOf, nativeOf } from '../support/protobuf';
import {
  envNumber,
  familyTypeOf,
  makeTempDir,
  parseTextExposition,
  promtoolComplaints,
  removeDir,
  startChild,
  sumSamples,
  type Child,
  type ParsedExposition,
} from './support';

const WRITERS = 8;
const SECONDS = envNumber('RELIABILITY_TORTURE_SECONDS', 20);
const MAX_SERIES_PER_WRITER = 1000;
/**
 * Scrapes kept (spread over the run) for promtool, which is too slow to check every scrape while
 * eight writers hold the CPU; they are checked once the writers are done.
 */
const PROMTOOL_CHECKS = 40;

interface WriterReport {
  writer: string;
  operations: number;
  observedSum: number;
  latencySum: number;
  series: number;
}

/** Each writer's native latency histogram in a protobuf scrape, checked valid as Prometheus checks it. */
function nativeLatencies(families: ReturnType<DirectoryCollector['collect']>): Map<string, PlainNative> {
  const family = decodeFamilies(renderProtobuf(families)).find((candidate) => candidate.name === 'torture_latency_seconds');
  const result = new Map<string, PlainNative>();
  for (const metric of family?.metric ?? []) {
    assert.ok(metric.histogram !== undefined);
    result.set(labelsOf(metric).writer, nativeOf(metric.histogram));
  }
  return result;
}

function isWriterReport(message: unknown): message is WriterReport {
  return typeof message === 'object' && message !== null && 'operations' in message;
}

/** Series of counters and histograms: none may ever go down between two scrapes. */
function monotonicSeries(parsed: ParsedExposition): Map<string, number> {
  const series = new Map<string, number>();
  for (const [key, value] of parsed.samples) {
    const name = key.split('{')[0];
    const type = familyTypeOf(name, parsed.types);
    if ((type === 'counter' || type === 'histogram') && name.startsWith('torture_')) series.set(key, value);
  }
  return series;
}

describe('reliability: concurrency torture', function () {
  this.timeout((SECONDS + 120) * 1000);
  let dir: string;
  let writers: Child[] = [];

  beforeEach(() => (dir = makeTempDir('torture')));
  afterEach(() => {
    for (const writer of writers) if (writer.process.exitCode === null) writer.process.kill('SIGKILL');
    writers = [];
    removeDir(dir);
  });

  it(`keeps ${WRITERS} growing writers and a scrape loop consistent for ${SECONDS} s`, async () => {
    const warnings: string[] = [];
    const collector = new DirectoryCollector(dir, { warn: (message) => warnings.push(message) });
    // Half the writers use the native mmap backend, half the pwrite fallback: both are torn at.
    writers = Array.from({ length: WRITERS }, (_, index) =>
      startChild('torture-writer.ts', [`w${index}`, String(SECONDS), String(MAX_SERIES_PER_WRITER)], {
        env: { PROMETHEUS_MULTIPROC_DIR: dir, PM2_PROM_MULTIPROC_BACKEND: index % 2 === 0 ? 'native' : 'pwrite' },
      }),
    );
    let running = WRITERS;
    const exits = writers.map((writer) => writer.ended.then((end) => ((running -= 1), end)));

    let previous = new Map<string, number>();
    let previousNative = new Map<string, PlainNative>();
    const schemasSeen = new Set<number>();
    let scrapes = 0;
    let maxSeriesSeen = 0;
    const kept: string[] = [];
    let lastKept = 0;
    while (running > 0) {
      const families = collector.collect();
      const text = renderText(families);
      const parsed = parseTextExposition(text);
      const native = nativeLatencies(families);
      for (const [writer, before] of previousNative) {
        const now = native.get(writer);
        assert.ok(now !== undefined, `scrape ${scrapes}: the native histogram of ${writer} disappeared`);
        assertNoReset(before, now, `scrape ${scrapes}, ${writer}`);
        schemasSeen.add(now.schema);
      }
      previousNative = native;
      const current = monotonicSeries(parsed);
      for (const [series, before] of previous) {
        const now = current.get(series);
        assert.ok(now !== undefined, `scrape ${scrapes}: series ${series} disappeared`);
        assert.ok(now >= before, `scrape ${scrapes}: ${series} went down from ${before} to ${now}`);
      }
      previous = current;
      maxSeriesSeen = Math.max(maxSeriesSeen, current.size);
      if (current.size > 0) {
        scrapes++;
        // Spaced in time, and more often than needed, since a scrape under this load is slow.
        if (Date.now() - lastKept >= (SECONDS * 1000) / (PROMTOOL_CHECKS * 1.5) && kept.length < PROMTOOL_CHECKS) {
          kept.push(text);
          lastKept = Date.now();
        }
      }
      await nextTurn();
    }

    for (const [index, end] of (await Promise.all(exits)).entries()) {
      assert.equal(end.code, 0, `writer ${index} failed:\n${writers[index].stderr()}`);
    }
    const finalFamilies = collector.collect();
    const finalText = renderText(finalFamilies);
    const final = parseTextExposition(finalText);
    const finalNative = nativeLatencies(finalFamilies);
    kept.push(finalText);
    for (const writer of writers) {
      const report = writer.messages.find(isWriterReport);
      assert.ok(report !== undefined, `a writer printed no totals:\n${writer.stderr()}`);
      const labels = { writer: report.writer };
      assert.equal(sumSamples(final, 'torture_operations_total', labels), report.operations, `operations of ${report.writer}`);
      assert.equal(sumSamples(final, 'torture_size_count', labels), report.operations, `observations of ${report.writer}`);
      assert.equal(sumSamples(final, 'torture_size_sum', labels), report.observedSum, `observed sum of ${report.writer}`);
      assert.equal(
        sumSamples(final, 'torture_size_bucket', { ...labels, le: '+Inf' }),
        report.operations,
        `+Inf buckets of ${report.writer}`,
      );
      assert.equal(finalNative.get(report.writer)?.count, report.operations, `native count of ${report.writer}`);
      assert.equal(finalNative.get(report.writer)?.sum, report.latencySum, `native sum of ${report.writer}`);
    }
    assert.ok(schemasSeen.size >= 3, `the native schemas went down under the scrape loop (seen: ${[...schemasSeen].join(', ')})`);

    const complaints: string[] = [];
    for (const text of kept) complaints.push(await promtoolComplaints(text));
    assert.deepEqual(complaints.filter((complaint) => complaint !== ''), [], 'promtool rejected scrapes');
    assert.deepEqual(warnings, [], 'the collector warned about files written by the library');
    // Dozens of scrapes at the least: a loop that barely ran would prove nothing.
    assert.ok(kept.length >= 24, `only ${kept.length} scrapes were kept for promtool (${scrapes} ran)`);
    console.log(
      `      torture: ${scrapes} scrapes with data, ${kept.length} checked by promtool, ` +
        `up to ${maxSeriesSeen} monotonic series, ${writers.map((writer) => writer.messages.find(isWriterReport)?.operations).join('+')} operations`,
    );
  });
});

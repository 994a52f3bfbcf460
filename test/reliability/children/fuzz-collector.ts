// Child (run with --expose-gc): mutates metric files ITERATIONS times beside steady files written by
// the real store, collecting, rendering and parsing after each mutation with one long-lived
// collector. Prints progress lines, then one summary: exceptions that escaped (or expositions that
// did not parse), steady samples that changed, heap and RSS after garbage collection at the
// warm-up point and at the end. Sampled expositions are written to OUT_DIR for promtool.
// argv: DIR OUT_DIR ITERATIONS SEED
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { DirectoryCollector, renderOpenMetrics, renderText, type MetricFamily } from '../../../src/collect';
import { HEADER_BYTES, encodeKey, keyPadding, parseEntries } from '../../../src/store/format';
import { ProcessStore } from '../../../src/store';
import { parseTextExposition } from '../support';

const [dir, outDir, iterationsText, seedText] = process.argv.slice(2);
const iterations = Number(iterationsText);
const WARM_UP = Math.min(1000, Math.floor(iterations / 10));
const PROMTOOL_SAMPLES = 25;
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with --expose-gc');

let state = Number(seedText) >>> 0 || 1;
function random(limit: number): number {
  state ^= state << 13;
  state ^= state >>> 17;
  state ^= state << 5;
  return (state >>> 0) % limit;
}
function randomBytes(length: number): Buffer {
  const bytes = Buffer.alloc(length);
  for (let i = 0; i < length; i++) bytes[i] = random(256);
  return bytes;
}
function pick<T>(items: readonly T[]): T {
  return items[random(items.length)];
}

// Steady files: several pids and types, written by the real store, never touched again.
for (const pid of [101, 102, 103]) {
  const store = new ProcessStore(dir, { pid, threadId: 0, backend: 'pwrite' });
  const counter = store.file('counter');
  counter.add(counter.slotOf(encodeKey('steady_requests', 'steady_requests_total', { route: '/a' }, 'Requests.')), pid);
  const histogram = store.file('histogram');
  for (const le of ['0.1', '1.0', '+Inf']) {
    histogram.add(histogram.slotOf(encodeKey('steady_latency', 'steady_latency_bucket', { le }, 'Latency.')), 1);
  }
  histogram.add(histogram.slotOf(encodeKey('steady_latency', 'steady_latency_sum', {}, 'Latency.')), 0.5);
  const gauge = store.file('gauge', 'liveall');
  gauge.set(gauge.slotOf(encodeKey('steady_connections', 'steady_connections', {}, 'Connections.')), pid * 2);
  store.close();
}

// The victim's template: a well-formed file of every type's shape, under other names.
const templateDir = fs.mkdtempSync(path.join(outDir, 'template-'));
const templateStore = new ProcessStore(templateDir, { pid: 9, threadId: 0, backend: 'pwrite' });
const templateFile = templateStore.file('counter');
for (let i = 0; i < 40; i++) {
  const key =
    i % 3 === 0
      ? encodeKey('fuzzed_jobs', 'fuzzed_jobs_total', { n: String(i) }, 'Jobs.')
      : i % 3 === 1
        ? encodeKey('fuzzed_wait', 'fuzzed_wait_bucket', { le: pick(['0.5', '+Inf']), n: String(i) }, 'Wait.')
        : encodeKey('fuzzed_level', 'fuzzed_level', { n: String(i), text: 'a"b\\c\nd é' }, 'Level.');
  templateFile.add(templateFile.slotOf(key), i * 1.5);
}
const template = fs.readFileSync(templateFile.path);
templateStore.close();
const templateUsed = template.readInt32LE(0);
const templateEntries = parseEntries(template, HEADER_BYTES, templateUsed).entries;
const templatePath = path.join(templateDir, 'template.db');
fs.writeFileSync(templatePath, template);

const TYPES = ['counter', 'histogram', 'summary', 'gauge_all', 'gauge_liveall', 'gauge_max', 'gauge_livemostrecent', 'gauge_min'];
const ODD_NAMES = [
  'counter_.db',
  'counter_-1.db',
  'counter_0.db',
  'counter_99999999999999999999999.db',
  'gauge_live_1.db',
  'gauge_bogus_1.db',
  'histogram_1-2-3.db',
  '.db',
  '..db',
  'counter_1.db.db',
  'COUNTER_1.db',
  'counter_1 .db',
  'summary_1-.db',
];

/** A victim file name; `garbage` names may hold any byte a file name can. */
function victimName(): string {
  const roll = random(10);
  if (roll === 0) return pick(ODD_NAMES);
  if (roll === 1) {
    const garbage = randomBytes(1 + random(40)).toString('latin1').replace(/[/\0]/g, '_');
    return `${garbage}.db`;
  }
  return `${pick(TYPES)}_${700 + random(5)}.db`;
}

function mutatedBytes(kind: number): Buffer {
  const bytes = Buffer.from(template);
  const entry = pick(templateEntries);
  const keyBytes = Buffer.byteLength(entry.key);
  const keyLengthAt = entry.valueOffset - keyPadding(keyBytes) - keyBytes - 4;
  switch (kind) {
    case 0: {
      // Bit flips anywhere in the used part.
      for (let flips = 1 + random(16); flips > 0; flips--) {
        const at = random(templateUsed + 16);
        bytes[at] ^= 1 << random(8);
      }
      return bytes;
    }
    case 1:
      return bytes.subarray(0, random(templateUsed + 32));
    case 2: {
      // Huge or nonsense lengths: in a key's length field or in the header.
      const huge = pick([0x7fffffff, -1, -8, templateUsed, 0x40000000, 0x7ffffff8, bytes.length, 0]);
      if (random(2) === 0) bytes.writeInt32LE(huge, 0);
      else bytes.writeInt32LE(huge, keyLengthAt);
      return bytes;
    }
    case 3: {
      // Garbage key bytes (invalid UTF-8, broken JSON) with the length field intact.
      randomBytes(1 + random(keyBytes)).copy(bytes, keyLengthAt + 4 + random(keyBytes));
      return bytes;
    }
    case 4: {
      // Non-finite and extreme values.
      bytes.writeDoubleLE(pick([NaN, Infinity, -Infinity, -1e308, 5e-324, -0]), entry.valueOffset);
      bytes.writeDoubleLE(pick([NaN, Infinity, -1, 1e300]), entry.valueOffset + 8);
      return bytes;
    }
    default:
      // Random bytes under a plausible header.
      return Buffer.concat([Buffer.from([8 + 8 * random(64), 0, 0, 0, 0, 0, 0, 0]), randomBytes(random(600))]);
  }
}

/** Puts one hostile thing in the directory; returns its name and what it was. */
function plant(): { name: string; what: string } {
  const name = victimName();
  const target = path.join(dir, name);
  // An earlier victim may hold the name (writing into a FIFO left there would block this fuzzer).
  fs.rmSync(target, { recursive: true, force: true });
  const roll = random(100);
  if (roll < 55) {
    const kind = random(6);
    fs.writeFileSync(target, mutatedBytes(kind));
    return { name, what: `mutation ${kind}` };
  }
  if (roll < 62) {
    fs.writeFileSync(target, '');
    return { name, what: 'zero-length file' };
  }
  if (roll < 70) {
    fs.mkdirSync(target);
    if (random(2) === 0) fs.writeFileSync(path.join(target, 'counter_1.db'), template);
    return { name, what: 'directory' };
  }
  if (roll < 85) {
    // Symlinks to a good file elsewhere, to a steady file (following it would double its counts),
    // to a device, to nothing, to the directory itself.
    const linkTarget = pick([templatePath, path.join(dir, 'counter_101.db'), '/dev/zero', '/nonexistent/x.db', dir, '/proc/self/mem']);
    fs.symlinkSync(linkTarget, target);
    return { name, what: `symlink to ${linkTarget}` };
  }
  if (roll < 87) {
    const made = spawnSync('mkfifo', [target]);
    if (made.status !== 0) throw new Error('mkfifo failed');
    return { name, what: 'FIFO' };
  }
  if (roll < 88) {
    // A sparse file that claims to be all in use.
    fs.writeFileSync(target, '');
    const size = pick([1 << 20, 16 << 20, (1 << 30) + 8]);
    fs.truncateSync(target, size);
    const fd = fs.openSync(target, 'r+');
    const header = Buffer.alloc(8);
    header.writeInt32LE(Math.min(size, 0x7ffffff8), 0);
    fs.writeSync(fd, header, 0, 8, 0);
    fs.closeSync(fd);
    return { name, what: `sparse file of ${size} bytes` };
  }
  // A well-formed file, rewritten in place again and again (the warm cache must notice).
  fs.writeFileSync(target, random(2) === 0 ? template : mutatedBytes(random(6)));
  return { name, what: 'rewrite' };
}

function steadyText(families: MetricFamily[]): string {
  return families
    .filter((family) => family.name.startsWith('steady_'))
    .flatMap((family) => family.samples.map((sample) => `${sample.name}${JSON.stringify(sample.labels)} ${sample.value}`))
    .sort()
    .join('\n');
}

const collector = new DirectoryCollector(dir, { warn: () => undefined });
const baseline = steadyText(collector.collect());
const escapes: string[] = [];
const steadyChanges: string[] = [];
const kinds = new Map<string, number>();
let planted: string[] = [];
let warm = { heapUsed: 0, arrayBuffers: 0, rss: 0 };

for (let iteration = 0; iteration < iterations; iteration++) {
  // Victims pile up for a while (up to 20 at once), then the directory is cleared of them.
  if (planted.length >= 1 + random(20)) {
    for (const name of planted) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
    planted = [];
  }
  const { name, what } = plant();
  planted.push(name);
  const kind = what.replace(/ to .*| of .*/, '');
  kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
  try {
    const families = collector.collect();
    const text = renderText(families);
    renderOpenMetrics(families);
    // Every exposition must parse (promtool checks a sample of them, this parser all of them).
    parseTextExposition(text);
    const steady = steadyText(families);
    if (steady !== baseline && steadyChanges.length < 5) steadyChanges.push(`iteration ${iteration} (${what}, ${JSON.stringify(name)}):\n${steady}`);
    if (iteration % Math.max(1, Math.floor(iterations / PROMTOOL_SAMPLES)) === 0) {
      fs.writeFileSync(path.join(outDir, `exposition-${iteration}.txt`), text);
    }
  } catch (error) {
    if (escapes.length < 5) escapes.push(`iteration ${iteration} (${what}, ${JSON.stringify(name)}): ${(error as Error).stack ?? String(error)}`);
  }
  if (iteration === WARM_UP) {
    gc();
    warm = { ...process.memoryUsage() };
  }
  if (iteration % 500 === 0) process.stdout.write(`${JSON.stringify({ iteration, what })}\n`);
}
for (const name of planted) fs.rmSync(path.join(dir, name), { recursive: true, force: true });
if (steadyText(collector.collect()) !== baseline) steadyChanges.push('after the last victims were removed');
// Array buffers are swept after the collection that found them dead: give the sweeper a moment.
gc();
setTimeout(() => {
  gc();
  const end = process.memoryUsage();
  process.stdout.write(
    `${JSON.stringify({
      done: iterations,
      escapes,
      steadyChanges,
      kinds: Object.fromEntries(kinds),
      warm: { heapUsed: warm.heapUsed, arrayBuffers: warm.arrayBuffers, rss: warm.rss },
      end: { heapUsed: end.heapUsed, arrayBuffers: end.arrayBuffers, rss: end.rss },
      trackedSeries: collector.stats.trackedSeries,
    })}\n`,
  );
});

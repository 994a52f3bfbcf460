// The `pm2-prom-multiproc` command: look at a metrics directory or one file from a shell.

import * as fs from 'node:fs';
import { DirectoryCollector, checkedKey, renderOpenMetrics, renderProtobuf, renderText, resolveNativeKey } from './collect';
import { compactDirectory } from './host';
import { hashBasicAuthSetting } from './server';
import { NATIVE_HISTOGRAM_EXTENSION, SketchFileReader, entryKey, markProcessDead, readMetricFile } from './store';

const USAGE = `Usage: pm2-prom-multiproc <command> [arguments]

Commands:
  collect DIR                 merge every *.db file of DIR, print Prometheus text format 0.0.4
  collect DIR --openmetrics   the same as OpenMetrics 1.0
  collect DIR --protobuf      the same as Prometheus protobuf (delimited MetricFamily
                              messages, native histograms included), binary on stdout
  collect DIR --json          the same as a JSON array of {name, labels, value}
                              (non-finite values as the strings "+Inf", "-Inf", "NaN")
  inspect FILE.db|FILE.nhdb   dump one file's entries: offsets, value, timestamp, key;
                              exits 1 when the file is corrupt (the problems are listed)
  inspect FILE.sketch         dump a summary sketch file's records and their windows that
                              count now or later: validity, observations, min, max
  mark-dead DIR PID           remove PID's live gauge files (gauge_live*_PID.db and its
                              threads' gauge_live*_PID-N.db), as when that process exits
  compact DIR                 fold the files of dead pids into one archive per type (and
                              gauge mode), remove their live gauges; live pids untouched
  compact DIR --drop-all-gauges
                              the same, and remove dead pids' \`all\` gauges too
  hash-password USER          read a password on stdin, print the basic_auth_hash setting
                              (pm2 set pm2-prom-multiproc:basic_auth_hash "$(...)")
  --help                      this text

Warnings about unreadable files go to stderr; the merge goes on without them. collect exits 1
when the directory itself cannot be listed.
`;

class UsageError extends Error {}

const COLLECT_FORMATS = ['--json', '--openmetrics', '--protobuf'];

/** Runs one command; returns the exit code. Output goes to process.stdout / process.stderr. */
export function main(args: readonly string[]): number {
  try {
    return run(args);
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`pm2-prom-multiproc: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    process.stderr.write(`pm2-prom-multiproc: ${(error as Error).message}\n`);
    return 1;
  }
}

function run(args: readonly string[]): number {
  const [command, ...rest] = args;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 2 : 0;
  }
  switch (command) {
    case 'collect':
      return collect(rest);
    case 'inspect':
      return inspect(rest);
    case 'mark-dead':
      return markDead(rest);
    case 'compact':
      return compact(rest);
    case 'hash-password':
      return hashPassword(rest);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

function collect(args: readonly string[]): number {
  const flags = args.filter((arg) => arg.startsWith('--'));
  const positional = args.filter((arg) => !arg.startsWith('--'));
  if (positional.length !== 1) throw new UsageError('collect takes one directory');
  const unknown = flags.filter((flag) => !COLLECT_FORMATS.includes(flag));
  if (unknown.length > 0) throw new UsageError(`collect: unknown option ${unknown[0]}`);
  if (flags.length > 1) throw new UsageError(`collect: choose one of ${COLLECT_FORMATS.join(', ')}`);
  const dir = positional[0];
  requireDirectory(dir);

  // Warnings go to stderr through the package's logger, so stdout holds the exposition only.
  const collector = new DirectoryCollector(dir);
  const families = collector.collect();
  if (flags[0] === '--json') {
    const samples = families.flatMap((family) =>
      family.samples.map((sample) => ({ name: sample.name, labels: sample.labels, value: jsonValue(sample.value) })),
    );
    process.stdout.write(`${JSON.stringify(samples, null, 1)}\n`);
  } else if (flags[0] === '--protobuf') {
    process.stdout.write(renderProtobuf(families));
  } else {
    process.stdout.write(flags[0] === '--openmetrics' ? renderOpenMetrics(families) : renderText(families));
  }
  // The warning said why (no permission to list it, say); nothing of it could be merged.
  return collector.stats.unreadableDirectories > 0 ? 1 : 0;
}

function hashPassword(args: readonly string[]): number {
  if (args.length !== 1) throw new UsageError('hash-password takes one user name (the password comes on stdin)');
  // The password never goes on the command line, where `ps` and the shell history would show it.
  const password = fs.readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  process.stdout.write(`${hashBasicAuthSetting(args[0], password)}\n`);
  return 0;
}

function jsonValue(value: number): number | string {
  if (Number.isFinite(value)) return value;
  if (Number.isNaN(value)) return 'NaN';
  return value > 0 ? '+Inf' : '-Inf';
}

function inspect(args: readonly string[]): number {
  if (args.length !== 1) throw new UsageError('inspect takes one file');
  const file = args[0];
  if (file.endsWith('.sketch')) return inspectSketch(file);
  const result = readMetricFile(file);
  if (result.status === 'missing') throw new Error(`${file} does not exist`);
  if (result.status === 'unreadable') throw new Error(`${file} cannot be used: it ${result.problem}`);

  const contents = result.contents;
  const native = file.endsWith(NATIVE_HISTOGRAM_EXTENSION);
  const { count, slots, starts, numbers, used, size, problem } = contents;
  const problems: string[] = [];
  const lines = [`${file}: ${size} bytes, ${used} in use, ${count} entries`, 'offset\tvalue@\tvalue\ttimestamp\tkey'];
  for (let i = 0; i < count; i++) {
    const slot = slots[i];
    const key = entryKey(contents, i);
    lines.push(`${starts[i]}\t${slot * 8}\t${numbers[slot]}\t${numbers[slot + 1]}\t${key}`);
    const checked = native ? resolveNativeKey(key) : checkedKey(key);
    if (typeof checked === 'string') problems.push(`entry at ${starts[i]}: ${checked}`);
  }
  if (problem !== undefined) problems.push(problem);
  for (const text of problems) lines.push(`problem: ${text}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return problems.length > 0 ? 1 : 0;
}

function inspectSketch(file: string): number {
  const result = new SketchFileReader(file).read(Date.now(), true);
  if (result.status === 'missing') throw new Error(`${file} does not exist`);
  if (result.status === 'unreadable') throw new Error(`${file} cannot be used: it ${result.problem}`);
  const lines = [`${file}: ${result.records.length} records`];
  for (const record of result.records) {
    const windows = record.windowMs === 0 ? 'one window for all time' : `${record.windows} windows of ${record.windowMs} ms`;
    lines.push(`${result.keys.text(record.keyId)}  ${record.sign === 1 ? 'negative values, ' : ''}${windows}, percentiles ${record.percentiles.join(' ')}`);
    for (const block of record.blocks) {
      let observations = block.zeros;
      for (let bin = block.lo; bin <= block.hi; bin++) observations += result.words[block.countsSlot + bin];
      const from = block.validFrom === 0 ? 'always' : new Date(block.validFrom).toISOString();
      const until = block.expiresAt === Infinity ? 'never' : new Date(block.expiresAt).toISOString();
      const collapsed = block.collapses > 0 ? `, ${block.collapses} collapses` : '';
      lines.push(`  valid ${from} .. ${until}: ${observations} observations, min ${block.min}, max ${block.max}${collapsed}`);
    }
  }
  if (result.problem !== undefined) lines.push(`problem: ${result.problem}`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return result.problem === undefined ? 0 : 1;
}

function markDead(args: readonly string[]): number {
  if (args.length !== 2) throw new UsageError('mark-dead takes a directory and a pid');
  const [dir, pidText] = args;
  if (!/^[1-9]\d*$/.test(pidText)) throw new UsageError(`mark-dead: "${pidText}" is not a pid`);
  requireDirectory(dir);
  const removed = markProcessDead(Number(pidText), dir);
  for (const filePath of removed) process.stdout.write(`removed ${filePath}\n`);
  if (removed.length === 0) process.stdout.write(`no live gauge files of pid ${pidText} in ${dir}\n`);
  return 0;
}

function compact(args: readonly string[]): number {
  const positional = args.filter((arg) => !arg.startsWith('--'));
  const unknown = args.filter((arg) => arg.startsWith('--') && arg !== '--drop-all-gauges');
  if (positional.length !== 1) throw new UsageError('compact takes one directory');
  if (unknown.length > 0) throw new UsageError(`compact: unknown option ${unknown[0]}`);
  const dir = positional[0];
  requireDirectory(dir);
  const report = compactDirectory(dir, { deadAllGauges: args.includes('--drop-all-gauges') ? 'drop' : 'keep' });
  process.stdout.write(
    `${dir}: ${report.absorbed} files of dead pids absorbed into ${report.archivesWritten} archives, ` +
      `${report.removed} files removed\n`,
  );
  for (const problem of report.problems) process.stderr.write(`pm2-prom-multiproc: ${problem}\n`);
  return report.problems.length > 0 ? 1 : 0;
}

function requireDirectory(dir: string): void {
  let stat: fs.Stats;
  try {
    stat = fs.statSync(dir);
  } catch {
    throw new Error(`metrics directory ${dir} does not exist`);
  }
  if (!stat.isDirectory()) throw new Error(`${dir} is not a directory`);
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));

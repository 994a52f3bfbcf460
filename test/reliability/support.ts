// Shared by the reliability tests: child processes that write through the real library, a strict
// parser of the text exposition, durations scaled by environment variables, and promtool.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';

/** A positive number from the environment (CI sets nothing and gets `fallback`). */
export function envNumber(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`${name}="${raw}" must be a positive number`);
  return value;
}

export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `pm2-prom-reliability-${prefix}-`));
}

export function removeDir(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
}

/** A running child script of ./children, with its stdout as JSON lines and its stderr kept. */
export interface Child {
  process: ChildProcess & { pid: number };
  /** Every JSON line printed so far, in order. */
  messages: unknown[];
  stderr(): string;
  /** Resolves with how the child ended once its streams are closed (every line read). */
  ended: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startChild(
  script: string,
  args: readonly string[],
  options: {
    env?: NodeJS.ProcessEnv;
    nodeArgs?: readonly string[];
    ipc?: boolean;
    umask?: number;
    /** Runs the child under a soft `ulimit -f` of this many KiB (bash sets it, then execs node). */
    fileSizeLimitKiB?: number;
  } = {},
): Child {
  const command = [process.execPath, ...(options.nodeArgs ?? []), '--import', 'tsx', path.join(__dirname, 'children', script), ...args];
  const limited = options.fileSizeLimitKiB === undefined ? command : ['bash', '-c', `ulimit -S -f ${options.fileSizeLimitKiB} && exec "$@"`, 'bash', ...command];
  const child = spawn(limited[0], limited.slice(1), {
    env: { ...process.env, ...options.env },
    stdio: options.ipc ? ['ignore', 'pipe', 'pipe', 'ipc'] : ['ignore', 'pipe', 'pipe'],
  }) as ChildProcess & { pid: number };
  const messages: unknown[] = [];
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
    // A child killed in the middle of a line leaves half of it: that line says nothing.
    try {
      messages.push(JSON.parse(line));
    } catch {
      return;
    }
  });
  const ended = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  return { process: child, messages, stderr: () => stderr, ended };
}

/** Resolves once `predicate` holds for the child's messages; rejects if the child ends first. */
export async function waitForMessage<T>(child: Child, predicate: (message: unknown) => message is T): Promise<T> {
  let finished = false;
  void child.ended.then(() => (finished = true));
  for (;;) {
    const found = child.messages.find(predicate);
    if (found !== undefined) return found;
    if (finished) throw new Error(`child ended without the expected message; stderr:\n${child.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** One text exposition taken apart: the TYPE of each family and the value of each series. */
export interface ParsedExposition {
  types: Map<string, string>;
  /** `name{labels}` exactly as rendered -> value. */
  samples: Map<string, number>;
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*",?)*\})? (\S+)$/;

function parseValue(text: string, line: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  const value = Number(text);
  if (text.trim() === '' || Number.isNaN(value)) throw new Error(`bad sample value in line ${JSON.stringify(line)}`);
  return value;
}

/** Sample names a family of each TYPE may expose in the text format (its name plus a suffix). */
const TEXT_SUFFIXES: Readonly<Record<string, readonly string[]>> = {
  counter: ['', '_total', '_created'],
  gauge: [''],
  histogram: ['_bucket', '_sum', '_count', '_created'],
  summary: ['', '_sum', '_count', '_created'],
  untyped: [''],
};

/**
 * Parses Prometheus text 0.0.4 strictly, as Prometheus does and more: a line it cannot read, a
 * sample outside the family of the TYPE line above it, a family typed twice or a repeated series
 * throws.
 */
export function parseTextExposition(text: string): ParsedExposition {
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  if (text === '') return { types, samples };
  if (!text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  let family: { name: string; type: string } | undefined;
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('# HELP ')) continue;
    if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice('# TYPE '.length).split(' ');
      if (types.has(name)) throw new Error(`family ${name} is typed twice`);
      if (TEXT_SUFFIXES[type] === undefined) throw new Error(`family ${name} has an unknown type ${type}`);
      types.set(name, type);
      family = { name, type };
      continue;
    }
    const match = SAMPLE_LINE.exec(line);
    if (match === null) throw new Error(`unparsable line ${JSON.stringify(line)}`);
    const current = family;
    if (current === undefined || !TEXT_SUFFIXES[current.type].some((suffix) => match[1] === `${current.name}${suffix}`)) {
      throw new Error(`sample ${match[1]} is not part of the family typed above it (${current?.name ?? 'none'})`);
    }
    const series = `${match[1]}${match[2] ?? ''}`;
    if (samples.has(series)) throw new Error(`series ${series} appears twice`);
    samples.set(series, parseValue(match[3], line));
  }
  return { types, samples };
}

/** The type of the family a sample belongs to (`x_bucket` belongs to histogram `x`). */
export function familyTypeOf(sampleName: string, types: ReadonlyMap<string, string>): string | undefined {
  const direct = types.get(sampleName);
  if (direct !== undefined) return direct;
  for (const suffix of ['_total', '_bucket', '_count', '_sum', '_created']) {
    if (sampleName.endsWith(suffix)) {
      const type = types.get(sampleName.slice(0, -suffix.length));
      if (type !== undefined) return type;
    }
  }
  return undefined;
}

/** The labels of a series key `name{a="x",b="y"}`. */
export function labelsOf(series: string): Map<string, string> {
  const labels = new Map<string, string>();
  const open = series.indexOf('{');
  if (open < 0) return labels;
  for (const pair of series.slice(open).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
    labels.set(pair[1], pair[2]);
  }
  return labels;
}

/** The sum of every sample named `name` whose labels include all of `labels`. */
export function sumSamples(parsed: ParsedExposition, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [series, value] of parsed.samples) {
    if (series !== name && !series.startsWith(`${name}{`)) continue;
    const seriesLabels = labelsOf(series);
    if (Object.entries(labels).every(([label, wanted]) => seriesLabels.get(label) === wanted)) total += value;
  }
  return total;
}

/**
 * Runs `promtool check metrics` on `text`; resolves with promtool's complaints ('' when none).
 * `lint: 'allowed'` accepts lint findings (exit 3): for input no writer would make, the
 * exposition must parse, but may be as odd as its data.
 */
export function promtoolComplaints(text: string, options: { lint?: 'allowed' } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
    child.on('error', reject);
    child.on('close', (code) => {
      const accepted = code === 0 || (code === 3 && options.lint === 'allowed');
      resolve(accepted ? '' : `promtool exit ${code}: ${output.trim()}`);
    });
    child.stdin.end(text);
  });
}

/** A self-signed certificate for 127.0.0.1 and localhost, made by openssl in `dir`. */
export function makeSelfSignedCertificate(dir: string): { certPath: string; keyPath: string } {
  const certPath = path.join(dir, 'cert.pem');
  const keyPath = path.join(dir, 'key.pem');
  const made = spawnSync(
    'openssl',
    [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-subj', '/CN=localhost', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
      '-keyout', keyPath, '-out', certPath,
    ],
    { encoding: 'utf8' },
  );
  if (made.status !== 0) throw new Error(`openssl could not make a certificate: ${made.stderr}`);
  return { certPath, keyPath };
}

export function basicAuthHeader(credentials: string): string {
  return `Basic ${Buffer.from(credentials).toString('base64')}`;
}

/** One GET over HTTP or HTTPS (trusting `ca`), on a fresh connection. */
export function request(url: string, options: { ca?: Buffer; authorization?: string }): Promise<{ status: number; body: string }> {
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const outgoing = client.request(
      url,
      { agent: false, ca: options.ca, headers: options.authorization ? { authorization: options.authorization } : {} },
      (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    outgoing.on('error', reject);
    outgoing.end();
  });
}

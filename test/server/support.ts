// Shared by the server, cluster and PM2 tests: real HTTP requests, metric files written by the
// real store as any pid, and pids that are really alive or really dead.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import { encodeKey } from '../../src/store/format';
import { type GaugeMode } from '../../src/store/gauge-modes';
import { ProcessStore } from '../../src/store';

export interface HttpResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text: string;
}

export function httpGet(url: string, headers: http.OutgoingHttpHeaders = {}, method = 'GET'): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method, headers, agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: response.statusCode ?? 0, headers: response.headers, body, text: body.toString('utf8') });
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end();
  });
}

export function makeTempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `pm2-prom-${prefix}-`));
}

/** One counter series: its name (without `_total`), labels and value. */
export interface CounterSeries {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Writes counters as `pid` in `dir`, through the real store, in one counter file. One call is one
 * process: a later store of the same pid hands this file to the dead, as a restarted process does.
 */
export function writeCounters(dir: string, pid: number, series: readonly CounterSeries[]): void {
  const store = new ProcessStore(dir, { pid, threadId: 0, backend: 'pwrite' });
  const file = store.file('counter');
  for (const { name, labels, value } of series) file.add(file.slotOf(encodeKey(name, `${name}_total`, labels, `${name} help`)), value);
  store.close();
}

/** Adds `value` to a counter of `pid` in `dir`, through the real store (see writeCounters). */
export function writeCounter(dir: string, pid: number, name: string, labels: Record<string, string>, value: number): void {
  writeCounters(dir, pid, [{ name, labels, value }]);
}

/** Sets a gauge of `pid` in `dir` (mode decides the file), through the real store. */
export function writeGauge(dir: string, pid: number, mode: GaugeMode, name: string, value: number): void {
  const store = new ProcessStore(dir, { pid, threadId: 0, backend: 'pwrite' });
  const file = store.file('gauge', mode);
  file.set(file.slotOf(encodeKey(name, name, {}, `${name} help`)), value);
  store.close();
}

/** A process that stays alive until killed. */
export async function startSleeper(): Promise<ChildProcess & { pid: number }> {
  const child = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  await once(child, 'spawn');
  return child as ChildProcess & { pid: number };
}

/** The pid of a process that has exited (and been reaped). */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  return child.pid as number;
}

/** The value of the sample `name{labels}` in a text exposition, or undefined. */
export function sampleValue(exposition: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = Object.entries(labels);
  for (const line of exposition.split('\n')) {
    if (line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    if (!match || match[1] !== name) continue;
    const lineLabels = new Map<string, string>();
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      lineLabels.set(pair[1], pair[2]);
    }
    if (lineLabels.size === wanted.length && wanted.every(([key, value]) => lineLabels.get(key) === value)) {
      return Number(match[3]);
    }
  }
  return undefined;
}

/** Every sample line of `name` (any labels) in a text exposition. */
export function sampleLines(exposition: string, name: string): string[] {
  return exposition.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));
}

/** Polls `check` until it returns a value other than undefined; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new Error(`timed out waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
}

const projectRoot = path.join(__dirname, '..', '..');

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

/** Builds dist/ when it is older than src/: PM2 and the examples run the compiled library. */
export function ensureBuilt(): void {
  const entry = path.join(projectRoot, 'dist', 'pm2', 'module.js');
  if (fs.existsSync(entry) && fs.statSync(entry).mtimeMs >= newestMtime(path.join(projectRoot, 'src'))) return;
  execFileSync('npm', ['run', 'build'], { cwd: projectRoot, stdio: 'ignore' });
}

/** N GET requests, `concurrency` at a time, each on a new connection (so cluster workers share them). */
export async function sendRequests(url: string, count: number, concurrency = 16): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      next += 1;
      const response = await httpGet(url);
      if (response.status !== 200) throw new Error(`GET ${url}: status ${response.status}`);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}

export { projectRoot };

// The built package works the way users load it: `npm run build`, then require(), import and a
// strict TypeScript consumer, from another directory that depends on the package by name.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.join(__dirname, '..', '..');

const CJS_CONSUMER = `
const { Counter, Histogram, register, collectDirectory, renderText, markProcessDead, DirectoryCollector } = require('pm2-prom-multiproc');
for (const fn of [collectDirectory, renderText, markProcessDead, DirectoryCollector]) if (typeof fn !== 'function') throw new Error('missing export');
const counter = new Counter({ name: 'cjs_total', help: 'From require.', labelNames: ['kind'] });
counter.inc({ kind: 'a' }, 2);
new Histogram({ name: 'cjs_seconds', help: 'H.', buckets: [1] }).observe(0.5);
register.metrics().then((text) => process.stdout.write(text));
`;

const ESM_CONSUMER = `
import { createRequire } from 'node:module';
import api, { Gauge, register } from 'pm2-prom-multiproc';
const required = createRequire(import.meta.url)('pm2-prom-multiproc');
if (required.register !== register || api.register !== register) throw new Error('import and require load two copies');
new Gauge({ name: 'esm_level', help: 'From import.' }).set(7);
process.stdout.write(await register.metrics());
`;

const TS_CONSUMER = `
import { AggregatorFactory, AggregatorRegistry, Counter, Gauge, Pushgateway, Registry, aggregators, type GaugeMode, type MetricFamily, collectDirectory } from 'pm2-prom-multiproc';
const mode: GaugeMode = 'liveaverage';
const cluster = new AggregatorRegistry(Registry.OPENMETRICS_CONTENT_TYPE);
export const merged: Promise<string> | undefined = process.env.DIR === undefined ? undefined : cluster.clusterMetrics();
export const aggregated: Registry = AggregatorRegistry.aggregate([[]]);
aggregators.median = AggregatorFactory((values) => values[0].value);
export const gateway = new Pushgateway('http://127.0.0.1:9091', { timeout: 1000, headers: { 'Content-Encoding': 'gzip' } });
new Gauge({ name: 'ts_peak', help: 'P.', aggregator: 'max', registers: [] });
const registry = new Registry();
const counter = new Counter({ name: 'ts_total', help: 'T.', labelNames: ['method'] as const, registers: [registry] });
counter.inc({ method: 'GET' });
counter.labels('POST').inc(2);
new Gauge({ name: 'ts_gauge', help: 'G.', multiprocessMode: mode, registers: [registry] }).set(1);
const families: MetricFamily[] = process.env.DIR === undefined ? [] : collectDirectory(process.env.DIR);
export const names: string[] = families.map((family) => family.name);
`;

describe('the built package', function () {
  this.timeout(180_000);
  let consumer: string;

  before(() => {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe' });
    consumer = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-prom-consumer-'));
    fs.mkdirSync(path.join(consumer, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(consumer, 'node_modules', 'pm2-prom-multiproc'), 'dir');
    fs.writeFileSync(path.join(consumer, 'consumer.cjs'), CJS_CONSUMER);
    fs.writeFileSync(path.join(consumer, 'consumer.mjs'), ESM_CONSUMER);
    fs.writeFileSync(path.join(consumer, 'consumer.ts'), TS_CONSUMER);
  });
  after(() => fs.rmSync(consumer, { recursive: true, force: true }));

  const run = (file: string, env: NodeJS.ProcessEnv = {}): string =>
    execFileSync(process.execPath, [file], { cwd: consumer, env: { ...process.env, ...env }, encoding: 'utf8' });

  it('loads with require()', () => {
    const text = run('consumer.cjs');
    assert.match(text, /^cjs_total\{kind="a"\} 2$/m);
    assert.match(text, /^cjs_seconds_bucket\{le="1"\} 1$/m);
  });

  it('loads with import, sharing one copy with require()', () => {
    assert.match(run('consumer.mjs'), /^esm_level 7$/m);
  });

  it('writes files from the built code when PROMETHEUS_MULTIPROC_DIR is set', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-prom-built-'));
    try {
      const text = run('consumer.cjs', { PROMETHEUS_MULTIPROC_DIR: dir });
      assert.match(text, /^cjs_total\{kind="a"\} 2$/m);
      assert.ok(fs.readdirSync(dir).some((name) => /^counter_\d+\.db$/.test(name)));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('type-checks a strict TypeScript consumer against the shipped declarations', () => {
    const tsconfig = {
      compilerOptions: { strict: true, noEmit: true, module: 'node16', moduleResolution: 'node16', target: 'ES2022', types: ['node'], typeRoots: [path.join(ROOT, 'node_modules', '@types')] },
      files: ['consumer.ts'],
    };
    fs.writeFileSync(path.join(consumer, 'tsconfig.json'), JSON.stringify(tsconfig));
    execFileSync(process.execPath, [path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', consumer], { encoding: 'utf8' });
  });
});

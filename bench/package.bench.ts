// What an app pays for depending on the package, against prom-client alone, both from npm's
// cache into fresh projects with no script run: node_modules on disk and packages installed, the
// npm install time, and the time and files of require() in a fresh process (rounds interleaved,
// medians). Also what `pm2 install` of the same tarball puts on a host, and how long it takes.
// The package is the tarball of README's `npm pack` (test/package/packed.ts).
// Run alone: node --import tsx bench/package.bench.ts
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IsolatedPm2 } from '../test/pm2/support';
import { NO_SCRIPTS_ENV, footprint, freshProject, installInto, lockedPromClient, packedTarball, type Footprint } from '../test/package/packed';
import { freePort } from '../test/server/support';
import { median } from './timing';

const REQUIRE_ROUNDS = 21;
const INSTALL_ROUNDS = 3;

// In a fresh process: ms of the require() alone, the files it loaded, the builtins it added.
const MEASURE_REQUIRE = `
const builtins = new Set(process.moduleLoadList);
const start = process.hrtime.bigint();
require(process.argv[1]);
const ms = Number(process.hrtime.bigint() - start) / 1e6;
const added = process.moduleLoadList.filter((name) => !builtins.has(name) && /^NativeModule [^i]/.test(name));
console.log(JSON.stringify({ ms, files: Object.keys(require.cache).length, builtins: added.map((name) => name.slice(13)) }));
`;

interface RequireCost {
  ms: number;
  files: number;
  builtins: string[];
}

function requireCost(project: string, name: string): RequireCost {
  return JSON.parse(execFileSync(process.execPath, ['-e', MEASURE_REQUIRE, name], { cwd: project, encoding: 'utf8' })) as RequireCost;
}

function timedInstall(parent: string, name: string, spec: string): { ms: number; project: string } {
  const project = freshProject(parent, name);
  const start = process.hrtime.bigint();
  installInto(project, spec);
  return { ms: Number(process.hrtime.bigint() - start) / 1e6, project };
}

const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

async function main(): Promise<void> {
  const tarball = packedTarball();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-prom-package-bench-'));
  try {
    const promClientSpec = `prom-client@${lockedPromClient()}`;
    const installs = { ours: [] as number[], promClient: [] as number[] };
    let ours = '';
    let theirs = '';
    for (let round = 0; round < INSTALL_ROUNDS; round++) {
      const a = timedInstall(work, `ours-${round}`, tarball);
      const b = timedInstall(work, `prom-client-${round}`, promClientSpec);
      installs.ours.push(a.ms);
      installs.promClient.push(b.ms);
      [ours, theirs] = [a.project, b.project];
    }
    const sizes: Record<'ours' | 'promClient', Footprint> = { ours: footprint(ours), promClient: footprint(theirs) };

    const costs = { ours: [] as RequireCost[], promClient: [] as RequireCost[] };
    for (let round = 0; round < REQUIRE_ROUNDS; round++) {
      costs.ours.push(requireCost(ours, 'pm2-prom-multiproc'));
      costs.promClient.push(requireCost(theirs, 'prom-client'));
    }
    const requireMs = { ours: median(costs.ours.map((cost) => cost.ms)), promClient: median(costs.promClient.map((cost) => cost.ms)) };

    console.log('| app depends on | node_modules | packages | npm install (cache) | require() | files loaded | builtins added |');
    console.log('|---|---|---|---|---|---|---|');
    for (const [label, key] of [['pm2-prom-multiproc', 'ours'], [promClientSpec, 'promClient']] as const) {
      const cost = costs[key][0];
      console.log(
        `| ${label} | ${mb(sizes[key].bytes)} | ${sizes[key].packages.length} | ${median(installs[key]).toFixed(0)} ms | ` +
          `${requireMs[key].toFixed(1)} ms | ${cost.files} | ${cost.builtins.length} |`,
      );
    }
    console.log(
      `\nours / prom-client: node_modules ${(sizes.ours.bytes / sizes.promClient.bytes).toFixed(2)}x, ` +
        `require() ${(requireMs.ours / requireMs.promClient).toFixed(2)}x (medians of ${REQUIRE_ROUNDS} fresh processes each, interleaved)`,
    );
    console.log(`packages: ${sizes.ours.packages.join(' ')}`);
    console.log(`builtins our require() adds: ${costs.ours[0].builtins.join(' ')}`);

    const pm2 = new IsolatedPm2();
    try {
      pm2.run('set', 'pm2-prom-multiproc:host', '127.0.0.1');
      pm2.run('set', 'pm2-prom-multiproc:port', String(await freePort()));
      const start = process.hrtime.bigint();
      pm2.runWithEnv(NO_SCRIPTS_ENV, 'install', tarball);
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const module = footprint(path.join(pm2.home, 'modules', 'pm2-prom-multiproc'));
      console.log(`\npm2 install of the tarball: ${(ms / 1000).toFixed(1)} s, ${mb(module.bytes)} in ${module.packages.length} packages`);
    } finally {
      pm2.kill();
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

void main();

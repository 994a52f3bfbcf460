// README's Install section, run as written on the package as npm delivers it: the tarball of
// `npm pack` (README's tarball block) stands where the commands name the package (it is not on
// the registry from here), npm runs no script at all, PM2 is the devDependency's, with its own
// PM2_HOME. The app gets the library with the prebuilt addon and no PM2; the host gets the
// module, which runs on that PM2, starts with the settings made before it was installed, and
// serves what README's ecosystem files start.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { IsolatedPm2 } from '../pm2/support';
import { freePort, httpGet, makeTempDir, sampleValue, waitFor } from '../server/support';
import { NO_SCRIPTS_ENV, ROOT, bash, footprint, freshProject, installInto, lockedPromClient, packedTarball, type Footprint } from './packed';
import { BLOCKS, readmeBlock, substituted } from './readme';

const NAME = 'pm2-prom-multiproc';
const HOST_PREBUILD = `prebuilds/linux-${os.arch()}/${NAME}.glibc.node`;
const PASSWORD = 'correct horse';
/** README's ecosystem files name the app `api`: every sample of its workers carries it. */
const APP_LABEL = { pm2_app: 'api' };

// Each worker counts its own start once and stays up: the merged total is the number of workers.
const OUR_APP = `const { Counter } = require('${NAME}');
new Counter({ name: 'readme_app_starts_total', help: 'Worker starts.' }).inc();
setInterval(() => {}, 1 << 30);
`;
const PROM_CLIENT_APP = `const client = require('prom-client');
new client.Counter({ name: 'readme_legacy_starts_total', help: 'Worker starts.' }).inc();
setInterval(() => {}, 1 << 30);
`;

describe("README's Install section, as written, on the packed tarball", function () {
  this.timeout(300_000);
  let work: string;
  let tarball: string;
  let app: string;
  let pm2: IsolatedPm2;
  let port: number;
  let env: NodeJS.ProcessEnv;
  let appFootprint: Footprint;

  before(async () => {
    tarball = packedTarball();
    work = makeTempDir('install');
    app = freshProject(work, 'my-app');
    // `pm2` on PATH is the devDependency's, as a global install's bin would be.
    const bin = path.join(work, 'bin');
    fs.mkdirSync(bin);
    fs.symlinkSync(require.resolve('pm2/bin/pm2'), path.join(bin, 'pm2'));
    pm2 = new IsolatedPm2();
    port = await freePort();
    env = { ...pm2.env, ...NO_SCRIPTS_ENV, PATH: `${bin}${path.delimiter}${process.env.PATH}`, tarball };
  });
  after(() => {
    pm2?.kill();
    fs.rmSync(work, { recursive: true, force: true });
  });

  // README's "From a tarball": the tarball's absolute path where a command names the package.
  const fromTarball = (code: string, more: Array<[string, string]> = []): string =>
    substituted(code, [[` install ${NAME}`, ' install "$tarball"'], ...more]);
  const metrics = (auth?: string): Promise<{ status: number; text: string }> =>
    httpGet(`http://127.0.0.1:${port}/metrics`, auth ? { authorization: `Basic ${Buffer.from(auth).toString('base64')}` } : {});

  it('packs the prebuilt addons, the sources to compile them, and no install script', () => {
    const listing = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' }).split('\n');
    const built = fs
      .readdirSync(path.join(ROOT, 'prebuilds'), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .flatMap(({ name }) => fs.readdirSync(path.join(ROOT, 'prebuilds', name)).map((file) => `package/prebuilds/${name}/${file}`));
    assert.ok(built.includes(`package/${HOST_PREBUILD}`), `npm run prebuild built no ${HOST_PREBUILD}`);
    assert.deepEqual(listing.filter((entry) => entry.startsWith('package/prebuilds/')).sort(), built.sort());
    for (const source of ['package/native/mmap.c', 'package/binding.gyp']) assert.ok(listing.includes(source), source);
    assert.deepEqual(listing.filter((entry) => entry.endsWith('.map') || entry.startsWith('package/build/')), []);
    const manifest = JSON.parse(execFileSync('tar', ['xzOf', tarball, 'package/package.json'], { encoding: 'utf8' })) as {
      scripts: Record<string, string>;
      gypfile?: boolean;
      dependencies: Record<string, string>;
    };
    for (const hook of ['preinstall', 'install', 'postinstall']) assert.equal(manifest.scripts[hook], undefined, hook);
    assert.equal(manifest.gypfile, false, 'with binding.gyp and no install script npm would run `node-gyp rebuild`');
    assert.deepEqual(Object.keys(manifest.dependencies).sort(), ['node-gyp-build', 'prom-client']);
  });

  it('in an app: brings no PM2, within 2x of prom-client alone, and leaves no build output', () => {
    bash(fromTarball(readmeBlock(BLOCKS.appInstall)), app, env);
    appFootprint = footprint(app);
    assert.deepEqual(appFootprint.packages.filter((name) => name === 'pm2' || name.startsWith('@pm2/')), []);
    const baseline = freshProject(work, 'prom-client-alone');
    installInto(baseline, `prom-client@${lockedPromClient()}`);
    const promClient = footprint(baseline);
    assert.deepEqual(appFootprint.packages, [...promClient.packages, 'node-gyp-build', NAME].sort());
    assert.ok(appFootprint.bytes <= 2 * promClient.bytes, `${appFootprint.bytes} bytes against prom-client's ${promClient.bytes}`);
    console.log(`      footprint: ${(appFootprint.bytes / promClient.bytes).toFixed(2)}x prom-client's`);
    const installed = fs.readdirSync(path.join(app, 'node_modules', NAME));
    assert.deepEqual(installed.filter((entry) => entry === 'build' || entry === 'node-addon-api'), []);
  });

  it('in the app: the native backend loads from the prebuild, with no script run and no compiler used', () => {
    const dir = makeTempDir('install-metrics');
    try {
      const script = `const { Counter, collectDirectory } = require('${NAME}');
        new Counter({ name: 'packed_total', help: 'p' }).inc(2);
        const root = require('path').dirname(require.resolve('${NAME}/package.json'));
        const addon = require(require.resolve('node-gyp-build', { paths: [root] })).resolve(root);
        console.log(require('path').relative(root, addon), collectDirectory(process.env.PROMETHEUS_MULTIPROC_DIR)[0].samples[0].value);`;
      // PM2_PROM_MULTIPROC_BACKEND=native fails loudly where the addon does not load.
      const out = execFileSync(process.execPath, ['-e', script], {
        cwd: app,
        env: { ...process.env, PROMETHEUS_MULTIPROC_DIR: dir, PM2_PROM_MULTIPROC_BACKEND: 'native' },
        encoding: 'utf8',
      });
      assert.equal(out, `${HOST_PREBUILD} 2\n`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('in the app: require() loads what the metrics need, and the rest on first call', () => {
    const script = `const before = new Set(process.moduleLoadList);
      const api = require('${NAME}');
      const added = ['http', 'https', 'cluster', 'child_process', 'zlib'].filter((name) => !before.has('NativeModule ' + name) && process.moduleLoadList.includes('NativeModule ' + name));
      const promClientIndex = () => Object.keys(require.cache).some((file) => file.endsWith('/prom-client/index.js'));
      const compaction = () => Object.keys(require.cache).some((file) => file.includes('/dist/host/'));
      console.log(JSON.stringify({ added, index: promClientIndex(), compaction: compaction() }));
      console.log(JSON.stringify({ buckets: api.exponentialBuckets(1, 2, 3), index: promClientIndex() }));
      const fs = require('node:fs');
      const empty = fs.mkdtempSync(require('node:path').join(require('node:os').tmpdir(), 'compact-'));
      console.log(JSON.stringify({ compacted: api.compactDirectory(empty).absorbed, compaction: compaction() }));
      fs.rmSync(empty, { recursive: true });`;
    const lines = execFileSync(process.execPath, ['-e', script], { cwd: app, encoding: 'utf8' }).trim().split('\n');
    assert.deepEqual(lines.map((line) => JSON.parse(line) as unknown), [
      { added: [], index: false, compaction: false },
      { buckets: [1, 2, 4], index: true },
      { compacted: 0, compaction: true },
    ]);
  });

  it("where no prebuild fits: the pwrite warning's command compiles the addon in the installed package", function () {
    if (!['make', 'cc', 'python3'].every((tool) => spawnSync('sh', ['-c', 'command -v "$0"', tool]).status === 0)) {
      console.log('      (make, cc and python3 are needed to compile the addon: not compiled)');
      this.skip();
    }
    const copy = path.join(work, 'my-app-compiled');
    fs.cpSync(app, copy, { recursive: true });
    const headers = path.resolve(process.execPath, '..', '..');
    const nodedir = fs.existsSync(path.join(headers, 'include', 'node', 'node_api.h')) ? { npm_config_nodedir: headers } : {};
    execFileSync('npm', ['explore', NAME, '--', 'npm', 'run', 'build:native'], { cwd: copy, env: { ...process.env, ...nodedir }, stdio: 'pipe' });
    const root = path.join(copy, 'node_modules', NAME);
    assert.deepEqual(fs.readdirSync(root).filter((entry) => entry === 'node-addon-api'), [], 'no stray folder beside build/');
    const out = execFileSync(
      process.execPath,
      ['-e', `const ngb = require('node-gyp-build'); console.log(require('path').relative('${root}', ngb.resolve('${root}')), typeof ngb('${root}').map)`],
      { cwd: root, encoding: 'utf8' },
    );
    assert.equal(out, 'build/Release/pm2_prom_multiproc.node function\n');
  });

  it('on the host: the module starts with the settings made before `pm2 install`, on the PM2 that runs it', async () => {
    bash(fromTarball(readmeBlock(BLOCKS.moduleInstall), [[':port 9321', `:port ${port}`]]), os.tmpdir(), env);
    assert.equal((await waitFor('the module to answer /healthz', () => httpGet(`http://127.0.0.1:${port}/healthz`))).text.trim(), 'ok');
    const module = pm2.list().find((entry) => entry.name === NAME);
    assert.deepEqual(module && { status: module.status, isModule: module.isModule, restarts: module.restarts }, { status: 'online', isModule: true, restarts: 0 });
    assert.match(pm2.logs(NAME), new RegExp(`serving http://127\\.0\\.0\\.1:${port}/metrics `));
    // What `pm2 install` put on the host is exactly what an app gets: no PM2 of its own.
    assert.deepEqual(footprint(path.join(pm2.home, 'modules', NAME)).packages, appFootprint.packages);
  });

  it("serves the workers of README's ecosystem file, merged", async () => {
    fs.writeFileSync(path.join(app, 'server.js'), OUR_APP);
    fs.writeFileSync(path.join(app, 'ecosystem.config.js'), readmeBlock(BLOCKS.productionEcosystem));
    bash('pm2 start ecosystem.config.js', app, env);
    const workers = pm2.list().filter((entry) => entry.name === 'api').length;
    assert.equal(workers, os.cpus().length, "instances: 'max'");
    await waitFor(`readme_app_starts_total ${workers}`, async () =>
      sampleValue((await metrics()).text, 'readme_app_starts_total', APP_LABEL) === workers ? true : undefined,
    );
  });

  it("requires the password hash-password made, then listens on every address", async () => {
    bash(readmeBlock(BLOCKS.basicAuth), os.tmpdir(), env, `${PASSWORD}\n`);
    await waitFor('the module to refuse a scrape without the password', async () => ((await metrics()).status === 401 ? true : undefined));
    assert.equal((await metrics(`prom:${PASSWORD}x`)).status, 401);
    const scrape = await metrics(`prom:${PASSWORD}`);
    assert.equal(scrape.status, 200);
    assert.equal(sampleValue(scrape.text, 'readme_app_starts_total', APP_LABEL), os.cpus().length);
    await waitFor('the module to log its new address', () => (pm2.logs(NAME).includes(`serving http://0.0.0.0:${port}/metrics `) ? true : undefined));
  });

  it("mirrors the prom-client app of README's zero-change ecosystem file", async () => {
    bash('pm2 delete api', app, env);
    const legacy = freshProject(work, 'legacy-app');
    installInto(legacy, `prom-client@${lockedPromClient()}`);
    bash(fromTarball(readmeBlock(BLOCKS.appInstall)), legacy, env);
    fs.writeFileSync(path.join(legacy, 'server.js'), PROM_CLIENT_APP);
    fs.writeFileSync(path.join(legacy, 'ecosystem.config.js'), readmeBlock(BLOCKS.mirrorEcosystem));
    bash('pm2 start ecosystem.config.js', legacy, env);
    assert.equal(pm2.list().filter((entry) => entry.name === 'api').length, 4);
    await waitFor('readme_legacy_starts_total 4', async () =>
      sampleValue((await metrics(`prom:${PASSWORD}`)).text, 'readme_legacy_starts_total', APP_LABEL) === 4 ? true : undefined,
    );
  });
});

// npm run prebuild: compiles the addon in native/ for every Linux target whose C compiler this
// machine has, into prebuilds/linux-<arch>/pm2-prom-multiproc.<glibc|musl>.node, where
// node-gyp-build finds it with no install script and no compiler on the user's machine.
// npm runs a script named `prebuild` before every `npm run build` too, so `npm install` in a
// clone, `npm pack` and `npm publish` always carry binaries built from native/ as it is.
//
// Targets (Debian packages): the machine's own architecture with gcc (glibc) and musl-gcc
// (musl-tools); the other one with its cross gcc (gcc-aarch64-linux-gnu libc6-dev-arm64-cross)
// and .toolchains/<triple>-linux-musl-gcc (scripts/musl-cross-toolchain.sh). A missing toolchain
// is skipped with one line; a failed build of a present one fails. With --all (prepublishOnly)
// a missing target fails too, so that no release ships without one.
//
// A target already built from the same inputs is kept. When the inputs change, prebuilds/ and a
// local build/ are both removed first: node-gyp-build prefers build/Release over prebuilds/,
// and a binary of older sources must never be what loads.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.join(__dirname, '..');
const OUT = path.join(ROOT, 'prebuilds');
const STAMP = path.join(OUT, '.inputs-sha256');
const NAME = 'pm2-prom-multiproc';
const TRIPLE = { x64: 'x86_64', arm64: 'aarch64' };
const CROSS_PACKAGES = { x64: 'gcc-x86-64-linux-gnu libc6-dev-amd64-cross', arm64: 'gcc-aarch64-linux-gnu libc6-dev-arm64-cross' };

function onPath(command) {
  return spawnSync('sh', ['-c', 'command -v "$0"', command], { stdio: 'ignore' }).status === 0;
}

/** Each target: its file, the compiler and strip that build it here, and what provides them. */
function targets() {
  const host = os.arch();
  const targets = ['x64', 'arm64'].flatMap((arch) => {
    const native = arch === host;
    const cross = `${TRIPLE[arch]}-linux-gnu`;
    const strip = native ? 'strip' : `${cross}-strip`;
    return [
      { arch, libc: 'glibc', cc: native ? 'gcc' : `${cross}-gcc`, strip, from: native ? 'apt-get install gcc' : `apt-get install ${CROSS_PACKAGES[arch]}` },
      native
        ? { arch, libc: 'musl', cc: 'musl-gcc', strip, from: 'apt-get install musl-tools' }
        : { arch, libc: 'musl', cc: path.join(ROOT, '.toolchains', `${TRIPLE[arch]}-linux-musl-gcc`), strip, from: `scripts/musl-cross-toolchain.sh ${arch}` },
    ];
  });
  return targets.map((target) => ({ ...target, output: path.join(OUT, `linux-${target.arch}`, `${NAME}.${target.libc}.node`) }));
}

/** What the binaries are made of: a change to any of these makes every prebuild stale. */
function inputsHash() {
  const hash = crypto.createHash('sha256');
  const files = ['binding.gyp', 'scripts/prebuild.js', ...fs.readdirSync(path.join(ROOT, 'native')).sort().map((name) => `native/${name}`)];
  for (const file of files) hash.update(`${file}\0`).update(fs.readFileSync(path.join(ROOT, file)));
  return hash.digest('hex');
}

// node-gyp needs Node's headers. Where npm's nodedir setting names none, use those installed
// beside the running node (Debian's nodejs, the official tarballs), so nothing is downloaded.
function headerEnv() {
  if (process.env.npm_config_nodedir) return {};
  const prefix = path.resolve(process.execPath, '..', '..');
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? { npm_config_nodedir: prefix } : {};
}

function build(target, nodeGyp, work) {
  // binding.gyp links with $(CC): setting CC alone makes compile and link use the target's compiler.
  const env = { ...process.env, ...headerEnv(), CC: target.cc };
  const args = [nodeGyp, 'rebuild', '--release', `--arch=${target.arch}`, '--loglevel=warn'];
  const run = spawnSync(process.execPath, args, { cwd: work, env, stdio: ['ignore', 'ignore', 'inherit'] });
  if (run.status !== 0) throw new Error(`prebuild: node-gyp failed for linux-${target.arch} ${target.libc} with ${target.cc} (its output is above)`);
  fs.mkdirSync(path.dirname(target.output), { recursive: true });
  execFileSync(target.strip, ['-o', target.output, path.join(work, 'build', 'Release', 'pm2_prom_multiproc.node')]);
}

function main() {
  const requireAll = process.argv.includes('--all');
  if (process.platform !== 'linux') {
    console.log(`prebuild: only Linux targets are prebuilt; on ${process.platform} compile with npm run build:native`);
    return;
  }
  const nodeGyp = process.env.npm_config_node_gyp;
  if (nodeGyp === undefined || !fs.existsSync(nodeGyp)) {
    throw new Error('prebuild: run it as `npm run prebuild`: npm names its own node-gyp in npm_config_node_gyp');
  }
  // Stale binaries go first, whatever can be built afterwards.
  const inputs = inputsHash();
  if (!fs.existsSync(STAMP) || fs.readFileSync(STAMP, 'utf8') !== inputs) {
    for (const stale of [OUT, path.join(ROOT, 'build')]) fs.rmSync(stale, { recursive: true, force: true });
  }
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(STAMP, inputs);

  const missingTools = ['make', 'python3'].filter((tool) => !onPath(tool));
  if (missingTools.length > 0) {
    const message = `prebuild: nothing built: node-gyp needs ${missingTools.join(' and ')} (apt-get install make python3)`;
    if (requireAll) throw new Error(message);
    console.log(message);
    return;
  }

  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-prom-prebuild-'));
  const missing = [];
  try {
    // A copy of the inputs, so that node-gyp's build/ never lands in the checkout.
    fs.copyFileSync(path.join(ROOT, 'binding.gyp'), path.join(work, 'binding.gyp'));
    fs.cpSync(path.join(ROOT, 'native'), path.join(work, 'native'), { recursive: true });
    for (const target of targets()) {
      const label = `linux-${target.arch} ${target.libc}`;
      const file = path.relative(ROOT, target.output);
      if (fs.existsSync(target.output)) {
        console.log(`prebuild: ${label}: ${file} is up to date`);
      } else if (!onPath(target.cc) || !onPath(target.strip)) {
        const absent = [target.cc, target.strip].filter((tool) => !onPath(tool)).map((tool) => path.basename(tool));
        missing.push(`${label} (${target.from})`);
        console.log(`prebuild: ${label}: skipped, no ${absent.join(' and ')} (${target.from})`);
      } else {
        build(target, nodeGyp, work);
        console.log(`prebuild: ${label}: built ${file}`);
      }
    }
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
  if (requireAll && missing.length > 0) throw new Error(`prebuild --all: missing ${missing.join(', ')}`);
}

try {
  main();
} catch (error) {
  console.error(error.message);
  process.exit(1);
}

// Each prebuilt addon, as `npm run prebuild` makes it from native/, is a binary for its target
// that loads and maps there. The glibc ones run in a real node: linux-arm64 in an arm64 node
// (scripts/arm64-node.sh) under qemu-user. No musl node can be had here (Debian ships none, nor
// does the npm registry), so the musl ones are loaded by musl's own dynamic loader into
// node-stand-in.c, which makes the Node-API calls node would and checks map() like native.ts.
// A target whose toolchain this machine lacks is skipped, saying what to install.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ensureBuilt, makeTempDir, projectRoot } from '../server/support';

type Arch = 'x64' | 'arm64';
type Libc = 'glibc' | 'musl';

const TRIPLE: Record<Arch, string> = { x64: 'x86_64', arm64: 'aarch64' };
// As `readelf -h` names the machine, and the libc each build must ask the loader for.
const ELF_MACHINE: Record<Arch, string> = { x64: 'Advanced Micro Devices X86-64', arm64: 'AArch64' };
const LIBC_NEEDED: Record<Libc, string> = { glibc: 'libc.so.6', musl: 'libc.so' };
const NODE_HEADERS = path.resolve(process.execPath, '..', '..', 'include', 'node');
const TOOLCHAINS = path.join(projectRoot, '.toolchains');
const HOST = os.arch();

function prebuildOf(arch: Arch, libc: Libc): string {
  return path.join(projectRoot, 'prebuilds', `linux-${arch}`, `pm2-prom-multiproc.${libc}.node`);
}

function onPath(command: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$0"', command], { stdio: 'ignore' }).status === 0;
}

function skipBecause(context: Mocha.Context, reason: string): never {
  console.log(`      (${reason})`);
  return context.skip();
}

/** How a program of `arch` runs here, or why it cannot; `sysroot` is qemu's -L for its loader. */
function runnerFor(context: Mocha.Context, arch: Arch, sysroot: string): string[] {
  if (arch === HOST) return [];
  const qemu = `qemu-${TRIPLE[arch]}`;
  if (!onPath(qemu)) skipBecause(context, `no ${qemu} to run linux-${arch} programs: apt-get install qemu-user`);
  if (!fs.existsSync(sysroot)) skipBecause(context, `no ${sysroot} for qemu to load linux-${arch} programs with`);
  return [qemu, '-L', sysroot];
}

function run(command: string[], env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(command[0], command.slice(1), { encoding: 'utf8', env, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('the prebuilt addons', function () {
  this.timeout(120_000);
  let skipped: Map<string, string>;
  let scratch: string;

  before(() => {
    ensureBuilt(); // dist/, which the glibc checks run, and with it the prebuild hook
    const output = execFileSync('npm', ['run', '--silent', 'prebuild'], { cwd: projectRoot, encoding: 'utf8' });
    skipped = new Map([...output.matchAll(/^prebuild: (linux-\S+ \S+): skipped, (.*)$/gm)].map((match) => [match[1], match[2]]));
    scratch = makeTempDir('prebuilds');
  });
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  for (const arch of ['x64', 'arm64'] as const) {
    for (const libc of ['glibc', 'musl'] as const) {
      const label = `linux-${arch} ${libc}`;
      const how = libc === 'glibc' ? `in a real ${arch} node` : `by musl's loader (${arch}) in the Node-API stand-in`;

      it(`${label}: an ${arch} binary asking for ${LIBC_NEEDED[libc]}, which loads and maps ${how}`, function () {
        const reason = skipped.get(label);
        if (reason !== undefined) skipBecause(this, `${label} is not built here: ${reason}`);
        const addon = prebuildOf(arch, libc);
        assert.ok(fs.existsSync(addon), `npm run prebuild neither built nor skipped ${path.relative(projectRoot, addon)}`);
        if (!onPath('readelf')) skipBecause(this, 'no readelf to read the binary with: apt-get install binutils');
        assert.match(run(['readelf', '-h', addon]), new RegExp(`^\\s*Machine:\\s+${ELF_MACHINE[arch]}$`, 'm'));
        const needed = [...run(['readelf', '-d', addon]).matchAll(/\(NEEDED\)\s+Shared library: \[(.+)\]/g)].map((match) => match[1]);
        assert.deepEqual(needed, [LIBC_NEEDED[libc]]);

        if (libc === 'glibc') {
          const node = arch === HOST ? [process.execPath] : [path.join(TOOLCHAINS, `node-linux-${arch}-${process.versions.node}`, 'bin', 'node')];
          if (!fs.existsSync(node[0])) skipBecause(this, `no ${arch} node to load it in: scripts/arm64-node.sh`);
          const dir = fs.mkdtempSync(path.join(scratch, `${arch}-`));
          // PREBUILDS_ONLY: a local build/ must not stand in for the prebuild under test.
          const env = { ...process.env, PREBUILDS_ONLY: '1', PM2_PROM_MULTIPROC_BACKEND: 'native', PROMETHEUS_MULTIPROC_DIR: dir };
          const child = path.join(__dirname, 'children', 'count-natively.js');
          const out = run([...runnerFor(this, arch, `/usr/${TRIPLE[arch]}-linux-gnu`), ...node, child, projectRoot], env);
          assert.equal(out, `${arch} ${path.relative(projectRoot, addon)} prebuild_total 5\n`);
          return;
        }

        const cc = arch === HOST ? 'musl-gcc' : path.join(TOOLCHAINS, `${TRIPLE[arch]}-linux-musl-gcc`);
        if (!onPath(cc)) skipBecause(this, `no ${cc} to build the stand-in with`);
        const standIn = path.join(scratch, `stand-in-${arch}`);
        run([cc, '-std=c11', '-Wall', '-Wextra', '-Werror', '-rdynamic', `-I${NODE_HEADERS}`, '-o', standIn, path.join(__dirname, 'node-stand-in.c')]);
        const runner = runnerFor(this, arch, path.join(TOOLCHAINS, `musl-${arch}`));
        assert.equal(
          run([...runner, standIn, addon, path.join(scratch, `musl-${arch}.db`)]),
          [
            'loaded: Node-API 8, exports map() reserve()',
            'reserve(fd, 0, one page): the file is exactly one page',
            'map(fd, one page, two pages): the file part reads back from the file as 2.5, the rest held 7.0, the file is still one page',
            'reserve(-1, 0, 4096): Error: reserve "/some/counter_1.db" (4096 bytes at 0): Bad file descriptor (errno 9)',
            'map(fd, 0, 1.5): RangeError: map "f": length must be a non-negative integer',
            '',
          ].join('\n'),
        );
      });
    }
  }
});

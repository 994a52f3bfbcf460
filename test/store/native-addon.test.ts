import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadMmapAddon } from '../../src/store/backends/loader';
import { makeTempDir, runChild } from './helpers';

// node-gyp-build finds no addon for an architecture that has no prebuild and no local build.
const WITHOUT_ADDON = { PREBUILDS_ONLY: '1', npm_config_arch: 'mips' };

describe('the native mmap addon', () => {
  let dir: string;
  let remove: () => void;
  beforeEach(() => ({ dir, remove } = makeTempDir()));
  afterEach(() => remove());

  it('turns a failed mmap into an Error with the errno text and the path', () => {
    assert.throws(() => loadMmapAddon().map(-1, 4096, 4096, '/some/counter_1.db'), (error: Error & { errno?: number }) => {
      assert.equal(error.message, 'mmap "/some/counter_1.db" (4096 bytes): Bad file descriptor');
      assert.equal(error.errno, 9);
      return true;
    });
  });

  it('refuses lengths that are not byte counts, and a file part that is not whole pages within the length', () => {
    const fd = fs.openSync(path.join(dir, 'f'), 'w+');
    try {
      for (const length of [-8, 1.5, Number.NaN]) {
        assert.throws(() => loadMmapAddon().map(fd, 0, length, 'f'), { name: 'RangeError', message: 'map "f": length must be a non-negative integer' });
        assert.throws(() => loadMmapAddon().map(fd, length, 4096, 'f'), { name: 'RangeError', message: 'map "f": fileLength must be a non-negative integer' });
      }
      const layout = { name: 'RangeError', message: 'map "f": need 0 < length, and fileLength <= length a multiple of the page size' };
      assert.throws(() => loadMmapAddon().map(fd, 0, 0, 'f'), layout);
      assert.throws(() => loadMmapAddon().map(fd, 1 << 17, 1 << 16, 'f'), layout);
      assert.throws(() => loadMmapAddon().map(fd, 100, 1 << 16, 'f'), layout);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('maps the file part shared and the rest private: only stores into the file part reach the file', () => {
    const filePath = path.join(dir, 'shared');
    // 64 KiB: whole pages on every page size Linux uses.
    const part = 1 << 16;
    fs.writeFileSync(filePath, Buffer.alloc(part));
    const fd = fs.openSync(filePath, 'r+');
    try {
      const mapped = new Float64Array(loadMmapAddon().map(fd, part, 3 * part, filePath));
      mapped[3] = 2.5;
      mapped[part / 8 + 3] = 7;
      mapped[(3 * part) / 8 - 1] = 9;
      const file = fs.readFileSync(filePath);
      assert.equal(file.length, part, 'the private part never grows the file');
      assert.equal(file.readDoubleLE(24), 2.5);
      assert.deepEqual([mapped[part / 8 + 3], mapped[(3 * part) / 8 - 1]], [7, 9], 'the private part keeps its values');
    } finally {
      fs.closeSync(fd);
    }
  });

  it('reserves blocks (posix_fallocate), where growing the size alone leaves a sparse file', () => {
    const fd = fs.openSync(path.join(dir, 'reserved'), 'w+');
    const sparse = fs.openSync(path.join(dir, 'sparse'), 'w+');
    try {
      loadMmapAddon().reserve(fd, 0, 1 << 16, 'reserved');
      fs.ftruncateSync(sparse, 1 << 16);
      const [reserved, grown] = [fs.fstatSync(fd), fs.fstatSync(sparse)];
      assert.deepEqual([reserved.size, grown.size], [1 << 16, 1 << 16]);
      assert.ok(reserved.blocks * 512 >= 1 << 16, `${reserved.blocks} blocks of 512 bytes allocated`);
      assert.equal(grown.blocks, 0, 'ftruncate allocates nothing');
      assert.throws(() => loadMmapAddon().reserve(-1, 0, 4096, '/some/counter_1.db'), (error: Error & { errno?: number }) => {
        assert.equal(error.message, 'reserve "/some/counter_1.db" (4096 bytes at 0): Bad file descriptor');
        assert.equal(error.errno, 9);
        return true;
      });
    } finally {
      fs.closeSync(fd);
      fs.closeSync(sparse);
    }
  });

  it('unmaps a grown-out-of mapping once its buffer is collected, and the last one after close', async function () {
    if (process.platform !== 'linux') this.skip(); // counts mappings in /proc/self/maps
    const child = await runChild('mapping-count.ts', [dir], { nodeArgs: ['--expose-gc'] });
    assert.equal(child.code, 0, child.stderr);
    const counts = JSON.parse(child.stdout) as { whileGrowing: number; afterGc: number; afterClose: number; size: number };
    assert.ok(counts.size >= 16 * 65536, `the file grew to ${counts.size} bytes`);
    assert.ok(counts.whileGrowing >= 1);
    assert.equal(counts.afterGc, 1, 'only the live mapping is left after a GC');
    assert.equal(counts.afterClose, 0, 'nothing is left mapped after close and a GC');
  });
});

describe('choosing a backend', () => {
  let dir: string;
  let remove: () => void;
  beforeEach(() => ({ dir, remove } = makeTempDir()));
  afterEach(() => remove());

  it('uses native when the addon loads, without a word', async () => {
    const child = await runChild('backend-choice.ts', [dir], { env: { ...process.env, PM2_PROM_MULTIPROC_BACKEND: '' } });
    assert.equal(child.stdout, 'native native\n');
    assert.equal(child.stderr, '');
  });

  it('falls back to pwrite with one one-line warning when the addon cannot load', async () => {
    const child = await runChild('backend-choice.ts', [dir], { env: { ...process.env, ...WITHOUT_ADDON, PM2_PROM_MULTIPROC_BACKEND: '' } });
    assert.equal(child.stdout, 'pwrite pwrite\n');
    assert.match(child.stderr, /^pm2-prom-multiproc: the native mmap addon could not be loaded: No native build was found[^\n]*; using the slower pwrite backend \(to compile the addon: npm explore pm2-prom-multiproc -- npm run build:native\)\n$/);
    assert.deepEqual(fs.readdirSync(dir).filter((name) => name.endsWith('.db')).length, 1, 'the fallback wrote its file');
  });

  it('fails loudly when native is forced and the addon cannot load', async () => {
    const child = await runChild('backend-choice.ts', [dir], { env: { ...process.env, ...WITHOUT_ADDON, PM2_PROM_MULTIPROC_BACKEND: 'native' } });
    assert.match(child.stdout, /^error: the native mmap addon could not be loaded: No native build was found/);
    assert.equal(child.stderr, '');
  });

  it('uses pwrite when forced, and names a misspelt choice', async () => {
    const forced = await runChild('backend-choice.ts', [dir], { env: { ...process.env, PM2_PROM_MULTIPROC_BACKEND: 'pwrite' } });
    assert.equal(forced.stdout, 'pwrite pwrite\n');
    const misspelt = await runChild('backend-choice.ts', [dir], { env: { ...process.env, PM2_PROM_MULTIPROC_BACKEND: 'mmap' } });
    assert.equal(misspelt.stdout, 'error: PM2_PROM_MULTIPROC_BACKEND="mmap" is not a backend: use "native" or "pwrite", or unset it\n');
  });
});

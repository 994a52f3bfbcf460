// Real filesystems that run out of room, for the tests of what a full disk does to a writer:
// a tmpfs of a given size, an ext4 image on a loop device, and filling one up. Mounting needs
// root (CI runs as root); where the machine refuses, the caller skips, saying why.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface Mount {
  dir: string;
  unmount(): void;
}

/** Why filesystems cannot be mounted here, or undefined when they can. */
export function mountRefusal(): string | undefined {
  if (process.platform !== 'linux') return 'mounting filesystems is tested on Linux only';
  if (process.geteuid?.() !== 0) return 'mounting a tmpfs or a loop device needs root (CI runs the tests as root)';
  return undefined;
}

function run(command: string, args: readonly string[]): void {
  try {
    execFileSync(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (error) {
    const stderr = (error as { stderr?: Buffer }).stderr?.toString().trim();
    throw new Error(`${command} ${args.join(' ')} failed: ${stderr || (error as Error).message}`);
  }
}

/** A tmpfs of `size` (mount's spelling: `1m`) at `dir`, created when missing. */
export function mountTmpfs(dir: string, size: string): Mount {
  fs.mkdirSync(dir, { recursive: true });
  run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  return { dir, unmount: () => run('umount', [dir]) };
}

/** An ext4 filesystem of `megabytes` in an image file beside `dir`, mounted through a loop device. */
export function mountExt4(dir: string, megabytes: number): Mount {
  fs.mkdirSync(dir, { recursive: true });
  const image = `${dir}.ext4`;
  fs.writeFileSync(image, '');
  fs.truncateSync(image, megabytes << 20);
  // No blocks reserved for root: the tests run as root and must see the disk full.
  run('mkfs.ext4', ['-q', '-F', '-m', '0', image]);
  run('mount', ['-o', 'loop', image, dir]);
  fs.chmodSync(dir, 0o700);
  return {
    dir,
    unmount: () => {
      run('umount', [dir]);
      fs.rmSync(image, { force: true });
    },
  };
}

/**
 * Fills the filesystem of `dir` to the last block with a file, whose path it returns: big
 * writes first, then single blocks, until the filesystem says ENOSPC.
 */
export function fillUp(dir: string): string {
  const filler = path.join(dir, 'filler');
  const fd = fs.openSync(filler, 'w');
  try {
    for (const chunk of [Buffer.alloc(1 << 20, 1), Buffer.alloc(4096, 1), Buffer.alloc(512, 1)]) {
      for (;;) {
        try {
          if (fs.writeSync(fd, chunk) < chunk.length) break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
          break;
        }
      }
    }
    // Delayed allocation (ext4) finds the last blocks when the data goes to disk.
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  return filler;
}

// A third party that truncates a live exemplar file (`: > counter_PID.exemplars`) never signals its
// writer. A native writer stored into its mapping of the file and died of SIGBUS at the next flush
// (exit 135), on a timer, in no call of the app's; exemplar files are now written with pwrite by
// every backend, the flush being off the hot path.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FILE_BACKENDS, makeTempDir } from './helpers';

describe('exemplar files truncated under their writer', function () {
  this.timeout(30_000);
  for (const backend of FILE_BACKENDS) {
    it(`the ${backend} writer lives on and ends normally, flushing at full speed`, async () => {
      const { dir, remove } = makeTempDir();
      try {
        const child = spawn(process.execPath, ['--import', 'tsx', path.join(__dirname, 'children', 'exemplar-rewriter.ts'), dir, backend, '2'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        let stderr = '';
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
        const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (code, signal) => resolve([code, signal])));
        let running = true;
        void exited.then(() => (running = false));
        while (running && !output.includes('started')) await new Promise((resolve) => setTimeout(resolve, 20));
        const filePath = path.join(dir, `counter_${child.pid}.exemplars`);
        assert.ok(fs.statSync(filePath).size > 0, 'the file holds its slots');
        fs.truncateSync(filePath, 0);
        assert.deepEqual(await exited, [0, null], `the writer ended by itself; stderr:\n${stderr}`);
        assert.match(output, /^started\n\d+\n$/, 'and reported its writes');
      } finally {
        remove();
      }
    });
  }
});

// A real Prometheus Pushgateway (Debian's prometheus-pushgateway) on a free port, for the tests of
// the Pushgateway client; they skip with PUSHGATEWAY_MISSING where it is not installed.
import { spawn, spawnSync } from 'node:child_process';
import * as net from 'node:net';

export const PUSHGATEWAY_MISSING =
  'prometheus-pushgateway is not installed (Debian: apt-get install prometheus-pushgateway): pushes not tested';

export interface RunningPushgateway {
  url: string;
  stop(): void;
}

/** Starts one on a free port and waits until it is ready, or undefined when it is not installed. */
export async function startPushgateway(): Promise<RunningPushgateway | undefined> {
  if (spawnSync('prometheus-pushgateway', ['--version'], { stdio: 'ignore' }).status !== 0) return undefined;
  const port = await new Promise<number>((resolve) => {
    const server = net.createServer().listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
  // Memory only: Debian's build persists to /var/lib/prometheus by default, across runs and tests.
  const child = spawn('prometheus-pushgateway', [`--web.listen-address=127.0.0.1:${port}`, '--persistence.file='], { stdio: 'ignore' });
  const running = { url: `http://127.0.0.1:${port}`, stop: () => void child.kill() };
  for (let attempt = 0; attempt < 100; attempt++) {
    try {
      if ((await fetch(`${running.url}/-/ready`)).ok) return running;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  running.stop();
  throw new Error('prometheus-pushgateway did not become ready');
}

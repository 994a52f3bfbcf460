// The endpoint under load, in its own process: 200 concurrent scrapes all succeed while only one
// collection runs at a time and memory stays flat; slow (slowloris), aborted and idle clients are
// cut off by the server's limits and never stop it from answering scrapers.
import assert from 'node:assert/strict';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { DEFAULT_CONNECTION_LIMITS, listenOn, type ConnectionLimits } from '../../src/server/endpoint';
import { httpGet, writeCounters } from '../server/support';
import { envNumber, makeTempDir, removeDir, startChild, waitForMessage, type Child } from './support';

const CONNECTIONS = 200;
const REQUESTS = envNumber('RELIABILITY_LOAD_REQUESTS', 4000);
const SLOW_CLIENTS = 100;
const MiB = 1 << 20;
/** Short limits so that the test sees them act; the defaults are the same mechanism, longer. */
const LIMITS: ConnectionLimits = { headersTimeoutMs: 1500, requestTimeoutMs: 3000, keepAliveTimeoutMs: 1000, checkIntervalMs: 250 };

interface ServerStats {
  collections: number;
  maxInFlight: number;
  requests: number;
  connections: number;
  heapUsed: number;
  rss: number;
}

function stats(server: Child): Promise<ServerStats> {
  return new Promise((resolve) => {
    server.process.once('message', (message) => resolve(message as ServerStats));
    server.process.send('stats');
  });
}

async function load(url: string, amount: number): Promise<autocannon.Result> {
  return autocannon({ url, connections: CONNECTIONS, amount, timeout: 30 });
}

/** Resolves when the server has no connection left (they were closed by it or by the clients). */
async function connectionsDrained(server: Child): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const { connections } = await stats(server);
    if (connections === 0) return 0;
    await sleep(100);
  }
  return (await stats(server)).connections;
}

describe('reliability: the endpoint under load', function () {
  this.timeout(180_000);
  let dir: string;
  let server: Child;
  let base: string;

  before(async () => {
    dir = makeTempDir('load');
    for (let pid = 1000; pid < 1020; pid++) {
      writeCounters(dir, pid, Array.from({ length: 50 }, (_, route) => ({ name: 'load_requests', labels: { route: `/r${route}` }, value: 1 })));
    }
    server = startChild('endpoint-server.ts', [dir, JSON.stringify(LIMITS)], { nodeArgs: ['--expose-gc'], ipc: true });
    const { port } = await waitForMessage(server, (message): message is { port: number } => typeof message === 'object' && message !== null && 'port' in message);
    base = `http://127.0.0.1:${port}`;
  });
  after(() => {
    server.process.kill('SIGKILL');
    removeDir(dir);
  });

  it(`answers ${CONNECTIONS} concurrent scrapers, one collection at a time, with flat memory`, async () => {
    const warmUp = await load(`${base}/metrics`, CONNECTIONS * 5);
    assert.equal(warmUp.non2xx + warmUp.errors + warmUp.timeouts, 0, 'warm-up scrapes failed');
    const before = await stats(server);
    const result = await load(`${base}/metrics`, REQUESTS);
    const after = await stats(server);
    assert.equal(result['2xx'], REQUESTS, `${result.non2xx} non-2xx, ${result.errors} errors, ${result.timeouts} timeouts`);
    assert.equal(result.non2xx + result.errors + result.timeouts, 0);
    assert.equal(after.maxInFlight, 1, 'collections overlapped');
    const collections = after.collections - before.collections;
    assert.ok(collections < REQUESTS / 2, `${collections} collections for ${REQUESTS} scrapes: concurrent scrapes must share them`);
    const heapGrowth = after.heapUsed - before.heapUsed;
    assert.ok(heapGrowth < 16 * MiB, `heap grew by ${(heapGrowth / MiB).toFixed(1)} MiB over ${REQUESTS} scrapes`);
    const body = (await httpGet(`${base}/metrics`)).text;
    assert.match(body, /^load_requests_total\{route="\/r7"\} 20$/m);
    console.log(
      `      load: ${REQUESTS} scrapes by ${CONNECTIONS} connections, ${collections} collections (never 2 at once), ` +
        `${Math.round(result.requests.average)} req/s, heap ${(before.heapUsed / MiB).toFixed(1)} -> ${(after.heapUsed / MiB).toFixed(1)} MiB, ` +
        `RSS ${(before.rss / MiB).toFixed(1)} -> ${(after.rss / MiB).toFixed(1)} MiB`,
    );
  });

  it('cuts off slowloris clients and keeps serving scrapers meanwhile', async () => {
    const { port } = new URL(base);
    const slow = Array.from({ length: SLOW_CLIENTS }, () => {
      const socket = net.connect(Number(port), '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write('GET /metrics HTTP/1.1\r\nHost: localhost\r\n');
      // One more header byte now and then: never the blank line that ends the headers.
      const trickle = setInterval(() => socket.write('X'), 200);
      const closed = new Promise<string>((resolve) => {
        let answer = '';
        socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
        socket.on('close', () => {
          clearInterval(trickle);
          resolve(answer);
        });
      });
      return { socket, closed };
    });
    const result = await load(`${base}/metrics`, CONNECTIONS * 5);
    assert.equal(result['2xx'], CONNECTIONS * 5, 'scrapers were held up by slow clients');
    const answers = await Promise.race([
      Promise.all(slow.map((client) => client.closed)),
      sleep(LIMITS.headersTimeoutMs * 10).then(() => undefined),
    ]);
    for (const client of slow) client.socket.destroy();
    assert.ok(answers !== undefined, 'the server kept slow clients past its headers timeout');
    for (const answer of answers) assert.ok(answer === '' || answer.startsWith('HTTP/1.1 408'), answer);
    assert.equal(await connectionsDrained(server), 0);
  });

  it('shrugs off aborted clients and closes idle keep-alive connections', async () => {
    const { port } = new URL(base);
    const aborted = Array.from({ length: CONNECTIONS }, (_, index) => {
      const socket = net.connect(Number(port), '127.0.0.1');
      socket.on('error', () => undefined);
      return new Promise<void>((resolve) => {
        socket.on('connect', () => {
          // Half leave before sending anything, half right after their request.
          if (index % 2 === 0) socket.write('GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n');
          socket.destroy();
          resolve();
        });
      });
    });
    await Promise.all(aborted);
    const scrape = await httpGet(`${base}/metrics`);
    assert.equal(scrape.status, 200);

    const idle = net.connect(Number(port), '127.0.0.1');
    // Read what comes (the answer), or the server's FIN would sit unread and 'close' never come.
    idle.resume();
    const idleClosed = new Promise<void>((resolve) => idle.on('close', () => resolve()));
    idle.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: keep-alive\r\n\r\n');
    const closedInTime = await Promise.race([idleClosed.then(() => true), sleep(LIMITS.keepAliveTimeoutMs * 10).then(() => false)]);
    idle.destroy();
    assert.ok(closedInTime, 'an idle keep-alive connection was kept past keepAliveTimeout');
    assert.equal(await connectionsDrained(server), 0);
  });

  it('applies the default limits when none are given (what the PM2 module and the cluster helper use)', async () => {
    const plain = await listenOn(() => undefined, '127.0.0.1', 0);
    try {
      assert.deepEqual(
        { headers: plain.headersTimeout, request: plain.requestTimeout, keepAlive: plain.keepAliveTimeout },
        {
          headers: DEFAULT_CONNECTION_LIMITS.headersTimeoutMs,
          request: DEFAULT_CONNECTION_LIMITS.requestTimeoutMs,
          keepAlive: DEFAULT_CONNECTION_LIMITS.keepAliveTimeoutMs,
        },
      );
    } finally {
      plain.close();
    }
  });
});

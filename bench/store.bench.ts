// The store's update path: ns per `add` on each backend, beside prom-client's in-memory
// counter.inc() measured in the same run; and what a flush of held-back exemplars costs per slot
// written (the work deferred out of inc() and observe()). Run alone: node --import tsx bench/store.bench.ts

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Counter, Registry } from 'prom-client';
import { encodeKey } from '../src/store/format';
import { ProcessStore } from '../src/store';
import type { BackendKind } from '../src/store';

const ROUNDS = 5;

/** Median ns per call of `body`, run `calls` times a round. */
function nsPerCall(calls: number, body: (calls: number) => void): number {
  body(Math.min(calls, 100_000)); // warm up the JIT
  const samples: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const start = process.hrtime.bigint();
    body(calls);
    samples.push(Number(process.hrtime.bigint() - start) / calls);
  }
  return samples.sort((a, b) => a - b)[Math.floor(ROUNDS / 2)];
}

function storeAdd(backend: BackendKind, dir: string | undefined, calls: number): number {
  const store = new ProcessStore(dir, { backend });
  const file = store.file('counter');
  const slot = file.slotOf(encodeKey('requests', 'requests_total', { method: 'GET' }, 'Requests.'));
  const result = nsPerCall(calls, (n) => {
    for (let i = 0; i < n; i++) file.add(slot, 1);
  });
  store.close();
  return result;
}

function promClientInc(calls: number): number {
  const counter = new Counter({ name: 'requests_total', help: 'Requests.', registers: [new Registry()] });
  return nsPerCall(calls, (n) => {
    for (let i = 0; i < n; i++) counter.inc();
  });
}

/** ns per slot of a flush that writes `slots` exemplars ({ traceId, spanId }, new each round). */
function exemplarFlush(backend: BackendKind, dir: string, slots: number): number {
  const store = new ProcessStore(dir, { backend, pid: backend === 'native' ? 1 : 2 });
  const log = store.exemplars('counter');
  const indexes = Array.from({ length: slots }, (_, i) => log.indexOf(encodeKey('requests', 'requests_total', { route: `/${i}` }, 'Requests.')));
  // Flat strings, built beforehand (as an app's trace ids are), two sets so each round changes every slot.
  const ids = [0, 1].map((set) =>
    indexes.map((_, i) => Buffer.from(((i * 2654435761 + set) >>> 0).toString(16).padStart(8, '0'), 'latin1').toString('latin1')),
  );
  const labels = ids.map((set) => set.map((id) => ({ traceId: id.repeat(4), spanId: id.repeat(2) })));
  let round = 0;
  const result = nsPerCall(slots, () => {
    round++;
    const set = labels[round & 1];
    for (let i = 0; i < slots; i++) log.record(indexes[i], set[i], 1, 1733040000 + round / 1000);
    log.flush();
  });
  store.close();
  return result;
}

export function runStoreBench(): Array<{ case: string; ns: number }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pm2-prom-bench-'));
  try {
    return [
      { case: 'prom-client 15 counter.inc() (in memory, peer)', ns: promClientInc(5_000_000) },
      { case: 'store add, memory backend', ns: storeAdd('memory', undefined, 5_000_000) },
      { case: 'store add, native mmap backend', ns: storeAdd('native', dir, 5_000_000) },
      { case: 'store add, pwrite backend', ns: storeAdd('pwrite', dir, 200_000) },
      { case: 'exemplar flush, native, per slot (record + write)', ns: exemplarFlush('native', dir, 10_000) },
      { case: 'exemplar flush, pwrite, per slot (record + write)', ns: exemplarFlush('pwrite', dir, 10_000) },
    ];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const results = runStoreBench();
  const peer = results[0].ns;
  for (const result of results) {
    console.log(`${result.case.padEnd(50)} ${result.ns.toFixed(1).padStart(8)} ns   x${(result.ns / peer).toFixed(2)} of prom-client`);
  }
}

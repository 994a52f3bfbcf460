// Gauge modes as files and as merged values: timestamps in the mostrecent modes on every write
// (set, inc, dec: Python stamps set() only), none elsewhere.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { Gauge, Registry, collectDirectory } from '../../src/index';
import { GAUGE_MODES } from '../../src/store/gauge-modes';
import { FILE_BACKENDS, makeMetricsDir, readDbEntries } from '../support/metrics-dir';
import type { MetricsDir } from '../support/metrics-dir';

for (const backend of FILE_BACKENDS) {
  describe(`Gauge multiprocess modes (${backend} backend)`, () => {
    let target: MetricsDir;
    beforeEach(() => {
      target = makeMetricsDir();
    });
    afterEach(() => target.remove());

    it('writes each mode to its own file, stamping every write in the mostrecent modes (time) and livefirst/liveaverage (start)', () => {
      const store = target.actAs(5, backend);
      const registers = [new Registry()];
      const before = Date.now() / 1000;
      for (const mode of GAUGE_MODES) {
        const gauge = new Gauge({ name: `g_${mode}`, help: 'x', labelNames: ['op'], multiprocessMode: mode, registers });
        gauge.set({ op: 'set' }, 3);
        gauge.inc({ op: 'inc' }, 2);
        gauge.labels('dec').dec();
        const entries = readDbEntries(path.join(target.dir, `gauge_${mode}_5.db`));
        assert.deepEqual(entries.map((entry) => entry.value), [3, 2, -1], mode);
        for (const entry of entries) {
          if (mode.endsWith('mostrecent')) assert.ok(entry.timestamp >= before && entry.timestamp <= Date.now() / 1000 + 1, mode);
          else if (mode === 'livefirst' || mode === 'liveaverage') assert.equal(entry.timestamp, store.startSeconds, mode);
          else assert.equal(entry.timestamp, 0, mode);
        }
      }
    });

    it('merges as the mode says; mostrecent picks the latest write, an inc included', async () => {
      const registers = () => [new Registry()];
      const gauges = (pid: number) => {
        target.actAs(pid, backend);
        return {
          all: new Gauge({ name: 'g_all', help: 'x', multiprocessMode: 'all', registers: registers() }),
          max: new Gauge({ name: 'g_max', help: 'x', multiprocessMode: 'max', registers: registers() }),
          sum: new Gauge({ name: 'g_sum', help: 'x', multiprocessMode: 'livesum', registers: registers() }),
          recent: new Gauge({ name: 'g_recent', help: 'x', multiprocessMode: 'mostrecent', registers: registers() }),
        };
      };
      const first = gauges(1);
      const second = gauges(2);
      first.all.set(10);
      second.all.set(20);
      first.max.set(-3);
      second.max.set(-7);
      first.sum.set(1.5);
      second.sum.set(2);
      second.recent.set(100);
      await new Promise((resolve) => setTimeout(resolve, 5));
      first.recent.inc(4);
      const merged = new Map(collectDirectory(target.dir).map((family) => [family.name, family.samples.map((s) => [s.labels, s.value])]));
      const byPid = [...(merged.get('g_all') ?? [])].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
      assert.deepEqual(byPid, [[{ pid: '1' }, 10], [{ pid: '2' }, 20]]);
      assert.deepEqual(merged.get('g_max'), [[{}, -3]]);
      assert.deepEqual(merged.get('g_sum'), [[{}, 3.5]]);
      assert.deepEqual(merged.get('g_recent'), [[{}, 4]]);
    });
  });
}

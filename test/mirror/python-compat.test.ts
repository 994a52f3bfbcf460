// The mirror writes what Python writes: the operations of make_python_fixtures.py, done with
// prom-client and mirrored, give the same keys and values as the files Python's client wrote.

import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as promClient from 'prom-client';
import { PYTHON_GAUGE_MODES } from '../../src/store/gauge-modes';
import { ProcessStore } from '../../src/store';
import { mirrorRegistry } from '../../src/mirror';
import { readFileSamples } from '../support/file-samples';
import { storeFileNames, tempDir } from './store-files';
import { FIXTURE_PIDS, PYTHON_FIXTURE_DB, replayPythonOperations } from '../support/python-fixture';
import type { FixtureLibrary } from '../support/python-fixture';

const FIXTURE = PYTHON_FIXTURE_DB;

/** prom-client's metric classes, typed as ours: a user changes only the import. */
const promClientLibrary = promClient as unknown as FixtureLibrary;

/** Replays make_python_fixtures.py for worker number `i` on a fresh prom-client registry. */
function promClientRegistry(i: number): promClient.Registry {
  const registry = new promClient.Registry();
  replayPythonOperations(promClientLibrary, i, [registry as never], false);
  return registry;
}

describe('mirror: byte compatibility with Python', () => {
  it('writes the keys and values Python writes for the same operations', async () => {
    const dir = tempDir('mirror-python-');
    try {
      for (const [i, pid] of FIXTURE_PIDS.entries()) {
        const store = new ProcessStore(dir, { pid });
        const gaugeModes = Object.fromEntries(PYTHON_GAUGE_MODES.map((mode) => [`g_${mode}`, mode]));
        const mirror = mirrorRegistry(promClientRegistry(i), { store, gaugeModes });
        await mirror.pass();
        mirror.stop();
        store.close();
      }
      const pythonFiles = storeFileNames(FIXTURE);
      // Python's fixture marked the last pid dead, which removed its live* gauge files.
      const ours = storeFileNames(dir).filter((name) => !/^gauge_live.*_303\.db$/.test(name));
      assert.deepEqual(ours, pythonFiles);
      for (const name of pythonFiles) {
        const expected = readFileSamples(path.join(FIXTURE, name));
        const actual = readFileSamples(path.join(dir, name));
        assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `keys of ${name}`);
        for (const [key, { value }] of expected) {
          assert.ok(Math.abs(actual.get(key)!.value - value) < 1e-9, `${name} ${key}: ${actual.get(key)!.value} != ${value}`);
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// What the preload reads as the app's environment, including a PM2 cluster worker's, whose
// settings are still in pm2_env while preloads run.

import * as assert from 'node:assert/strict';
import { preloadEnvironment } from '../../src/mirror/preload-environment';

describe('preloadEnvironment', () => {
  it('is the environment itself outside PM2', () => {
    const env = { PROMETHEUS_MULTIPROC_DIR: '/run/metrics' };
    assert.equal(preloadEnvironment(env), env);
  });

  it("adds a PM2 cluster worker's settings from pm2_env, which win as PM2 will apply them", () => {
    const pm2Env = JSON.stringify({ PROMETHEUS_MULTIPROC_DIR: '/pm2/dir', PROMETHEUS_MIRROR_INTERVAL_MS: 250, axm_options: { x: 1 } });
    const env = preloadEnvironment({ PATH: '/bin', PROMETHEUS_MULTIPROC_DIR: '/old', pm2_env: pm2Env });
    assert.equal(env.PROMETHEUS_MULTIPROC_DIR, '/pm2/dir');
    assert.equal(env.PROMETHEUS_MIRROR_INTERVAL_MS, '250');
    assert.equal(env.PATH, '/bin');
    assert.equal(env.axm_options, undefined);
  });

  it('ignores a pm2_env that is not a JSON object', () => {
    for (const pm2Env of ['{not json', '42', 'null']) {
      assert.deepEqual(preloadEnvironment({ A: 'b', pm2_env: pm2Env }), { A: 'b', pm2_env: pm2Env });
    }
  });
});

'use strict';
// `node --require pm2-prom-multiproc/register app.js`: mirrors the app's own prom-client registry
// into PROMETHEUS_MULTIPROC_DIR every second and at exit. Without that variable it does nothing.
// PM2 cluster workers start in the daemon's directory: give PM2 the absolute path,
// node_args: ['--require', require.resolve('pm2-prom-multiproc/register')].
try {
  const env = require('./dist/mirror/preload-environment').preloadEnvironment();
  if (env.PROMETHEUS_MULTIPROC_DIR) require('./dist/mirror/preload').startPreload(env);
} catch (error) {
  // A broken install must not stop the app it was meant to observe.
  process.emitWarning(`pm2-prom-multiproc/register: mirroring is off: ${error && error.message}`, 'PromClientMirrorWarning');
}

'use strict';
// `node --require pm2-prom-multiproc/register app.js`: mirrors the app's own prom-client registry
// into PROMETHEUS_MULTIPROC_DIR every second and at exit. Without that variable it does nothing.
const env = require('./dist/mirror/preload-environment').preloadEnvironment();
if (env.PROMETHEUS_MULTIPROC_DIR) require('./dist/mirror/preload').startPreload(env);

// Development deployment: the demo app in cluster mode writing to one metrics directory, and the
// module built from this checkout serving it. In production the module comes from
// `pm2 install pm2-prom-multiproc` instead, and only the app's env entry below is needed.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const pm2Home = process.env.PM2_HOME || path.join(os.homedir(), '.pm2');
// The module's default directory (setting "dir"), so both sides agree without configuration.
const metricsDir = path.join(pm2Home, 'prom-multiproc');
// The workers need the directory before their first metric; the module would create it too.
fs.mkdirSync(metricsDir, { recursive: true, mode: 0o700 });

module.exports = {
  apps: [
    {
      // Named like the installed module, so `pm2 set pm2-prom-multiproc:KEY VALUE` applies to it.
      name: 'pm2-prom-multiproc',
      script: path.join(__dirname, 'dist/pm2/module.js'),
      cwd: __dirname,
      exp_backoff_restart_delay: 1000,
    },
    {
      name: 'demo-app',
      script: path.join(__dirname, 'examples/demo-app.js'),
      exec_mode: 'cluster',
      instances: Number(process.env.DEMO_INSTANCES || 2),
      env: {
        PORT: process.env.DEMO_PORT || 3000,
        PROMETHEUS_MULTIPROC_DIR: metricsDir,
      },
    },
  ],
};

// npm stop: ends everything `npm start` started, by killing the isolated PM2 daemon of this
// project (PM2_HOME=.pm2) with its apps and the module.
'use strict';
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const pm2Home = path.join(root, '.pm2');
const pidFile = path.join(pm2Home, 'pm2.pid');

function daemonAlive() {
  try {
    process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 0);
    return true;
  } catch {
    return false;
  }
}

// `pm2 kill` with no daemon would first launch one: only kill a daemon that runs.
if (!daemonAlive()) {
  console.log('Nothing to stop: no PM2 daemon runs with PM2_HOME=.pm2');
} else {
  execFileSync(process.execPath, [require.resolve('pm2/bin/pm2'), 'kill'], {
    cwd: root,
    env: { ...process.env, PM2_HOME: pm2Home },
    stdio: 'inherit',
  });
}

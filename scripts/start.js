// npm start: builds the library if needed, brings up an isolated PM2 (PM2_HOME=.pm2 in this
// project, never ~/.pm2) running the module and the demo app in cluster mode, prints where to
// look, and returns with everything running in the background. `npm stop` ends it all.
'use strict';
const { execFileSync, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const http = require('node:http');
const https = require('node:https');
const path = require('node:path');

const root = path.join(__dirname, '..');
const pm2Home = path.join(root, '.pm2');
const pm2Bin = require.resolve('pm2/bin/pm2');
const env = { ...process.env, PM2_HOME: pm2Home };
const pkg = require(path.join(root, 'package.json'));

function newestMtime(dir) {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

function buildIfNeeded() {
  const entry = path.join(root, 'dist', 'pm2', 'module.js');
  if (fs.existsSync(entry) && fs.statSync(entry).mtimeMs >= newestMtime(path.join(root, 'src'))) return;
  console.log('Building dist/ ...');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const result = spawnSync(npm, ['run', 'build'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status || 1);
}

function pm2(...args) {
  execFileSync(process.execPath, [pm2Bin, ...args], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
}

/** The module's setting `key`: `pm2 set` values win over package.json defaults. */
function setting(key) {
  try {
    const conf = JSON.parse(fs.readFileSync(path.join(pm2Home, 'module_conf.json'), 'utf8'));
    const value = conf[pkg.name] && conf[pkg.name][key];
    if (value !== undefined && value !== '') return String(value);
  } catch {
    // No settings saved yet: the defaults apply.
  }
  return String(pkg.config[key]);
}

function isHealthy(url) {
  // The module's own certificate may well be self-signed: this probe only asks if it answers.
  const client = url.startsWith('https:') ? https : http;
  return new Promise((resolve) => {
    client.get(url, { agent: false, rejectUnauthorized: false }, (response) => {
      response.resume();
      resolve(response.statusCode === 200);
    }).on('error', () => resolve(false));
  });
}

async function waitUntilHealthy(url, attempts) {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await isHealthy(url)) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

async function main() {
  buildIfNeeded();
  const host = setting('host');
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  const scheme = setting('tls_cert') === '' ? 'http' : 'https';
  const base = `${scheme}://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${setting('port')}`;
  const demoPort = process.env.DEMO_PORT || 3000;

  // The module first: its start-up clean then sees a directory no live worker writes to yet.
  pm2('start', 'ecosystem.config.js', '--only', pkg.name);
  if (!(await waitUntilHealthy(`${base}/healthz`, 60))) {
    console.error(`The module did not answer at ${base}/healthz; see: PM2_HOME=.pm2 npx pm2 logs ${pkg.name}`);
    process.exit(1);
  }
  pm2('start', 'ecosystem.config.js', '--only', 'demo-app');

  console.log(`
PM2 (PM2_HOME=.pm2) runs ${pkg.name} and demo-app (cluster mode, 2 workers).

  Metrics:   ${base}${setting('path')}
  Demo app:  http://127.0.0.1:${demoPort}/   and   http://127.0.0.1:${demoPort}/slow

Generate traffic, then look at demo_http_requests_total in the metrics:
  npx autocannon -d 5 http://127.0.0.1:${demoPort}/
  for i in $(seq 100); do curl -s http://127.0.0.1:${demoPort}/ > /dev/null; done

PM2:   PM2_HOME=.pm2 npx pm2 ls   (logs, monit ...)
Stop:  npm stop
`);
}

main().catch((error) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});

// A small HTTP app to try the module with. Run it in cluster mode under PM2 with
// PROMETHEUS_MULTIPROC_DIR set (ecosystem.config.js does both): every worker writes its own
// files, and the module's /metrics shows the sum over all of them.
'use strict';
const http = require('node:http');
// In your app: require('pm2-prom-multiproc'), the same API as prom-client.
const { Counter, Gauge, Histogram } = require('../dist');

const requests = new Counter({
  name: 'demo_http_requests_total',
  help: 'HTTP requests served, by method, route and status code',
  labelNames: ['method', 'route', 'status'],
});
const duration = new Histogram({
  name: 'demo_http_request_duration_seconds',
  help: 'Time to serve a request',
  labelNames: ['route'],
  buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5],
});
// liveall: one series per worker (label pid), removed by the module when that worker dies.
const inFlight = new Gauge({
  name: 'demo_http_requests_in_flight',
  help: 'Requests this worker is serving right now',
  multiprocessMode: 'liveall',
});
inFlight.set(0);

const routes = {
  '/': (response) => response.end(`hello from worker ${process.pid}\n`),
  // Up to 50 ms of simulated work, to fill the histogram's buckets.
  '/slow': (response) => setTimeout(() => response.end('done\n'), Math.random() * 50),
};

const server = http.createServer((request, response) => {
  const path = (request.url || '/').split('?')[0];
  const route = Object.prototype.hasOwnProperty.call(routes, path) ? path : 'other';
  const endTimer = duration.startTimer({ route });
  inFlight.inc();
  response.on('close', () => {
    inFlight.dec();
    endTimer();
    requests.inc({ method: request.method, route, status: String(response.statusCode) });
  });
  if (route === 'other') {
    response.statusCode = 404;
    response.end('not found\n');
  } else {
    routes[route](response);
  }
});

const port = Number(process.env.PORT || 3000);
server.listen(port, () => console.log(`demo-app worker ${process.pid} listening on port ${port}`));
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.close(() => process.exit(0)));

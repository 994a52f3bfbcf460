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
  // Native buckets too (about 9% wide), for a Prometheus that scrapes native histograms; text
  // scrapers keep seeing the classic buckets above.
  nativeHistogramBucketFactor: 1.1,
});
// liveall: one series per worker (label pid), removed by the module when that worker dies.
const inFlight = new Gauge({
  name: 'demo_http_requests_in_flight',
  help: 'Requests this worker is serving right now',
  multiprocessMode: 'liveall',
});
inFlight.set(0);

// Everything is recorded before the response is sent, so a client that has its answer can
// already see it counted in /metrics.
function respond(request, response, route, stopTimer, status, body) {
  requests.inc({ method: request.method, route, status: String(status) });
  stopTimer();
  inFlight.dec();
  response.statusCode = status;
  response.end(body);
}

const routes = {
  '/': (reply) => reply(200, `hello from worker ${process.pid}\n`),
  // Up to 50 ms of simulated work, to fill the histogram's buckets.
  '/slow': (reply) => setTimeout(() => reply(200, 'done\n'), Math.random() * 50),
};

const server = http.createServer((request, response) => {
  const path = (request.url || '/').split('?')[0];
  const route = Object.prototype.hasOwnProperty.call(routes, path) ? path : 'other';
  const stopTimer = duration.startTimer({ route });
  inFlight.inc();
  const reply = (status, body) => respond(request, response, route, stopTimer, status, body);
  if (route === 'other') reply(404, 'not found\n');
  else routes[route](reply);
});

const port = Number(process.env.PORT || 3000);
server.listen(port, () => console.log(`demo-app worker ${process.pid} listening on port ${port}`));
for (const signal of ['SIGINT', 'SIGTERM']) process.once(signal, () => server.close(() => process.exit(0)));

// Multiprocess metrics with Node's own `cluster` module, no PM2: the primary serves the merged
// metrics of its workers and marks each one dead when it exits; the workers run the demo app.
//   node examples/cluster-app.js     then     curl http://127.0.0.1:9321/metrics
'use strict';
const cluster = require('node:cluster');
const os = require('node:os');
const path = require('node:path');

if (cluster.isPrimary) {
  // In your app: require('pm2-prom-multiproc').
  const { serveClusterMetrics } = require('../dist');
  const workers = Number(process.env.WORKERS || 2);
  const dir = process.env.PROMETHEUS_MULTIPROC_DIR || path.join(os.homedir(), '.cluster-metrics');
  let stopping = false;

  serveClusterMetrics({ dir, port: Number(process.env.METRICS_PORT || 9321) }).then(
    (metrics) => {
      console.log(`primary ${process.pid}: metrics on ${metrics.url}, ${workers} workers writing to ${dir}`);
      // serveClusterMetrics has set PROMETHEUS_MULTIPROC_DIR: the workers forked now inherit it.
      for (let i = 0; i < workers; i++) cluster.fork();
      cluster.on('exit', () => {
        if (!stopping) cluster.fork();
      });
      const stop = () => {
        stopping = true;
        for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM');
        metrics.close().then(() => process.exit(0));
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    },
    (error) => {
      console.error(`primary ${process.pid}: ${error.message}`);
      process.exit(1);
    },
  );
} else {
  require('./demo-app');
}

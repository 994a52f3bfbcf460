// Multiprocess metrics without PM2, for an app that runs Node's `cluster` module itself: the
// primary cleans the directory safely, marks each worker dead when it exits (the `child_exit`
// hook of Python's gunicorn recipe) and serves the merged /metrics.
import cluster from 'node:cluster';
import type http from 'node:http';
import path from 'node:path';
import { Housekeeper, MetricsService } from '../host';
import { createLogger, type Logger } from '../logger';
import { createMetricsHandler, listenOn, type BasicAuth, type TlsFiles } from '../server';

export interface ClusterMetricsOptions {
  /** The metrics directory; workers forked afterwards inherit it as PROMETHEUS_MULTIPROC_DIR. */
  dir: string;
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default /metrics. */
  path?: string;
  basicAuth?: BasicAuth;
  /** Serve HTTPS with this certificate and key (PEM); see readTlsFiles. */
  tls?: TlsFiles;
  /** How often to look for dead pids that no exit event reported, default 10 s. */
  reconcileIntervalMs?: number;
  log?: Logger;
}

export interface ClusterMetricsServer {
  server: http.Server;
  /** http://HOST:PORT/PATH */
  url: string;
  close(): Promise<void>;
}

/** Call in the cluster primary, before forking the workers. */
export async function serveClusterMetrics(options: ClusterMetricsOptions): Promise<ClusterMetricsServer> {
  if (!cluster.isPrimary) throw new Error('serveClusterMetrics must be called in the cluster primary, not in a worker');
  const dir = path.resolve(options.dir);
  const host = options.host ?? '127.0.0.1';
  const metricsPath = options.path ?? '/metrics';
  const log = options.log ?? createLogger('pm2-prom-multiproc');

  const housekeeper = new Housekeeper({ log });
  housekeeper.adopt(dir);
  process.env.PROMETHEUS_MULTIPROC_DIR = dir;
  const service = new MetricsService(log, housekeeper);
  // As the PM2 module does: mark the dead, then fold their files into archives so that a primary
  // recycling workers for months keeps a small directory and fast scrapes.
  housekeeper.reconcile();

  const onExit = (worker: { process: { pid?: number } }): void => {
    const pid = worker.process.pid;
    if (pid !== undefined) housekeeper.processEnded(pid, 'exited');
  };
  cluster.on('exit', onExit);
  housekeeper.schedule(options.reconcileIntervalMs ?? 10_000);

  const sources = [{ dir }];
  const handler = createMetricsHandler({
    path: metricsPath,
    basicAuth: options.basicAuth,
    log,
    title: 'Cluster metrics',
    collect: async () => service.collect(sources),
  });
  let server: http.Server;
  try {
    server = await listenOn(handler, host, options.port, { tls: options.tls });
  } catch (error) {
    cluster.off('exit', onExit);
    housekeeper.stop();
    throw error;
  }
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : options.port;
  return {
    server,
    url: `${options.tls ? 'https' : 'http'}://${host.includes(':') ? `[${host}]` : host}:${port}${metricsPath}`,
    close: () =>
      new Promise((resolve) => {
        cluster.off('exit', onExit);
        housekeeper.stop();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

// The HTTP endpoint: GET /metrics (negotiated format, gzip), GET / (landing page), GET /healthz,
// 404 for anything else, optional basic auth on everything but /healthz.
import http from 'node:http';
import https from 'node:https';
import type { MetricFamily } from '../collect';
import { basicAuthChecker, type BasicAuth } from './basic-auth';
import type { Logger } from '../logger';
import { RenderedScrape, contentTypeOf } from './rendered-scrape';
import { acceptsGzip, chooseFormat } from './negotiation';
import { singleFlight } from './single-flight';

export interface EndpointOptions {
  /** Path of the metrics, `/metrics` by default. */
  path: string;
  basicAuth?: BasicAuth;
  /** Gathers every family to expose; concurrent scrapes share one call. */
  collect: () => Promise<MetricFamily[]>;
  log: Logger;
  /** Shown on the landing page. */
  title: string;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

function landingPage(title: string, metricsPath: string): string {
  const safeTitle = escapeHtml(title);
  const safePath = escapeHtml(metricsPath);
  return `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${safeTitle}</title></head>
<body><h1>${safeTitle}</h1>
<p>Prometheus metrics: <a href="${safePath}">${safePath}</a></p>
<p>Health: <a href="/healthz">/healthz</a></p>
</body></html>
`;
}

/**
 * The path a request asks for: the request target without its query, in origin form (`/metrics`)
 * or in absolute form (`http://host:port/metrics`, which a server must accept: RFC 9112 3.2.2).
 */
function pathOf(target: string): string {
  if (/^https?:\/\//i.test(target)) {
    try {
      return new URL(target).pathname;
    } catch {
      return target;
    }
  }
  const query = target.indexOf('?');
  return query < 0 ? target : target.slice(0, query);
}

function sendPlain(response: http.ServerResponse, status: number, text: string, head: boolean): void {
  response.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' });
  response.end(head ? undefined : text);
}

export function createMetricsHandler(options: EndpointOptions): http.RequestListener {
  const isAuthorized = options.basicAuth ? basicAuthChecker(options.basicAuth) : async () => true;
  const currentScrape = singleFlight(async () => new RenderedScrape(await options.collect()));
  const landing = landingPage(options.title, options.path);

  async function serveMetrics(request: http.IncomingMessage, response: http.ServerResponse): Promise<void> {
    const format = chooseFormat(request.headers.accept);
    const scrape = await currentScrape();
    const gzip = acceptsGzip(request.headers['accept-encoding']);
    const body = gzip ? await scrape.gzipped(format) : scrape.body(format);
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': contentTypeOf(format),
      'Content-Length': body.length,
      Vary: 'Accept, Accept-Encoding',
    };
    if (gzip) headers['Content-Encoding'] = 'gzip';
    response.writeHead(200, headers);
    response.end(request.method === 'HEAD' ? undefined : body);
  }

  return (request, response) => {
    const pathname = pathOf(request.url ?? '/');
    const head = request.method === 'HEAD';
    if (request.method !== 'GET' && !head) {
      response.setHeader('Allow', 'GET, HEAD');
      sendPlain(response, 405, 'Method not allowed\n', false);
      return;
    }
    if (pathname === '/healthz') {
      sendPlain(response, 200, 'ok\n', head);
      return;
    }
    isAuthorized(request.headers.authorization).then(
      (authorized) => {
        if (!authorized) {
          response.setHeader('WWW-Authenticate', 'Basic realm="metrics", charset="UTF-8"');
          sendPlain(response, 401, 'Unauthorized\n', head);
          return;
        }
        if (pathname === options.path) {
          serveMetrics(request, response).catch((error: unknown) => {
            const message = error instanceof Error ? error.message : String(error);
            options.log.error(`scrape failed: ${message}`);
            if (!response.headersSent) sendPlain(response, 500, `scrape failed: ${message}\n`, head);
            else response.destroy();
          });
          return;
        }
        if (pathname === '/') {
          response.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' });
          response.end(head ? undefined : landing);
          return;
        }
        sendPlain(response, 404, 'Not found\n', head);
      },
      (error: unknown) => {
        options.log.error(`authentication failed: ${error instanceof Error ? error.message : String(error)}`);
        sendPlain(response, 500, 'Authentication failed\n', head);
      },
    );
  };
}

/** TLS for the endpoint: the PEM certificate (chain) and private key. */
export interface TlsFiles {
  cert: Buffer;
  key: Buffer;
}

/**
 * How long a client may hold a connection. A scraper sends its request at once; a client that
 * trickles its headers (slowloris) or never finishes its request is cut off, and an idle
 * keep-alive connection is closed after a minute (Prometheus reuses it within its interval).
 */
export interface ConnectionLimits {
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** How often Node looks for connections past the two timeouts above. */
  checkIntervalMs: number;
}

export const DEFAULT_CONNECTION_LIMITS: ConnectionLimits = {
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 65_000,
  checkIntervalMs: 1_000,
};

export interface ListenOptions {
  /** HTTPS with these files; plain HTTP without. */
  tls?: TlsFiles;
  limits?: Partial<ConnectionLimits>;
}

/** Starts listening; rejects with an Error that names the address and the cause (and has its `code`). */
export function listenOn(
  handler: http.RequestListener,
  host: string,
  port: number,
  options: ListenOptions = {},
): Promise<http.Server> {
  const limits = { ...DEFAULT_CONNECTION_LIMITS, ...options.limits };
  const serverOptions = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: limits.checkIntervalMs,
  };
  let server: http.Server;
  try {
    server = options.tls
      ? https.createServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key }, handler)
      : http.createServer(serverOptions, handler);
  } catch (error) {
    // OpenSSL refuses the certificate or key as soon as the server is made.
    return Promise.reject(new Error(`cannot serve HTTPS on ${host}:${port} with this certificate and key: ${(error as Error).message}`));
  }
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      const cause =
        error.code === 'EADDRINUSE'
          ? 'the port is already in use by another process'
          : error.code === 'EACCES'
            ? 'permission denied (ports below 1024 need privileges)'
            : error.code === 'EADDRNOTAVAIL'
              ? 'the host address is not available on this machine'
              : error.code === 'ENOTFOUND'
                ? 'the host name does not resolve'
                : error.message;
      reject(Object.assign(new Error(`cannot listen on ${host}:${port}: ${cause}`), { code: error.code }));
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server);
    });
  });
}

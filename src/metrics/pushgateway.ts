// prom-client's Pushgateway: push, add to or delete a group of metrics on a Prometheus Pushgateway.
// With the global registry in multiprocess mode the body is the merged directory, so one push
// (from the primary, a cron app, or the last worker of a batch) carries every worker's totals, dead
// ones included; workers pushing their own metrics to one group would overwrite each other (the
// Pushgateway is no aggregator).
import type * as http from 'node:http';
import { globalRegistry, Registry } from './registry';
import type { PrometheusContentType, RegistryContentType } from './registry';

/** prom-client's options: requireJobName, and any option of http(s).request (headers, timeout, agent, auth). */
export interface PushgatewayOptions extends Omit<http.RequestOptions, 'headers'> {
  headers?: http.OutgoingHttpHeaders;
  /** Refuse a push without a jobName (prom-client 15.1's default: true). */
  requireJobName?: boolean;
}

export interface PushgatewayParameters {
  /** The `job` label of the group; the Pushgateway requires one unless requireJobName is false. */
  jobName?: string;
  /** Further labels of the group, in this order in the path. */
  groupings?: Readonly<Record<string, string>>;
}

export interface PushgatewayResponse {
  resp: http.IncomingMessage;
  body: string;
}

/** A path segment: URI-encoded, or the Pushgateway's base64url form where plain text cannot say it. */
function segment(label: string, value: string): string {
  // An empty value or one with a "/" cannot be a path segment; the Pushgateway reads `label@base64/…` instead.
  if (value === '' || value.includes('/')) {
    return `/${encodeURIComponent(label)}@base64/${value === '' ? '=' : Buffer.from(value, 'utf8').toString('base64url')}`;
  }
  return `/${encodeURIComponent(label)}/${encodeURIComponent(value)}`;
}

export class Pushgateway<ContentType extends RegistryContentType = PrometheusContentType> {
  private readonly url: URL;
  private readonly requireJobName: boolean;
  private readonly requestOptions: Omit<PushgatewayOptions, 'requireJobName'>;

  constructor(
    url: string,
    options: PushgatewayOptions = {},
    private readonly registry: Registry<ContentType> = globalRegistry as unknown as Registry<ContentType>,
  ) {
    try {
      this.url = new URL(url);
    } catch {
      throw new TypeError(`Pushgateway: ${JSON.stringify(url)} is not a URL (write it whole: http://host:9091)`);
    }
    if (this.url.protocol !== 'http:' && this.url.protocol !== 'https:') {
      throw new TypeError(`Pushgateway: ${url} is not an http or https URL`);
    }
    const { requireJobName, ...requestOptions } = options;
    this.requireJobName = requireJobName ?? true;
    // Copied, so that pushes never change the caller's object (prom-client deletes from its headers).
    this.requestOptions = { ...requestOptions, headers: { ...requestOptions.headers } };
  }

  /** POST: replaces the metrics of the same names in the group, keeps the others. */
  pushAdd(params: PushgatewayParameters = {}): Promise<PushgatewayResponse> {
    return this.send('POST', params);
  }

  /** PUT: replaces every metric of the group. */
  push(params: PushgatewayParameters = {}): Promise<PushgatewayResponse> {
    return this.send('PUT', params);
  }

  /** DELETE: removes the group. */
  delete(params: PushgatewayParameters = {}): Promise<PushgatewayResponse> {
    return this.send('DELETE', params);
  }

  private send(method: 'POST' | 'PUT' | 'DELETE', params: PushgatewayParameters): Promise<PushgatewayResponse> {
    // Thrown, not rejected, as prom-client does: a call without a job is a programming error.
    if (this.requireJobName && !params.jobName) throw new Error('Missing jobName parameter');
    const base = this.url.pathname === '/' ? '' : this.url.pathname.replace(/\/$/, '');
    const groupings = Object.entries(params.groupings ?? {}).map(([label, value]) => segment(label, String(value))).join('');
    const group = params.jobName ? `${segment('job', params.jobName)}${groupings}` : '';
    const target = new URL(`${base}/metrics${group}${this.url.search}`, this.url);
    const headers: http.OutgoingHttpHeaders = { ...this.requestOptions.headers };
    const header = (name: string): string | undefined => Object.keys(headers).find((key) => key.toLowerCase() === name);
    const encoding = header('content-encoding');
    const gzip = encoding !== undefined && headers[encoding] === 'gzip';
    if (method === 'DELETE' && encoding !== undefined) delete headers[encoding];
    // The Pushgateway parses text 0.0.4 (or protobuf): an OpenMetrics registry is pushed as text.
    if (method !== 'DELETE' && header('content-type') === undefined) headers['Content-Type'] = Registry.PROMETHEUS_CONTENT_TYPE;
    // Loaded at the first push: require('pm2-prom-multiproc') loads no HTTP client (an app that
    // only updates metrics needs none).
    /* eslint-disable @typescript-eslint/no-require-imports */
    const transport = (target.protocol === 'https:' ? require('node:https') : require('node:http')) as typeof http;
    const gzipSync = gzip ? (require('node:zlib') as typeof import('node:zlib')).gzipSync : undefined;
    /* eslint-enable @typescript-eslint/no-require-imports */
    return new Promise((resolve, reject) => {
      const request = transport.request(target, { ...this.requestOptions, method, headers }, (response) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (body += chunk));
        response.on('end', () => {
          const status = response.statusCode ?? 0;
          if (status >= 400) reject(new Error(`push failed with status ${status}, ${body}`));
          else resolve({ resp: response, body });
        });
        response.on('error', reject);
      });
      request.on('error', reject);
      request.on('timeout', () => request.destroy(new Error('Pushgateway request timed out')));
      if (method === 'DELETE') {
        request.end();
        return;
      }
      this.registry.metricsAs(Registry.PROMETHEUS_CONTENT_TYPE).then(
        (text) => request.end(gzipSync === undefined ? text : gzipSync(text)),
        (error: unknown) => {
          request.destroy();
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }
}

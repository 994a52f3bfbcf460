// HTTP content negotiation for /metrics: which exposition format (Accept) and whether to gzip
// (Accept-Encoding), following the q-value rules of RFC 9110 section 12.

export type ExpositionFormat = 'text' | 'openmetrics' | 'protobuf';

interface MediaRange {
  type: string;
  params: Map<string, string>;
  quality: number;
}

function parseMediaRanges(header: string): MediaRange[] {
  const ranges: MediaRange[] = [];
  for (const part of header.split(',')) {
    const [rawType, ...rawParams] = part.split(';');
    const type = rawType.trim().toLowerCase();
    if (type === '') continue;
    const params = new Map<string, string>();
    for (const rawParam of rawParams) {
      const separator = rawParam.indexOf('=');
      if (separator < 0) continue;
      const name = rawParam.slice(0, separator).trim().toLowerCase();
      const value = rawParam.slice(separator + 1).trim().replace(/^"(.*)"$/, '$1');
      params.set(name, value);
    }
    const q = Number(params.get('q') ?? '1');
    ranges.push({ type, params, quality: Number.isFinite(q) ? Math.min(Math.max(q, 0), 1) : 0 });
  }
  return ranges;
}

// The OpenMetrics versions our renderer's output satisfies (1.0.0; 0.0.1 is its draft name).
const OPENMETRICS_VERSIONS = new Set(['1.0.0', '0.0.1']);

/** The one protobuf message stream we render: delimited MetricFamily messages. */
function isOurProtobuf(range: MediaRange): boolean {
  const proto = range.params.get('proto');
  const encoding = range.params.get('encoding');
  // Other parameters (3.0 adds escaping=allow-utf-8 to every entry) do not change the format.
  return (proto === undefined || proto === 'io.prometheus.client.MetricFamily') && (encoding === undefined || encoding === 'delimited');
}

/**
 * Protobuf when the client asks for it at least as much as for the text formats (Prometheus does
 * when it scrapes native histograms: 2.42 with --enable-feature=native-histograms, 3.x with
 * scrape_native_histograms), OpenMetrics when it prefers that, else the text format 0.0.4. A
 * wildcard never selects protobuf: a browser or curl gets text.
 */
export function chooseFormat(accept: string | undefined): ExpositionFormat {
  if (accept === undefined || accept === '') return 'text';
  let protobufQuality = 0;
  let openMetricsQuality = 0;
  let textQuality = 0;
  for (const range of parseMediaRanges(accept)) {
    if (range.type === 'application/vnd.google.protobuf') {
      if (isOurProtobuf(range)) protobufQuality = Math.max(protobufQuality, range.quality);
    } else if (range.type === 'application/openmetrics-text') {
      const version = range.params.get('version');
      if (version === undefined || OPENMETRICS_VERSIONS.has(version)) {
        openMetricsQuality = Math.max(openMetricsQuality, range.quality);
      }
    } else if (range.type === 'text/plain' || range.type === 'text/*' || range.type === '*/*') {
      textQuality = Math.max(textQuality, range.quality);
    }
  }
  if (protobufQuality > 0 && protobufQuality >= openMetricsQuality && protobufQuality >= textQuality) return 'protobuf';
  return openMetricsQuality > 0 && openMetricsQuality >= textQuality ? 'openmetrics' : 'text';
}

/** True when Accept-Encoding allows gzip (explicitly or through `*`) with a non-zero q. */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (acceptEncoding === undefined) return false;
  let gzipQuality: number | undefined;
  let wildcardQuality: number | undefined;
  for (const range of parseMediaRanges(acceptEncoding)) {
    if (range.type === 'gzip' || range.type === 'x-gzip') gzipQuality = range.quality;
    else if (range.type === '*') wildcardQuality = range.quality;
  }
  return (gzipQuality ?? wildcardQuality ?? 0) > 0;
}

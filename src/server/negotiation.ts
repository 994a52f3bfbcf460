// HTTP content negotiation for /metrics: which exposition format (Accept) and whether to gzip
// (Accept-Encoding), following the q-value rules of RFC 9110 section 12.

export type ExpositionFormat = 'text' | 'openmetrics';

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

/** OpenMetrics when the client prefers it (as Prometheus does), else the text format 0.0.4. */
export function chooseFormat(accept: string | undefined): ExpositionFormat {
  if (accept === undefined || accept === '') return 'text';
  let openMetricsQuality = 0;
  let textQuality = 0;
  for (const range of parseMediaRanges(accept)) {
    if (range.type === 'application/openmetrics-text') {
      const version = range.params.get('version');
      if (version === undefined || OPENMETRICS_VERSIONS.has(version)) {
        openMetricsQuality = Math.max(openMetricsQuality, range.quality);
      }
    } else if (range.type === 'text/plain' || range.type === 'text/*' || range.type === '*/*') {
      textQuality = Math.max(textQuality, range.quality);
    }
  }
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

// One collected set of families, rendered and compressed at most once per format, so that the
// scrapes sharing a collection also share its rendering and gzip work.
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import {
  OPENMETRICS_CONTENT_TYPE,
  TEXT_CONTENT_TYPE,
  renderOpenMetrics,
  renderText,
  type MetricFamily,
} from '../collect';
import type { ExpositionFormat } from './negotiation';

const gzipAsync = promisify(gzip);

export function contentTypeOf(format: ExpositionFormat): string {
  return format === 'openmetrics' ? OPENMETRICS_CONTENT_TYPE : TEXT_CONTENT_TYPE;
}

export class RenderedScrape {
  private readonly bodies = new Map<ExpositionFormat, Buffer>();
  private readonly gzippedBodies = new Map<ExpositionFormat, Promise<Buffer>>();

  constructor(readonly families: MetricFamily[]) {}

  body(format: ExpositionFormat): Buffer {
    let body = this.bodies.get(format);
    if (body === undefined) {
      const text = format === 'openmetrics' ? renderOpenMetrics(this.families) : renderText(this.families);
      body = Buffer.from(text, 'utf8');
      this.bodies.set(format, body);
    }
    return body;
  }

  gzipped(format: ExpositionFormat): Promise<Buffer> {
    let gzipped = this.gzippedBodies.get(format);
    if (gzipped === undefined) {
      gzipped = gzipAsync(this.body(format));
      this.gzippedBodies.set(format, gzipped);
    }
    return gzipped;
  }
}

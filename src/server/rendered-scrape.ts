// One collected set of families, rendered and compressed at most once per format, so that the
// scrapes sharing a collection also share its rendering and gzip work.
import { gzip } from 'node:zlib';
import { promisify } from 'node:util';
import {
  OPENMETRICS_CONTENT_TYPE,
  PROTOBUF_CONTENT_TYPE,
  TEXT_CONTENT_TYPE,
  renderOpenMetrics,
  renderProtobuf,
  renderText,
  type MetricFamily,
} from '../collect';
import type { ExpositionFormat } from './negotiation';

const gzipAsync = promisify(gzip);

const CONTENT_TYPES: Readonly<Record<ExpositionFormat, string>> = {
  text: TEXT_CONTENT_TYPE,
  openmetrics: OPENMETRICS_CONTENT_TYPE,
  protobuf: PROTOBUF_CONTENT_TYPE,
};

export function contentTypeOf(format: ExpositionFormat): string {
  return CONTENT_TYPES[format];
}

function render(families: MetricFamily[], format: ExpositionFormat): Buffer {
  if (format === 'protobuf') {
    const bytes = renderProtobuf(families);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }
  return Buffer.from(format === 'openmetrics' ? renderOpenMetrics(families) : renderText(families), 'utf8');
}

export class RenderedScrape {
  private readonly bodies = new Map<ExpositionFormat, Buffer>();
  private readonly gzippedBodies = new Map<ExpositionFormat, Promise<Buffer>>();

  constructor(readonly families: MetricFamily[]) {}

  body(format: ExpositionFormat): Buffer {
    let body = this.bodies.get(format);
    if (body === undefined) {
      body = render(this.families, format);
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

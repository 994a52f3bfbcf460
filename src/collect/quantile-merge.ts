// Summary quantiles across processes: per summary series, the sketch blocks of every process (and
// of the archive of dead ones) that count at the scrape's moment, added up bucket by bucket, give
// the sketch of the union of their observations; prom-client's percentiles are read from it by
// nearest rank (the store's SketchSum, which a Summary's get() asks of this process's blocks too).
// Each file is added up as soon as it is read, so the files share one read buffer.

import { FLAG_PRUNE_AGED_BUCKETS, SketchFileReader, SketchSum, isSketchSampleName } from '../store';
import type { KeyIndex, ReadBuffer } from '../store';
import { checkedKey } from './merge';
import type { Sample } from './types';

/** What quantileSamples answers for a series to leave out whole (prom-client's pruneAgedBuckets). */
export const PRUNED = 'pruned';

/** One summary series' sketches as gathered in this scrape. */
interface SeriesSketches {
  labels: Readonly<Record<string, string>>;
  sketch: SketchSum;
  percentiles: Set<number>;
  prune: boolean;
  /** Label sets of the quantile samples, made once per percentile (the renderer caches by identity). */
  quantileLabels: Map<number, Readonly<Record<string, string>>>;
  /** The scrape that last gathered into this series. */
  scrape: number;
}

export type SketchFileOutcome =
  | { status: 'missing' }
  | { status: 'corrupt'; problem: string }
  | { status: 'read'; problem: string | undefined; limit: string | undefined; bytesRead: number };

interface TrackedSketchFile {
  reader: SketchFileReader;
  /** By record key id: the series its blocks go to, or why they are skipped. */
  targets: Array<SeriesSketches | string>;
}

export class QuantileMerger {
  private readonly files = new Map<string, TrackedSketchFile>();
  private readonly series = new Map<string, SeriesSketches>();
  private scrape = 0;
  /** Counted blocks of the last scrape in which values outside their bins were folded into their lowest bin. */
  collapsedBlocks = 0;

  /** `buffer`: the collector's, shared with its other files (each is added up as soon as it is read). */
  constructor(private readonly buffer: ReadBuffer) {}

  beginScrape(): void {
    this.scrape++;
    this.collapsedBlocks = 0;
  }

  /** Forgets files no longer listed (by name). */
  keepFiles(present: ReadonlySet<string>): void {
    for (const name of this.files.keys()) if (!present.has(name)) this.files.delete(name);
  }

  /** Reads one sketch file and adds up its blocks that count at `now` (ms since the epoch). */
  collectFile(fileName: string, filePath: string, now: number, maxBytes: number): SketchFileOutcome {
    let file = this.files.get(fileName);
    if (file === undefined) {
      file = { reader: new SketchFileReader(filePath, { buffer: this.buffer }), targets: [] };
      this.files.set(fileName, file);
    }
    const result = file.reader.read(now, false, maxBytes);
    if (result.status === 'missing') {
      this.files.delete(fileName);
      return { status: 'missing' };
    }
    if (result.status === 'unreadable') return { status: 'corrupt', problem: result.problem };
    let problem = result.problem;
    for (const record of result.records) {
      let target = file.targets[record.keyId];
      if (target === undefined) {
        target = this.resolve(result.keys, record.keyId, record.sign);
        file.targets[record.keyId] = target;
      }
      if (typeof target === 'string') {
        problem ??= target;
        continue;
      }
      const series = this.begun(target);
      for (const block of record.blocks) {
        if (block.collapses > 0) this.collapsedBlocks++;
        series.sketch.add(record.sign, block, result.words);
      }
      for (const percentile of record.percentiles) series.percentiles.add(percentile);
      if ((record.flags & FLAG_PRUNE_AGED_BUCKETS) !== 0) series.prune = true;
    }
    return { status: 'read', problem, limit: result.limit, bytesRead: result.bytesRead };
  }

  /** A record key's summary series, or why it is skipped. */
  private resolve(keys: KeyIndex, keyId: number, sign: number): SeriesSketches | string {
    const decoded = checkedKey(keys.text(keyId));
    if (typeof decoded === 'string') return decoded;
    if (!isSketchSampleName(decoded.metricName, decoded.sampleName, sign)) {
      return `sketch of "${decoded.metricName}": record name ${JSON.stringify(decoded.sampleName)} does not match its sign`;
    }
    if ('quantile' in decoded.labels) return `sketch of "${decoded.metricName}": a summary cannot have a label named quantile`;
    const labels: Record<string, string> = {};
    for (const name of Object.keys(decoded.labels).sort()) labels[name] = decoded.labels[name];
    // The same identity as the merge gives the label set of the summary's _count and _sum.
    const seriesKey = `${decoded.metricName}\u0000${JSON.stringify(labels)}`;
    let series = this.series.get(seriesKey);
    if (series === undefined) {
      series = {
        labels: Object.freeze(labels),
        sketch: new SketchSum(),
        percentiles: new Set(),
        prune: false,
        quantileLabels: new Map(),
        scrape: -1,
      };
      this.series.set(seriesKey, series);
    }
    return series;
  }

  /** The series, emptied of what an earlier scrape gathered. */
  private begun(series: SeriesSketches): SeriesSketches {
    if (series.scrape !== this.scrape) {
      series.scrape = this.scrape;
      series.sketch.clear();
      series.percentiles.clear();
      series.prune = false;
    }
    return series;
  }

  /**
   * The quantile samples of one summary series (`NAME{quantile="q"}`, prom-client's percentiles),
   * PRUNED to leave the series out, or undefined when no process keeps a sketch of it (Python's).
   */
  quantileSamples(family: string, identity: string): Sample[] | typeof PRUNED | undefined {
    const series = this.series.get(`${family}\u0000${identity}`);
    if (series === undefined || series.scrape !== this.scrape) return undefined;
    const percentiles = [...series.percentiles].sort((a, b) => a - b);
    const values = series.sketch.quantiles(percentiles);
    // Nothing observed in the window: prom-client shows 0 for every quantile, or prunes the series.
    if (values === undefined && series.prune) return PRUNED;
    return percentiles.map((percentile, i) => ({ name: family, labels: this.labelsOf(series, percentile), value: values?.[i] ?? 0 }));
  }

  private labelsOf(series: SeriesSketches, percentile: number): Readonly<Record<string, string>> {
    let labels = series.quantileLabels.get(percentile);
    if (labels === undefined) {
      // prom-client puts the quantile first and spells it as a JavaScript number.
      labels = Object.freeze({ quantile: String(percentile), ...series.labels });
      series.quantileLabels.set(percentile, labels);
    }
    return labels;
  }
}

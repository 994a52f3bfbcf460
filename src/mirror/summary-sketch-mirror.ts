// Copies the quantile state of one prom-client Summary into the sketch file, so that mirrored
// summaries merge across processes like this package's own. prom-client keeps, per series, a ring
// of t-digests (TimeWindowQuantiles, prom-client 11.2+; a single digest before): every observation
// goes into every slot, the current slot answers percentile(), and a rotation every maxAge /
// ageBuckets empties the current slot and moves on. The mirror reads the ring without changing it
// (no percentile(), size() or compress(), which rotate or reshuffle), works out which slot
// prom-client would answer from at any moment, and writes each slot as a snapshot block valid over
// exactly the period that slot is current: a live process is refreshed every pass, a dead one ages
// out on prom-client's own schedule.

import { FLAG_MIRRORED, FLAG_PRUNE_AGED_BUCKETS, MAX_SKETCH_BLOCKS, MAX_SKETCH_PERCENTILES, SnapshotSketch } from '../store';
import type { MetricFile, SketchWindows } from '../store';
import { isObject, seriesMap } from './registry-shape';
import type { LabelValues, MetricLike } from './registry-shape';
import { rasterizeDigest } from './tdigest-raster';
import type { Centroid } from './tdigest-raster';

/** A t-digest of the `tdigest` package, as far as the mirror reads it. */
interface DigestLike {
  centroids: { each(visit: (centroid: Centroid) => void): void };
}

/** prom-client's TimeWindowQuantiles, or (prom-client 11.0-11.1) a bare digest. */
interface QuantilesLike {
  ringBuffer?: unknown;
  currentBuffer?: unknown;
  lastRotateTimestampMillis?: unknown;
  durationBetweenRotatesMillis?: unknown;
  shouldRotate?: unknown;
}

interface SeriesState {
  entry: unknown;
  positive: SnapshotSketch;
  negative: SnapshotSketch | undefined;
  /** What the ring looked like at the last write: unchanged, its blocks still hold. */
  seen: string;
}

/** A series that could not be mirrored (a label value past the format's limits): never retried. */
const REFUSED = null;

function isDigest(value: unknown): value is DigestLike {
  return isObject(value) && isObject(value.centroids) && typeof (value.centroids as { each?: unknown }).each === 'function';
}

/** The ascending centroids of a digest; undefined when one is not a finite mean with a positive weight. */
function centroidsOf(digest: DigestLike, into: Centroid[]): Centroid[] | undefined {
  into.length = 0;
  let valid = true;
  digest.centroids.each((centroid) => {
    if (Number.isFinite(centroid.mean) && centroid.n > 0 && Number.isFinite(centroid.n)) into.push(centroid);
    else valid = false;
  });
  return valid ? into : undefined;
}

export class SummarySketchMirror {
  private readonly series = new Map<string, SeriesState | typeof REFUSED>();
  private readonly centroids: Centroid[] = [];
  private readonly shape: SketchWindows | undefined;

  constructor(
    private readonly metric: MetricLike,
    private readonly file: MetricFile,
    /** The record keys' family and help, and the registry's default labels (a series' own win). */
    private readonly name: string,
    private readonly help: string,
    private readonly defaultLabels: Readonly<Record<string, string>>,
    private readonly refuse: (problem: string) => void,
  ) {
    this.shape = this.shapeOf();
  }

  /** The record shape from the metric's options, or undefined (with the refusal said) when unusable. */
  private shapeOf(): SketchWindows | undefined {
    const options = this.metric as Record<string, unknown>;
    const percentiles = options.percentiles;
    if (!Array.isArray(percentiles) || percentiles.length > MAX_SKETCH_PERCENTILES || !percentiles.every((p) => typeof p === 'number' && p >= 0 && p <= 1)) {
      this.refuse(`its percentiles are not at most ${MAX_SKETCH_PERCENTILES} numbers between 0 and 1: quantiles are not mirrored`);
      return undefined;
    }
    const maxAgeSeconds = options.maxAgeSeconds;
    const ageBuckets = options.ageBuckets;
    const rotates = typeof maxAgeSeconds === 'number' && maxAgeSeconds > 0 && typeof ageBuckets === 'number' && ageBuckets > 0;
    if (rotates && (!Number.isInteger(ageBuckets) || ageBuckets > MAX_SKETCH_BLOCKS)) {
      this.refuse(`its ageBuckets are not a whole number up to ${MAX_SKETCH_BLOCKS}: quantiles are not mirrored`);
      return undefined;
    }
    return {
      windowMs: rotates ? (maxAgeSeconds * 1000) / ageBuckets : 0,
      windows: rotates ? ageBuckets : 1,
      flags: FLAG_MIRRORED | (options.pruneAgedBuckets === true ? FLAG_PRUNE_AGED_BUCKETS : 0),
      percentiles: percentiles as number[],
    };
  }

  /** Writes every series whose ring changed since the last write; synchronous (it serves at exit too). */
  write(nowSeconds: number): void {
    const now = nowSeconds * 1000;
    const map = seriesMap(this.metric);
    if (map === undefined || this.shape === undefined) return;
    for (const hash in map) {
      const entry = map[hash];
      let state = this.series.get(hash);
      if (state === undefined) state = this.addSeries(hash, entry);
      if (state === REFUSED) continue;
      const quantiles = (entry as { td?: unknown }).td;
      if (!isObject(quantiles)) continue;
      const seen = `${(entry as { count?: unknown }).count}/${String((quantiles as QuantilesLike).currentBuffer)}/${String((quantiles as QuantilesLike).lastRotateTimestampMillis)}`;
      if (state.entry === entry && state.seen === seen) continue;
      state.entry = entry;
      state.seen = seen;
      this.writeRing(state, quantiles as QuantilesLike, now);
    }
  }

  private addSeries(hash: string, entry: unknown): SeriesState | typeof REFUSED {
    let state: SeriesState | typeof REFUSED = REFUSED;
    const labels = isObject(entry) && isObject(entry.labels) ? (entry.labels as LabelValues) : undefined;
    if (labels === undefined) {
      this.refuse('a series in its hashMap has no labels: its quantiles are not mirrored');
    } else {
      try {
        const series = { name: this.name, labels: this.labelsOf(labels), help: this.help };
        state = { entry: undefined, positive: new SnapshotSketch(this.file, series, 0, this.shape as SketchWindows), negative: undefined, seen: '' };
      } catch (error) {
        this.refuse(`a series' quantiles were left out: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    this.series.set(hash, state);
    return state;
  }

  /**
   * Block i of the record holds ring slot i, valid while prom-client would answer from it: the
   * slot current now until the next rotation E, the one after it over [E, E + d), and so on; slots
   * that the rotations due by now have emptied hold nothing. Weights are divided by the number of
   * slots sharing one digest (prom-client pushes each value once per slot that holds it).
   */
  private writeRing(state: SeriesState, quantiles: QuantilesLike, now: number): void {
    const shape = this.shape as SketchWindows;
    const ring = Array.isArray(quantiles.ringBuffer) ? (quantiles.ringBuffer as unknown[]) : [quantiles];
    const rotates = shape.windowMs > 0 && quantiles.shouldRotate !== undefined && Boolean(quantiles.shouldRotate) && ring.length === shape.windows;
    const slots = rotates ? ring.length : 1;
    let current = 0;
    let due = 0;
    let nextRotation = Infinity;
    if (rotates) {
      const d = shape.windowMs;
      const last = Number(quantiles.lastRotateTimestampMillis);
      const elapsed = now - last;
      // prom-client rotates while more than d has passed since the last rotation (strictly).
      due = elapsed > d ? Math.ceil(elapsed / d) - 1 : 0;
      current = (Number(quantiles.currentBuffer) + due) % slots;
      nextRotation = last + (due + 1) * d;
    }
    for (let slot = 0; slot < slots; slot++) {
      const digest = ring[slot];
      const ahead = (slot - current + slots) % slots;
      if (!isDigest(digest) || (rotates && ahead >= slots - due)) {
        state.positive.clear(slot);
        state.negative?.clear(slot);
        continue;
      }
      const centroids = centroidsOf(digest, this.centroids);
      if (centroids === undefined) {
        this.refuse('a digest holds a centroid that is not a finite mean with a positive weight: that window is left out');
        state.positive.clear(slot);
        continue;
      }
      let sharing = 0;
      for (const other of ring) if (other === digest) sharing++;
      const validFrom = rotates ? nextRotation + (ahead - 1) * shape.windowMs : 0;
      const expiresAt = rotates ? nextRotation + ahead * shape.windowMs : Infinity;
      const blocks = rasterizeDigest(centroids, 1 / sharing, validFrom, expiresAt);
      state.positive.write(slot, blocks.positive);
      if (blocks.negative !== undefined) {
        state.negative ??= this.negativeSketch(state);
        state.negative?.write(slot, blocks.negative);
      } else {
        state.negative?.clear(slot);
      }
    }
  }

  private negativeSketch(state: SeriesState): SnapshotSketch | undefined {
    try {
      const labels = this.labelsOf((state.entry as { labels: LabelValues }).labels);
      return new SnapshotSketch(this.file, { name: this.name, labels, help: this.help }, 1, this.shape as SketchWindows);
    } catch (error) {
      this.refuse(`a series' negative values were left out of its quantiles: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  }

  private labelsOf(labels: LabelValues): Record<string, string> {
    const result: Record<string, string> = { ...this.defaultLabels };
    for (const name of Object.keys(labels)) result[name] = String(labels[name]);
    return result;
  }
}

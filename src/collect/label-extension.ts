// Adds the same labels to every sample of a set of families (a registry's default labels, the
// app label of a served directory) without rebuilding label objects on every scrape: each
// extended label set is made once per label set it extends and kept as long as that one lives.
// The collector hands out the same frozen label objects scrape after scrape, so the renderer's
// cache, keyed by object identity, keeps working on the extended ones too.
import type { MetricFamily } from './types';

type Labels = Readonly<Record<string, string>>;

/**
 * When a sample already has a label of an added name:
 * - 'fill': the sample's own label wins;
 * - 'export': the added label wins and the sample's own one is kept as `exported_<name>` (more
 *   `exported_` prefixes while that name is taken), as Prometheus does with a scraped label that
 *   clashes with a target label (honor_labels: false). An empty value is no label to Prometheus:
 *   it clashes with nothing and is dropped.
 */
export type LabelPrecedence = 'fill' | 'export';

export class LabelExtension {
  private readonly extended = new WeakMap<Labels, Labels>();
  /** Whether some label set met so far had a label of an added name ('export' only). */
  private clashed = false;

  constructor(
    private readonly extra: Labels,
    private readonly precedence: LabelPrecedence,
  ) {}

  labels(labels: Labels): Labels {
    let result = this.extended.get(labels);
    if (result === undefined) {
      result = Object.freeze(this.extend(labels));
      this.extended.set(labels, result);
    }
    return result;
  }

  /**
   * Whether two different label sets may have been extended to the same one: an exported label
   * `exported_x="v"` and a sample's own `exported_x="v"` look alike, as they do to Prometheus.
   */
  get mayMergeLabelSets(): boolean {
    return this.clashed;
  }

  families(families: readonly MetricFamily[]): MetricFamily[] {
    return families.map((family) => {
      const extended = { ...family, samples: family.samples.map((sample) => ({ ...sample, labels: this.labels(sample.labels) })) };
      if (family.nativeHistograms !== undefined) {
        extended.nativeHistograms = family.nativeHistograms.map((series) => ({ ...series, labels: this.labels(series.labels) }));
      }
      return extended;
    });
  }

  /** Extends the samples of families the caller owns in place (no copy: a scrape's own objects). */
  extendInPlace(families: readonly MetricFamily[]): void {
    for (const family of families) {
      for (const sample of family.samples) sample.labels = this.labels(sample.labels);
      for (const series of family.nativeHistograms ?? []) series.labels = this.labels(series.labels);
    }
  }

  private extend(labels: Labels): Record<string, string> {
    if (this.precedence === 'fill') return { ...this.extra, ...labels };
    const result: Record<string, string> = { ...labels };
    for (const [name, value] of Object.entries(this.extra)) {
      const own = labels[name];
      if (own !== undefined) this.clashed = true;
      delete result[name];
      if (own !== undefined && own !== '') {
        let exported = `exported_${name}`;
        while (exported in labels || exported in this.extra || exported in result) exported = `exported_${exported}`;
        result[exported] = own;
      }
      result[name] = value;
    }
    return result;
  }
}

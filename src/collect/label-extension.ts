// Adds the same labels to every sample of a set of families (a registry's default labels, the
// app label of a served directory) without rebuilding label objects on every scrape: each
// extended label set is made once per label set it extends and kept as long as that one lives.
// The collector hands out the same frozen label objects scrape after scrape, so the renderer's
// cache, keyed by object identity, keeps working on the extended ones too.
import type { MetricFamily } from './types';

type Labels = Readonly<Record<string, string>>;

export class LabelExtension {
  private readonly extended = new WeakMap<Labels, Labels>();

  constructor(
    private readonly extra: Labels,
    /** 'fill': a sample's own label of the same name wins; 'override': the extra label wins. */
    private readonly precedence: 'fill' | 'override',
  ) {}

  labels(labels: Labels): Labels {
    let result = this.extended.get(labels);
    if (result === undefined) {
      result = Object.freeze(this.precedence === 'fill' ? { ...this.extra, ...labels } : { ...labels, ...this.extra });
      this.extended.set(labels, result);
    }
    return result;
  }

  families(families: readonly MetricFamily[]): MetricFamily[] {
    return families.map((family) => ({
      ...family,
      samples: family.samples.map((sample) => ({ ...sample, labels: this.labels(sample.labels) })),
    }));
  }
}

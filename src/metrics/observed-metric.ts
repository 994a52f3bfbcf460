// What histograms and summaries share: observe() with or without labels, and the timer that
// observes the seconds elapsed.
import { Metric, startTimer } from './metric';
import type { MetricChild } from './metric';
import type { LabelValues } from './metric-values';
import { checkFinite } from './validation';

/** A child that takes observations (a histogram's or a summary's). */
export interface ObservingChild extends MetricChild {
  observe(value: number): void;
}

export abstract class ObservedMetric<T extends string, C extends ObservingChild> extends Metric<T, C> {
  /** observe(0.3), observe({ route: '/' }, 0.3). */
  observe(labels: LabelValues<T> | number, value?: number): void {
    if (typeof labels === 'object' && labels !== null) {
      // Checked before the child exists, so a refused call creates no entry.
      const checked = checkFinite(this.description, value);
      this.childOf(labels).observe(checked);
    } else {
      this.withoutLabels().observe(labels);
    }
  }

  /** end(labels?) observes the seconds elapsed, for the start labels merged with these. */
  startTimer(labels?: LabelValues<T>): (labels?: LabelValues<T>) => number {
    return startTimer(labels, (merged, seconds) => {
      if (merged === undefined) this.observe(seconds);
      else this.observe(merged, seconds);
    });
  }
}

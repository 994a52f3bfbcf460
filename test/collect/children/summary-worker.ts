// Child: one worker process of the summary tests. Observes a known distribution with this
// package's Summary (PROMETHEUS_MULTIPROC_DIR is set) and the same values with prom-client's own
// Summary, prints prom-client's getMetricsAsJSON() as one line, then stays alive until stdin closes.
// argv: DISTRIBUTION WORKER COUNT SEED SUMMARY_OPTIONS_JSON
import * as promClient from 'prom-client';
import { Registry, Summary } from '../../../src/index';
import { observations } from '../../support/distributions';
import type { DistributionName } from '../../support/distributions';

const [distribution, worker, count, seed, optionsJson] = process.argv.slice(2);
const options = JSON.parse(optionsJson) as { maxAgeSeconds?: number; ageBuckets?: number; pruneAgedBuckets?: boolean; percentiles?: number[] };
const ours = new Summary({ name: 'request_seconds', help: 'Request time.', labelNames: ['route'], registers: [new Registry()], ...options });
const theirsRegistry = new promClient.Registry();
const theirs = new promClient.Summary({ name: 'request_seconds', help: 'Request time.', labelNames: ['route'], registers: [theirsRegistry], ...options });
for (const value of observations(distribution as DistributionName, Number(worker), Number(count), Number(seed))) {
  ours.observe({ route: '/api' }, value);
  theirs.observe({ route: '/api' }, value);
}
void theirsRegistry.getMetricsAsJSON().then((json) => {
  process.stdout.write(`${JSON.stringify({ pid: process.pid, promClient: json })}\n`);
  process.stdin.resume();
  process.stdin.on('end', () => process.exit(0));
});

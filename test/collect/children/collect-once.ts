// Collects a directory once (as whatever user the test started it as) and prints what happened
// as JSON: whether collect() threw, the families' names, the warnings and the health.
import { DirectoryCollector } from '../../../src/collect';

const warnings: string[] = [];
const collector = new DirectoryCollector(process.argv[2], { warn: (message) => warnings.push(message) });
let thrown: string | undefined;
let families: string[] = [];
try {
  families = collector.collect().map((family) => family.name);
} catch (error) {
  thrown = (error as Error).stack;
}
const health = Object.fromEntries(collector.selfMetrics().map((family) => [family.name, family.samples[0].value]));
process.stdout.write(`${JSON.stringify({ thrown, families, warnings, health })}\n`);

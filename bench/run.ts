// Runs every bench/*.bench.ts in sequence, each in its own Node process, or only those named
// on the command line: node --import tsx bench/run.ts [update | update.bench.ts ...]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const benchDir = __dirname;
const all = fs.readdirSync(benchDir).filter((name) => name.endsWith('.bench.ts')).sort();
const wanted = process.argv.slice(2).map((name) => (name.endsWith('.bench.ts') ? name : `${name}.bench.ts`));
const unknown = wanted.filter((name) => !all.includes(name));
if (unknown.length > 0) {
  console.error(`No such benchmark: ${unknown.join(', ')} (have: ${all.join(', ')})`);
  process.exit(2);
}

let failed = 0;
for (const name of wanted.length > 0 ? wanted : all) {
  console.log(`\n=== ${name}`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', path.join(benchDir, name)], { stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`${name} failed (${result.signal ?? `exit code ${String(result.status)}`})`);
    failed++;
  }
}
process.exit(failed === 0 ? 0 : 1);

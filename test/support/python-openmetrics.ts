// Python's OpenMetrics parser (prometheus_client.openmetrics.parser, from the client python-client.ts
// finds) over a text: it checks exemplars (where they sit, how long they are) as Prometheus does.
import { spawnSync } from 'node:child_process';
import { PYTHON, pythonClientEnv } from './python-client';

/** One parsed sample of Python's OpenMetrics parser, with its exemplar. */
export interface PythonSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  exemplar: { labels: Record<string, string>; value: number; timestamp: number | null } | null;
}

const PARSE = `import json, math, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families
out = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        e = s.exemplar
        out.append({"name": s.name, "labels": s.labels, "value": s.value if math.isfinite(s.value) else str(s.value),
                    "exemplar": None if e is None else {"labels": e.labels, "value": e.value,
                                                        "timestamp": None if e.timestamp is None else float(e.timestamp)}})
json.dump(out, sys.stdout)`;

/** Parses `text` with Python's OpenMetrics parser; undefined when no Python client is found; throws what it refuses. */
export function pythonParseOpenMetrics(text: string): PythonSample[] | undefined {
  const env = pythonClientEnv();
  if (env === undefined) return undefined;
  const result = spawnSync(PYTHON, ['-c', PARSE], { input: text, encoding: 'utf8', env });
  if (result.status !== 0) throw new Error(`Python's OpenMetrics parser refused the text (${String(result.status)}):\n${result.stderr}`);
  return JSON.parse(result.stdout) as PythonSample[];
}

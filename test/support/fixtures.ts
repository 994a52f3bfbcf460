// Where the fixtures written by Python's real prometheus_client live: copied into the repo from
// the team's shared fixtures (see test/fixtures/python/README.md), so a fresh clone tests alone.
import * as path from 'node:path';

export const PYTHON_FIXTURES = path.join(__dirname, '..', 'fixtures', 'python');
/** Files of the current format (value + timestamp), with what Python's collector made of them. */
export const PYTHON_CURRENT = path.join(PYTHON_FIXTURES, 'python-current');
/** Files of client 0.16 (8-byte values), which readers must refuse, never misread. */
export const PYTHON_0_16 = path.join(PYTHON_FIXTURES, 'python-0.16');

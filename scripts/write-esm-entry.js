// Writes dist/index.mjs, the ES module entry: it re-exports the CommonJS build so that `import`
// and `require` share one copy of the library (one registry, one set of open files per process).
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const dist = path.join(__dirname, '..', 'dist');
const api = require(path.join(dist, 'index.js'));
const names = Object.keys(api).filter((name) => name !== 'default' && name !== '__esModule');
const body = [
  "import api from './index.js';",
  ...names.map((name) => `export const ${name} = api.${name};`),
  'export default api;',
  '',
].join('\n');
fs.writeFileSync(path.join(dist, 'index.mjs'), body);

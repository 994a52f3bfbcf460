// Writes vendor/protobuf-wire.js: @bufbuild/protobuf's BinaryWriter (and the varint and UTF-8 code
// it uses) bundled into one small CommonJS file, with the library's license notices. The protobuf
// exposition writes through it. Installed as a dependency, @bufbuild/protobuf would bring 2.9 MB
// (its CommonJS and ES builds of everything) into every app that only counts; bundled, the part
// used is about 30 KB, so an app's install stays within 2x of prom-client's (test/package).
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const esbuild = require('esbuild');

const root = path.join(__dirname, '..');
// The package's root, from its wire entry (dist/cjs/wire/index.js): its exports hide package.json.
const library = path.resolve(path.dirname(require.resolve('@bufbuild/protobuf/wire')), '..', '..', '..');
const { version, license } = require(path.join(library, 'package.json'));

/** The comment block a bundled source file starts with: its copyright and license notice. */
function noticeOf(file) {
  const lines = fs.readFileSync(path.join(library, 'dist', 'cjs', 'wire', file), 'utf8').split('\n');
  const start = lines.findIndex((line) => line.startsWith('//'));
  const end = lines.findIndex((line, i) => i > start && !line.startsWith('//'));
  return lines.slice(start, end).join('\n');
}

const banner = [
  `// @bufbuild/protobuf ${version}, license ${license}: its BinaryWriter bundled by scripts/bundle-protobuf-wire.js.`,
  '// binary-encoding.js and text-encoding.js:',
  noticeOf('binary-encoding.js'),
  '// varint.js:',
  noticeOf('varint.js'),
].join('\n');

esbuild.buildSync({
  stdin: { contents: "export { BinaryWriter } from '@bufbuild/protobuf/wire';", resolveDir: root },
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  legalComments: 'none',
  banner: { js: banner },
  outfile: path.join(root, 'vendor', 'protobuf-wire.js'),
  logLevel: 'warning',
});

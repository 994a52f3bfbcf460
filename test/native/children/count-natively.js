// Plain JavaScript, so that a node of another architecture (under qemu-user) runs it as is:
// the package's own store, forced onto the native backend (PM2_PROM_MULTIPROC_BACKEND=native
// fails loudly when the addon cannot load), counts into PROMETHEUS_MULTIPROC_DIR, and the
// collector reads the count back. Prints the architecture, the addon node-gyp-build chose and
// the count.   usage: node count-natively.js PACKAGE_ROOT
'use strict';
const path = require('node:path');

const root = path.resolve(process.argv[2]);
const { Counter, collectDirectory } = require(root);
new Counter({ name: 'prebuild_total', help: 'Counted through the prebuilt addon.' }).inc(5);
const [family] = collectDirectory(process.env.PROMETHEUS_MULTIPROC_DIR);
const nodeGypBuild = require(require.resolve('node-gyp-build', { paths: [root] }));
const [sample] = family.samples;
console.log(`${process.arch} ${path.relative(root, nodeGypBuild.resolve(root))} ${sample.name} ${sample.value}`);

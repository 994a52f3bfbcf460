#!/usr/bin/env node
'use strict';
// Launcher for the compiled command line (npm run build writes dist/).
process.exitCode = require('../dist/cli.js').main(process.argv.slice(2));

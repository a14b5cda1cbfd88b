#!/usr/bin/env node
// The CLI is bundled by esbuild into dist/cli.js (npm run build); this file only starts it.
require('../dist/cli.js').runFromProcess();

// Preloaded (`node --require bench/rss-hook.cjs …`) into a measured child process: on exit it writes the
// process's peak RSS (KiB, process.resourceUsage().maxRSS) and its own uptime to fd 3, which the harness
// opens as a pipe. Nothing else is changed in the child.
'use strict';
const { writeSync } = require('node:fs');
const t0 = process.hrtime.bigint();
process.on('exit', (code) => {
  try {
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    writeSync(3, JSON.stringify({ maxRSS: process.resourceUsage().maxRSS, ms, code }) + '\n');
  } catch {
    // fd 3 not open: run outside the harness
  }
});

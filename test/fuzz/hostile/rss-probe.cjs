// Preloaded into the CLI by test/unit/hostile.test.ts (node --require): on exit, writes the process's peak
// resident set size (kB) to $IDREG_RSS_FILE. It changes nothing else.
'use strict';
const fs = require('node:fs');
process.on('exit', () => {
  const file = process.env.IDREG_RSS_FILE;
  if (!file) return;
  try {
    fs.writeFileSync(file, String(process.resourceUsage().maxRSS));
  } catch {
    /* the measurement is best effort */
  }
});

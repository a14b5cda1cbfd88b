// The floor (performance.md §4): the fastest way Node can touch every byte of a file and count its lines:
// readSync into one reused 1 MiB Buffer, Buffer.indexOf(10) per line. Run in a fresh process by the
// harness; prints one JSON line {lines, bytes, ms, maxRSS}. Plain JavaScript so that no loader is timed.
import { closeSync, openSync, readSync } from 'node:fs';

const t0 = process.hrtime.bigint();
const fd = openSync(process.argv[2], 'r');
const buf = Buffer.allocUnsafe(1 << 20);
let lines = 0;
let bytes = 0;
for (;;) {
  const n = readSync(fd, buf, 0, buf.length, null);
  if (n <= 0) break;
  bytes += n;
  const view = n === buf.length ? buf : buf.subarray(0, n);
  let i = view.indexOf(10, 0);
  while (i !== -1) {
    lines++;
    i = view.indexOf(10, i + 1);
  }
}
closeSync(fd);
const ms = Number(process.hrtime.bigint() - t0) / 1e6;
process.stdout.write(JSON.stringify({ lines, bytes, ms, maxRSS: process.resourceUsage().maxRSS }) + '\n');

// Where the memory of `idreg check` goes, stage by stage, in one process (run with --expose-gc):
//
//   node --expose-gc --import tsx bench/memory.ts FILE
//
// Prints, after each stage and a full GC, the V8 heap in use, external memory (Buffers), RSS and the
// peak RSS so far. Retained = what the stage keeps alive; the peak includes garbage not yet collected.
import { readFileSync } from 'node:fs';
import { checkDocument, parseDocument } from '../src/check.ts';
import '../src/formats/detect.ts';
import { renderJson } from '../src/report.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) {
  console.error('run with: node --expose-gc --import tsx bench/memory.ts FILE');
  process.exit(2);
}
const file = process.argv[2];
if (!file) {
  console.error('usage: node --expose-gc --import tsx bench/memory.ts FILE');
  process.exit(2);
}
const MiB = 2 ** 20;
const rows: string[] = [];
let last = performance.now();
function stage(name: string): void {
  const ms = performance.now() - last;
  gc!();
  const m = process.memoryUsage();
  rows.push(
    `${name.padEnd(34)} ${ms.toFixed(0).padStart(6)} ms  heap ${(m.heapUsed / MiB).toFixed(0).padStart(5)}  external ${(m.external / MiB).toFixed(0).padStart(5)}  rss ${(m.rss / MiB).toFixed(0).padStart(5)}  peak rss ${(process.resourceUsage().maxRSS / 1024).toFixed(0).padStart(5)} MiB`,
  );
  last = performance.now();
}

stage('start (modules loaded)');
let buf: Buffer | undefined = readFileSync(file);
const bytes = buf.length;
stage('readFileSync → Buffer');
const text = buf.toString('utf8');
stage('Buffer → string (Buffer alive)');
buf = undefined;
stage('Buffer dropped');
const parse = parseDocument(text, file);
stage(`parse (${parse.format}: ${parse.events.length} events, ${parse.findings.length} findings)`);
const report = checkDocument({ path: file, text });
stage(`checkDocument (${report.findings.length} findings; parse kept)`);
void parse;
const json = renderJson([report]);
stage(`renderJson (${(json.length / MiB).toFixed(1)} MiB)`);
console.log(`${file}: ${(bytes / MiB).toFixed(1)} MiB`);
for (const r of rows) console.log('  ' + r);

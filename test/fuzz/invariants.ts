// The invariants every parse result, finding and report must satisfy, whatever the input.
import assert from 'node:assert/strict';
import { FINDING_CODES, type Finding, type Range } from '../../src/findings.ts';

const SEVERITIES = new Set(['error', 'warning', 'information', 'hint']);

/** Lines as the parsers count them: split on '\n', a final newline starts no extra line, '' has none. */
export function countLines(text: string): number {
  if (text.length === 0) return 0;
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) if (i + 1 < text.length) n++;
  return n;
}

/** Length of every line (without its '\n'; a '\r' before it counts, a range may end after it). */
export function lineLengths(text: string): number[] {
  return text.split('\n').map((l) => l.length);
}

/** JSON of anything with bigints and Maps, for determinism comparisons and messages. */
export function stableJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return `${v}n`;
    if (v instanceof Map) return { $map: [...v.entries()] };
    if (v instanceof Set) return { $set: [...v.values()] };
    if (ArrayBuffer.isView(v)) return { $view: Array.from(v as unknown as ArrayLike<number>) };
    return v;
  });
}

export function short(text: string, max = 160): string {
  const j = JSON.stringify(text);
  return j.length > max ? j.slice(0, max) + '…"' : j;
}

function isPosition(p: unknown): boolean {
  return typeof p === 'object' && p !== null && 'line' in p && 'character' in p;
}

function isRange(r: unknown): r is Range {
  return typeof r === 'object' && r !== null && 'start' in r && 'end' in r && isPosition((r as Range).start) && isPosition((r as Range).end);
}

/** A range must lie inside the document: lines that exist, characters within the line (or its end). */
export function assertRangeIn(range: Range, lengths: number[], what: string): void {
  const { start, end } = range;
  for (const [name, p] of [['start', start], ['end', end]] as const) {
    assert.ok(Number.isInteger(p.line) && p.line >= 0, `${what}: ${name}.line ${p.line} is not a non-negative integer`);
    assert.ok(Number.isInteger(p.character) && p.character >= 0, `${what}: ${name}.character ${p.character} is not a non-negative integer`);
    assert.ok(p.line < Math.max(1, lengths.length), `${what}: ${name}.line ${p.line} is past the last line (${lengths.length - 1})`);
    const len = lengths[p.line] ?? 0;
    const last = p.line === lengths.length - 1 ? ' (the last line)' : '';
    assert.ok(p.character <= len, `${what}: ${name}.character ${p.character} is past the end of line ${p.line}${last} (length ${len})`);
  }
  assert.ok(start.line < end.line || (start.line === end.line && start.character <= end.character), `${what}: range ends before it starts (${JSON.stringify(range)})`);
}

/** Every Range-shaped object inside a value (events, dump entries), with a path for messages. */
export function* rangesIn(value: unknown, path = '', depth = 0): Generator<[string, Range]> {
  if (depth > 8 || typeof value !== 'object' || value === null) return;
  if (isRange(value)) {
    yield [path, value];
    return;
  }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) yield* rangesIn(value[i], `${path}[${i}]`, depth + 1);
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (k === 'related') continue; // checked separately: may point into another file
    yield* rangesIn(v, path ? `${path}.${k}` : k, depth + 1);
  }
}

/** Longest finding message accepted (quoting a 1000-digit number is fine, quoting a whole megabyte line is not). */
export const MAX_MESSAGE = 4096;

/** Words that betray a bug in a message when the input itself does not contain them. */
const SUSPICIOUS: [string, RegExp][] = [
  ['undefined', /\bundefined\b/],
  ['NaN', /\bNaN\b/], // FPDNaN is a field name
  ['[object Object]', /\[object Object\]/],
  ['Infinity', /\bInfinity\b/],
];

export function assertFinding(f: Finding, text: string, lengths: number[], what: string): void {
  assert.ok(f.code in FINDING_CODES, `${what}: unknown finding code ${String(f.code)}`);
  assert.ok(SEVERITIES.has(f.severity), `${what}: bad severity ${String(f.severity)}`);
  assert.equal(typeof f.message, 'string', `${what}: message is not a string`);
  assert.ok(f.message.length > 0, `${what}: empty message`);
  assert.ok(!/internal error/i.test(f.message), `${what}: a swallowed exception: ${f.code} ${f.message}`);
  // A message quotes what it complains about, but not without bound: a 20 MiB token must not become a 20 MB diagnostic.
  if (f.message.length > MAX_MESSAGE) assert.fail(`${what}: a ${f.message.length}-character message (${f.code} ${f.message.slice(0, 120)}…)`);
  for (const [word, re] of SUSPICIOUS) {
    if (re.test(f.message) && !text.includes(word)) assert.fail(`${what}: message contains '${word}': ${f.message}`);
  }
  const shown = f.message.length > 300 ? `${f.message.slice(0, 150)}…${f.message.slice(-150)}` : f.message;
  assertRangeIn(f.range, lengths, `${what} ${f.code} '${shown}'`);
  assert.ok(Array.isArray(f.related), `${what}: related is not an array`);
  for (const r of f.related) {
    assert.ok(isRange(r.range), `${what}: related location without a range`);
    if (r.path === undefined) assertRangeIn(r.range, lengths, `${what} ${f.code} related '${r.message}'`);
  }
  for (const fix of f.fixes ?? []) {
    assert.equal(typeof fix.newText, 'string', `${what}: fix without text`);
    assertRangeIn(fix.range, lengths, `${what} ${f.code} fix '${fix.title}'`);
  }
}

export interface ParseShape {
  format: string;
  events: unknown[];
  findings: Finding[];
  stats: { lines: number; understood: number; skipped: number };
  dump?: { entries: { value: bigint; width?: number; mask?: bigint }[] };
}

export interface ParseCheckOptions {
  /** Require stats.lines == countLines(text) (off for parsers that count records). */
  physicalLines?: boolean;
  /** Require 0 lines for the empty text (see 'parse.*.empty'). */
  emptyIsZero?: boolean;
  /** Require every skipped line to carry a finding (native formats). */
  skippedHaveFindings?: boolean;
}

/** The contract of src/formats/types.ts: results plus findings, every line accounted for, ranges inside. */
export function assertParseResult(text: string, res: ParseShape, what: string, opts: ParseCheckOptions = {}): void {
  assert.ok(res && typeof res === 'object', `${what}: returned ${String(res)}`);
  assert.equal(typeof res.format, 'string', `${what}: no format`);
  assert.ok(Array.isArray(res.events), `${what}: events is not an array`);
  assert.ok(Array.isArray(res.findings), `${what}: findings is not an array`);
  const { lines, understood, skipped } = res.stats;
  for (const [k, v] of Object.entries(res.stats)) assert.ok(Number.isInteger(v) && v >= 0, `${what}: stats.${k} = ${v}`);
  const expectLines = countLines(text);
  // An empty text has no lines; parsers built on json-scan's LineIndex say 1. That is checked on its own
  // ('parse.*.empty'), so that it does not hide every other failure behind the shrunk input "".
  const emptyAsOne = text.length === 0 && lines === 1 && opts.emptyIsZero !== true;
  if (opts.physicalLines !== false && !emptyAsOne) assert.equal(lines, expectLines, `${what}: stats.lines ${lines} but the text has ${expectLines} lines`);
  assert.equal(understood + skipped, lines, `${what}: understood ${understood} + skipped ${skipped} != lines ${lines}`);
  const lengths = lineLengths(text);
  res.findings.forEach((f, i) => assertFinding(f, text, lengths, `${what} finding ${i}`));
  for (const [path, r] of rangesIn(res.events, 'events')) assertRangeIn(r, lengths, `${what} ${path}`);
  if (res.dump) {
    assert.ok(Array.isArray(res.dump.entries), `${what}: dump.entries is not an array`);
    for (const [path, r] of rangesIn(res.dump.entries, 'dump.entries')) assertRangeIn(r, lengths, `${what} ${path}`);
    res.dump.entries.forEach((e, i) => {
      const width = e.width ?? 64;
      assert.equal(typeof e.value, 'bigint', `${what}: dump.entries[${i}].value is not a bigint`);
      assert.ok(e.value >= 0n && e.value < 1n << BigInt(width), `${what}: dump.entries[${i}].value ${e.value} does not fit ${width} bits`);
      if (e.mask !== undefined) assert.ok(e.mask >= 0n && e.mask < 1n << BigInt(width), `${what}: dump.entries[${i}].mask does not fit ${width} bits`);
    });
  }
  for (const [i, e] of (res.events as { kind?: string; value?: unknown }[]).entries()) {
    if (typeof e.value === 'bigint') assert.ok(e.value >= 0n && e.value <= (1n << 64n) - 1n, `${what}: events[${i}] (${e.kind}) value ${e.value} is not a 64-bit value`);
  }
  if (opts.skippedHaveFindings) {
    const findingLines = new Set(res.findings.map((f) => f.range.start.line));
    assert.ok(findingLines.size >= skipped, `${what}: ${skipped} lines skipped but only ${findingLines.size} lines have a finding`);
  }
}

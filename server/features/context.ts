// What every feature gets: the document's URI, its current FileReport and line access, plus an index of
// the report's events and dump entries by line, built once per report (binary search instead of a scan
// per hover: a 400k-line trace has 400k events).
import type { Position } from 'vscode-languageserver';
import type { Range } from '../../src/findings.ts';
import type { DumpEntry, Encoding, RegRef, TraceEvent } from '../../src/model/events.ts';
import { encodingKey } from '../../src/model/events.ts';
import { IdtraceStream, type FileReport } from '../core.ts';

export interface FeatureContext {
  uri: string;
  report: FileReport;
  lineAt(line: number): string;
  lineCount: number;
}

export interface ReportIndex {
  /** Event indices sorted by start line (parsers emit in order; sorted defensively). */
  eventOrder: number[];
  eventLines: Int32Array;
  entryOrder: number[];
  entryLines: Int32Array;
  /** Event indices per register key. */
  byRegister: Map<number, number[]>;
  /** Dump entry indices per register key. */
  entriesByRegister: Map<number, number[]>;
}

const indexes = new WeakMap<FileReport, ReportIndex>();

export function regOf(e: TraceEvent): RegRef | undefined {
  return 'reg' in e ? e.reg : undefined;
}

export function reportIndex(report: FileReport): ReportIndex {
  let idx = indexes.get(report);
  if (idx) return idx;
  const events = report.parse.events;
  const eventOrder = events.map((_, i) => i);
  if (!isSorted(events.map((e) => e.range.start.line))) eventOrder.sort((a, b) => events[a]!.range.start.line - events[b]!.range.start.line);
  const eventLines = Int32Array.from(eventOrder, (i) => events[i]!.range.start.line);
  const entries = report.parse.dump?.entries ?? [];
  const entryOrder = entries.map((_, i) => i);
  const entryLine = (d: DumpEntry) => Math.min(d.reg.range.start.line, d.valueRange.start.line);
  if (!isSorted(entries.map(entryLine))) entryOrder.sort((a, b) => entryLine(entries[a]!) - entryLine(entries[b]!));
  const entryLines = Int32Array.from(entryOrder, (i) => entryLine(entries[i]!));
  const byRegister = new Map<number, number[]>();
  events.forEach((e, i) => {
    const r = regOf(e);
    if (r?.enc) push(byRegister, encodingKey(r.enc), i);
  });
  const entriesByRegister = new Map<number, number[]>();
  entries.forEach((d, i) => {
    if (d.reg.enc) push(entriesByRegister, encodingKey(d.reg.enc), i);
  });
  idx = { eventOrder, eventLines, entryOrder, entryLines, byRegister, entriesByRegister };
  indexes.set(report, idx);
  return idx;
}

function push(map: Map<number, number[]>, key: number, value: number): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

function isSorted(a: number[]): boolean {
  for (let i = 1; i < a.length; i++) if (a[i]! < a[i - 1]!) return false;
  return true;
}

/** First index in `lines` whose value is >= line. */
export function lowerBound(lines: Int32Array, line: number): number {
  let lo = 0;
  let hi = lines.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (lines[mid]! < line) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Event indices whose range starts on a line in [first, last]. */
export function eventsInLines(ctx: FeatureContext, first: number, last: number): number[] {
  const idx = reportIndex(ctx.report);
  const out: number[] = [];
  for (let k = lowerBound(idx.eventLines, first); k < idx.eventLines.length && idx.eventLines[k]! <= last; k++) out.push(idx.eventOrder[k]!);
  return out;
}

/** Lines parsed again at most, for one request on a report that kept no events. */
const REPARSE_LINES = 20000;

/**
 * The events on lines [first, last] with their index in report.parse.events. A report that kept no events
 * (a big .idtrace replayed as it was parsed: FileReport.touched) has them parsed again from those lines,
 * without an index (no per-event records: no predicted answer, no definition).
 */
export function eventsOn(ctx: FeatureContext, first: number, last: number): { event: TraceEvent; index?: number }[] {
  const { report } = ctx;
  if (report.touched && report.format === 'idtrace') {
    const from = Math.max(0, first);
    const to = Math.min(last, ctx.lineCount - 1, from + REPARSE_LINES - 1);
    if (to < from) return [];
    const lines: string[] = [];
    for (let line = from; line <= to; line++) lines.push(ctx.lineAt(line));
    const stream = new IdtraceStream();
    stream.feed(lines.join('\n'), from, true);
    return stream.drain().map((event) => ({ event }));
  }
  return eventsInLines(ctx, first, last).map((index) => ({ event: report.parse.events[index]!, index }));
}

export function entriesInLines(ctx: FeatureContext, first: number, last: number): number[] {
  const idx = reportIndex(ctx.report);
  const out: number[] = [];
  for (let k = lowerBound(idx.entryLines, first); k < idx.entryLines.length && idx.entryLines[k]! <= last; k++) out.push(idx.entryOrder[k]!);
  return out;
}

export function contains(r: Range, p: Position): boolean {
  if (p.line < r.start.line || p.line > r.end.line) return false;
  if (p.line === r.start.line && p.character < r.start.character) return false;
  if (p.line === r.end.line && p.character > r.end.character) return false;
  return true;
}

export function sameEncoding(a: Encoding | undefined, b: Encoding | undefined): boolean {
  return a !== undefined && b !== undefined && encodingKey(a) === encodingKey(b);
}

export function hex(v: bigint, digits = 16): string {
  return '0x' + v.toString(16).padStart(digits, '0');
}

/** What is under the cursor. */
export type Target =
  | { kind: 'register'; ref: RegRef; eventIndex?: number; entryIndex?: number }
  | { kind: 'value'; enc?: Encoding; name?: string; value: bigint; range: Range; eventIndex?: number; entryIndex?: number; role: 'write' | 'read' | 'dump' | 'result' }
  | { kind: 'word'; text: string; range: Range };

/** Finds the register or value at a position: events first, then dump entries, then the bare word. */
export function targetAt(ctx: FeatureContext, p: Position): Target | undefined {
  const { report } = ctx;
  for (const { event: e, index: i } of eventsOn(ctx, p.line - 1, p.line)) {
    if (!contains(e.range, p) && e.range.start.line !== p.line) continue;
    const reg = regOf(e);
    if (reg && contains(reg.range, p)) return { kind: 'register', ref: reg, eventIndex: i };
    if (e.kind === 'set' && contains(e.valueRange, p)) {
      return { kind: 'value', enc: e.reg.enc, name: e.reg.name, value: e.value, range: e.valueRange, eventIndex: i, role: 'write' };
    }
    if (e.kind === 'msr' && e.value !== undefined && e.valueRange && contains(e.valueRange, p)) {
      return { kind: 'value', enc: e.reg.enc, name: e.reg.name, value: e.value, range: e.valueRange, eventIndex: i, role: 'write' };
    }
    if ((e.kind === 'get' || e.kind === 'mrs') && e.result && e.result.outcome.kind === 'value' && contains(e.result.range, p)) {
      return { kind: 'value', enc: e.reg.enc, name: e.reg.name, value: e.result.outcome.value, range: e.result.range, eventIndex: i, role: 'read' };
    }
  }
  const entries = report.parse.dump?.entries ?? [];
  for (const i of entriesInLines(ctx, Math.max(0, p.line - 2), p.line)) {
    const d = entries[i]!;
    if (contains(d.reg.range, p)) return { kind: 'register', ref: d.reg, entryIndex: i };
    if (contains(d.valueRange, p)) {
      return { kind: 'value', enc: d.reg.enc, name: d.reg.name, value: d.value, range: d.valueRange, entryIndex: i, role: 'dump' };
    }
  }
  return wordAt(ctx, p);
}

const WORD_RE = /\(\s*\d+\s*,\s*\d+\s*,\s*\d+\s*,\s*\d+\s*,\s*\d+\s*\)|ARM64_SYS_REG\([^)]*\)|[A-Za-z0-9_]+(?:<\d+>)?/g;

export function wordAt(ctx: FeatureContext, p: Position): Target | undefined {
  const text = ctx.lineAt(p.line);
  WORD_RE.lastIndex = 0;
  let m: RegExpExecArray | null;
  while ((m = WORD_RE.exec(text))) {
    const start = m.index;
    const end = start + m[0].length;
    if (p.character >= start && p.character <= end) {
      return { kind: 'word', text: m[0], range: { start: { line: p.line, character: start }, end: { line: p.line, character: end } } };
    }
    if (start > p.character) break;
  }
  return undefined;
}

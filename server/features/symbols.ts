// Outline: VM → vCPUs → phases (configure before the VM's first KVM_RUN, run after) → events; dumps by
// register. Folding: contiguous blocks of one vCPU, the phases, and comment blocks.
import { FoldingRangeKind, SymbolKind, type DocumentSymbol, type FoldingRange } from 'vscode-languageserver';
import type { Range } from '../../src/findings.ts';
import type { TraceEvent } from '../../src/model/events.ts';
import { toRange } from '../convert.ts';
import { hex, regOf, type FeatureContext } from './context.ts';

/** Outlines stay usable and cheap: beyond this many leaf symbols, events are summarised. */
const MAX_LEAVES = 5000;

function span(a: Range, b: Range): Range {
  return { start: a.start, end: b.end };
}

function eventLabel(e: TraceEvent): string {
  switch (e.kind) {
    case 'kernel':
      return `kernel ${e.version}`;
    case 'host':
      return `host ${e.path}`;
    case 'cap':
      return `cap ${e.cap}`;
    case 'init':
      return `init ${e.features.join(',')}`;
    case 'run':
      return 'run';
    case 'set':
      return `set ${e.reg.name ?? e.reg.text}`;
    default: {
      const r = regOf(e);
      return `${e.kind} ${r?.name ?? r?.text ?? ''}`;
    }
  }
}

function eventKind(e: TraceEvent): SymbolKind {
  switch (e.kind) {
    case 'set':
    case 'msr':
      return SymbolKind.Property;
    case 'get':
    case 'mrs':
      return SymbolKind.Field;
    case 'run':
      return SymbolKind.Event;
    case 'init':
      return SymbolKind.Constructor;
    default:
      return SymbolKind.Key;
  }
}

/** Index of the first event after which the VM has run (the first `run` without an error result). */
export function firstRunIndex(events: readonly TraceEvent[]): number {
  return events.findIndex((e) => e.kind === 'run' && (!e.result || e.result.outcome.kind === 'ok'));
}

export function provideDocumentSymbols(ctx: FeatureContext): DocumentSymbol[] {
  const { report } = ctx;
  const events = report.parse.events;
  const symbols: DocumentSymbol[] = [];
  let leaves = 0;
  if (events.length > 0) {
    const vmEvents = events.filter((e) => e.kind === 'kernel' || e.kind === 'host' || e.kind === 'cap');
    // One pass: each vCPU's event indices.
    const byVcpu = new Map<number, number[]>();
    events.forEach((e, i) => {
      if (!('vcpu' in e)) return;
      const list = byVcpu.get(e.vcpu);
      if (list) list.push(i);
      else byVcpu.set(e.vcpu, [i]);
    });
    const vcpuIds = [...byVcpu.keys()].sort((a, b) => a - b);
    const runAt = firstRunIndex(events);
    const vmChildren: DocumentSymbol[] = vmEvents.map((e) => ({
      name: eventLabel(e),
      kind: SymbolKind.Key,
      range: toRange(e.range),
      selectionRange: toRange(e.range),
    }));
    for (const id of vcpuIds) {
      const mine = byVcpu.get(id)!.map((i) => [events[i]!, i] as const);
      const phases: DocumentSymbol[] = [];
      for (const [phase, list] of [
        ['configure', mine.filter(([, i]) => runAt < 0 || i < runAt)],
        ['run', mine.filter(([, i]) => runAt >= 0 && i >= runAt)],
      ] as const) {
        if (list.length === 0) continue;
        const first = list[0]![0];
        const last = list[list.length - 1]![0];
        const children: DocumentSymbol[] = [];
        for (const [e] of list) {
          if (leaves >= MAX_LEAVES) break;
          leaves++;
          const r = regOf(e);
          children.push({
            name: eventLabel(e),
            detail: e.kind === 'set' ? hex(e.value) : resultText(e),
            kind: eventKind(e),
            range: toRange(e.range),
            selectionRange: toRange(r ? r.range : e.range),
          });
        }
        phases.push({
          name: phase,
          detail: `${list.length} event${list.length === 1 ? '' : 's'}${phase === 'run' ? ' (ID registers frozen)' : ''}`,
          kind: SymbolKind.Namespace,
          range: toRange(span(first.range, last.range)),
          selectionRange: toRange(first.range),
          children,
        });
      }
      const first = mine[0]![0];
      const last = mine[mine.length - 1]![0];
      const vcpu = report.replay?.vm.vcpus.find((v) => v.id === id);
      vmChildren.push({
        name: `vCPU ${id}`,
        detail: vcpu ? (vcpu.ran ? 'ran' : vcpu.initialised ? 'initialised' : 'not initialised') : undefined,
        kind: SymbolKind.Object,
        range: toRange(span(first.range, last.range)),
        selectionRange: toRange(first.range),
        children: phases,
      });
    }
    const vm = report.replay?.vm;
    const last = events[events.length - 1]!;
    symbols.push({
      name: 'VM',
      detail: [vm?.kernel ? `kernel ${vm.kernel}` : '', `${vcpuIds.length} vCPU${vcpuIds.length === 1 ? '' : 's'}`, vm?.hasRun ? 'has run' : '']
        .filter(Boolean)
        .join(' · '),
      kind: SymbolKind.Module,
      range: toRange(span(events[0]!.range, last.range)),
      selectionRange: toRange(events[0]!.range),
      children: vmChildren,
    });
  }
  const dump = report.parse.dump;
  if (dump && dump.entries.length > 0) {
    const children: DocumentSymbol[] = [];
    for (const d of dump.entries) {
      if (leaves++ >= MAX_LEAVES) break;
      const range = span(d.reg.range.start.line <= d.valueRange.start.line ? d.reg.range : d.valueRange, d.reg.range.end.line >= d.valueRange.end.line ? d.reg.range : d.valueRange);
      children.push({
        name: d.reg.name ?? d.reg.text,
        detail: hex(d.value, d.width === 32 ? 8 : 16) + (d.mask !== undefined ? ` (mask ${hex(d.mask)})` : ''),
        kind: SymbolKind.Field,
        range: toRange(range),
        selectionRange: toRange(d.reg.range),
      });
    }
    const first = dump.entries[0]!;
    const last = dump.entries[dump.entries.length - 1]!;
    symbols.push({
      name: dump.isTemplate ? 'CPU template' : 'Register dump',
      detail: `${report.format} · ${dump.entries.length} registers${dump.kernel ? ` · kernel ${dump.kernel}` : ''}`,
      kind: SymbolKind.Module,
      range: toRange(span(minRange(first.reg.range, first.valueRange), maxRange(last.reg.range, last.valueRange))),
      selectionRange: toRange(first.reg.range),
      children,
    });
  }
  return symbols;
}

function minRange(a: Range, b: Range): Range {
  return a.start.line < b.start.line || (a.start.line === b.start.line && a.start.character <= b.start.character) ? a : b;
}
function maxRange(a: Range, b: Range): Range {
  return a.end.line > b.end.line || (a.end.line === b.end.line && a.end.character >= b.end.character) ? a : b;
}

function resultText(e: TraceEvent): string | undefined {
  const r = 'result' in e ? e.result : undefined;
  if (!r) return undefined;
  const o = r.outcome;
  return o.kind === 'ok' ? '= 0' : o.kind === 'errno' ? `= ${o.errno}` : o.kind === 'value' ? `= ${hex(o.value)}` : '= undef';
}

export function provideFoldingRanges(ctx: FeatureContext): FoldingRange[] {
  const events = ctx.report.parse.events;
  const out: FoldingRange[] = [];
  const add = (start: number, end: number, kind?: FoldingRangeKind) => {
    if (end > start) out.push({ startLine: start, endLine: end, ...(kind ? { kind } : {}) });
  };
  // Contiguous blocks of one vCPU's events.
  let blockStart = -1;
  let blockVcpu = -1;
  let prevLine = -1;
  for (const e of events) {
    const v = 'vcpu' in e ? e.vcpu : -1;
    if (v !== blockVcpu) {
      if (blockVcpu >= 0) add(blockStart, prevLine);
      blockStart = e.range.start.line;
      blockVcpu = v;
    }
    prevLine = e.range.end.line;
  }
  if (blockVcpu >= 0) add(blockStart, prevLine);
  // Phases: configure (up to the line before the first run) and run (to the end).
  const runAt = firstRunIndex(events);
  if (events.length > 0) {
    const first = events[0]!.range.start.line;
    const last = events[events.length - 1]!.range.end.line;
    if (runAt > 0) {
      add(first, events[runAt - 1]!.range.end.line, FoldingRangeKind.Region);
      add(events[runAt]!.range.start.line, last, FoldingRangeKind.Region);
    }
  }
  // Comment blocks.
  let commentStart = -1;
  const n = Math.min(ctx.lineCount, 2_000_000);
  for (let l = 0; l <= n; l++) {
    const isComment = l < n && /^\s*#/.test(ctx.lineAt(l));
    if (isComment && commentStart < 0) commentStart = l;
    else if (!isComment && commentStart >= 0) {
      add(commentStart, l - 1, FoldingRangeKind.Comment);
      commentStart = -1;
    }
  }
  // VS Code drops duplicates, but keep the answer clean.
  const seen = new Set<string>();
  return out.filter((r) => {
    const k = `${r.startLine}:${r.endLine}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

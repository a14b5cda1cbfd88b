// Go to definition: from a read (get / guest mrs) to the set that established the value it returned
// (ReplayResult.definitions); when no write set it, to the host dump line that gave the reset value.
// References: every access of the register (events and dump entries) in the document.
import type { Location, Position } from 'vscode-languageserver';
import { encodingKey, type Encoding, type TraceEvent } from '../../src/model/events.ts';
import { pathToUri, toRange } from '../convert.ts';
import { contains, eventsOn, regOf, reportIndex, targetAt, type FeatureContext } from './context.ts';

/** The event (a read or any register access) on the cursor's line, and its index when the report kept it. */
function eventAt(ctx: FeatureContext, p: Position): { event: TraceEvent; index?: number } | undefined {
  for (const found of eventsOn(ctx, p.line, p.line)) {
    const e = found.event;
    if (contains(e.range, p) || e.range.start.line === p.line) return found;
  }
  return undefined;
}

export function provideDefinition(ctx: FeatureContext, p: Position): Location[] | null {
  const { report } = ctx;
  const at = eventAt(ctx, p);
  if (at === undefined) return hostDefinition(ctx, p);
  const e = at.event;
  const i = at.index;
  const defs = report.replay?.definitions ?? [];
  const def = i === undefined ? undefined : defs.find((d) => d.eventIndex === i);
  if (def?.setEventIndex !== undefined) {
    const set = report.parse.events[def.setEventIndex];
    if (set) return [{ uri: ctx.uri, range: toRange(set.range) }];
  }
  // No write set it: the value is the host's reset value.
  const reg = regOf(e);
  if (reg?.enc) {
    const host = hostEntry(ctx, reg.enc);
    if (host) return [host];
  }
  if (e.kind === 'host') return hostFileLocation(ctx);
  return null;
}

function hostFileLocation(ctx: FeatureContext): Location[] | null {
  const host = ctx.report.host;
  if (!host?.path || host.error) return null;
  return [{ uri: pathToUri(host.path), range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } }];
}

function hostEntry(ctx: FeatureContext, enc: Encoding): Location | undefined {
  const host = ctx.report.host;
  if (!host?.dump || !host.path) return undefined;
  const key = encodingKey(enc);
  const entry = host.dump.entries.find((d) => d.reg.enc && encodingKey(d.reg.enc) === key);
  return entry ? { uri: pathToUri(host.path), range: toRange(entry.reg.range) } : undefined;
}

/** In a dump, a register's definition is its host dump entry (the limit). */
function hostDefinition(ctx: FeatureContext, p: Position): Location[] | null {
  const t = targetAt(ctx, p);
  const enc = t?.kind === 'register' ? t.ref.enc : t?.kind === 'value' ? t.enc : undefined;
  if (!enc) return null;
  const loc = hostEntry(ctx, enc);
  return loc ? [loc] : null;
}

export function provideReferences(ctx: FeatureContext, p: Position, includeDeclaration: boolean): Location[] {
  const { report } = ctx;
  const t = targetAt(ctx, p);
  let enc: Encoding | undefined = t?.kind === 'register' ? t.ref.enc : t?.kind === 'value' ? t.enc : undefined;
  if (!enc) {
    const at = eventAt(ctx, p);
    const reg = at ? regOf(at.event) : undefined;
    enc = reg?.enc;
  }
  if (!enc) return [];
  const key = encodingKey(enc);
  const idx = reportIndex(report);
  const out: Location[] = [];
  for (const i of idx.byRegister.get(key) ?? []) {
    const reg = regOf(report.parse.events[i]!);
    if (reg) out.push({ uri: ctx.uri, range: toRange(reg.range) });
  }
  const entries = report.parse.dump?.entries ?? [];
  for (const i of idx.entriesByRegister.get(key) ?? []) out.push({ uri: ctx.uri, range: toRange(entries[i]!.reg.range) });
  if (includeDeclaration) {
    const host = hostEntry(ctx, enc);
    if (host) out.push(host);
  }
  return out;
}

// Inlay hints name raw encodings: a one-reg ID in Firecracker JSON, a tuple, a generic S3_… name, an ESR
// value or an instruction word gets the register's name after it (and the direction, for an ESR).
import { InlayHintKind, type InlayHint, type Range } from 'vscode-languageserver';
import type { RegRef } from '../../src/model/events.ts';
import { parseRegisterToken } from '../core.ts';
import { entriesInLines, eventsOn, regOf, type FeatureContext } from './context.ts';

const ESR_RE = /\b(?:HSR|ESR|esr)\b\s*[:=]?\s*(0x[0-9a-fA-F]{1,8})\b/g;

/** Hint text for a register reference, or undefined when the text already is the architectural name. */
export function hintFor(ref: RegRef, lineText?: string): string | undefined {
  const name = ref.name;
  if (!name) return undefined;
  const text = ref.text.trim();
  const upper = text.toUpperCase().replace(/^SYS_/, '');
  if (upper === name || name.startsWith(upper + '_EL')) return undefined;
  // NAME(tuple) and NAME@ENCODING already show the name.
  if (upper.startsWith(name)) return undefined;
  // ftrace kvm_sys_access prints the name just before the tuple.
  if (lineText && ref.range.start.character > 0 && lineText.slice(0, ref.range.start.character).trimEnd().toUpperCase().endsWith(name)) return undefined;
  const tok = parseRegisterToken(text);
  if (tok.ok && tok.esr) return `${tok.esr.read ? 'MRS' : 'MSR'} ${name}`;
  return name;
}

export function provideInlayHints(ctx: FeatureContext, range: Range): InlayHint[] {
  const hints: InlayHint[] = [];
  const add = (ref: RegRef) => {
    const label = hintFor(ref, ctx.lineAt(ref.range.end.line));
    if (!label) return;
    hints.push({ position: ref.range.end, label: `: ${label}`, kind: InlayHintKind.Type, paddingLeft: false, tooltip: `${ref.text} is ${label}` });
  };
  for (const { event } of eventsOn(ctx, range.start.line, range.end.line)) {
    const reg = regOf(event);
    if (reg) add(reg);
  }
  const entries = ctx.report.parse.dump?.entries ?? [];
  for (const i of entriesInLines(ctx, range.start.line, range.end.line)) add(entries[i]!.reg);
  // Raw ESR values that no event carries (ftrace kvm_handle_sys_reg "HSR 0x…", "ESR: 0x…").
  const seen = new Set(hints.map((h) => `${h.position.line}:${h.position.character}`));
  const last = Math.min(range.end.line, range.start.line + 20000, ctx.lineCount - 1);
  for (let line = range.start.line; line <= last; line++) {
    const text = ctx.lineAt(line);
    if (!/HSR|ESR|esr/.test(text)) continue;
    for (const m of text.matchAll(ESR_RE)) {
      const tok = parseRegisterToken(`esr:${m[1]}`);
      if (!tok.ok || !tok.enc || !tok.esr) continue;
      const character = m.index! + m[0].length;
      if (seen.has(`${line}:${character}`)) continue;
      const label = `${tok.esr.read ? 'MRS' : 'MSR'} ${tok.name ?? m[1]}`;
      hints.push({ position: { line, character }, label: `: ${label}`, kind: InlayHintKind.Type, tooltip: `ESR ${m[1]}: ${label}` });
    }
  }
  return hints;
}

// Quick fixes: the core's Finding.fixes (clamp a value to the host limit, make a name and its encoding
// agree), matched to the diagnostics the client sends back by code and range.
import { CodeActionKind, type CodeAction, type CodeActionParams, type Diagnostic } from 'vscode-languageserver';
import type { Finding, FindingFix } from '../../src/findings.ts';
import { allForms, parseRegisterToken } from '../core.ts';
import { toRange } from '../convert.ts';
import type { FeatureContext } from './context.ts';

function sameRange(d: Diagnostic, f: Finding): boolean {
  const a = d.range;
  const b = f.range;
  return a.start.line === b.start.line && a.start.character === b.start.character && a.end.line === b.end.line && a.end.character === b.end.character;
}

/** IDR003 without fixes from the core: offer both directions from the tokens on the line. */
export function nameEncodingFixes(ctx: FeatureContext, f: Finding): FindingFix[] {
  const line = f.range.start.line;
  const text = ctx.lineAt(line);
  const tokens = [...text.matchAll(/\(\s*\d+\s*,\s*\d+\s*,\s*\d+\s*,\s*\d+\s*,\s*\d+\s*\)|0x[0-9a-fA-F_]+|[A-Za-z][A-Za-z0-9_]*/g)];
  let name: { text: string; start: number; enc: ReturnType<typeof parseRegisterToken> } | undefined;
  let encTok: { text: string; start: number; kind: string; enc: NonNullable<Extract<ReturnType<typeof parseRegisterToken>, { ok: true }>['enc']> } | undefined;
  for (const m of tokens) {
    const tok = parseRegisterToken(m[0]);
    if (!tok.ok || !tok.enc) continue;
    if (tok.kind === 'name' && !name) name = { text: m[0], start: m.index!, enc: tok };
    else if (tok.kind !== 'name' && !encTok) encTok = { text: m[0], start: m.index!, kind: tok.kind, enc: tok.enc };
  }
  if (!name || !encTok || !name.enc.ok || !name.enc.enc) return [];
  const fixes: FindingFix[] = [];
  const fromEncoding = allForms(encTok.enc);
  fixes.push({
    title: `Use the name ${fromEncoding.name} (what the encoding ${encTok.text} says)`,
    range: { start: { line, character: name.start }, end: { line, character: name.start + name.text.length } },
    newText: fromEncoding.name!,
  });
  const fromName = allForms(name.enc.enc);
  const formKey = { tuple: 'tuple', generic: 'generic', oneReg: 'oneReg', esr: 'esrRead', insn: 'mrs', linuxEnc: 'sysRegEnc', macro: 'macro', opfields: 'opFields' }[encTok.kind];
  const replacement = formKey ? fromName[formKey] : undefined;
  if (replacement) {
    fixes.push({
      title: `Use the encoding ${replacement} (what the name ${name.text} says)`,
      range: { start: { line, character: encTok.start }, end: { line, character: encTok.start + encTok.text.length } },
      newText: replacement,
    });
  }
  return fixes;
}

export function provideCodeActions(ctx: FeatureContext, params: CodeActionParams): CodeAction[] {
  const actions: CodeAction[] = [];
  const only = params.context.only;
  if (only && !only.some((k) => k === CodeActionKind.QuickFix || CodeActionKind.QuickFix.startsWith(k + '.') || k === CodeActionKind.Empty)) return actions;
  for (const d of params.context.diagnostics) {
    if (d.source !== 'idreg') continue;
    const f = ctx.report.findings.find((x) => x.code === d.code && sameRange(d, x));
    if (!f) continue;
    let fixes = f.fixes ?? [];
    if (fixes.length === 0 && f.code === 'IDR003') fixes = nameEncodingFixes(ctx, f);
    fixes.forEach((fix, n) => {
      actions.push({
        title: fix.title,
        kind: CodeActionKind.QuickFix,
        diagnostics: [d],
        isPreferred: n === 0,
        edit: { changes: { [ctx.uri]: [{ range: toRange(fix.range), newText: fix.newText }] } },
      });
    });
  }
  return actions;
}

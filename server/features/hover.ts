// Hover: on every encoding form, the register with all its forms; on every value, a field table with
// meanings, the host limit beside each field, the field's policy and what KVM would do with the write.
import { MarkupKind, type Hover, type Position } from 'vscode-languageserver';
import type { Finding } from '../../src/findings.ts';
import type { Encoding } from '../../src/model/events.ts';
import { encodingKey } from '../../src/model/events.ts';
import { allForms, decodeValue, describePolicy, fieldValue, parseRegisterToken, registerName, type FileReport } from '../core.ts';
import { toRange } from '../convert.ts';
import { codeHref } from '../protocol.ts';
import { hex, targetAt, type FeatureContext, type Target } from './context.ts';

const FORM_LABELS: Record<string, string> = {
  name: 'name',
  generic: 'generic',
  tuple: 'tuple (op0,op1,CRn,CRm,op2)',
  opFields: 'op fields',
  macro: 'selftest macro',
  oneReg: 'KVM one-reg ID',
  sysRegEnc: 'Linux sys_reg()',
  mrs: 'MRS x0 word',
  msr: 'MSR x0 word',
  esrRead: 'ESR (read, x0)',
  esrWrite: 'ESR (write, x0)',
};

/** Markdown table cell text: no pipes or line breaks. */
export function cell(s: string | undefined): string {
  return (s ?? '').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

export function registerMarkdown(enc: Encoding, heading?: string): string {
  const forms = allForms(enc);
  const name = registerName(enc);
  const lines = [`**${heading ?? name}**${heading && heading !== name ? ` → \`${name}\`` : ''}`, ''];
  const extra = registerDescription(enc);
  if (extra) lines.push(extra, '');
  lines.push('| form | value |', '|---|---|');
  for (const [k, v] of Object.entries(forms)) lines.push(`| ${cell(FORM_LABELS[k] ?? k)} | \`${cell(v)}\` |`);
  return lines.join('\n');
}

function registerDescription(enc: Encoding): string | undefined {
  const e = enc;
  if (e.op0 === 3 && e.op1 === 0 && e.crn === 0 && e.crm >= 1 && e.crm <= 7) return 'Feature ID register (KVM keeps one copy per VM; userspace may lower fields before the first KVM_RUN).';
  if (e.op0 === 3 && e.crn === 0) return 'ID space register.';
  return undefined;
}

/** The host limit of a register: from the VM snapshot, else from the host dump. */
export function hostLimit(report: FileReport, enc: Encoding): bigint | undefined {
  const key = encodingKey(enc);
  const vmReg = report.replay?.vm.registers.find((r) => encodingKey(r.enc) === key);
  if (vmReg?.limit !== undefined) return vmReg.limit;
  const entry = report.host?.dump?.entries.find((d) => d.reg.enc && encodingKey(d.reg.enc) === key);
  return entry?.value;
}

export function findingsOnLine(report: FileReport, line: number): Finding[] {
  return report.findings.filter((f) => f.range.start.line <= line && f.range.end.line >= line);
}

export function valueMarkdown(report: FileReport | undefined, enc: Encoding, value: bigint, opts: { role?: string; line?: number } = {}): string {
  const decoded = decodeValue(enc, value);
  const limit = report ? hostLimit(report, enc) : undefined;
  const out: string[] = [`**${decoded.register}** = \`${hex(decoded.value)}\`${opts.role ? ` (${opts.role})` : ''}`, ''];
  if (decoded.fields.length > 0) {
    const withLimit = limit !== undefined;
    out.push(`| field | bits | value | meaning |${withLimit ? ' host limit |' : ''} policy |`);
    out.push(`|---|---|---|---|${withLimit ? '---|' : ''}---|`);
    for (const f of decoded.fields) {
      const bits = f.msb === f.lsb ? `${f.msb}` : `${f.msb}:${f.lsb}`;
      const v = `0x${f.value.toString(16)}${f.signedValue !== undefined && f.signedValue < 0 ? ` (${f.signedValue})` : ''}`;
      const base = f.meaning ?? (f.known ? '' : 'not a value Arm defines');
      const extra = f.features.filter((x) => !base.includes(x));
      const meaning = base + (extra.length ? ` (${extra.join(', ')})` : '');
      let limitCell = '';
      if (withLimit) {
        const lv = fieldValue(limit!, f);
        // Bold where the value differs from the limit (above it is what KVM refuses for lower-safe fields).
        limitCell = lv === f.value ? ` 0x${lv.toString(16)} |` : ` **0x${lv.toString(16)}** |`;
      }
      out.push(`| ${cell(f.name)} | ${bits} | ${v} | ${cell(meaning)} |${limitCell} ${cell(describePolicy(enc, f.name) ?? '')} |`);
    }
  } else {
    out.push('_No field layout is known for this register._');
  }
  const notes: string[] = [];
  if (decoded.res0Violations) notes.push(`RES0 bits set: \`${hex(decoded.res0Violations)}\``);
  if (decoded.res1Violations) notes.push(`RES1 bits clear: \`${hex(decoded.res1Violations)}\``);
  if (decoded.overflow) notes.push(`bits above the ${decoded.width}-bit register: \`${hex(decoded.overflow)}\``);
  if (limit !== undefined) notes.push(`host limit \`${hex(limit)}\`${report?.host?.path ? ` from \`${report.host.path}\`` : ''}`);
  if (notes.length) out.push('', notes.join(' · '));
  return out.join('\n');
}

/** What KVM would do: the model's prediction for the event, and the findings on its line. */
function verdictMarkdown(report: FileReport, line: number, role: string, eventIndex?: number): string | undefined {
  const parts: string[] = [];
  const predicted = eventIndex !== undefined ? report.replay?.predictions.find((p) => p.eventIndex === eventIndex)?.predicted : undefined;
  const found = findingsOnLine(report, line);
  if (predicted !== undefined) {
    if (role === 'write') {
      parts.push(predicted === '0' ? '**KVM would accept this write** (returns 0).' : `**KVM would refuse this write: ${predicted}**`);
    } else if (role === 'read') {
      parts.push(`KVM would return \`${predicted}\`.`);
    }
  } else if (role === 'write' && found.length === 0) {
    parts.push('**KVM would accept this write** (returns 0).');
  }
  for (const f of found) {
    parts.push(`${f.severity === 'error' ? 'Error' : 'Warning'} [${f.code}](${codeHref(f.code)})${f.errno ? ` (KVM: ${f.errno})` : ''}: ${f.message}`);
  }
  return parts.length ? parts.join('\n\n') : undefined;
}

export function provideHover(ctx: FeatureContext, p: Position): Hover | null {
  const t = targetAt(ctx, p);
  if (!t) return null;
  return hoverFor(ctx, t);
}

function hoverFor(ctx: FeatureContext, t: Target): Hover | null {
  const { report } = ctx;
  if (t.kind === 'register') {
    if (!t.ref.enc) {
      const tok = parseRegisterToken(t.ref.text);
      return md(tok.ok ? `**${t.ref.text}**: ${tok.name ?? 'not a system register'}` : `**${t.ref.text}**: ${tok.message}`, t.ref.range);
    }
    const tok = parseRegisterToken(t.ref.text);
    let extra = '';
    if (tok.ok && tok.esr) extra = `\n\nESR: ${tok.esr.read ? 'MRS (read)' : 'MSR (write)'}${tok.esr.rt !== undefined ? `, Rt = x${tok.esr.rt}` : ''}`;
    return md(registerMarkdown(t.ref.enc, t.ref.text) + extra, t.ref.range);
  }
  if (t.kind === 'value') {
    if (!t.enc) return md(`\`${hex(t.value)}\` (register unknown)`, t.range);
    const roles = { write: 'written', read: 'read', dump: 'dump value', result: 'result' } as const;
    // The verdict first (one or two lines), then the field table: the answer before the evidence.
    const verdict = verdictMarkdown(report, t.range.start.line, t.role, t.eventIndex);
    const table = valueMarkdown(report, t.enc, t.value, { role: roles[t.role], line: t.range.start.line });
    return md(verdict ? `${verdict}\n\n---\n\n${table}` : table, t.range);
  }
  // A bare word: any encoding form the decoder understands.
  const tok = parseRegisterToken(t.text);
  if (tok.ok && tok.enc) return md(registerMarkdown(tok.enc, t.text), t.range);
  return null;
}

function md(value: string, range: { start: { line: number; character: number }; end: { line: number; character: number } }): Hover {
  return { contents: { kind: MarkupKind.Markdown, value }, range: toRange(range) };
}

// idregLens/decode: `TOKEN [VALUE]` → the register's forms and, with a value, its fields.
import { allForms, decodeValue, describePolicy, parseRegisterToken } from '../core.ts';
import { parseNumberLoose } from './numbers.ts';
import type { DecodeResult } from '../protocol.ts';
import { hex } from './context.ts';
import { registerMarkdown, valueMarkdown } from './hover.ts';

export function decodeText(input: string): DecodeResult {
  const text = input.trim();
  if (!text) return { ok: false, message: 'nothing to decode', markdown: '_Nothing to decode._' };
  // The token may itself contain spaces (tuples, op fields): try the whole text first, then split off a value.
  let tok = parseRegisterToken(text);
  let valueText: string | undefined;
  if (!tok.ok) {
    const m = /^(.*\S)\s+(\S+)$/.exec(text);
    if (m) {
      const t2 = parseRegisterToken(m[1]!);
      if (t2.ok) {
        tok = t2;
        valueText = m[2];
      }
    }
  }
  if (!tok.ok) return { ok: false, message: tok.message, markdown: `**${text}**: ${tok.message}` };
  if (!tok.enc) {
    return { ok: true, name: tok.name ?? text, markdown: `**${text}** is ${tok.name ?? 'not a system register'} (no system-register encoding)` };
  }
  const forms = allForms(tok.enc);
  if (valueText === undefined) return { ok: true, name: forms.name, forms, markdown: registerMarkdown(tok.enc, text) };
  const value = parseNumberLoose(valueText);
  if (value === undefined) return { ok: false, name: forms.name, forms, message: `'${valueText}' is not a number`, markdown: `'${valueText}' is not a number` };
  const decoded = decodeValue(tok.enc, value);
  return {
    ok: true,
    name: forms.name,
    forms,
    value: hex(decoded.value),
    fields: decoded.fields.map((f) => ({
      name: f.name,
      msb: f.msb,
      lsb: f.lsb,
      value: `0x${f.value.toString(16)}`,
      ...(f.meaning ? { meaning: f.meaning } : {}),
      ...(describePolicy(tok.enc!, f.name) ? { policy: describePolicy(tok.enc!, f.name)! } : {}),
    })),
    markdown: valueMarkdown(undefined, tok.enc, value) + '\n\n' + registerMarkdown(tok.enc),
  };
}

// `idreg decode TOKEN [VALUE] [--json]`: any encoding form, and with a value every field with its meaning.
import { allForms, parseNumber, parseRegisterToken, type TokenOk } from '../encoding/forms.ts';
import { decodeValue, describeBits, hex64, type DecodedValue } from '../encoding/value.ts';
import { registerByKey } from '../data/registers.ts';
import { encodingKey } from '../model/events.ts';
import { EXIT_OK, EXIT_USAGE, parseArgs, UsageError, type CliIO } from './io.ts';

export const DECODE_USAGE = 'usage: idreg decode TOKEN [VALUE] [--json]';

interface DecodeJson {
  input: string;
  kind: string;
  name: string;
  encoding?: { op0: number; op1: number; crn: number; crm: number; op2: number };
  unallocated: boolean;
  forms: Record<string, string>;
  access?: { direction: 'read' | 'write'; rt: number };
  oneReg?: { id: string; group: string; sizeBits: number; name: string; valid: boolean; problem?: string };
  warnings: string[];
  value?: string;
  fields?: { name: string; msb: number; lsb: number; value: number | string; hex: string; signedValue?: number; meaning: string | null; features: string[]; known: boolean }[];
  res0Violations?: string;
  res1Violations?: string;
}

function fieldJsonValue(v: bigint): number | string {
  return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : '0x' + v.toString(16);
}

export function buildDecodeJson(input: string, tok: TokenOk, decoded?: DecodedValue): DecodeJson {
  const out: DecodeJson = {
    name: tok.name ?? tok.oneReg?.name ?? '',
    ...(tok.enc ? { encoding: { ...tok.enc } } : {}),
    forms: tok.enc ? allForms(tok.enc) : {},
    input,
    kind: tok.kind,
    unallocated: tok.unallocated,
    warnings: tok.warnings,
  };
  const access = tok.esr ?? tok.insn;
  if (access) out.access = { direction: access.read ? 'read' : 'write', rt: access.rt };
  if (tok.oneReg) {
    const o = tok.oneReg;
    out.oneReg = { id: '0x' + o.id.toString(16).padStart(16, '0'), group: o.group, sizeBits: o.sizeBits, name: o.name, valid: o.valid, ...(o.problem ? { problem: o.problem } : {}) };
  }
  if (decoded) {
    out.value = hex64(decoded.value);
    out.fields = decoded.fields.map((f) => ({
      name: f.name,
      msb: f.msb,
      lsb: f.lsb,
      value: fieldJsonValue(f.value),
      hex: '0x' + f.value.toString(16),
      ...(f.signedValue !== undefined ? { signedValue: f.signedValue } : {}),
      meaning: f.meaning ?? null,
      features: f.features,
      known: f.known,
    }));
    out.res0Violations = hex64(decoded.res0Violations);
    out.res1Violations = hex64(decoded.res1Violations);
  }
  return out;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function table(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : pad(c, widths[i]!))).join('  ').trimEnd());
}

export function renderDecodeText(tok: TokenOk, decoded?: DecodedValue): string {
  const lines: string[] = [];
  const name = tok.name ?? tok.oneReg?.name ?? '?';
  if (tok.enc) {
    const f = allForms(tok.enc);
    const reg = registerByKey(encodingKey(tok.enc));
    const note = tok.unallocated ? '  (unallocated encoding: no architectural register)' : '';
    lines.push(`${name}  ${f.tuple}  ${f.generic}${note}`);
    if (tok.esr) lines.push(`  trapped ${tok.esr.read ? 'read (MRS)' : 'write (MSR)'}, x${tok.esr.rt}${tok.esr.rt === 31 ? ' (xzr)' : ''}`);
    if (tok.insn) lines.push(`  ${tok.insn.read ? 'MRS' : 'MSR'} instruction, x${tok.insn.rt}`);
    if (tok.oneReg && tok.oneReg.name !== name) lines.push(`  KVM name: ${tok.oneReg.name}`);
    lines.push(
      ...table([
        ['  one-reg ID', f.oneReg!, 'ARM64_SYS_REG', f.macro!.replace('ARM64_SYS_REG', '')],
        ['  sys_reg enc', f.sysRegEnc!, 'op fields', f.opFields!],
        ['  MRS x0', f.mrs!, 'MSR x0', f.msr!],
        ['  ESR read x0', f.esrRead!, 'ESR write x0', f.esrWrite!],
      ]),
    );
    if (reg) lines.push(`  ${reg.width}-bit, ${[reg.readable ? 'readable' : '', reg.writable ? 'writable' : ''].filter(Boolean).join(' and ') || 'no MRS/MSR accessor'}`);
  } else if (tok.oneReg) {
    const o = tok.oneReg;
    lines.push(`${o.name}  (KVM one-reg ID, group ${o.group}, ${o.sizeBits}-bit)`);
  }
  for (const w of tok.warnings) lines.push(`  warning: ${w}`);
  if (decoded) {
    lines.push('', `value ${hex64(decoded.value)}`);
    if (decoded.noFields) {
      lines.push('  (no field layout for this register in the database)');
    } else {
      const rows: string[][] = [['  bits', 'field', 'value', 'meaning']];
      for (const fd of decoded.fields) {
        const bits = fd.msb === fd.lsb ? `${fd.msb}` : `${fd.msb}:${fd.lsb}`;
        let v = '0x' + fd.value.toString(16);
        if (fd.signedValue !== undefined && fd.signedValue < 0) v += ` (${fd.signedValue})`;
        let meaning = fd.meaning ?? (fd.features.length ? fd.features.join(', ') : '');
        if (!fd.known) meaning = `unknown value${meaning ? ': ' + meaning : ''} (not an allowed value of this field)`;
        rows.push([`  ${bits}`, fd.name, v, meaning]);
      }
      lines.push(...table(rows));
    }
    if (decoded.res0Violations) lines.push(`  warning: RES0 bits set: ${describeBits(decoded.res0Violations)}`);
    if (decoded.res1Violations) lines.push(`  warning: RES1 bits clear: ${describeBits(decoded.res1Violations)}`);
  }
  return lines.join('\n') + '\n';
}

export async function runDecode(args: string[], io: CliIO): Promise<number> {
  const { positional, flags } = parseArgs(args, { flags: ['json'] });
  if (positional.length < 1 || positional.length > 2) throw new UsageError(DECODE_USAGE);
  const input = positional[0]!;
  const tok = parseRegisterToken(input);
  if (!tok.ok) {
    io.stderr(`idreg decode: ${tok.message}\n`);
    return EXIT_USAGE;
  }
  let decoded: DecodedValue | undefined;
  if (positional.length === 2) {
    const value = parseNumber(positional[1]!);
    if (value === undefined) {
      io.stderr(`idreg decode: '${positional[1]}' is not a number (0x…, 0b… or decimal)\n`);
      return EXIT_USAGE;
    }
    if (!tok.enc) {
      io.stderr(`idreg decode: ${tok.name ?? input} is not a system register; no field layout to decode a value with\n`);
      return EXIT_USAGE;
    }
    const width = registerByKey(encodingKey(tok.enc))?.width ?? 64;
    if (value >> BigInt(width) !== 0n) {
      io.stderr(`idreg decode: value ${positional[1]} is wider than the ${width}-bit register\n`);
      return EXIT_USAGE;
    }
    decoded = decodeValue(tok.enc, value);
  }
  if (flags.has('json')) io.stdout(JSON.stringify(buildDecodeJson(input, tok, decoded), null, 2) + '\n');
  else io.stdout(renderDecodeText(tok, decoded));
  return EXIT_OK;
}

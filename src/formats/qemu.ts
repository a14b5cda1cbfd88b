// QEMU with the KVM accelerator on arm64 (formats.md §3):
//  - qemu-log: stderr of qemu-system-aarch64 (optionally `-msg timestamp=on`): migration failures of the
//    cpreg list (`Failed to load cpu:cpreg_vmstate_array_len`, and the newer
//    `kvm_arm_cpu_post_load Unexpected register in input stream: <n> 0x603000000013c103 op0:3 op1:0 crn:2 crm:0 op2:3`),
//    refused writes (`write 0x603000000013c020(0x0100010011111111) to kvm failed`), and command lines with
//    `SYSREG_<REG>_<FIELD>=value` properties or `kvm-hidden-regs=` lists;
//  - qemu-trace: `-trace` output of the cpreg and ID-register events (`cpu_post_load_unexpected …`,
//    `kvm_arm_writable_idregs_to_cpreg_list ID_AA64ISAR0_EL1 overwrite default 0x… with 0x…`);
//  - qemu-qmp: `query-cpu-model-expansion` exchanges whose props are SYSREG_<REG>_<FIELD> field values.
import { makeFinding, type Finding, type Range } from '../findings.ts';
import { decodeOneRegId, opFieldsForm, resolveRegister } from '../encoding/forms.ts';
import { registerByName, type FieldDef, type RegisterDef } from '../data/registers.ts';
import { encodingKey, type RegRef } from '../model/events.ts';
import { judgeUserWrite } from '../model/kvm.ts';
import { LineIndex } from './json-scan.ts';
import { contentLines, newCounts } from './lines.ts';
import type { FormatParseResult, ProposedWrite } from './detect.ts';

function hex(v: bigint): string {
  return '0x' + v.toString(16).padStart(16, '0');
}

/** Longer than any register name: a longer prefix is not looked up (which kept the split linear in the name). */
const MAX_REGISTER_NAME = 64;

/** Splits `ID_AA64ISAR0_EL1_DP` into the register and its field (AARCHMRS spellings), or explains why not. */
export function splitSysregProperty(name: string): { reg: RegisterDef; field: FieldDef } | string {
  const upper = name.toUpperCase();
  for (let i = upper.lastIndexOf('_', MAX_REGISTER_NAME); i > 0; i = upper.lastIndexOf('_', i - 1)) {
    const reg = registerByName(upper.slice(0, i));
    if (!reg) continue;
    const fieldName = upper.slice(i + 1);
    const field = reg.fields?.find((f) => f.name.toUpperCase() === fieldName);
    if (field) return { reg, field };
    const names = (reg.fields ?? []).map((f) => f.name).join(', ');
    return `${reg.name} has no field ${name.slice(i + 1)}${names ? ` (its fields: ${names})` : ''}`;
  }
  return `no register named in SYSREG_${name}: expected SYSREG_<REGISTER>_<FIELD> as in Arm's Registers.json (e.g. SYSREG_ID_AA64ISAR0_EL1_DP)`;
}

/** One SYSREG_<REG>_<FIELD>=value property: a proposed write of one field, or a finding. */
function sysregProperty(prop: string, propRange: Range, valueText: string, valueRange: Range, findings: Finding[]): ProposedWrite | undefined {
  const split = splitSysregProperty(prop);
  if (typeof split === 'string') {
    // QEMU's table may be newer than this tool's register data: a known register with an unknown field warns.
    findings.push(makeFinding('IDR002', split, propRange, split.includes(' has no field ') ? { severity: 'warning' } : {}));
    return undefined;
  }
  const { reg, field } = split;
  const v = /^(0x[0-9a-fA-F]+|\d+)$/.test(valueText) ? BigInt(valueText) : undefined;
  const width = field.msb - field.lsb + 1;
  if (v === undefined || v >= 1n << BigInt(width)) {
    findings.push(
      makeFinding('IDR004', `${reg.name}.${field.name} is ${width} bits wide: expected a field value from 0 to 0x${((1n << BigInt(width)) - 1n).toString(16)} (not shifted), not '${valueText}'`, valueRange, {
        register: reg.name,
        field: field.name,
      }),
    );
    return undefined;
  }
  const ref: RegRef = { text: `SYSREG_${prop}`, range: propRange, enc: reg.enc, name: reg.name };
  return {
    reg: ref,
    value: v << BigInt(field.lsb),
    mask: ((1n << BigInt(width)) - 1n) << BigInt(field.lsb),
    valueRange,
    range: { start: propRange.start, end: valueRange.end },
    what: `QEMU property SYSREG_${prop}`,
    field: field.name,
  };
}

// The lookbehind starts a property only at the start of a word: unanchored, `SYSREG_SYSREG_…` without
// an `=` would rescan the rest of the word from every SYSREG_ in it (quadratic).
const SYSREG_PROP = /(?<![A-Za-z0-9_])SYSREG_([A-Za-z0-9_]+)=([^,\s"']+)/g;
const ID_LIST = /\b(kvm-hidden-regs|kvm-enforced-regs|x-mig-safe-missing-regs)=((?:0x[0-9a-fA-F]+)(?:,0x[0-9a-fA-F]+)*)/g;

/** Decodes one-reg ids written in a log line; IDR002 for ids KVM would not accept. */
function checkIdList(list: string, at: number, line: number, findings: Finding[]): void {
  let off = at;
  for (const t of list.split(',')) {
    const info = decodeOneRegId(BigInt(t));
    if (!info.valid) findings.push(makeFinding('IDR002', `${t} (${info.name}) is not a register KVM would accept: ${info.problem ?? 'unknown'}`, { start: { line, character: off }, end: { line, character: off + t.length } }));
    off += t.length + 1;
  }
}

/** Cross-checks QEMU's `op0:3 op1:0 crn:2 crm:0 op2:3` / `fw feat reg 3` text against the id it follows. */
function checkRegisterText(idText: string, tail: string, tailAt: number, line: number, findings: Finding[]): void {
  const info = decodeOneRegId(BigInt(idText));
  const m = /op0:(\d+) op1:(\d+) crn:(\d+) crm:(\d+) op2:(\d+)/.exec(tail);
  if (m && info.enc) {
    const printed = { op0: Number(m[1]), op1: Number(m[2]), crn: Number(m[3]), crm: Number(m[4]), op2: Number(m[5]) };
    if (encodingKey(printed) !== encodingKey(info.enc)) {
      const at = tailAt + m.index;
      findings.push(
        makeFinding('IDR003', `the text says ${m[0]}, but ${idText} is ${opFieldsForm(info.enc)} (${info.name})`, { start: { line, character: at }, end: { line, character: at + m[0].length } }),
      );
    }
  }
}

const LOG_PREFIX = /^(\d{4}-\d\d-\d\dT[\d:.]+Z?\s+)?((qemu-system-\w+|qemu-kvm|qemu):\s+)?/;

/** Parses QEMU's stderr / log text. Never throws. */
export function parseQemuLog(text: string, _path?: string): FormatParseResult {
  const idx = new LineIndex(text);
  const findings: Finding[] = [];
  const proposed: ProposedWrite[] = [];
  let understood = 0;
  let skipped = 0;
  let lastCount: { sent: string; max: string } | undefined;
  const lines = idx.lineCount;
  for (let line = 0; line < lines; line++) {
    const raw = text.slice(idx.lineStart(line), idx.lineEnd(line));
    const r = (a: number, b: number): Range => ({ start: { line, character: a }, end: { line, character: b } });
    const trimmed = raw.trim();
    if (trimmed === '') {
      understood++;
      continue;
    }
    const pre = LOG_PREFIX.exec(raw)!;
    const prefixed = pre[1] !== undefined || pre[2] !== undefined;
    let known = prefixed;
    let m = /(Unexpected|Missing) register in input stream: (\d+) (0x[0-9a-fA-F]+)(.*)/.exec(raw);
    if (m) {
      known = true;
      const idAt = raw.indexOf(m[3]!, m.index + m[1]!.length);
      const id = BigInt(m[3]!);
      const info = decodeOneRegId(id);
      const idRange = r(idAt, idAt + m[3]!.length);
      checkRegisterText(m[3]!, m[4]!, idAt + m[3]!.length, line, findings);
      if (m[1] === 'Unexpected') {
        findings.push(
          makeFinding('IDR031', `migration refused: the source sent ${info.name} (${hex(id)}), which the destination's KVM does not list (an older kernel or other vCPU features on the destination)`, idRange, {
            register: info.name,
          }),
        );
      } else {
        findings.push(
          makeFinding('IDR031', `${info.name} (${hex(id)}) is missing from the migration stream: the source's KVM does not list it; the destination keeps its own value`, idRange, {
            severity: 'information',
            register: info.name,
          }),
        );
      }
    }
    m = /write (0x[0-9a-fA-F]+)\((0x[0-9a-fA-F]+)\) to kvm failed/.exec(raw);
    if (m) {
      known = true;
      const id = BigInt(m[1]!);
      const value = BigInt(m[2]!);
      const info = decodeOneRegId(id);
      const idAt = m.index + 6;
      const valueAt = idAt + m[1]!.length + 1;
      const whole = r(m.index, m.index + m[0].length);
      findings.push(makeFinding('IDR030', `KVM refused QEMU's write of ${hex(value)} to ${info.name} (one-reg ${hex(id)})`, whole, { register: info.name }));
      const ref: RegRef = { text: m[1]!, range: r(idAt, idAt + m[1]!.length), name: info.name, ...(info.enc ? { enc: info.enc } : {}) };
      proposed.push({ reg: ref, oneRegId: id, value, valueRange: r(valueAt, valueAt + m[2]!.length), range: whole, recorded: 'failed', what: 'QEMU write' });
    }
    m = /Invalid value (\d+) expecting positive value <= (\d+)/.exec(raw);
    if (m) {
      known = true;
      lastCount = { sent: m[1]!, max: m[2]! };
    }
    if (/Failed to load cpu:cpreg_vmstate_array_len/.test(raw)) {
      known = true;
      const at = raw.indexOf('Failed');
      findings.push(
        makeFinding(
          'IDR031',
          `migration refused: the source's register list is longer${lastCount ? ` (${lastCount.sent} registers, the destination takes at most ${lastCount.max})` : ''} than the destination's; this QEMU does not name the registers (QEMU 11 prints 'Unexpected register in input stream' for each)`,
          r(at, raw.length),
        ),
      );
    }
    for (const p of raw.matchAll(SYSREG_PROP)) {
      known = true;
      const at = p.index;
      const nameEnd = at + 7 + p[1]!.length;
      const w = sysregProperty(p[1]!, r(at, nameEnd), p[2]!, r(nameEnd + 1, nameEnd + 1 + p[2]!.length), findings);
      if (w) proposed.push(w);
    }
    for (const l of raw.matchAll(ID_LIST)) {
      known = true;
      checkIdList(l[2]!, l.index + l[1]!.length + 1, line, findings);
    }
    if (known || /-cpu\s|qemu-system|\bkvm\b/.test(raw)) understood++;
    else skipped++; // prose around a pasted log, ignored on purpose
  }
  return { format: 'qemu-log', events: [], findings, stats: { lines, understood, skipped }, proposed };
}

const TRACE_LINE = /^(\d+@\d+\.\d+:)?([a-z_][a-z0-9_]*)\s(.*)$/;

/** Parses QEMU `-trace` output. Never throws. */
export function parseQemuTrace(text: string, _path?: string): FormatParseResult {
  const findings: Finding[] = [];
  const proposed: ProposedWrite[] = [];
  const counts = newCounts();
  for (const { raw, at: r } of contentLines(text, counts)) {
    const t = TRACE_LINE.exec(raw);
    // QEMU's trace events are snake_case names; a plain word starting a sentence is not one.
    if (!t || (t[1] === undefined && !t[2]!.includes('_'))) {
      findings.push(makeFinding('IDR001', 'expected a QEMU trace line `[pid@secs:]<event> <text>`', r(0, raw.length)));
      counts.skipped++;
      continue;
    }
    counts.understood++;
    const event = t[2]!;
    const argsAt = raw.length - t[3]!.length;
    const args = t[3]!;
    if (event === 'cpu_post_load_unexpected' || event === 'cpu_post_load_missing') {
      const m = /index=(0x[0-9a-fA-F]+)/.exec(args);
      if (!m) {
        findings.push(makeFinding('IDR001', `${event}: expected \`index=0x…\` naming the register`, r(argsAt, raw.length)));
        continue;
      }
      const id = BigInt(m[1]!);
      const info = decodeOneRegId(id);
      const at = argsAt + m.index + 6;
      const range = r(at, at + m[1]!.length);
      if (event === 'cpu_post_load_unexpected') {
        findings.push(makeFinding('IDR031', `migration refused: the source sent ${info.name} (${hex(id)}), which the destination's KVM does not list`, range, { register: info.name }));
      } else {
        findings.push(makeFinding('IDR031', `${info.name} (${hex(id)}) is missing from the migration stream; the destination keeps its own value`, range, { severity: 'information', register: info.name }));
      }
      continue;
    }
    if (event === 'kvm_arm_writable_idregs_to_cpreg_list') {
      const m = /^(\S+) overwrite default (0x[0-9a-fA-F]+) with (0x[0-9a-fA-F]+)/.exec(args);
      if (!m) {
        findings.push(makeFinding('IDR001', `${event}: expected \`<REGISTER> overwrite default 0x… with 0x…\``, r(argsAt, raw.length)));
        continue;
      }
      const res = resolveRegister(m[1]!);
      const nameRange = r(argsAt, argsAt + m[1]!.length);
      if (!res) {
        findings.push(makeFinding('IDR002', `${m[1]} is not a register name`, nameRange));
        continue;
      }
      const limit = BigInt(m[2]!);
      const value = BigInt(m[3]!);
      const valueAt = argsAt + m[0].length - m[3]!.length;
      const valueRange = r(valueAt, valueAt + m[3]!.length);
      const ref: RegRef = { text: m[1]!, range: nameRange, enc: res.enc, ...(res.name ? { name: res.name } : {}) };
      proposed.push({ reg: ref, value, valueRange, range: r(0, raw.length), what: 'QEMU ID-register write' });
      // The default is KVM's value for a fresh vCPU: the limit this write is checked against.
      const verdict = judgeUserWrite({ enc: res.enc, value, limit });
      if (verdict.errno !== '0' && verdict.errno !== 'unknown') {
        const p = verdict.problems[0];
        findings.push(
          makeFinding('IDR030', `${res.name ?? m[1]} = ${hex(value)} is not a safe subset of the default ${hex(limit)}${p ? `: ${p.field ? p.field + ': ' : ''}${p.rule}` : ''}`, valueRange, {
            errno: verdict.errno,
            register: res.name ?? m[1]!,
            ...(p?.field ? { field: p.field } : {}),
          }),
        );
      }
      continue;
    }
    if (event === 'set_sysreg_prop' || event === 'get_sysreg_prop') {
      for (const p of args.matchAll(/SYSREG_([A-Za-z0-9_]+)/g)) {
        const split = splitSysregProperty(p[1]!);
        if (typeof split === 'string') findings.push(makeFinding('IDR002', split, r(argsAt + p.index, argsAt + p.index + p[0].length)));
      }
    }
  }
  return { format: 'qemu-trace', events: [], findings, stats: { ...counts }, proposed };
}

/** Parses a QMP exchange (possibly an excerpt): every `"SYSREG_<REG>_<FIELD>": value` prop is read. */
export function parseQemuQmp(text: string, _path?: string): FormatParseResult {
  const idx = new LineIndex(text);
  const findings: Finding[] = [];
  const proposed: ProposedWrite[] = [];
  const re = /"SYSREG_([A-Za-z0-9_]+)"\s*:\s*("?)([^,}\s"]*)\2/g;
  for (const m of text.matchAll(re)) {
    const at = m.index + 1;
    const propRange = idx.range(at, at + 7 + m[1]!.length);
    const valueAt = m.index + m[0].length - m[3]!.length - m[2]!.length;
    const w = sysregProperty(m[1]!, propRange, m[3]!, idx.range(valueAt, valueAt + m[3]!.length), findings);
    if (w) proposed.push(w);
  }
  // QMP excerpts in reports are often cut short by their authors; the props that are there are read.
  const lines = idx.lineCount;
  return { format: 'qemu-qmp', events: [], findings, stats: { lines, understood: lines, skipped: 0 }, proposed };
}

export function sniffQemuQmp(text: string, _path?: string): number {
  const head = text.length > 65536 ? text.slice(0, 65536) : text;
  if (/query-cpu-model-expansion/.test(head)) return 0.92;
  if (/"SYSREG_[A-Za-z0-9_]+"\s*:/.test(head) || (/"return"\s*:/.test(head) && /"props"\s*:/.test(head))) return 0.9;
  return 0;
}

const TRACE_EVENTS = /^(\d+@\d+\.\d+:)?(cpu_post_load(_len|_missing|_unexpected)?|get_host_cpu_idregs|kvm_arm_writable_idregs_to_cpreg_list|decode_idreg_writemap|get_sysreg_prop|set_sysreg_prop)\s/m;

export function sniffQemuTrace(text: string, _path?: string): number {
  const head = text.length > 65536 ? text.slice(0, 65536) : text;
  return TRACE_EVENTS.test(head) ? 0.9 : 0;
}

const QEMU_AARCH64 = 'qemu-system-aarch64';

/**
 * Whether a line runs qemu-system-aarch64 with a `-cpu` option (`qemu-system-aarch64\s.*-cpu\s`). Tested
 * from the first mention on each line only: the regex, unanchored, rescanned the line from every mention.
 */
function hasCpuOption(head: string): boolean {
  let lineEnd = -1;
  for (let i = head.indexOf(QEMU_AARCH64); i >= 0; i = head.indexOf(QEMU_AARCH64, Math.max(i + 1, lineEnd))) {
    if (i < lineEnd || !/\s/.test(head.charAt(i + QEMU_AARCH64.length))) continue;
    const from = i + QEMU_AARCH64.length + 1;
    const nl = head.indexOf('\n', from);
    lineEnd = nl < 0 ? head.length : nl;
    if (/-cpu\s/.test(head.slice(from, Math.min(head.length, lineEnd + 1)))) return true;
  }
  return false;
}

export function sniffQemuLog(text: string, path?: string): number {
  const head = text.length > 65536 ? text.slice(0, 65536) : text;
  if (/register in input stream:|to kvm failed|cpreg_vmstate_array_len/.test(head)) return 0.9;
  if (/^(\d{4}-\d\d-\d\dT[\d:.]+Z?\s+)?(qemu-system-\w+|qemu-kvm):\s/m.test(head)) return 0.85;
  if (/(?<![A-Za-z0-9_])SYSREG_[A-Za-z0-9_]+=|kvm-(hidden|enforced)-regs=/.test(head)) return 0.8;
  if (hasCpuOption(head)) return 0.6;
  if (path !== undefined && /qemu.*\.log$/i.test(path)) return 0.4;
  return 0;
}

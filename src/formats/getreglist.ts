// Output of the KVM selftest get-reg-list (formats.md §4; tools/testing/selftests/kvm/arm64/get-reg-list.c):
// per vCPU configuration a summary, then register lines in the selftest's own C syntax, one per line:
//
//   vregs: Number blessed registers:   234
//   vregs: There are 1 new registers.
//   Consider adding them to the blessed reg list with the following lines:
//
//   	KVM_REG_ARM_FW_REG(3),
//   	ARM64_SYS_REG(3, 0, 0, 4, 0),	/* ID_AA64PFR0_EL1 */
//   	KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(regs.regs[0]),
//
// Every register expression is evaluated to its one-reg id and decoded (IDR002 when KVM would not accept
// the id, IDR003 when a `/* NAME */` comment names another register). Registers listed as missing are what
// a migration from a host that has them would trip over.
import { makeFinding, type Finding, type Range } from '../findings.ts';
import { decodeOneRegId, resolveRegister, tupleForm } from '../encoding/forms.ts';
import { encodingKey } from '../model/events.ts';
import { LineIndex } from './json-scan.ts';
import type { FormatParseResult } from './detect.ts';

const KVM_REG_ARM64 = 0x6000000000000000n;
// The tables are looked up with words of the input: Maps, so `toString` or `__proto__` is just unknown
// (a plain object would answer with Object.prototype's members).
const SIZE: ReadonlyMap<string, bigint> = new Map([
  ['KVM_REG_SIZE_U8', 0n], ['KVM_REG_SIZE_U16', 1n], ['KVM_REG_SIZE_U32', 2n], ['KVM_REG_SIZE_U64', 3n], ['KVM_REG_SIZE_U128', 4n],
  ['KVM_REG_SIZE_U256', 5n], ['KVM_REG_SIZE_U512', 6n], ['KVM_REG_SIZE_U1024', 7n], ['KVM_REG_SIZE_U2048', 8n],
]);
const GROUP_SYSREG = 0x13n << 16n;
const GROUP_FW = 0x14n << 16n;
const GROUP_SVE = 0x15n << 16n;
const GROUP_FW_FEAT_BMAP = 0x16n << 16n;
const GROUP: ReadonlyMap<string, bigint> = new Map([
  ['KVM_REG_ARM_CORE', 0x10n << 16n],
  ['KVM_REG_ARM_DEMUX', 0x11n << 16n],
  ['KVM_REG_ARM64_SYSREG', GROUP_SYSREG],
  ['KVM_REG_ARM_FW', GROUP_FW],
  ['KVM_REG_ARM64_SVE', GROUP_SVE],
  ['KVM_REG_ARM_FW_FEAT_BMAP', GROUP_FW_FEAT_BMAP],
  ['KVM_REG_ARM_DEMUX_ID_CCSIDR', 0n],
]);

function sysreg(op0: number, op1: number, crn: number, crm: number, op2: number): bigint {
  return KVM_REG_ARM64 | (3n << 52n) | GROUP_SYSREG | BigInt(encodingKey({ op0, op1, crn, crm, op2 }));
}

/** uapi constants for the timers (CVAL and CNT are swapped on purpose: an ABI accident, kvm-model.md §1.4). */
const NAMED: ReadonlyMap<string, bigint> = new Map([
  ['KVM_REG_ARM_TIMER_CTL', sysreg(3, 3, 14, 3, 1)],
  ['KVM_REG_ARM_TIMER_CNT', sysreg(3, 3, 14, 3, 2)],
  ['KVM_REG_ARM_TIMER_CVAL', sysreg(3, 3, 14, 0, 2)],
  ['KVM_REG_ARM_PTIMER_CTL', sysreg(3, 3, 14, 2, 1)],
  ['KVM_REG_ARM_PTIMER_CNT', sysreg(3, 3, 14, 0, 1)],
  ['KVM_REG_ARM_PTIMER_CVAL', sysreg(3, 3, 14, 2, 2)],
  ['KVM_REG_ARM64_SVE_VLS', KVM_REG_ARM64 | (6n << 52n) | GROUP_SVE | 0xffffn],
  ['KVM_REG_ARM64', KVM_REG_ARM64],
]);

/** struct kvm_regs members at fixed offsets (32-bit words). */
const CORE_FIXED: ReadonlyMap<string, number> = new Map([
  ['regs.sp', 62], ['regs.pc', 64], ['regs.pstate', 66], ['sp_el1', 68], ['elr_el1', 70], ['fp_regs.fpsr', 0xd4], ['fp_regs.fpcr', 0xd5],
]);

/** struct kvm_regs offsets in 32-bit words (arch/arm64/include/uapi/asm/kvm.h). */
function coreOffset(path: string): number | undefined {
  const p = path.replace(/\s+/g, '');
  let m = /^regs\.regs\[(\d+)\]$/.exec(p);
  if (m) return Number(m[1]) <= 30 ? Number(m[1]) * 2 : undefined;
  const fixed = CORE_FIXED.get(p);
  if (fixed !== undefined) return fixed;
  m = /^spsr\[(\d+)\]$/.exec(p);
  if (m) return Number(m[1]) < 5 ? 72 + Number(m[1]) * 2 : undefined;
  m = /^fp_regs\.vregs\[(\d+)\]$/.exec(p);
  if (m) return Number(m[1]) < 32 ? 0x54 + Number(m[1]) * 4 : undefined;
  return undefined;
}

function num(t: string): bigint | undefined {
  const s = t.trim();
  if (!/^(0x[0-9a-fA-F]+|\d+)[uUlL]*$/.test(s)) return undefined;
  return BigInt(s.replace(/[uUlL]+$/, ''));
}

function args(text: string, name: string): string[] | undefined {
  if (!text.startsWith(name)) return undefined;
  const rest = text.slice(name.length).trim();
  if (!rest.startsWith('(') || !rest.endsWith(')')) return undefined;
  return rest.slice(1, -1).split(',').map((a) => a.trim());
}

/**
 * The arguments of `NAME(a, b, …)` as numbers, each checked against its limit: an argument is kept
 * exactly or refused, never masked (KVM_REG_ARM_FW_REG(65536) is not FW_REG(0)). A message when the
 * arguments are not numbers in range.
 */
function numericArgs(name: string, a: string[], limits: readonly { what: string; max: bigint }[]): bigint[] | string {
  const usage = `${name} takes ${limits.map((l) => `${l.what} (0..${l.max})`).join(', ')}`;
  if (a.length !== limits.length) return `${usage}; got (${a.join(', ')})`;
  const out: bigint[] = [];
  for (let k = 0; k < a.length; k++) {
    const v = num(a[k]!);
    if (v === undefined || v > limits[k]!.max) return `${usage}; got (${a.join(', ')})`;
    out.push(v);
  }
  return out;
}

const SYS_REG_ARGS = [
  { what: 'op0', max: 3n }, { what: 'op1', max: 7n }, { what: 'CRn', max: 15n }, { what: 'CRm', max: 15n }, { what: 'op2', max: 7n },
] as const;
const FW_ARGS = [{ what: 'the register number', max: 0xffffn }] as const;
const ZREG_ARGS = [{ what: 'n', max: 31n }, { what: 'i', max: 31n }] as const;
const PREG_ARGS = [{ what: 'n', max: 15n }, { what: 'i', max: 31n }] as const;
const FFR_ARGS = [{ what: 'i', max: 31n }] as const;

/** One term of a register expression; a message when it is not understood. */
function term(t: string): bigint | string {
  const v = num(t);
  if (v !== undefined) return v;
  const size = SIZE.get(t);
  if (size !== undefined) return size << 52n;
  const group = GROUP.get(t);
  if (group !== undefined) return group;
  const named = NAMED.get(t);
  if (named !== undefined) return named;
  let a = args(t, 'ARM64_SYS_REG');
  if (a) {
    const n = numericArgs('ARM64_SYS_REG', a, SYS_REG_ARGS);
    if (typeof n === 'string') return n;
    return sysreg(Number(n[0]), Number(n[1]), Number(n[2]), Number(n[3]), Number(n[4]));
  }
  a = args(t, 'KVM_ARM64_SYS_REG');
  if (a && a.length === 1) {
    const res = resolveRegister(a[0]!);
    if (!res) return `unknown register ${a[0]}`;
    const e = res.enc;
    return sysreg(e.op0, e.op1, e.crn, e.crm, e.op2);
  }
  a = args(t, 'KVM_REG_ARM_CORE_REG');
  if (a && a.length === 1) {
    const off = coreOffset(a[0]!);
    return off === undefined ? `${a[0]} is not a member of struct kvm_regs` : BigInt(off);
  }
  a = args(t, 'KVM_REG_ARM_FW_REG');
  if (a) {
    const n = numericArgs('KVM_REG_ARM_FW_REG', a, FW_ARGS);
    return typeof n === 'string' ? n : KVM_REG_ARM64 | (3n << 52n) | GROUP_FW | n[0]!;
  }
  a = args(t, 'KVM_REG_ARM_FW_FEAT_BMAP_REG');
  if (a) {
    const n = numericArgs('KVM_REG_ARM_FW_FEAT_BMAP_REG', a, FW_ARGS);
    return typeof n === 'string' ? n : KVM_REG_ARM64 | (3n << 52n) | GROUP_FW_FEAT_BMAP | n[0]!;
  }
  const sve = KVM_REG_ARM64 | GROUP_SVE;
  a = args(t, 'KVM_REG_ARM64_SVE_ZREG');
  if (a) {
    const n = numericArgs('KVM_REG_ARM64_SVE_ZREG', a, ZREG_ARGS);
    return typeof n === 'string' ? n : sve | (8n << 52n) | (n[0]! << 5n) | n[1]!;
  }
  a = args(t, 'KVM_REG_ARM64_SVE_PREG');
  if (a) {
    const n = numericArgs('KVM_REG_ARM64_SVE_PREG', a, PREG_ARGS);
    return typeof n === 'string' ? n : sve | (5n << 52n) | 0x400n | (n[0]! << 5n) | n[1]!;
  }
  a = args(t, 'KVM_REG_ARM64_SVE_FFR');
  if (a) {
    const n = numericArgs('KVM_REG_ARM64_SVE_FFR', a, FFR_ARGS);
    return typeof n === 'string' ? n : sve | (5n << 52n) | 0x600n | n[0]!;
  }
  return `'${t}' is not a register expression of get-reg-list`;
}

/** Splits `A | B(x | y) | C` at top-level bars. */
function splitBars(expr: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === '|' && depth === 0) {
      out.push(expr.slice(start, i).trim());
      start = i + 1;
    }
  }
  out.push(expr.slice(start).trim());
  return out;
}

export function evaluateRegisterExpression(expr: string): bigint | string {
  let id = 0n;
  for (const t of splitBars(expr)) {
    if (t === '') return 'empty term in the register expression';
    const v = term(t);
    if (typeof v === 'string') return v;
    id |= v;
  }
  return id;
}

const REGISTER_START = /^(ARM64_SYS_REG|KVM_ARM64_SYS_REG|KVM_REG_ARM|0x[0-9a-fA-F]+)/;
/** Summary and framing lines the selftest (and the kselftest harness) prints. */
const CONTEXT_RE =
  /^(\S+: )?(Number blessed registers:|Number registers:|There are \d+ (new|missing) registers|PASS|SKIP|Failed to (get|set|reject)\b)|^Consider adding them|^The following lines are missing registers|^TAP version|^1\.\.\d+|^(not )?ok \d+|^# |^=+ Test Assertion Failure =+|^\s*get-reg-list\.c:\d+|^\s*pid=\d+|^\s*\d+\s+0x[0-9a-f]+:|^Random seed:|^usage: get-reg-list|^\s*--/;

/** Parses get-reg-list output (or a pasted blessed list). Never throws. */
export function parseGetRegList(text: string, _path?: string): FormatParseResult {
  const idx = new LineIndex(text);
  const findings: Finding[] = [];
  let understood = 0;
  let skipped = 0;
  /** 'new' | 'missing' | undefined: which list the register lines below a summary belong to. */
  let section: 'new' | 'missing' | undefined;
  let config = '';
  const lines = idx.lineCount;
  for (let line = 0; line < lines; line++) {
    const ls = idx.lineStart(line);
    const raw = text.slice(ls, idx.lineEnd(line));
    const range = (a: number, b: number): Range => ({ start: { line, character: a }, end: { line, character: b } });
    const trimmed = raw.trim();
    if (trimmed === '') {
      understood++;
      continue;
    }
    const sum = /^(\S+): There are \d+ (new|missing) registers/.exec(trimmed);
    if (sum) {
      config = sum[1]!;
      section = sum[2] as 'new' | 'missing';
    } else if (/^\S+: (Number|PASS)/.test(trimmed)) section = undefined;
    // `vregs: Failed to get <register>` prints the register after the prefix on the same line.
    let body = trimmed;
    let bodyAt = raw.indexOf(trimmed);
    let failed: string | undefined;
    const f = /^(\S+): Failed to (get|set|reject)(?: \(ret=-?\d+, errno=\d+\))? /.exec(trimmed);
    if (f) {
      failed = f[2];
      body = trimmed.slice(f[0].length).trim();
      bodyAt = raw.indexOf(body, bodyAt + f[0].length - 1);
    }
    if (!REGISTER_START.test(body)) {
      if (CONTEXT_RE.test(trimmed) || f) understood++;
      else skipped++; // prose around the output (a pasted mail or CI log), ignored on purpose
      continue;
    }
    // `EXPR,` with an optional `/* NAME */` comment.
    let expr = body;
    let comment: string | undefined;
    let commentAt = -1;
    const c = body.indexOf('/*');
    if (c >= 0) {
      const close = body.indexOf('*/', c);
      comment = body.slice(c + 2, close < 0 ? undefined : close).trim();
      commentAt = bodyAt + c + 2 + (body.slice(c + 2).length - body.slice(c + 2).trimStart().length);
      expr = body.slice(0, c).trim();
    }
    if (expr.endsWith(',')) expr = expr.slice(0, -1).trim();
    const exprRange = range(bodyAt, bodyAt + expr.length);
    const id = evaluateRegisterExpression(expr);
    if (typeof id === 'string') {
      findings.push(makeFinding('IDR001', `${id}; expected a register line such as \`ARM64_SYS_REG(3, 0, 0, 4, 0),\` or \`KVM_REG_ARM_FW_REG(0),\``, exprRange));
      skipped++;
      continue;
    }
    understood++;
    const info = decodeOneRegId(id);
    const hexId = '0x' + id.toString(16).padStart(16, '0');
    if (!info.valid) findings.push(makeFinding('IDR002', `${hexId} (${info.name}) is not a register KVM would list: ${info.problem ?? 'unknown'}`, exprRange));
    if (comment && comment.length > 0) {
      const cr = range(commentAt, commentAt + comment.length);
      const res = resolveRegister(comment);
      if (info.enc && res && encodingKey(res.enc) !== encodingKey(info.enc)) {
        findings.push(
          makeFinding('IDR003', `the comment names ${comment} ${tupleForm(res.enc)}, but the register is ${info.name} ${tupleForm(info.enc)}`, cr, {
            related: [{ range: exprRange, message: 'the register expression' }],
            register: info.name,
          }),
        );
      } else if (!info.enc && !res && comment.toUpperCase() !== info.name.toUpperCase() && /^KVM_REG_/.test(comment)) {
        findings.push(makeFinding('IDR003', `the comment names ${comment}, but the id is ${info.name}`, cr, { related: [{ range: exprRange, message: 'the register expression' }] }));
      }
    }
    if (failed) {
      findings.push(makeFinding('IDR015', `${config || 'get-reg-list'}: KVM failed to ${failed} ${info.name} (${hexId})`, exprRange, { severity: 'warning', register: info.name }));
    } else if (section === 'missing') {
      findings.push(
        makeFinding('IDR031', `${info.name} (${hexId}) is missing on this host: a VM from a host that has it cannot be restored here`, exprRange, {
          severity: 'warning',
          register: info.name,
        }),
      );
    }
  }
  return { format: 'get-reg-list', events: [], findings, stats: { lines, understood, skipped } };
}

export function sniffGetRegList(text: string, path?: string): number {
  const head = text.length > 65536 ? text.slice(0, 65536) : text;
  if (/^[ \t]*(ARM64_SYS_REG\(\s*\d|KVM_REG_ARM64 \| KVM_REG_SIZE_|KVM_REG_ARM_FW_REG\(|KVM_REG_ARM_FW_FEAT_BMAP_REG\()/m.test(head)) return 0.9;
  if (/Number blessed registers:|There are \d+ (new|missing) registers/.test(head)) return 0.85;
  if (path !== undefined && /get-reg-list/i.test(path)) return 0.4;
  return 0;
}

// Every textual and numeric form of a system-register encoding (kvm-model.md §1), parsed and printed.
// Each converter is a pure function of the five-tuple, so every form converts to every other.
import { registerByKey, registerByName } from '../data/registers.ts';
import { encodingKey, type Encoding } from '../model/events.ts';

export function genericName(e: Encoding): string {
  return `S${e.op0}_${e.op1}_C${e.crn}_C${e.crm}_${e.op2}`;
}

export function tupleForm(e: Encoding): string {
  return `(${e.op0},${e.op1},${e.crn},${e.crm},${e.op2})`;
}

export function opFieldsForm(e: Encoding): string {
  return `op0:${e.op0} op1:${e.op1} crn:${e.crn} crm:${e.crm} op2:${e.op2}`;
}

export function macroForm(e: Encoding): string {
  return `ARM64_SYS_REG(${e.op0}, ${e.op1}, ${e.crn}, ${e.crm}, ${e.op2})`;
}

/** Architectural name when the encoding is allocated, else the generic S3_… name. */
export function registerName(e: Encoding): string {
  return registerByKey(encodingKey(e))?.name ?? genericName(e);
}

export function isAllocated(e: Encoding): boolean {
  return registerByKey(encodingKey(e)) !== undefined;
}

export function isValidEncoding(e: Encoding): boolean {
  return (
    Number.isInteger(e.op0) && e.op0 >= 0 && e.op0 <= 3 &&
    Number.isInteger(e.op1) && e.op1 >= 0 && e.op1 <= 7 &&
    Number.isInteger(e.crn) && e.crn >= 0 && e.crn <= 15 &&
    Number.isInteger(e.crm) && e.crm >= 0 && e.crm <= 15 &&
    Number.isInteger(e.op2) && e.op2 >= 0 && e.op2 <= 7
  );
}

/** The ID space KVM sanitises: op0=3, op1 ∈ {0,1,3}, CRn=0 (kvm-model.md §2, §4.9). */
export function isIdSpace(e: Encoding): boolean {
  return e.op0 === 3 && (e.op1 === 0 || e.op1 === 1 || e.op1 === 3) && e.crn === 0;
}

// ---------------------------------------------------------------------------------------------
// Linux sys_reg() encoding (kvm-model.md §1.3): the MRS/MSR instruction bits [20:5].

export function linuxEncodingOf(e: Encoding): number {
  return (e.op0 << 19) | (e.op1 << 16) | (e.crn << 12) | (e.crm << 8) | (e.op2 << 5);
}

export function decodeLinuxEncoding(enc: number): Encoding | undefined {
  if (!Number.isInteger(enc) || enc < 0 || enc > 0x1fffff || (enc & 0x1f) !== 0) return undefined;
  return { op0: (enc >> 19) & 3, op1: (enc >> 16) & 7, crn: (enc >> 12) & 15, crm: (enc >> 8) & 15, op2: (enc >> 5) & 7 };
}

// ---------------------------------------------------------------------------------------------
// ESR_ELx for EC 0x18 (kvm-model.md §1.5).

export const EC_SYS64 = 0x18;

export interface EsrInfo {
  ec: number;
  il: boolean;
  /** Present when EC is 0x18 (trapped MSR/MRS/system instruction). */
  enc?: Encoding;
  /** Direction bit: true = read (MRS). */
  read: boolean;
  rt: number;
  /** RES0 bits 24:22 of the ISS that are set (should be 0). */
  res0: number;
}

export function esrOf(e: Encoding, opts: { read: boolean; rt?: number }): number {
  const rt = opts.rt ?? 0;
  const iss = (e.op0 << 20) | (e.op2 << 17) | (e.op1 << 14) | (e.crn << 10) | (rt << 5) | (e.crm << 1) | (opts.read ? 1 : 0);
  return ((EC_SYS64 << 26) | (1 << 25) | iss) >>> 0;
}

export function decodeEsr(esr: number): EsrInfo | undefined {
  if (!Number.isInteger(esr) || esr < 0 || esr > 0xffffffff) return undefined;
  const ec = (esr >>> 26) & 0x3f;
  const il = ((esr >>> 25) & 1) === 1;
  if (ec !== EC_SYS64) return { ec, il, read: false, rt: 0, res0: 0 };
  const enc: Encoding = {
    op0: (esr >>> 20) & 3,
    op2: (esr >>> 17) & 7,
    op1: (esr >>> 14) & 7,
    crn: (esr >>> 10) & 15,
    crm: (esr >>> 1) & 15,
  };
  return { ec, il, enc, read: (esr & 1) === 1, rt: (esr >>> 5) & 31, res0: (esr >>> 22) & 7 };
}

// ---------------------------------------------------------------------------------------------
// MRS/MSR instruction words (kvm-model.md §1.6).

export function mrsWord(e: Encoding, rt = 0): number {
  return (0xd5000000 | (1 << 21) | (e.op0 << 19) | (e.op1 << 16) | (e.crn << 12) | (e.crm << 8) | (e.op2 << 5) | rt) >>> 0;
}

export function msrWord(e: Encoding, rt = 0): number {
  return (0xd5000000 | (e.op0 << 19) | (e.op1 << 16) | (e.crn << 12) | (e.crm << 8) | (e.op2 << 5) | rt) >>> 0;
}

export interface InsnInfo {
  enc: Encoding;
  read: boolean;
  rt: number;
}

/**
 * System-register moves are 1101 0101 00 L op0 …: MRS/MSR for op0 ∈ {2,3}, SYSL/SYS for op0 = 1.
 * op0 = 0 is MSR (immediate), hints and barriers, which name no register.
 */
export function decodeInsn(word: number): InsnInfo | undefined {
  if (!Number.isInteger(word) || word < 0 || word > 0xffffffff) return undefined;
  if ((word & 0xffc00000) >>> 0 !== 0xd5000000 || ((word >>> 19) & 3) === 0) return undefined;
  return {
    read: ((word >>> 21) & 1) === 1,
    enc: { op0: (word >>> 19) & 3, op1: (word >>> 16) & 7, crn: (word >>> 12) & 15, crm: (word >>> 8) & 15, op2: (word >>> 5) & 7 },
    rt: word & 31,
  };
}

// ---------------------------------------------------------------------------------------------
// KVM one-reg IDs (kvm-model.md §1.4, formats.md §0.2).

export const KVM_REG_ARM64 = 0x6000000000000000n;
const KVM_REG_SIZE_SHIFT = 52n;
const COPROC_SHIFT = 16n;

export const ONE_REG_GROUPS = {
  core: 0x0010,
  demux: 0x0011,
  sysreg: 0x0013,
  fw: 0x0014,
  sve: 0x0015,
  'fw-feat': 0x0016,
} as const;
export type OneRegGroup = keyof typeof ONE_REG_GROUPS | 'unknown';

export interface OneRegInfo {
  id: bigint;
  group: OneRegGroup;
  /** Register width from the size field (8 << code). */
  sizeBits: number;
  /** For the sysreg group. */
  enc?: Encoding;
  /** A readable name: ID_AA64PFR0_EL1, regs.pc, CCSIDR[2], KVM_REG_ARM_PSCI_VERSION, Z3 … */
  name: string;
  /** Whether KVM's decode would accept the bit pattern (kvm-model.md §0.1 item 3). */
  valid: boolean;
  problem?: string;
}

export function oneRegIdOf(e: Encoding): bigint {
  return 0x6030000000130000n | BigInt(encodingKey(e));
}

/** struct kvm_regs laid out in 32-bit words (index = byte offset / 4), per arch/arm64/include/uapi/asm/kvm.h. */
function coreRegisterName(index: number): string | undefined {
  if (index < 62 && index % 2 === 0) return `regs.regs[${index / 2}]`;
  const fixed: Record<number, string> = {
    62: 'regs.sp',
    64: 'regs.pc',
    66: 'regs.pstate',
    68: 'sp_el1',
    70: 'elr_el1',
    72: 'spsr[EL1]',
    74: 'spsr[ABT]',
    76: 'spsr[UND]',
    78: 'spsr[IRQ]',
    80: 'spsr[FIQ]',
    0xd4: 'fp_regs.fpsr',
    0xd5: 'fp_regs.fpcr',
  };
  if (fixed[index] !== undefined) return fixed[index];
  if (index >= 0x54 && index < 0x54 + 32 * 4 && (index - 0x54) % 4 === 0) return `fp_regs.vregs[${(index - 0x54) / 4}]`;
  return undefined;
}

const FW_REGS = ['KVM_REG_ARM_PSCI_VERSION', 'KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1', 'KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2', 'KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3'];
const FW_FEAT_REGS = ['KVM_REG_ARM_STD_BMAP', 'KVM_REG_ARM_STD_HYP_BMAP', 'KVM_REG_ARM_VENDOR_HYP_BMAP', 'KVM_REG_ARM_VENDOR_HYP_BMAP_2'];

export function decodeOneRegId(id: bigint): OneRegInfo {
  const arch = (id >> 56n) & 0xffn;
  const sizeCode = Number((id >> KVM_REG_SIZE_SHIFT) & 0xfn);
  const sizeBits = 8 << sizeCode;
  const coproc = Number((id >> COPROC_SHIFT) & 0xfffn);
  const low = Number(id & 0xffffn);
  const stray = Number((id >> 28n) & 0xfn) !== 0 || ((id >> 32n) & 0xfffffn) !== 0n;
  const base = { id, sizeBits };
  if (id < 0n || id > 0xffffffffffffffffn) return { ...base, group: 'unknown', name: 'invalid', valid: false, problem: 'not a 64-bit value' };
  if (arch !== 0x60n) {
    return { ...base, group: 'unknown', name: `0x${id.toString(16)}`, valid: false, problem: `architecture byte is 0x${arch.toString(16)}, not 0x60 (KVM_REG_ARM64)` };
  }
  const strayProblem = stray ? 'stray bits set outside arch, size, group and index' : undefined;
  switch (coproc) {
    case ONE_REG_GROUPS.sysreg: {
      const enc = { op0: (low >> 14) & 3, op1: (low >> 11) & 7, crn: (low >> 7) & 15, crm: (low >> 3) & 15, op2: low & 7 };
      let name = registerName(enc);
      if (low === 0xdf1a) name = 'KVM_REG_ARM_TIMER_CNT';
      else if (low === 0xdf02) name = 'KVM_REG_ARM_TIMER_CVAL';
      const problem = strayProblem ?? (sizeBits !== 64 ? `system registers are accessed as 64-bit values; size field says ${sizeBits}` : undefined);
      return { ...base, group: 'sysreg', enc, name, valid: problem === undefined, ...(problem ? { problem } : {}) };
    }
    case ONE_REG_GROUPS.core: {
      const name = coreRegisterName(low);
      const problem = strayProblem ?? (name === undefined ? `offset ${low} is not a register of struct kvm_regs` : undefined);
      return { ...base, group: 'core', name: name ?? `core[${low}]`, valid: problem === undefined, ...(problem ? { problem } : {}) };
    }
    case ONE_REG_GROUPS.demux: {
      const demuxId = (low >> 8) & 0xff;
      const index = low & 0xff;
      const problem = strayProblem ?? (demuxId !== 0 ? `unknown demux id ${demuxId}` : index > 13 ? `CSSELR index ${index} is above 13` : undefined);
      return { ...base, group: 'demux', name: demuxId === 0 ? `CCSIDR[${index}]` : `demux ${demuxId}[${index}]`, valid: problem === undefined, ...(problem ? { problem } : {}) };
    }
    case ONE_REG_GROUPS.fw: {
      const name = FW_REGS[low] ?? `KVM_REG_ARM_FW_REG(${low})`;
      return { ...base, group: 'fw', name, valid: strayProblem === undefined, ...(strayProblem ? { problem: strayProblem } : {}) };
    }
    case ONE_REG_GROUPS['fw-feat']: {
      const name = FW_FEAT_REGS[low] ?? `KVM_REG_ARM_FW_FEAT_BMAP_REG(${low})`;
      return { ...base, group: 'fw-feat', name, valid: strayProblem === undefined, ...(strayProblem ? { problem: strayProblem } : {}) };
    }
    case ONE_REG_GROUPS.sve: {
      let name: string;
      if (low === 0xffff) name = 'KVM_REG_ARM64_SVE_VLS';
      else if (low < 0x400) name = `Z${(low >> 5) & 31}${low & 31 ? `[slice ${low & 31}]` : ''}`;
      else if (low < 0x600) name = `P${(low >> 5) & 15}${low & 31 ? `[slice ${low & 31}]` : ''}`;
      else if (low < 0x620) name = `FFR${low & 31 ? `[slice ${low & 31}]` : ''}`;
      else name = `SVE[0x${low.toString(16)}]`;
      return { ...base, group: 'sve', name, valid: strayProblem === undefined, ...(strayProblem ? { problem: strayProblem } : {}) };
    }
    default:
      return { ...base, group: 'unknown', name: `group 0x${coproc.toString(16)}[0x${low.toString(16)}]`, valid: false, problem: `unknown register group 0x${coproc.toString(16)}` };
  }
}

// ---------------------------------------------------------------------------------------------
// Names.

export interface RegisterResolution {
  enc: Encoding;
  /** Architectural name, when the encoding is allocated. */
  name?: string;
  /** The encoding has no architectural register (KVM names such slots S3_0_0_<crm>_<op2>). */
  unallocated: boolean;
}

const GENERIC_RE = /^S([0-3])_([0-7])_C(\d{1,2})_C(\d{1,2})_([0-7])$/;
/** KVM's descriptor names for unallocated ID slots carry no C letters: "S3_0_0_4_3" (kvm-model.md §1.2). */
const KVM_UNALLOCATED_RE = /^S([0-3])_([0-7])_(\d{1,2})_(\d{1,2})_([0-7])$/;

function fromParts(parts: string[]): Encoding | undefined {
  const [op0, op1, crn, crm, op2] = parts.map(Number) as [number, number, number, number, number];
  const enc = { op0, op1, crn, crm, op2 };
  return isValidEncoding(enc) ? enc : undefined;
}

function resolution(enc: Encoding): RegisterResolution {
  const reg = registerByKey(encodingKey(enc));
  return reg ? { enc, name: reg.name, unallocated: false } : { enc, unallocated: true };
}

/**
 * A register written as a name: architectural (any case), with the kernel's SYS_ prefix, without the
 * _EL1 suffix as in bootloader dumps, the generic S3_0_C0_C4_0 form, or KVM's S3_0_0_4_3.
 */
export function resolveRegister(text: string): RegisterResolution | undefined {
  let upper = text.trim().toUpperCase();
  if (upper.length === 0 || upper.length > 64) return undefined;
  let m = GENERIC_RE.exec(upper) ?? KVM_UNALLOCATED_RE.exec(upper);
  if (m) {
    const enc = fromParts(m.slice(1));
    return enc ? resolution(enc) : undefined;
  }
  if (upper.startsWith('SYS_')) upper = upper.slice(4);
  const direct = registerByName(upper);
  if (direct) return { enc: direct.enc, name: direct.name, unallocated: false };
  if (!/_EL[0-3]\d*$/.test(upper)) {
    for (const suffix of ['_EL1', '_EL0']) {
      const reg = registerByName(upper + suffix);
      if (reg) return { enc: reg.enc, name: reg.name, unallocated: false };
    }
  }
  m = GENERIC_RE.exec(upper) ?? KVM_UNALLOCATED_RE.exec(upper);
  if (m) {
    const enc = fromParts(m.slice(1));
    return enc ? resolution(enc) : undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Any form, with shape detection for bare numbers.

export type TokenKind = 'name' | 'generic' | 'tuple' | 'opfields' | 'macro' | 'oneReg' | 'linuxEnc' | 'esr' | 'insn';

export interface TokenOk {
  ok: true;
  kind: TokenKind;
  /** The encoding, when the token names a system register (one-reg IDs of other groups have none). */
  enc?: Encoding;
  name?: string;
  unallocated: boolean;
  oneReg?: OneRegInfo;
  esr?: EsrInfo;
  insn?: InsnInfo;
  /** Not fatal: e.g. an ESR whose RES0 bits are set, a one-reg ID KVM would refuse. */
  warnings: string[];
}

export interface TokenError {
  ok: false;
  message: string;
}

export type TokenResult = TokenOk | TokenError;

const NUMBER_RE = /^(0x[0-9a-f_]+|0b[01_]+|\d[\d_]*)$/i;

/** Parses 0x…, 0b… and decimal, with `_` separators; undefined when malformed. */
export function parseNumber(text: string): bigint | undefined {
  const t = text.trim();
  if (!NUMBER_RE.test(t)) return undefined;
  const clean = t.replace(/_/g, '');
  if (clean === '0x' || clean === '0b' || clean.length === 0) return undefined;
  try {
    return BigInt(clean);
  } catch {
    return undefined;
  }
}

function okToken(kind: TokenKind, enc: Encoding | undefined, extra: Partial<TokenOk> = {}): TokenOk {
  const res = enc ? resolution(enc) : undefined;
  return {
    ok: true,
    kind,
    ...(enc ? { enc } : {}),
    ...(res?.name ? { name: res.name } : {}),
    unallocated: res ? res.unallocated : false,
    warnings: [],
    ...extra,
  };
}

function fromOneReg(id: bigint): TokenResult {
  const info = decodeOneRegId(id);
  if (info.group === 'unknown' && (id >> 56n) !== 0x60n) return { ok: false, message: info.problem ?? 'not a KVM one-reg ID' };
  const tok = okToken('oneReg', info.enc, { oneReg: info });
  if (!info.enc) tok.name = info.name;
  if (info.problem) tok.warnings.push(`KVM would refuse this ID: ${info.problem}`);
  return tok;
}

function fromEsr(value: bigint): TokenResult {
  if (value > 0xffffffffn) return { ok: false, message: 'an ESR for a trapped MSR/MRS fits in 32 bits' };
  const info = decodeEsr(Number(value));
  if (!info || !info.enc) {
    return { ok: false, message: `ESR 0x${value.toString(16)} has EC 0x${(info?.ec ?? 0).toString(16)}, not 0x18 (trapped MSR/MRS)` };
  }
  const tok = okToken('esr', info.enc, { esr: info });
  if (info.res0) tok.warnings.push('ESR ISS bits 24:22 are RES0 but set');
  if (!info.il) tok.warnings.push('IL is 0, but a trapped MSR/MRS is always a 32-bit instruction');
  return tok;
}

function fromInsn(value: bigint): TokenResult {
  if (value > 0xffffffffn) return { ok: false, message: 'an instruction word is 32 bits' };
  const info = decodeInsn(Number(value));
  if (!info) return { ok: false, message: `0x${value.toString(16)} is not an MRS/MSR (register) instruction word` };
  return okToken('insn', info.enc, { insn: info });
}

function fromLinux(value: bigint): TokenResult {
  const enc = value <= 0x1fffffn ? decodeLinuxEncoding(Number(value)) : undefined;
  if (!enc) return { ok: false, message: `0x${value.toString(16)} is not a Linux sys_reg() encoding (op0<<19 | … | op2<<5, low 5 bits zero)` };
  return okToken('linuxEnc', enc);
}

function fromNumber(value: bigint): TokenResult {
  if (value < 0n || value > 0xffffffffffffffffn) return { ok: false, message: 'number wider than 64 bits' };
  if (value >> 56n === 0x60n) return fromOneReg(value);
  if (value <= 0xffffffffn) {
    const v = Number(value);
    if (v >>> 24 === 0xd5) return fromInsn(value);
    if (((v >>> 26) & 0x3f) === EC_SYS64) return fromEsr(value);
    if (v <= 0x1fffff) return fromLinux(value);
  }
  return {
    ok: false,
    message: `cannot tell what 0x${value.toString(16)} is: expected a KVM one-reg ID (0x60…), an MRS/MSR word (0xd5…), an ESR with EC 0x18, or a Linux sys_reg encoding; prefix id:, insn:, esr: or enc: to force a reading`,
  };
}

const TUPLE_RE = /^\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)$/;
const MACRO_RE = /^ARM64_SYS_REG\s*\(\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*\)$/i;
const OPFIELDS_RE = /^op0\s*[:=]\s*(\d+)\s+op1\s*[:=]\s*(\d+)\s+crn\s*[:=]\s*(\d+)\s+crm\s*[:=]\s*(\d+)\s+op2\s*[:=]\s*(\d+)$/i;

/** Any encoding form of kvm-model.md §1; a bare number is read by its shape; id:/insn:/esr:/enc: force a reading. */
export function parseRegisterToken(input: string): TokenResult {
  const text = input.trim();
  if (text.length === 0) return { ok: false, message: 'empty register' };
  if (text.length > 200) return { ok: false, message: 'register token too long' };
  const prefix = /^(id|insn|esr|enc):\s*/i.exec(text);
  if (prefix) {
    const rest = text.slice(prefix[0].length);
    const value = parseNumber(rest);
    if (value === undefined) return { ok: false, message: `'${rest}' is not a number` };
    switch (prefix[1]!.toLowerCase()) {
      case 'id':
        return value > 0xffffffffffffffffn ? { ok: false, message: 'one-reg IDs are 64 bits' } : fromOneReg(value);
      case 'insn':
        return fromInsn(value);
      case 'esr':
        return fromEsr(value);
      default:
        return fromLinux(value);
    }
  }
  let m = TUPLE_RE.exec(text) ?? MACRO_RE.exec(text) ?? OPFIELDS_RE.exec(text);
  if (m) {
    const enc = fromParts(m.slice(1));
    if (!enc) return { ok: false, message: 'encoding out of range: op0 0..3, op1 0..7, CRn 0..15, CRm 0..15, op2 0..7' };
    const kind: TokenKind = text.startsWith('(') ? 'tuple' : /^ARM64/i.test(text) ? 'macro' : 'opfields';
    return okToken(kind, enc);
  }
  const number = parseNumber(text);
  if (number !== undefined) return fromNumber(number);
  m = GENERIC_RE.exec(text.toUpperCase()) ?? KVM_UNALLOCATED_RE.exec(text.toUpperCase());
  if (m) {
    const enc = fromParts(m.slice(1));
    if (!enc) return { ok: false, message: 'encoding out of range: op0 0..3, op1 0..7, CRn 0..15, CRm 0..15, op2 0..7' };
    return okToken('generic', enc);
  }
  const res = resolveRegister(text);
  if (res) return { ok: true, kind: 'name', enc: res.enc, ...(res.name ? { name: res.name } : {}), unallocated: res.unallocated, warnings: [] };
  return { ok: false, message: `unknown register '${text}'` };
}

function hex(value: number | bigint, digits: number): string {
  return '0x' + value.toString(16).padStart(digits, '0');
}

/** Every form of an encoding, as `decode --json` prints them under `forms`. */
export function allForms(e: Encoding): Record<string, string> {
  return {
    name: registerName(e),
    generic: genericName(e),
    tuple: tupleForm(e),
    opFields: opFieldsForm(e),
    macro: macroForm(e),
    oneReg: hex(oneRegIdOf(e), 16),
    sysRegEnc: hex(linuxEncodingOf(e), 6),
    mrs: hex(mrsWord(e, 0), 8),
    msr: hex(msrWord(e, 0), 8),
    esrRead: hex(esrOf(e, { read: true, rt: 0 }), 8),
    esrWrite: hex(esrOf(e, { read: false, rt: 0 }), 8),
  };
}

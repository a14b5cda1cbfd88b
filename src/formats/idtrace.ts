// The native trace format (.idtrace, design.md "The native trace format"): one event per line.
//
//   kernel VER                      host PATH                 cap NAME [= 0|-ERRNO]
//   vcpu N init f1,f2 [= 0|-ERRNO]  vcpu N get REG [= VALUE|-ERRNO]
//   vcpu N set REG VALUE [= 0|-ERRNO]                          vcpu N run [= 0|-ERRNO]
//   vcpu N mrs REG [= VALUE|undef]  vcpu N msr REG [VALUE] [= undef|0]
//
// `#` starts a comment anywhere on a line. A register may be written in any encoding form that
// parseRegisterToken accepts (names any case, S3_0_C0_C4_0, (3,0,0,4,0), ARM64_SYS_REG(...),
// op0:3 op1:0 crn:0 crm:4 op2:0, one-reg IDs, ...), or as a name together with an encoding:
//
//   ID_AA64PFR0_EL1(3,0,0,4,0)            NAME(tuple)
//   ID_AA64PFR0_EL1@0x603000000013c020    NAME@ENCODING (any encoding form after the @)
//
// Both halves must name the same register (IDR003 otherwise; the encoding wins, because it is what the
// ioctl or the instruction really used). Numbers are hex (0x...), binary (0b...) or decimal, with `_`
// separators allowed. Results: 0, -ENOENT, -EINVAL, -EBUSY, -ENOEXEC, -EPERM, -EFAULT (or the negative
// number, -22 ...), undef, or a value.
//
// Performance: the file is scanned once with indexOf for line ends and charCodeAt within a line; the
// tokens of a line live in two reused Int32Arrays, and register tokens are resolved once per distinct
// spelling (a 1M-event trace has a few dozen), so the per-line cost is the event record itself.
//
// Streaming: IdtraceStream parses a document given in line-aligned pieces (the CLI reads big files in
// blocks), and parseIdtrace is one final feed of the whole text, so there is a single parser. A piece is
// parsed line by line exactly like the whole text; lines are numbered by the caller's `firstLine`. Strings
// that outlive a piece (event texts, finding messages) are copied when the stream is fed in pieces, so
// that no event or finding keeps a whole block alive.
import { leadingLineScore } from './sniff.ts';
import { makeFinding, type Finding, type FindingCode, type FindingFix, type Range } from '../findings.ts';
import { genericName, macroForm, oneRegIdOf, parseRegisterToken, registerName, resolveRegister, tupleForm, type TokenOk } from '../encoding/forms.ts';
import {
  encodingKey,
  type Encoding,
  type GetEvent,
  type GuestReadEvent,
  type Outcome,
  type RecordedOutcome,
  type RegRef,
  type RunEvent,
  type SetEvent,
  type TraceEvent,
} from '../model/events.ts';
import type { ParseResult } from './types.ts';

/** KVM_ARM_VCPU_INIT feature names, in bit order (kvm-model.md §4.4). */
export const VCPU_FEATURES = [
  'power_off',
  'el1_32bit',
  'psci_0_2',
  'pmu_v3',
  'sve',
  'ptrauth_address',
  'ptrauth_generic',
  'has_el2',
  'has_el2_e2h0',
] as const;
export type VcpuFeature = (typeof VCPU_FEATURES)[number];

/** The errno names a result may record (design.md). */
export const RESULT_ERRNOS = ['-ENOENT', '-EINVAL', '-EBUSY', '-ENOEXEC', '-EPERM', '-EFAULT'] as const;

// Outcomes without a value are shared, frozen records: a million-event trace allocates none of them.
const OK_OUTCOME: Outcome = Object.freeze({ kind: 'ok' });
const UNDEF_OUTCOME: Outcome = Object.freeze({ kind: 'undef' });
const ERRNO_OUTCOMES = new Map<string, Outcome>(RESULT_ERRNOS.map((e) => [e, Object.freeze({ kind: 'errno', errno: e })]));

// Values repeat (a register reads the same on every vCPU): one frozen record per distinct value.
const VALUE_OUTCOMES = new Map<bigint, Outcome>();
const VALUE_OUTCOME_LIMIT = 4096;

function valueOutcome(value: bigint): Outcome {
  let o = VALUE_OUTCOMES.get(value);
  if (o === undefined) {
    if (VALUE_OUTCOMES.size >= VALUE_OUTCOME_LIMIT) VALUE_OUTCOMES.clear();
    o = Object.freeze({ kind: 'value', value });
    VALUE_OUTCOMES.set(value, o);
  }
  return o;
}

const ERRNO_BY_NUMBER: Record<number, string> = { 2: '-ENOENT', 22: '-EINVAL', 16: '-EBUSY', 8: '-ENOEXEC', 1: '-EPERM', 14: '-EFAULT' };

const FEATURE_SET = new Set<string>(VCPU_FEATURES);

/** Normalises a feature as written (`PMU_V3`, `KVM_ARM_VCPU_PMU_V3`) to its .idtrace name, or undefined. */
export function normaliseFeature(text: string): VcpuFeature | undefined {
  let t = text.toLowerCase();
  if (t.startsWith('kvm_arm_vcpu_')) t = t.slice('kvm_arm_vcpu_'.length);
  return FEATURE_SET.has(t) ? (t as VcpuFeature) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Numbers

export type NumberResult = { ok: true; value: bigint } | { ok: false; message: string };

const MAX_U64 = 0xffffffffffffffffn;

function isHexDigit(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}

/**
 * A number as the native formats write it: 0x… hex, 0b… binary or decimal, `_` allowed between
 * digits, at most 64 bits. `bareHex` reads digits without a prefix as hex (the debugfs dump).
 */
export function parseNumberText(text: string, opts: { bareHex?: boolean } = {}): NumberResult {
  let i = 0;
  const n = text.length;
  if (n === 0) return { ok: false, message: 'expected a number' };
  let radix = 10;
  if (n >= 2 && text.charCodeAt(0) === 48 && (text.charCodeAt(1) | 32) === 120) {
    radix = 16;
    i = 2;
  } else if (!opts.bareHex && n >= 2 && text.charCodeAt(0) === 48 && (text.charCodeAt(1) | 32) === 98) {
    radix = 2;
    i = 2;
  } else if (opts.bareHex) radix = 16;
  if (i === n) return { ok: false, message: `'${text}' has no digits` };
  let sawUnderscore = false;
  let prevUnderscore = true; // no leading `_`
  for (let k = i; k < n; k++) {
    const c = text.charCodeAt(k);
    if (c === 95) {
      if (prevUnderscore) return { ok: false, message: `'${text}' is not a number: misplaced '_'` };
      prevUnderscore = true;
      sawUnderscore = true;
      continue;
    }
    prevUnderscore = false;
    const ok = radix === 16 ? isHexDigit(c) : radix === 2 ? c === 48 || c === 49 : c >= 48 && c <= 57;
    if (!ok) {
      if (radix === 10 && isHexDigit(c)) {
        return { ok: false, message: `'${text}' is not a decimal number (write hex with a 0x prefix)` };
      }
      const kind = radix === 16 ? 'hex' : radix === 2 ? 'binary' : 'decimal';
      return { ok: false, message: `'${text}' is not a ${kind} number` };
    }
  }
  if (prevUnderscore) return { ok: false, message: `'${text}' is not a number: misplaced '_'` };
  let value: bigint;
  if (!sawUnderscore && (i === 2 || radix === 10)) value = BigInt(text); // 0x…, 0b… and decimal as written
  else {
    const digits = (i === 0 ? text : text.slice(i)).replace(/_/g, '');
    value = radix === 10 ? BigInt(digits) : BigInt((radix === 16 ? '0x' : '0b') + digits);
  }
  // At most 16 hex or 19 decimal digits always fit; only longer spellings need the comparison.
  if (n - i > 16 && value > MAX_U64) return { ok: false, message: `'${text}' is wider than 64 bits` };
  return { ok: true, value };
}

// ---------------------------------------------------------------------------------------------
// Register tokens

interface RelProblem {
  code: FindingCode;
  message: string;
  /** Offsets relative to the token start. */
  start: number;
  end: number;
  fixes?: { title: string; start: number; end: number; newText: string }[];
}

interface RegResolution {
  /** The spelling, as a string of its own (so no cache entry or event keeps the whole document alive). */
  text: string;
  enc?: Encoding;
  name?: string;
  unallocated: boolean;
  problems: RelProblem[];
}

const EXAMPLES = 'e.g. ID_AA64PFR0_EL1, S3_0_C0_C4_0, (3,0,0,4,0) or 0x603000000013c020';

/** Unallocated slots KVM still lists as registers (RAZ): (3,0,0,1..7,*) (kvm-model.md §2.1, §4.11). */
function isRazIdSlot(e: Encoding): boolean {
  return e.op0 === 3 && e.op1 === 0 && e.crn === 0 && e.crm >= 1 && e.crm <= 7;
}

function describeEnc(e: Encoding): string {
  return tupleForm(e);
}

function isIdentifier(text: string): boolean {
  if (text.length === 0) return false;
  const c0 = text.charCodeAt(0) | 32;
  if (!(c0 >= 97 && c0 <= 122)) return false;
  for (let i = 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 122) || c === 95)) return false;
  }
  return true;
}

/** The encoding written in the same form as `like` (for the IDR003 fix). */
function formatLike(like: string, e: Encoding): string {
  const t = like.trim();
  if (t.startsWith('(')) return t.includes(', ') ? tupleForm(e).replace(/,/g, ', ') : tupleForm(e);
  if (/^arm64_sys_reg/i.test(t)) return macroForm(e);
  if (/^id:/i.test(t) || /^0x60/i.test(t)) return '0x' + oneRegIdOf(e).toString(16).padStart(16, '0');
  if (/^s[0-3]_[0-7]_\d+_\d+_[0-7]$/i.test(t)) return `S${e.op0}_${e.op1}_${e.crn}_${e.crm}_${e.op2}`;
  if (/^s[0-3]_/i.test(t)) return genericName(e);
  if (/^op0/i.test(t)) return `op0:${e.op0} op1:${e.op1} crn:${e.crn} crm:${e.crm} op2:${e.op2}`;
  return tupleForm(e);
}

function unallocatedProblem(e: Encoding, start: number, end: number, text: string): RelProblem | undefined {
  if (isRazIdSlot(e)) return undefined;
  return {
    code: 'IDR002',
    message: `'${text}' ${describeEnc(e)} is an unallocated encoding outside the ID space: KVM has no such register (KVM_GET/SET_ONE_REG would return -ENOENT, a guest access is UNDEFINED)`,
    start,
    end,
  };
}

/** One encoding form (no NAME@ / NAME(...) pair). */
function resolveSingle(text: string, offset: number, problems: RelProblem[]): TokenOk | undefined {
  const end = offset + text.length;
  const tok = parseRegisterToken(text);
  if (!tok.ok) {
    if (isIdentifier(text)) {
      problems.push({ code: 'IDR002', message: `unknown register '${text}' (expected a register name or encoding, ${EXAMPLES})`, start: offset, end });
    } else {
      problems.push({ code: 'IDR001', message: `expected a register (${EXAMPLES}): ${tok.message}`, start: offset, end });
    }
    return undefined;
  }
  if (tok.oneReg && !tok.oneReg.valid) {
    // KVM refuses the ID itself (-ENOENT or -EINVAL before any register is looked up): keep no encoding, so
    // the model does not predict the register's answer for it.
    problems.push({ code: 'IDR002', message: `one-reg ID ${text} is not one KVM accepts: ${tok.oneReg.problem ?? 'invalid'} (KVM_GET/SET_ONE_REG fail before any register is looked up)`, start: offset, end });
    const { enc: _dropped, ...rest } = tok;
    return rest;
  } else if (tok.enc && tok.unallocated) {
    const p = unallocatedProblem(tok.enc, offset, end, text);
    if (p) problems.push(p);
  }
  return tok;
}

function resolveRegText(text: string): Omit<RegResolution, 'text'> {
  const problems: RelProblem[] = [];
  let nameLen = -1; // length of the NAME half of a pair, -1 for a single form
  let encOffset = 0;
  const at = text.indexOf('@');
  if (at > 0) {
    nameLen = at;
    encOffset = at + 1;
  } else {
    const paren = text.indexOf('(');
    if (paren > 0 && text.charCodeAt(text.length - 1) === 41) {
      const prefix = text.slice(0, paren).trim();
      const upper = prefix.toUpperCase();
      if (upper !== 'ARM64_SYS_REG' && upper !== 'SYS_REG' && isIdentifier(prefix)) {
        nameLen = paren;
        encOffset = paren;
      }
    }
  }
  if (nameLen < 0) {
    const tok = resolveSingle(text, 0, problems);
    if (!tok) return { unallocated: false, problems };
    return { ...(tok.enc ? { enc: tok.enc } : {}), ...(tok.name ? { name: tok.name } : {}), unallocated: tok.unallocated, problems };
  }
  // NAME@ENC or NAME(tuple)
  const nameText = text.slice(0, nameLen);
  let encText = text.slice(encOffset);
  if (encText.startsWith('(') && !/^\(\s*\d/.test(encText)) encText = encText.slice(1, -1); // NAME(S3_0_C0_C4_0)
  const encStart = encText === text.slice(encOffset) ? encOffset : encOffset + 1;
  const named = resolveRegister(nameText);
  if (!named) {
    problems.push({ code: 'IDR002', message: `unknown register name '${nameText}' (${EXAMPLES})`, start: 0, end: nameLen });
  }
  if (encText.length === 0) {
    problems.push({ code: 'IDR001', message: `expected an encoding after '${text.slice(0, encOffset)}'`, start: encOffset, end: text.length });
    return { ...(named ? { enc: named.enc, ...(named.name ? { name: named.name } : {}) } : {}), unallocated: named?.unallocated ?? false, problems };
  }
  const tok = resolveSingle(encText, encStart, problems);
  if (!tok || !tok.enc) {
    if (tok && !tok.enc) {
      problems.push({ code: 'IDR003', message: `'${encText}' is ${tok.name ?? 'not a system register'}, not a system register encoding for '${nameText}'`, start: encStart, end: encStart + encText.length });
    }
    return { ...(named ? { enc: named.enc, ...(named.name ? { name: named.name } : {}) } : {}), unallocated: named?.unallocated ?? false, problems };
  }
  if (named && encodingKey(named.enc) !== encodingKey(tok.enc)) {
    const encName = registerName(tok.enc);
    problems.push({
      code: 'IDR003',
      message: `name and encoding disagree: ${named.name ?? nameText} is ${describeEnc(named.enc)}, but ${encText} is ${tok.kind === 'tuple' ? '' : describeEnc(tok.enc) + ' '}${tok.name ? encName : 'an unallocated encoding'}; the encoding is used`,
      start: 0,
      end: text.length,
      fixes: [
        { title: `Use the name of ${describeEnc(tok.enc)}: ${encName}`, start: 0, end: nameLen, newText: encName },
        { title: `Use the encoding of ${named.name ?? nameText}: ${describeEnc(named.enc)}`, start: encStart, end: encStart + encText.length, newText: formatLike(encText, named.enc) },
      ],
    });
  }
  return { enc: tok.enc, ...(tok.name ? { name: tok.name } : {}), unallocated: tok.unallocated, problems };
}

const regCache = new Map<string, RegResolution>();
const REG_CACHE_LIMIT = 4096;

/**
 * A flat copy of a (possibly sliced or concatenated) string, which does not keep its parent string alive.
 * V8 copies strings shorter than 13 characters anyway; a slice of a concatenation flattens it into a new
 * string first, so the result shares nothing with the parts.
 */
function ownString(text: string): string {
  return text.length < 13 ? text : (' ' + text).slice(1);
}

function resolveRegCached(text: string): RegResolution {
  let r = regCache.get(text);
  if (r === undefined) {
    const own = ownString(text);
    r = { ...resolveRegText(own), text: own };
    if (regCache.size >= REG_CACHE_LIMIT) regCache.clear();
    regCache.set(own, r);
  }
  return r;
}

// The hot path looks a register spelling up straight from the line, without slicing it out: an
// open-addressed table of the last spellings seen, keyed by a hash of the characters.
const FAST_SIZE = 1024;
const fastRegs: (RegResolution | undefined)[] = new Array<RegResolution | undefined>(FAST_SIZE).fill(undefined);

function resolveRegAt(text: string, s: number, e: number): RegResolution {
  let h = 0x811c9dc5;
  for (let i = s; i < e; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  const len = e - s;
  const home = (h >>> 0) & (FAST_SIZE - 1);
  let free = home; // a full probe run overwrites the home entry: the table only fronts regCache
  for (let probe = 0; probe < 8; probe++) {
    const slot = (home + probe) & (FAST_SIZE - 1);
    const r = fastRegs[slot];
    if (r === undefined) {
      free = slot;
      break;
    }
    if (r.text.length === len && text.startsWith(r.text, s)) return r;
  }
  const r = resolveRegCached(text.slice(s, e));
  fastRegs[free] = r;
  return r;
}

// ---------------------------------------------------------------------------------------------
// The line parser

const MAX_TOKENS = 48;
const tokStart = new Int32Array(MAX_TOKENS);
const tokEnd = new Int32Array(MAX_TOKENS);

type ResultKind = 'status' | 'read' | 'guestRead' | 'guestWrite';

const RESULT_EXPECTED: Record<ResultKind, string> = {
  status: `0 or a negative errno (${RESULT_ERRNOS.join(', ')})`,
  read: `the value read, or a negative errno (${RESULT_ERRNOS.join(', ')})`,
  guestRead: 'the value the guest read, or undef',
  guestWrite: 'undef (the guest took an UNDEFINED exception) or 0',
};

const KEYWORDS = 'kernel VER, host PATH, cap NAME, or vcpu N init|get|set|run|mrs|msr …';
const ACTIONS = 'init, get, set, run, mrs or msr';

class LineParser {
  events: TraceEvent[] = [];
  readonly findings: Finding[] = [];
  understood = 0;
  skipped = 0;
  /** Copy strings that outlive the text (the document is fed in pieces that should be freed). */
  ownStrings = false;

  private text = '';
  private line = 0;
  private ls = 0; // offset of the line start
  private n = 0; // token count
  private overflow = false;

  /**
   * Parses the complete lines of `text` (all of it when `final`), numbering them from `firstLine`.
   * Returns the offset after the last line parsed; `lineAfter` is then the number of the next line.
   */
  run(text: string, firstLine: number, final: boolean): number {
    this.text = text;
    const len = text.length;
    let pos = 0;
    let line = firstLine;
    while (pos < len) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) {
        if (!final) break; // an incomplete line: the caller passes it again with what follows
        nl = len;
      }
      let end = nl;
      if (end > pos && text.charCodeAt(end - 1) === 13) end--;
      this.line = line;
      this.ls = pos;
      try {
        this.parseLine(pos, end);
      } catch (err) {
        // A bug must not take the editor down: say so on the line where it happened and go on.
        this.problem('IDR001', `internal error while parsing this line: ${(err as Error).message}`, pos, end);
        this.skipped++;
      }
      line++;
      pos = nl + 1;
    }
    this.lineAfter = line;
    this.text = ''; // no reference to the piece once it is parsed
    return pos > len ? len : pos;
  }

  lineAfter = 0;

  /** `text` as a string of its own when the parser must not keep the piece alive. */
  private own(text: string): string {
    return this.ownStrings ? ownString(text) : text;
  }

  private range(s: number, e: number): Range {
    return { start: { line: this.line, character: s - this.ls }, end: { line: this.line, character: e - this.ls } };
  }

  private problem(code: FindingCode, message: string, s: number, e: number, fixes?: FindingFix[]): void {
    this.findings.push(makeFinding(code, this.own(message), this.range(s, e), fixes ? { fixes } : {}));
  }

  private tok(k: number): string {
    return this.text.slice(tokStart[k]!, tokEnd[k]!);
  }

  private isEq(k: number): boolean {
    return tokEnd[k]! - tokStart[k]! === 1 && this.text.charCodeAt(tokStart[k]!) === 61;
  }

  private tokenize(s: number, e: number): void {
    const text = this.text;
    let n = 0;
    let i = s;
    this.overflow = false;
    while (i < e) {
      let c = text.charCodeAt(i);
      if (c === 32 || c === 9 || c === 0xfeff) {
        i++;
        continue;
      }
      if (c === 35) break; // '#': the rest is a comment
      const start = i;
      if (c === 61) {
        i++;
      } else {
        let depth = 0;
        while (i < e) {
          c = text.charCodeAt(i);
          if (c === 35) break;
          if (c === 40) depth++;
          else if (c === 41) {
            if (depth > 0) depth--;
          } else if (depth === 0 && (c === 32 || c === 9 || c === 61)) break;
          i++;
        }
      }
      if (n < MAX_TOKENS) {
        tokStart[n] = start;
        tokEnd[n] = i;
        n++;
      } else this.overflow = true;
    }
    this.n = n;
  }

  private lower(k: number): string {
    return this.tok(k).toLowerCase();
  }

  /** Whether token k is `word` (lower-case ASCII), compared without allocating. */
  private is(k: number, word: string): boolean {
    const s = tokStart[k]!;
    if (tokEnd[k]! - s !== word.length) return false;
    for (let i = 0; i < word.length; i++) if ((this.text.charCodeAt(s + i) | 32) !== word.charCodeAt(i)) return false;
    return true;
  }

  /** Token k as a small decimal number (a vCPU id), or -1. */
  private smallDecimal(k: number): number {
    const s = tokStart[k]!;
    const e = tokEnd[k]!;
    if (e - s > 9) return -1;
    let v = 0;
    for (let i = s; i < e; i++) {
      const c = this.text.charCodeAt(i);
      if (c < 48 || c > 57) return -1;
      v = v * 10 + (c - 48);
    }
    return e > s ? v : -1;
  }

  private parseLine(s: number, e: number): void {
    this.lastEnd = undefined;
    this.tokenize(s, e);
    const n = this.n;
    if (n === 0) {
      this.understood++; // blank or comment
      return;
    }
    if (this.overflow) {
      this.problem('IDR001', `too many tokens on one line (more than ${MAX_TOKENS}); expected one event`, tokStart[0]!, e);
      this.skipped++;
      return;
    }
    let ok: boolean;
    if (this.is(0, 'vcpu')) ok = this.parseVcpu();
    else if (this.is(0, 'kernel')) ok = this.parseKernel();
    else if (this.is(0, 'host')) ok = this.parseHost();
    else if (this.is(0, 'cap')) ok = this.parseCap();
    else {
      this.problem('IDR001', `expected an event (${KEYWORDS}), found '${this.tok(0)}'`, tokStart[0]!, tokEnd[n - 1]!);
      ok = false;
    }
    if (ok) this.understood++;
    else this.skipped++;
  }

  /** Set by parseResult when the result is the last token, for lineRange to share. */
  private lastEnd: Range['end'] | undefined;

  private lineRange(): Range {
    const end = this.lastEnd;
    if (end !== undefined) {
      this.lastEnd = undefined;
      return { start: { line: this.line, character: tokStart[0]! - this.ls }, end };
    }
    return this.range(tokStart[0]!, tokEnd[this.n - 1]!);
  }

  /** Index of the `=` token, or n. */
  private eqIndex(from: number): number {
    for (let k = from; k < this.n; k++) if (this.isEq(k)) return k;
    return this.n;
  }

  private extra(from: number, to: number, what: string): void {
    if (from < to) {
      this.problem('IDR001', `unexpected '${this.text.slice(tokStart[from]!, tokEnd[to - 1]!)}' after ${what}`, tokStart[from]!, tokEnd[to - 1]!);
    }
  }

  /** Why the last numberAt returned undefined. */
  private numMessage = '';

  /**
   * Token k as parseNumberText reads it. The common spellings (0x and up to 16 hex digits, short decimals)
   * are read in place, so the token is not sliced out and no result record is made.
   */
  private numberAt(k: number): bigint | undefined {
    const text = this.text;
    const s = tokStart[k]!;
    const e = tokEnd[k]!;
    const c0 = text.charCodeAt(s);
    if (c0 === 48 && e - s > 2 && e - s <= 18 && (text.charCodeAt(s + 1) | 32) === 120) {
      let v = 0;
      let i = s + 2;
      while (i < e && text.charCodeAt(i) === 48) i++; // leading zeros do not count towards the 53 bits
      const digits = e - i;
      let j = i;
      for (; j < e; j++) {
        const c = text.charCodeAt(j);
        const d = c >= 48 && c <= 57 ? c - 48 : (c | 32) >= 97 && (c | 32) <= 102 ? (c | 32) - 87 : -1;
        if (d < 0) break;
        v = v * 16 + d;
      }
      if (j === e) return digits <= 13 ? BigInt(v) : BigInt(text.slice(s, e));
    } else if (c0 >= 48 && c0 <= 57 && e - s <= 15 && (c0 !== 48 || e - s === 1)) {
      let v = 0;
      let j = s;
      for (; j < e; j++) {
        const c = text.charCodeAt(j);
        if (c < 48 || c > 57) break;
        v = v * 10 + (c - 48);
      }
      if (j === e) return BigInt(v);
    }
    const num = parseNumberText(this.tok(k));
    if (num.ok) return num.value;
    this.numMessage = num.message;
    return undefined;
  }

  /** Parses `= RESULT` starting at the `=` token; reports problems; undefined when absent or bad. */
  private parseResult(eq: number, kind: ResultKind): RecordedOutcome | undefined {
    if (eq >= this.n) return undefined;
    if (eq + 1 >= this.n) {
      this.problem('IDR001', `expected a result after '=': ${RESULT_EXPECTED[kind]}`, tokStart[eq]!, tokEnd[eq]!);
      return undefined;
    }
    if (eq + 2 < this.n) this.extra(eq + 2, this.n, 'the result');
    const k = eq + 1;
    const s = tokStart[k]!;
    const range = this.range(s, tokEnd[k]!);
    let outcome: Outcome | undefined;
    const c0 = this.text.charCodeAt(s);
    if (c0 === 45 /* - */) {
      const t = this.tok(k);
      const rest = t.slice(1);
      let errno: string | undefined;
      if (rest.length > 1 && (rest.charCodeAt(0) | 32) === 101 /* e */) {
        const name = '-' + rest.toUpperCase();
        if ((RESULT_ERRNOS as readonly string[]).includes(name)) errno = name;
        else {
          this.problem('IDR001', `unknown errno '${t}': expected ${RESULT_ERRNOS.join(', ')}`, s, tokEnd[k]!);
          return undefined;
        }
      } else {
        const num = parseNumberText(rest);
        if (num.ok && ERRNO_BY_NUMBER[Number(num.value)] !== undefined && num.value < 256n) errno = ERRNO_BY_NUMBER[Number(num.value)];
        else {
          this.problem('IDR001', `unknown errno '${t}': expected ${RESULT_ERRNOS.join(', ')}`, s, tokEnd[k]!);
          return undefined;
        }
      }
      if (kind === 'guestRead' || kind === 'guestWrite') {
        this.problem('IDR001', `a guest access records ${RESULT_EXPECTED[kind]}, not an errno`, s, tokEnd[k]!);
        return undefined;
      }
      outcome = ERRNO_OUTCOMES.get(errno!)!;
    } else if (this.is(k, 'undef')) {
      if (kind !== 'guestRead' && kind !== 'guestWrite') {
        this.problem('IDR001', `'undef' is a guest access result; expected ${RESULT_EXPECTED[kind]}`, s, tokEnd[k]!);
        return undefined;
      }
      outcome = UNDEF_OUTCOME;
    } else {
      const value = this.numberAt(k);
      if (value === undefined) {
        const looksNumeric = c0 >= 48 && c0 <= 57;
        this.problem(looksNumeric ? 'IDR004' : 'IDR001', looksNumeric ? this.numMessage : `expected ${RESULT_EXPECTED[kind]}, found '${this.tok(k)}'`, s, tokEnd[k]!);
        return undefined;
      }
      if (kind === 'read' || kind === 'guestRead') outcome = valueOutcome(value);
      else if (value === 0n) outcome = OK_OUTCOME;
      else {
        this.problem('IDR001', `expected ${RESULT_EXPECTED[kind]}, found '${this.tok(k)}'`, s, tokEnd[k]!);
        return undefined;
      }
    }
    // The line ends where its result ends: share the position object (positions are never mutated).
    if (k === this.n - 1) this.lastEnd = range.end;
    return { outcome, range };
  }

  private parseKernel(): boolean {
    if (this.n < 2 || this.isEq(1)) {
      this.problem('IDR001', 'expected a kernel version after kernel, e.g. kernel 6.15', tokStart[0]!, tokEnd[0]!);
      return false;
    }
    const v = this.tok(1);
    let c = v.charCodeAt(0);
    let vs = v;
    if ((c | 32) === 118 /* v */) {
      vs = v.slice(1);
      c = vs.charCodeAt(0);
    }
    if (!(c >= 48 && c <= 57)) {
      this.problem('IDR001', `expected a kernel version such as 6.15, found '${v}'`, tokStart[1]!, tokEnd[1]!);
      return false;
    }
    this.extra(2, this.n, 'the kernel version');
    this.events.push({ kind: 'kernel', version: this.own(vs), versionRange: this.range(tokStart[1]!, tokEnd[1]!), range: this.lineRange() });
    return true;
  }

  private parseHost(): boolean {
    if (this.n < 2) {
      this.problem('IDR001', 'expected the path of a host dump after host, e.g. host graviton3.iddump', tokStart[0]!, tokEnd[0]!);
      return false;
    }
    let s = tokStart[1]!;
    let e = tokEnd[this.n - 1]!;
    let path = this.text.slice(s, e);
    const q = path.charCodeAt(0);
    if ((q === 34 || q === 39) && path.length >= 2 && path.charCodeAt(path.length - 1) === q) {
      path = path.slice(1, -1);
      s++;
      e--;
    }
    this.events.push({ kind: 'host', path: this.own(path), pathRange: this.range(s, e), range: this.lineRange() });
    return true;
  }

  private parseCap(): boolean {
    const eq = this.eqIndex(1);
    if (eq < 2) {
      this.problem('IDR001', 'expected a capability name after cap, e.g. cap ARM_WRITABLE_IMP_ID_REGS', tokStart[0]!, tokEnd[0]!);
      return false;
    }
    let cap = this.tok(1).toUpperCase();
    if (cap.startsWith('KVM_CAP_')) cap = cap.slice(8);
    this.extra(2, eq, 'the capability');
    const result = this.parseResult(eq, 'status');
    this.events.push({ kind: 'cap', cap: this.own(cap), capRange: this.range(tokStart[1]!, tokEnd[1]!), range: this.lineRange(), ...(result ? { result } : {}) });
    return true;
  }

  private parseVcpu(): boolean {
    if (this.n < 2 || this.isEq(1)) {
      this.problem('IDR001', `expected a vCPU number after vcpu, then ${ACTIONS}`, tokStart[0]!, tokEnd[0]!);
      return false;
    }
    let vcpu = this.smallDecimal(1);
    if (vcpu < 0) {
      const idText = this.tok(1);
      const id = parseNumberText(idText);
      if (!id.ok || id.value > 0x7fffffffn) {
        const numeric = idText.charCodeAt(0) >= 48 && idText.charCodeAt(0) <= 57;
        this.problem(numeric ? 'IDR004' : 'IDR001', numeric ? `vCPU number ${id.ok ? 'out of range' : id.message}` : `expected a vCPU number after vcpu, found '${idText}'`, tokStart[1]!, tokEnd[1]!);
        return false;
      }
      vcpu = Number(id.value);
    }
    if (this.n < 3 || this.isEq(2)) {
      this.problem('IDR001', `expected ${ACTIONS} after vcpu ${this.tok(1)}`, tokStart[0]!, tokEnd[1]!);
      return false;
    }
    const eq = this.eqIndex(3);
    if (this.is(2, 'mrs')) return this.parseAccess('mrs', vcpu, eq);
    if (this.is(2, 'get')) return this.parseAccess('get', vcpu, eq);
    if (this.is(2, 'set')) return this.parseAccess('set', vcpu, eq);
    if (this.is(2, 'msr')) return this.parseAccess('msr', vcpu, eq);
    if (this.is(2, 'init')) return this.parseInit(vcpu, eq);
    if (this.is(2, 'run')) {
      this.extra(3, eq, 'run');
      const result = this.parseResult(eq, 'status');
      const ev: RunEvent = { kind: 'run', vcpu, range: this.lineRange() };
      if (result) ev.result = result;
      this.events.push(ev);
      return true;
    }
    this.problem('IDR001', `expected ${ACTIONS} after vcpu ${this.tok(1)}, found '${this.tok(2)}'`, tokStart[2]!, tokEnd[2]!);
    return false;
  }

  private parseInit(vcpu: number, eq: number): boolean {
    const features: string[] = [];
    const known = VCPU_FEATURES.join(' ');
    for (let k = 3; k < eq; k++) {
      const ts = tokStart[k]!;
      const te = tokEnd[k]!;
      let p = ts;
      while (p <= te) {
        let c = this.text.indexOf(',', p);
        if (c < 0 || c > te) c = te;
        if (c > p) {
          const name = this.text.slice(p, c);
          const f = normaliseFeature(name);
          if (f === undefined) {
            // Kept in the event: KVM answers an unknown feature bit with -ENOENT, and the model predicts that.
            this.problem('IDR001', `unknown vCPU feature '${name}': expected ${known}`, p, c);
            const lower = name.toLowerCase();
            if (!features.includes(lower)) features.push(this.own(lower));
          } else if (!features.includes(f)) features.push(this.own(f));
        }
        p = c + 1;
      }
    }
    const fs = eq > 3 ? tokStart[3]! : tokEnd[2]!;
    const fe = eq > 3 ? tokEnd[eq - 1]! : tokEnd[2]!;
    const result = this.parseResult(eq, 'status');
    this.events.push({ kind: 'init', vcpu, features, featuresRange: this.range(fs, fe), range: this.lineRange(), ...(result ? { result } : {}) });
    return true;
  }

  /** The token index after the last regRef. */
  private regNext = 0;

  /** The register token at index k (merging the op0:… op1:… multi-token form); sets regNext. */
  private regRef(k: number, end: number): RegRef {
    let e = tokEnd[k]!;
    let next = k + 1;
    const fs = tokStart[k]!;
    const opFields = (this.text.charCodeAt(fs) | 32) === 111 && (this.text.charCodeAt(fs + 1) | 32) === 112 && this.text.charCodeAt(fs + 2) === 48;
    if (opFields) {
      // `op0:3 op1:0 crn:0 crm:4 op2:0`, also spaced as `op0: 3 op1 : 0 …`: a bare number joins only
      // after a colon, so the value that follows the register stays a value.
      let afterColon = this.text.charCodeAt(e - 1) === 58;
      while (next < end) {
        const t = this.lower(next);
        if (/^(op1|crn|crm|op2)\b/.test(t) || t.startsWith(':') || (afterColon && /^\d+$/.test(t))) {
          e = tokEnd[next]!;
          afterColon = this.text.charCodeAt(e - 1) === 58;
          next++;
        } else break;
      }
    }
    const s = tokStart[k]!;
    const res = resolveRegAt(this.text, s, e);
    const range = this.range(s, e);
    // One literal per shape, in the key order the optional properties had when added one by one.
    const ref: RegRef = res.enc
      ? res.name
        ? { text: res.text, range, enc: res.enc, name: res.name }
        : { text: res.text, range, enc: res.enc }
      : res.name
        ? { text: res.text, range, name: res.name }
        : { text: res.text, range };
    for (let i = 0; i < res.problems.length; i++) {
      const p = res.problems[i]!;
      this.problem(
        p.code,
        p.message,
        s + p.start,
        s + p.end,
        p.fixes?.map((f) => ({ title: f.title, range: this.range(s + f.start, s + f.end), newText: f.newText })),
      );
    }
    this.regNext = next;
    return ref;
  }

  /** Token k as a register value, or undefined (with a finding). */
  private value(k: number): bigint | undefined {
    const value = this.numberAt(k);
    if (value === undefined) {
      const t = this.tok(k);
      const c = t.charCodeAt(0);
      const numeric = (c >= 48 && c <= 57) || c === 45;
      this.problem(numeric ? 'IDR004' : 'IDR001', numeric ? (c === 45 ? `'${t}' is negative; register values are unsigned 64-bit` : this.numMessage) : `expected a value (0x… or decimal), found '${t}'`, tokStart[k]!, tokEnd[k]!);
    }
    return value;
  }

  private parseAccess(action: 'get' | 'set' | 'mrs' | 'msr', vcpu: number, eq: number): boolean {
    if (eq <= 3) {
      this.problem('IDR001', `expected a register after ${action} (${EXAMPLES})`, tokStart[2]!, tokEnd[2]!);
      return false;
    }
    const reg = this.regRef(3, eq);
    const next = this.regNext;
    switch (action) {
      case 'get': {
        if (next < eq) this.extra(next, eq, 'the register');
        const result = this.parseResult(eq, 'read');
        const range = this.lineRange();
        const ev: GetEvent = result ? { kind: 'get', vcpu, reg, range, result } : { kind: 'get', vcpu, reg, range };
        this.events.push(ev);
        return true;
      }
      case 'mrs': {
        if (next < eq) this.extra(next, eq, 'the register');
        const result = this.parseResult(eq, 'guestRead');
        const range = this.lineRange();
        const ev: GuestReadEvent = result ? { kind: 'mrs', vcpu, reg, range, result } : { kind: 'mrs', vcpu, reg, range };
        this.events.push(ev);
        return true;
      }
      case 'set': {
        if (next >= eq) {
          this.problem('IDR001', `expected the value to write after the register: vcpu ${vcpu} set ${reg.text} VALUE`, tokStart[3]!, tokEnd[next - 1]!);
          return false;
        }
        const v = this.value(next);
        if (v === undefined) return false;
        const valueRange = this.range(tokStart[next]!, tokEnd[next]!);
        this.extra(next + 1, eq, 'the value');
        const result = this.parseResult(eq, 'status');
        const ev: SetEvent = { kind: 'set', vcpu, reg, value: v, valueRange, range: this.lineRange() };
        if (result) ev.result = result;
        this.events.push(ev);
        return true;
      }
      case 'msr': {
        let v: { value: bigint; range: Range } | undefined;
        if (next < eq) {
          const value = this.value(next);
          if (value === undefined) return false;
          v = { value, range: this.range(tokStart[next]!, tokEnd[next]!) };
          this.extra(next + 1, eq, 'the value');
        }
        const result = this.parseResult(eq, 'guestWrite');
        this.events.push({ kind: 'msr', vcpu, reg, ...(v ? { value: v.value, valueRange: v.range } : {}), range: this.lineRange(), ...(result ? { result } : {}) });
        return true;
      }
    }
  }
}

/**
 * Parses an .idtrace document given in line-aligned pieces, as a big file is read in blocks. Feeding a
 * document in any such pieces gives what parseIdtrace gives for the whole text: the same events (drained as
 * they come), findings, stats and ranges. Never throws.
 */
/** IdtraceStream.mark(). */
export interface IdtraceMark {
  readonly lines: number;
  readonly findings: number;
  readonly understood: number;
  readonly skipped: number;
}

export class IdtraceStream {
  private readonly p = new LineParser();
  private fed = false;
  private lines = 0;

  constructor(_path?: string) {}

  /**
   * Parses the complete lines of `text`, whose first line is document line `firstLine` (0-based). Returns
   * how many UTF-16 code units were consumed; the caller passes the unconsumed rest again at the start of
   * the next text. When `final` is true the text is the end of the document and everything is consumed.
   * Non-final texts end with '\n' (a text without one consumes nothing).
   */
  feed(text: string, firstLine: number, final: boolean): number {
    // One final feed is a whole document its caller holds anyway (parseIdtrace, the editor): events may
    // share its characters. Pieces of a bigger document are dropped after parsing, so nothing may.
    if (!this.fed) this.p.ownStrings = !final;
    this.fed = true;
    const consumed = this.p.run(text, firstLine, final);
    if (this.p.lineAfter > this.lines) this.lines = this.p.lineAfter;
    return consumed;
  }

  /** The document line after the last one parsed: the `firstLine` of the next feed. */
  get nextLine(): number {
    return this.lines;
  }

  /** Where the stream is (line, counts, findings so far), to go on from there later (resume). */
  mark(): IdtraceMark {
    return { lines: this.lines, findings: this.p.findings.length, understood: this.p.understood, skipped: this.p.skipped };
  }

  /**
   * A stream that goes on from `mark` of `prev` (a later mark of the same stream is fine too): the findings
   * before the mark are copied, and the next feed starts at line `mark.lines` of a document whose lines
   * before it are those `prev` read.
   */
  static resume(prev: IdtraceStream, mark: IdtraceMark): IdtraceStream {
    const s = new IdtraceStream();
    s.fed = true;
    s.p.ownStrings = true;
    s.lines = mark.lines;
    for (let i = 0; i < mark.findings; i++) s.p.findings.push(prev.p.findings[i]!);
    s.p.understood = mark.understood;
    s.p.skipped = mark.skipped;
    return s;
  }

  /** Events produced since the last drain (the stream keeps no reference to them afterwards). */
  drain(): TraceEvent[] {
    const events = this.p.events;
    this.p.events = [];
    return events;
  }

  /** After the final feed: every syntax finding and the stats of the whole document; `events` is empty (drained). */
  finish(): ParseResult {
    const p = this.p;
    return { format: 'idtrace', events: [], findings: p.findings, stats: { lines: this.lines, understood: p.understood, skipped: p.skipped } };
  }
}

/** Parses an .idtrace document. Never throws; every line is either understood or has a finding. */
export function parseIdtrace(text: string, path?: string): ParseResult {
  const s = new IdtraceStream(path);
  s.feed(text, 0, true);
  const events = s.drain();
  const result = s.finish();
  result.events = events;
  return result;
}

const IDTRACE_KEYWORDS = ['vcpu ', 'kernel ', 'host ', 'cap '];

/** Confidence 0..1 that the text is an .idtrace (the extension decides; otherwise the first lines). */
export function sniffIdtrace(text: string, path?: string): number {
  if (path && /\.idtrace$/i.test(path)) return 1;
  return leadingLineScore(text, (line) => {
    const lower = line.toLowerCase();
    return IDTRACE_KEYWORDS.some((k) => lower.startsWith(k));
  });
}

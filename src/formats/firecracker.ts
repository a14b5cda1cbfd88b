// Firecracker's aarch64 CPU configuration files (formats.md §1): `fingerprint dump` and `template dump`
// output of cpu-template-helper (host dumps: every register KVM lists, as a fully fixed bitmap), custom
// CPU templates written by users (modifications: `x` keeps the host's bit), and the error line
// Firecracker logs when KVM refuses one of those writes.
import { makeFinding, type Finding, type Range } from '../findings.ts';
import { decodeOneRegId, parseNumber, type OneRegInfo } from '../encoding/forms.ts';
import { VCPU_FEATURES } from '../data/kvm-policy.ts';
import type { DumpEntry, RegRef, RegisterDump } from '../model/events.ts';
import { LineIndex, member, memberEntry, scanJson, type JsonObject, type JsonValue } from './json-scan.ts';
import type { FeatureEdits, FormatParseResult, ProposedWrite } from './detect.ts';

/** Firecracker holds every register value as a u128 (src/vmm/src/cpu_config/aarch64). */
export const FIRECRACKER_VALUE_BITS = 128;

export interface Bitmap {
  /** Bits the bitmap sets to 1. */
  value: bigint;
  /** Bits the bitmap fixes (0 or 1); the others are kept from the host. */
  mask: bigint;
  /** Number of 0/1/x digits (the `_` separators excluded). */
  digits: number;
}

/**
 * A `bitmap` string as Firecracker's RegisterValueFilter reads it: optional `0b`, then `0`/`1`/`x` with `_`
 * separators, right-aligned (the last digit is bit 0), at most `maxBits` digits. Returns a message when
 * malformed.
 */
export function parseBitmap(text: string, maxBits = FIRECRACKER_VALUE_BITS): Bitmap | string {
  const body = text.startsWith('0b') || text.startsWith('0B') ? text.slice(2) : text;
  // Only the first maxBits digits are accumulated (BigInts of at most maxBits bits); a longer bitmap is
  // then only scanned to report its digit count, so the work is linear in the text however long it is.
  let value = 0n;
  let mask = 0n;
  let digits = 0;
  // Accumulate 32 digits at a time in numbers: BigInt arithmetic per digit is slow on 240-entry dumps.
  let chunkValue = 0;
  let chunkMask = 0;
  let chunkDigits = 0;
  const flush = (): void => {
    if (chunkDigits === 0) return;
    value = (value << BigInt(chunkDigits)) | BigInt(chunkValue >>> 0);
    mask = (mask << BigInt(chunkDigits)) | BigInt(chunkMask >>> 0);
    chunkValue = 0;
    chunkMask = 0;
    chunkDigits = 0;
  };
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i);
    if (c === 95) continue;
    if (c !== 48 && c !== 49 && c !== 120 && c !== 88) {
      return `'${String.fromCodePoint(body.codePointAt(i)!)}' is not a bitmap digit: expected 0, 1, x (keep) or _ (separator)`;
    }
    if (++digits > maxBits) continue;
    chunkValue = (chunkValue << 1) | (c === 49 ? 1 : 0);
    chunkMask = (chunkMask << 1) | (c === 48 || c === 49 ? 1 : 0);
    if (++chunkDigits === 31) flush();
  }
  flush();
  if (digits === 0) return 'the bitmap has no digits: expected 0b followed by 0, 1 or x';
  if (digits > maxBits) return `the bitmap has ${digits} digits, but Firecracker holds at most ${maxBits} bits`;
  return { value, mask, digits };
}

/** Linux errno names by number, for Firecracker's `(os error N)`. */
const ERRNO_NAMES: ReadonlyMap<number, string> = new Map([[1, '-EPERM'], [2, '-ENOENT'], [7, '-E2BIG'], [8, '-ENOEXEC'], [14, '-EFAULT'], [16, '-EBUSY'], [22, '-EINVAL']]);

/** Linux error numbers are 1..MAX_ERRNO (include/linux/err.h). */
export const MAX_ERRNO = 4095;

export function errnoName(n: number): string {
  return ERRNO_NAMES.get(n) ?? `-${n}`;
}

function hex(v: bigint, digits = 16): string {
  return '0x' + v.toString(16).padStart(digits, '0');
}

/** A RegRef for a one-reg id written in the file. */
export function oneRegRef(text: string, range: Range, info: OneRegInfo): RegRef {
  const ref: RegRef = { text, range, name: info.name };
  if (info.enc) ref.enc = info.enc;
  return ref;
}

interface Ctx {
  text: string;
  lines: LineIndex;
  findings: Finding[];
  /** Lines that carry a syntax finding, for the stats. */
  badLines: Set<number>;
  /**
   * `addr` text → its parsed id and decode (undefined when not a 64-bit number). A template repeats a few
   * dozen addresses over up to hundreds of thousands of entries, and each decode costs microseconds of BigInt
   * work; the findings are still made per entry, since their ranges differ.
   */
  addrs?: Map<string, { id: bigint; info: OneRegInfo } | undefined>;
}

function range(ctx: Ctx, start: number, end: number): Range {
  return ctx.lines.range(start, end);
}

function flag(ctx: Ctx, finding: Finding): void {
  ctx.findings.push(finding);
  if (finding.code !== 'IDR001') return;
  const { start, end } = finding.range;
  // A range that ends at the start of a line (after a line end) does not touch that line.
  const last = end.line > start.line && end.character === 0 ? end.line - 1 : end.line;
  for (let l = start.line; l <= last; l++) ctx.badLines.add(l);
}

function contentRange(ctx: Ctx, v: JsonValue): Range {
  return v.kind === 'string' ? range(ctx, v.contentStart, v.contentEnd) : range(ctx, v.start, v.end);
}

/** `addr` as Firecracker's templates_serde accepts it: a string in 0x/0b/decimal, or (leniently) a JSON number. */
function readAddr(ctx: Ctx, v: JsonValue | undefined, where: Range): { id: bigint; info: OneRegInfo; text: string; range: Range } | undefined {
  if (!v) {
    flag(ctx, makeFinding('IDR001', 'expected "addr": the KVM one-reg id of the register, e.g. "0x603000000013c020"', where));
    return undefined;
  }
  let text: string;
  if (v.kind === 'string') text = v.value;
  else if (v.kind === 'number') text = v.raw;
  else {
    flag(ctx, makeFinding('IDR001', 'expected "addr" to be a string holding a KVM one-reg id (0x…, 0b… or decimal)', contentRange(ctx, v)));
    return undefined;
  }
  const r = contentRange(ctx, v);
  const addrs = (ctx.addrs ??= new Map());
  let known = addrs.get(text);
  if (known === undefined && !addrs.has(text)) {
    const parsed = parseNumber(text);
    known = parsed === undefined || parsed > 0xffffffffffffffffn ? undefined : { id: parsed, info: decodeOneRegId(parsed) };
    addrs.set(text, known);
  }
  if (known === undefined) {
    flag(ctx, makeFinding('IDR004', `'${text}' is not a 64-bit KVM one-reg id (write 0x…, 0b… or decimal)`, r));
    return undefined;
  }
  const { id, info } = known;
  if (!info.valid) {
    flag(ctx, makeFinding('IDR002', `${hex(id)} is not a register KVM would accept: ${info.problem ?? 'unknown id'}`, r));
  }
  return { id, info, text, range: r };
}

/** width → (1n << width) - 1n; the few widths a template uses (8 << size code, at most 128) are made once. */
const WIDTH_MASKS = new Map<number, bigint>();
function widthMaskOf(width: number): bigint {
  let m = WIDTH_MASKS.get(width);
  if (m === undefined) {
    m = (1n << BigInt(width)) - 1n;
    WIDTH_MASKS.set(width, m);
  }
  return m;
}

function readRegModifiers(ctx: Ctx, arr: JsonValue | undefined, entries: DumpEntry[]): void {
  if (arr === undefined) return;
  if (arr.kind !== 'array') {
    flag(ctx, makeFinding('IDR001', 'expected "reg_modifiers" to be an array of { "addr", "bitmap" } objects', range(ctx, arr.start, arr.end)));
    return;
  }
  for (const item of arr.items) {
    const where = range(ctx, item.start, Math.min(item.end, item.start + 1));
    if (item.kind !== 'object') {
      flag(ctx, makeFinding('IDR001', 'expected a { "addr": …, "bitmap": … } object in "reg_modifiers"', range(ctx, item.start, item.end)));
      continue;
    }
    const addr = readAddr(ctx, member(item, 'addr'), where);
    const bm = member(item, 'bitmap');
    if (!bm || bm.kind !== 'string') {
      flag(ctx, makeFinding('IDR001', 'expected "bitmap": a string of 0, 1 and x digits (e.g. "0bxxxx0000xxxx")', bm ? contentRange(ctx, bm) : where));
      continue;
    }
    if (!addr) continue;
    const valueRange = contentRange(ctx, bm);
    const bitmap = parseBitmap(bm.value);
    if (typeof bitmap === 'string') {
      flag(ctx, makeFinding('IDR004', `bitmap of ${addr.info.name}: ${bitmap}`, valueRange));
      continue;
    }
    const width = Math.min(addr.info.sizeBits, FIRECRACKER_VALUE_BITS);
    const widthMask = widthMaskOf(width);
    if ((bitmap.value & ~widthMask) !== 0n) {
      flag(
        ctx,
        makeFinding('IDR004', `bitmap of ${addr.info.name} sets bits above bit ${width - 1}, but the register is ${width} bits wide`, valueRange, {
          register: addr.info.name,
        }),
      );
    }
    const entry: DumpEntry = {
      reg: oneRegRef(addr.text, addr.range, addr.info),
      value: bitmap.value & widthMask,
      valueRange,
      width,
      oneRegId: addr.id,
    };
    // Digits above the register's width fix bits that do not exist; only the register's own bits count.
    const mask = bitmap.mask & widthMask;
    if (mask !== widthMask) entry.mask = mask;
    entries.push(entry);
  }
}

function readCapabilities(ctx: Ctx, v: JsonValue | undefined): string[] {
  const caps: string[] = [];
  if (v === undefined) return caps;
  if (v.kind !== 'array') {
    flag(ctx, makeFinding('IDR001', 'expected "kvm_capabilities" to be an array of strings such as "171" or "!172"', range(ctx, v.start, v.end)));
    return caps;
  }
  for (const item of v.items) {
    if (item.kind !== 'string' || !/^!?\d+$/.test(item.value)) {
      flag(ctx, makeFinding('IDR001', 'expected a KVM capability number as a string ("171"), or "!171" to remove a check', contentRange(ctx, item)));
      continue;
    }
    caps.push(item.value);
  }
  return caps;
}

function readVcpuFeatures(ctx: Ctx, v: JsonValue | undefined): FeatureEdits | undefined {
  if (v === undefined) return undefined;
  if (v.kind !== 'array') {
    flag(ctx, makeFinding('IDR001', 'expected "vcpu_features" to be an array of { "index", "bitmap" } objects', range(ctx, v.start, v.end)));
    return undefined;
  }
  if (v.items.length === 0) return undefined;
  const edits: FeatureEdits = { set: [], clear: [], range: range(ctx, v.start, v.end) };
  for (const item of v.items) {
    if (item.kind !== 'object') {
      flag(ctx, makeFinding('IDR001', 'expected a { "index": 0, "bitmap": "0b…" } object in "vcpu_features"', range(ctx, item.start, item.end)));
      continue;
    }
    const index = member(item, 'index');
    const bm = member(item, 'bitmap');
    if (!index || index.kind !== 'number' || !/^\d+$/.test(index.raw)) {
      flag(ctx, makeFinding('IDR001', 'expected "index": the word of kvm_vcpu_init.features to modify (0..6)', index ? contentRange(ctx, index) : range(ctx, item.start, item.start + 1)));
      continue;
    }
    if (!bm || bm.kind !== 'string') {
      flag(ctx, makeFinding('IDR001', 'expected "bitmap": a string of at most 32 0, 1 and x digits', bm ? contentRange(ctx, bm) : range(ctx, item.start, item.start + 1)));
      continue;
    }
    const parsed = parseBitmap(bm.value, 32);
    if (typeof parsed === 'string') {
      flag(ctx, makeFinding('IDR004', `vcpu_features bitmap: ${parsed}`, contentRange(ctx, bm)));
      continue;
    }
    // The digits are checked as text: Number() of a 400-digit index is Infinity.
    const digits = index.raw.replace(/^0+(?=\d)/, '');
    const word = digits.length <= 2 ? Number(digits) : Infinity;
    if (word > 6) {
      flag(ctx, makeFinding('IDR004', `kvm_vcpu_init has 7 feature words (index 0..6), not '${index.raw}'`, contentRange(ctx, index)));
      continue;
    }
    for (let bit = 0; bit < 32; bit++) {
      const b = 1n << BigInt(bit);
      if ((parsed.mask & b) === 0n) continue;
      const name = word === 0 ? VCPU_FEATURES[bit] : undefined;
      const label = name ?? `feature bit ${word * 32 + bit}`;
      if ((parsed.value & b) !== 0n) edits.set.push(label);
      else edits.clear.push(label);
    }
  }
  return edits;
}

/** Errors whose line already carries an IDR001 are counted once in the stats. */
function stats(ctx: Ctx): { lines: number; understood: number; skipped: number } {
  const lines = ctx.lines.lineCount;
  const skipped = Math.min(lines, ctx.badLines.size);
  return { lines, understood: lines - skipped, skipped };
}

function syntaxFindings(ctx: Ctx, errors: { start: number; end: number; message: string }[]): void {
  for (const e of errors) flag(ctx, makeFinding('IDR001', e.message, range(ctx, e.start, Math.max(e.end, e.start))));
}

const FINGERPRINT_KEYS = new Set(['firecracker_version', 'kernel_version', 'microcode_version', 'bios_version', 'bios_revision', 'guest_cpu_config']);
const TEMPLATE_KEYS = new Set(['kvm_capabilities', 'vcpu_features', 'reg_modifiers', 'cpuid_modifiers', 'msr_modifiers']);

/**
 * Parses any of Firecracker's aarch64 CPU-configuration JSON files. A fingerprint or a `template dump`
 * (every bit fixed) is a host dump; anything with `x` digits, short bitmaps, capabilities or vCPU feature
 * edits is a custom template (dump.isTemplate, entries carry their mask).
 */
export function parseFirecrackerJson(text: string, _path?: string): FormatParseResult {
  const ctx: Ctx = { text, lines: new LineIndex(text), findings: [], badLines: new Set() };
  const scan = scanJson(text);
  syntaxFindings(ctx, scan.errors);
  const root = scan.values[0];
  const entries: DumpEntry[] = [];
  const dump: RegisterDump = { entries };
  const result: FormatParseResult = { format: 'firecracker-template', events: [], dump, findings: ctx.findings, stats: { lines: 0, understood: 0, skipped: 0 } };
  if (!root || root.kind !== 'object') {
    if (root) flag(ctx, makeFinding('IDR001', 'expected a JSON object with "reg_modifiers" (a template) or "guest_cpu_config" (a fingerprint)', range(ctx, root.start, root.end)));
    result.stats = stats(ctx);
    return result;
  }
  let config: JsonValue = root;
  const gcc = memberEntry(root, 'guest_cpu_config');
  if (gcc || member(root, 'firecracker_version') !== undefined) {
    result.format = 'firecracker-fingerprint';
    const kv = member(root, 'kernel_version');
    if (kv?.kind === 'string' && kv.value.length > 0) dump.kernel = kv.value;
    for (const m of root.members) {
      if (!FINGERPRINT_KEYS.has(m.key)) continue;
      if (m.key !== 'guest_cpu_config' && m.value && m.value.kind !== 'string') {
        flag(ctx, makeFinding('IDR001', `expected "${m.key}" to be a string`, contentRange(ctx, m.value)));
      }
    }
    if (!gcc?.value || gcc.value.kind !== 'object') {
      flag(ctx, makeFinding('IDR001', 'expected "guest_cpu_config": { "kvm_capabilities", "vcpu_features", "reg_modifiers" }', range(ctx, root.start, root.start + 1)));
      result.stats = stats(ctx);
      return result;
    }
    config = gcc.value;
  }
  const cfg = config as JsonObject;
  const caps = readCapabilities(ctx, member(cfg, 'kvm_capabilities'));
  const edits = readVcpuFeatures(ctx, member(cfg, 'vcpu_features'));
  if (cfg === root && !root.members.some((m) => TEMPLATE_KEYS.has(m.key))) {
    flag(ctx, makeFinding('IDR001', 'expected a Firecracker CPU template ("reg_modifiers", "vcpu_features", "kvm_capabilities") or a fingerprint ("guest_cpu_config")', range(ctx, root.start, root.start + 1)));
  }
  readRegModifiers(ctx, member(cfg, 'reg_modifiers'), entries);
  if (edits) result.featureEdits = edits;
  // A dump fixes all 128 bits of every register; anything less is a modification of some host.
  const partial = entries.some((e) => e.mask !== undefined) || caps.length > 0 || edits !== undefined;
  if (result.format === 'firecracker-template' && partial) dump.isTemplate = true;
  if (result.format === 'firecracker-fingerprint' && partial) {
    flag(ctx, makeFinding('IDR001', 'a fingerprint fixes every bit of every register, but this one has kept (x) bits or capability/feature edits', range(ctx, cfg.start, cfg.start + 1), { severity: 'warning' }));
  }
  result.stats = stats(ctx);
  return result;
}

/**
 * The register values Firecracker writes when it applies a custom template to a host: for every template
 * entry the host lists, `new = (old & ~mask) | value` (src/vmm/src/cpu_config/templates.rs). Entries the
 * host does not list are returned in `missing` (KVM would answer -ENOENT).
 */
export function applyTemplate(template: RegisterDump, host: RegisterDump): { dump: RegisterDump; missing: DumpEntry[] } {
  const key = (e: DumpEntry): string => (e.oneRegId !== undefined ? e.oneRegId.toString(16) : e.reg.enc ? `${e.reg.enc.op0}.${e.reg.enc.op1}.${e.reg.enc.crn}.${e.reg.enc.crm}.${e.reg.enc.op2}` : e.reg.text);
  const byKey = new Map(host.entries.map((e) => [key(e), e]));
  const entries: DumpEntry[] = [];
  const missing: DumpEntry[] = [];
  for (const t of template.entries) {
    const h = byKey.get(key(t));
    if (!h) {
      missing.push(t);
      continue;
    }
    const value = t.mask === undefined ? t.value : (h.value & ~t.mask) | (t.value & t.mask);
    const { mask: _mask, ...rest } = t;
    entries.push({ ...rest, value });
  }
  const dump: RegisterDump = { entries };
  if (host.kernel !== undefined) dump.kernel = host.kernel;
  if (host.features !== undefined) dump.features = host.features;
  return { dump, missing };
}

// ---------------------------------------------------------------------------------------------
// Firecracker's log (formats.md §1.4)

/** Tokens may be split over lines and quoted (`> `) when a log is pasted into a mail or an issue. */
const GAP = String.raw`(?:[\s>]|\\n)*`;
const FAILED_SET = 'Failed to set register';
/**
 * The record up to the value, matched at each `Failed to set register` (sticky). Every GAP is followed by
 * a character it cannot match, so a failing attempt gives up in time linear in what it read.
 */
const FAILED_SET_HEAD = new RegExp(String.raw`Failed to set register${GAP}(0x[0-9a-fA-F]+|\d+)${GAP}to${GAP}value${GAP}(0x[0-9a-fA-F]+|\d+)`, 'y');
const LOG_CONTEXT_RE = /firecracker|microvm|vcpu|template|error|warn|info|debug|^\s*$|^\s*\[/i;

/** The characters of the regex class \s. */
function isSpace(c: number): boolean {
  return (
    c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff
  );
}

/** Skips a GAP: blanks, line ends, mail quoting `>` and literal `\n` escapes. */
function skipGap(text: string, p: number): number {
  for (;;) {
    const c = text.charCodeAt(p);
    if (isSpace(c) || c === 62) p++;
    else if (c === 92 && text.charCodeAt(p + 1) === 110) p += 2;
    else return p;
  }
}

/** The reason without the GAP that ends it (`Invalid argument \n` -> `Invalid argument`). */
function trimGapEnd(text: string, start: number, end: number): number {
  for (;;) {
    if (end <= start) return start;
    const c = text.charCodeAt(end - 1);
    if (isSpace(c) || c === 62) end--;
    else if (c === 110 && end - 2 >= start && text.charCodeAt(end - 2) === 92) end -= 2;
    else return end;
  }
}

interface FailedSet {
  start: number;
  end: number;
  idText: string;
  idStart: number;
  valueText: string;
  valueStart: number;
  reason: string;
  errnoText: string;
  errnoStart: number;
}

/**
 * Finds Firecracker's `Failed to set register <id> to value <value>: <reason> (os error <n>)` records,
 * tolerant of line breaks and quoting between the tokens (the reason itself is on one line). Written as
 * a scanner rather than one regex: the reason's end and what follows it are looked up once per place
 * where the reason stops, so many records cut short on one line cost linear time, not quadratic.
 */
function findFailedSets(text: string): FailedSet[] {
  const out: FailedSet[] = [];
  // Memo: a reason scanned from [scanFrom, stop) stops at `stop` from any start inside that span.
  let scanFrom = -1;
  let stop = -1;
  let tailAt = -1;
  let tail: { end: number; errnoText: string; errnoStart: number } | undefined;
  for (let i = text.indexOf(FAILED_SET); i >= 0; ) {
    FAILED_SET_HEAD.lastIndex = i;
    const h = FAILED_SET_HEAD.exec(text);
    if (!h) {
      i = text.indexOf(FAILED_SET, i + 1);
      continue;
    }
    const idText = h[1]!;
    const valueText = h[2]!;
    const valueEnd = i + h[0].length;
    const idStart = text.indexOf(idText, i + FAILED_SET.length);
    let q = skipGap(text, valueEnd);
    if (text.charCodeAt(q) === 58 /* : */) q = skipGap(text, q + 1);
    if (!(q >= scanFrom && q <= stop)) {
      scanFrom = q;
      stop = q;
      for (;;) {
        const c = text.charCodeAt(stop);
        if (stop >= text.length || c === 40 || c === 41 || c === 10) break;
        stop++;
      }
    }
    if (tailAt !== stop) {
      tailAt = stop;
      tail = undefined;
      // `(os error N)`, the GAP before it possibly crossing the line end that stopped the reason.
      let r = skipGap(text, stop);
      if (text.startsWith('(os', r)) {
        r = skipGap(text, r + 3);
        if (text.startsWith('error', r)) {
          r = skipGap(text, r + 5);
          let d = r;
          while (d < text.length && text.charCodeAt(d) >= 48 && text.charCodeAt(d) <= 57) d++;
          if (d > r && text.charCodeAt(d) === 41) tail = { end: d + 1, errnoText: text.slice(r, d), errnoStart: r };
        }
      }
    }
    if (!tail) {
      i = text.indexOf(FAILED_SET, i + 1);
      continue;
    }
    const reason = text.slice(q, trimGapEnd(text, q, stop));
    out.push({ start: i, end: tail.end, idText, idStart, valueText, valueStart: valueEnd - valueText.length, reason, errnoText: tail.errnoText, errnoStart: tail.errnoStart });
    i = text.indexOf(FAILED_SET, tail.end);
  }
  return out;
}

/** Parses a Firecracker log: each refused register write becomes a finding naming the register and KVM's answer. */
export function parseFirecrackerLog(text: string, _path?: string): FormatParseResult {
  const ctx: Ctx = { text, lines: new LineIndex(text), findings: [], badLines: new Set() };
  const proposed: ProposedWrite[] = [];
  const coveredLines = new Set<number>();
  for (const m of findFailedSets(text)) {
    const { start, end, idText, valueText, idStart, valueStart } = m;
    const whole = range(ctx, start, end);
    for (let l = whole.start.line; l <= whole.end.line; l++) coveredLines.add(l);
    // Linux error numbers are 1..4095: anything else (a 400-digit number) is reported, not turned into -Infinity.
    const errnoDigits = m.errnoText.replace(/^0+(?=\d)/, '');
    const errnoNumber = errnoDigits.length <= 4 ? Number(errnoDigits) : Infinity;
    const errno = errnoNumber >= 1 && errnoNumber <= MAX_ERRNO ? errnoName(errnoNumber) : undefined;
    if (errno === undefined) {
      flag(ctx, makeFinding('IDR004', `'${m.errnoText}' is not a Linux error number (1..${MAX_ERRNO})`, range(ctx, m.errnoStart, m.errnoStart + m.errnoText.length)));
    }
    const id = parseNumber(idText);
    const value = parseNumber(valueText);
    const idRange = range(ctx, idStart, idStart + idText.length);
    const valueRange = range(ctx, valueStart, valueStart + valueText.length);
    if (id === undefined || value === undefined || id > 0xffffffffffffffffn) {
      flag(ctx, makeFinding('IDR004', `'${idText}' / '${valueText}': expected a 64-bit one-reg id and a value`, whole));
      continue;
    }
    const info = decodeOneRegId(id);
    const answer = errno ?? 'an unknown error number';
    const reason = m.reason.trim().replace(/\s+/g, ' ') || answer;
    const name = info.name;
    flag(
      ctx,
      makeFinding(
        'IDR030',
        `KVM refused Firecracker's write of ${hex(value)} to ${name} (one-reg ${hex(id)}): ${reason} (${answer})${info.valid ? '' : `; the id itself is invalid: ${info.problem}`}`,
        whole,
        { ...(errno ? { errno } : {}), register: name },
      ),
    );
    // The write was refused either way; 'failed' when the log's error number is not one.
    proposed.push({ reg: oneRegRef(idText, idRange, info), oneRegId: id, value, valueRange, range: whole, recorded: errno ?? 'failed', what: 'Firecracker write' });
  }
  const lineCount = ctx.lines.lineCount;
  let understood = 0;
  let skipped = 0;
  for (let l = 0; l < lineCount; l++) {
    if (coveredLines.has(l)) {
      understood++;
      continue;
    }
    const t = text.slice(ctx.lines.lineStart(l), ctx.lines.lineEnd(l));
    // Other log lines are context; anything else was not recognised and is counted as skipped on purpose.
    if (LOG_CONTEXT_RE.test(t)) understood++;
    else skipped++;
  }
  return { format: 'firecracker-log', events: [], findings: ctx.findings, stats: { lines: lineCount, understood, skipped }, proposed };
}

// ---------------------------------------------------------------------------------------------
// Detection

/** Confidence that the text is Firecracker JSON, and which kind. */
export function sniffFirecrackerJson(text: string, path?: string): { fingerprint: number; template: number } {
  const head = text.slice(0, 4096);
  const trimmed = head.trimStart();
  const jsonish = trimmed.startsWith('{');
  const byName = path !== undefined && /\.json$/i.test(path);
  let fingerprint = 0;
  let template = 0;
  if (jsonish && (head.includes('"guest_cpu_config"') || head.includes('"firecracker_version"'))) fingerprint = 0.95;
  else if (jsonish && /"(reg_modifiers|vcpu_features|kvm_capabilities)"\s*:/.test(head)) template = 0.95;
  else if (byName && /fingerprint/i.test(path!)) fingerprint = 0.4;
  else if (byName && /(cpu[_-]?template|cpu[_-]?config|template)/i.test(path!)) template = 0.4;
  return { fingerprint, template };
}

export function sniffFirecrackerLog(text: string, path?: string): number {
  const head = text.length > 65536 ? text.slice(0, 65536) : text;
  if (/Failed to set register\s/.test(head)) return 0.9;
  if (/Error applying template|Start microvm error|Error configuring the vcpu/.test(head)) return 0.8;
  if (path !== undefined && /firecracker.*\.log$/i.test(path)) return 0.4;
  return 0;
}

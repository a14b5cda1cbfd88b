// Firecracker's aarch64 CPU configuration files (formats.md §1): `fingerprint dump` and `template dump`
// output of cpu-template-helper (host dumps: every register KVM lists, as a fully fixed bitmap), custom
// CPU templates written by users (modifications: `x` keeps the host's bit), and the error line
// Firecracker logs when KVM refuses one of those writes.
import { appendAll, makeFinding, type Finding, type Range } from '../findings.ts';
import { decodeOneRegId, parseNumber, type OneRegInfo } from '../encoding/forms.ts';
import { VCPU_FEATURES } from '../data/kvm-policy.ts';
import type { DumpEntry, RegRef, RegisterDump } from '../model/events.ts';
import { JsonStream, LineIndex, ownString } from './json-scan.ts';
import type { StreamNeeds, StreamParser } from './types.ts';
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
  // The common case, a dump's plain 0/1 bitmap: one BigInt parse, and the mask of all its digits.
  if (body.length > 0 && body.length <= maxBits && PLAIN_BITS.test(body)) return { value: BigInt('0b' + body), mask: widthMaskOf(body.length), digits: body.length };
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

const PLAIN_BITS = /^[01]+$/;

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

const FINGERPRINT_KEYS = new Set(['firecracker_version', 'kernel_version', 'microcode_version', 'bios_version', 'bios_revision', 'guest_cpu_config']);
const TEMPLATE_KEYS = new Set(['kvm_capabilities', 'vcpu_features', 'reg_modifiers', 'cpuid_modifiers', 'msr_modifiers']);

/** A `addr` text read once: its id, decode and width, shared by every entry that writes it. */
interface AddrRec {
  /** Its place in FirecrackerJsonStream.addrList (what an EntryStore keeps per entry). */
  readonly index: number;
  readonly text: string;
  readonly id: bigint;
  readonly info: OneRegInfo;
  readonly width: number;
  readonly widthMask: bigint;
}

/** Where an entry's addr and bitmap contents lie, when they do not fit FirecrackerEntry.k (long lines, far apart). */
interface EntrySpan {
  readonly al: number;
  readonly ac: number;
  readonly ae: number;
  readonly vc: number;
  readonly ve: number;
}

/**
 * A reg_modifiers entry. A template may hold hundreds of thousands, so an entry keeps a few numbers and a
 * shared record of its `addr` (values are shared too, see FirecrackerJsonStream.values); its RegRef and
 * ranges are made when asked for (getters on the prototype, not per-entry closures). Both ranges lie on one
 * line each, since no JSON string or number crosses a line end: the bitmap's line is `l`, and `k` packs the
 * lines back to the addr (4 bits) and the columns (addr start 10 bits, addr length 8, bitmap start 9; a Smi) while
 * `n` is the bitmap's length; anything larger keeps an EntrySpan in `k`.
 */
class FirecrackerEntry implements DumpEntry {
  constructor(
    public value: bigint,
    private readonly a: AddrRec,
    private readonly l: number,
    private readonly k: number | EntrySpan,
    private readonly n: number,
  ) {}

  get reg(): RegRef {
    const k = this.k;
    let line: number;
    let start: number;
    let end: number;
    if (typeof k === 'number') {
      line = this.l - (k & 15);
      start = (k >>> 4) & 1023;
      end = start + ((k >>> 14) & 255);
    } else {
      line = k.al;
      start = k.ac;
      end = k.ae;
    }
    return oneRegRef(this.a.text, { start: { line, character: start }, end: { line, character: end } }, this.a.info);
  }

  get valueRange(): Range {
    const k = this.k;
    const start = typeof k === 'number' ? (k >>> 22) & 1023 : k.vc;
    const end = typeof k === 'number' ? start + this.n : k.ve;
    return { start: { line: this.l, character: start }, end: { line: this.l, character: end } };
  }

  /** Bits the template fixes, when not all of the register's (MaskedFirecrackerEntry). */
  get mask(): bigint | undefined {
    return undefined;
  }

  get width(): number {
    return this.a.width;
  }

  get oneRegId(): bigint {
    return this.a.id;
  }
}

class MaskedFirecrackerEntry extends FirecrackerEntry {
  constructor(value: bigint, a: AddrRec, l: number, k: number | EntrySpan, n: number, private readonly m: bigint) {
    super(value, a, l, k, n);
  }

  override get mask(): bigint {
    return this.m;
  }
}

/** How many entries an EntryStore chunk holds (4 numbers each: 64 KiB per chunk, so no chunk is ever copied to grow). */
const CHUNK_ENTRIES = 4096;

/**
 * The reg_modifiers entries of one configuration: addr, lines and columns as numbers outside the JS heap
 * (packed as FirecrackerEntry.k packs them), values and masks beside them. DumpEntry objects (78 bytes
 * each: 16 MB for 200k entries) are made only when someone reads dump.entries, which a check without a
 * host never does.
 */
class EntryStore {
  private readonly chunks: Int32Array[] = [];
  private readonly values: bigint[] = [];
  private readonly masks = new Map<number, bigint>();
  private readonly spans: EntrySpan[] = [];
  length = 0;

  push(value: bigint, mask: bigint | undefined, a: AddrRec, al: number, ac: number, ae: number, vl: number, vc: number, ve: number): void {
    const i = this.length++;
    const at = (i % CHUNK_ENTRIES) * 4;
    if (at === 0) this.chunks.push(new Int32Array(CHUNK_ENTRIES * 4));
    const chunk = this.chunks[this.chunks.length - 1]!;
    const d = vl - al;
    let k: number;
    let n = 0;
    if (d >= 0 && d < 16 && ac < 1024 && ae - ac < 256 && vc < 512 && ae >= ac && ve >= vc) {
      k = d + ac * 16 + (ae - ac) * 16384 + vc * 4194304;
      n = ve - vc;
    } else {
      k = -1 - this.spans.length;
      this.spans.push({ al, ac, ae, vc, ve });
    }
    chunk[at] = a.index;
    chunk[at + 1] = vl;
    chunk[at + 2] = k;
    chunk[at + 3] = n;
    this.values.push(value);
    if (mask !== undefined) this.masks.set(i, mask);
  }

  entries(addrs: readonly AddrRec[]): DumpEntry[] {
    const out: DumpEntry[] = new Array(this.length);
    for (let i = 0; i < this.length; i++) {
      const chunk = this.chunks[Math.floor(i / CHUNK_ENTRIES)]!;
      const at = (i % CHUNK_ENTRIES) * 4;
      const packed = chunk[at + 2]!;
      const k = packed >= 0 ? packed : this.spans[-1 - packed]!;
      const a = addrs[chunk[at]!]!;
      const mask = this.masks.get(i);
      const value = this.values[i]!;
      out[i] = mask === undefined ? new FirecrackerEntry(value, a, chunk[at + 1]!, k, chunk[at + 3]!) : new MaskedFirecrackerEntry(value, a, chunk[at + 1]!, k, chunk[at + 3]!, mask);
    }
    return out;
  }
}

/** dump.entries, made from the store the first time it is read (and then an ordinary property). */
function defineEntries(dump: RegisterDump, make: () => DumpEntry[]): void {
  const settle = (entries: DumpEntry[]): DumpEntry[] => {
    Object.defineProperty(dump, 'entries', { value: entries, writable: true, enumerable: true, configurable: true });
    return entries;
  };
  Object.defineProperty(dump, 'entries', { get: () => settle(make()), set: settle, enumerable: true, configurable: true });
}

const KIND_OBJECT = 0;
const KIND_ARRAY = 1;
const KIND_STRING = 2;
const KIND_NUMBER = 3;
const KIND_LITERAL = 4;

/** A value as the checks need it: its kind, where it starts and ends, and a string's content (a number's text). */
class Val {
  /** Line and character of the start and the end; for strings cs/ce are the content's characters on line sl. */
  sl = 0;
  sc = 0;
  el = 0;
  ec = 0;
  cs = 0;
  ce = 0;
  text = '';
  constructor(public kind: number) {}
}

/** What the document's structure makes of an open object or array. */
const R_IGNORE = 0;
const R_ROOT = 1;
const R_GCC = 2;
const R_CAPS = 3;
const R_VCPU = 4;
const R_REGS = 5;
const R_ITEM = 6;

/** What the value of the member being read counts as (bits; a root member can be several). */
const S_FP = 1;
const S_FV = 2;
const S_KV = 4;
const S_GCC = 8;
const S_CAPS = 16;
const S_VCPU = 32;
const S_REGS = 64;
const S_ADDR = 128;
const S_BITMAP = 256;
const S_INDEX = 512;

class Frame extends Val {
  /** Slots of the current member's value (objects), S_*. */
  slot = 0;
  /** The current member name (root object: for its messages). */
  key = '';
  /** Values read (arrays). */
  count = 0;
  /** Item objects: which of addr/bitmap/index were seen (the first of each counts), and their values. */
  seen = 0;
  a: Val | undefined = undefined;
  b: Val | undefined = undefined;
  i: Val | undefined = undefined;
  constructor(
    kind: number,
    public role: number,
    public cand: Candidate | undefined,
    /** Whether the parent needs this value's position. */
    public located: boolean,
  ) {
    super(kind);
  }
}

/** A configuration's members: the root's (a template) or guest_cpu_config's (a fingerprint). */
class Candidate {
  /** Members seen (the first of each name counts, as scanJson's `member` finds it). */
  seen = 0;
  caps = 0;
  capsFindings: Finding[] = [];
  vcpuFindings: Finding[] = [];
  edits: FeatureEdits | undefined = undefined;
  regFindings: Finding[] = [];
  readonly entries = new EntryStore();
  masked = false;
}

function rangeOf(v: Val): Range {
  return { start: { line: v.sl, character: v.sc }, end: { line: v.el, character: v.ec } };
}

function contentRangeOf(v: Val): Range {
  return v.kind === KIND_STRING ? { start: { line: v.sl, character: v.cs }, end: { line: v.sl, character: v.ce } } : rangeOf(v);
}

/** range(start, start + 1): the first character of a value (never a line end). */
function firstCharOf(v: Val): Range {
  return { start: { line: v.sl, character: v.sc }, end: { line: v.sl, character: v.sc + 1 } };
}

/**
 * Reads Firecracker's aarch64 CPU-configuration JSON fed in pieces (a StreamParser): a JsonStream reports
 * the values, and only the paths the checks read are kept (the root's members, guest_cpu_config,
 * kvm_capabilities, vcpu_features, reg_modifiers and their items); each reg_modifiers item becomes a
 * DumpEntry as soon as it ends. Which configuration counts (the root, or guest_cpu_config in a
 * fingerprint) is known at the end only, so both are read and one is kept.
 */
export class FirecrackerJsonStream implements StreamParser {
  private readonly json: JsonStream;
  private readonly stack: Frame[] = [];
  private root: Val | undefined;
  private readonly syntax: Finding[] = [];
  private readonly fpFindings: Finding[] = [];
  private gccSeen = false;
  private gcc: Val | undefined;
  private fvSeen = false;
  private fvValue = false;
  private kvSeen = false;
  private kernel: string | undefined;
  private templateKey = false;
  private readonly cands = [new Candidate(), new Candidate()] as const;
  /**
   * `addr` text → its parsed id and decode (null when not a 64-bit number). A template repeats a few dozen
   * addresses over up to hundreds of thousands of entries, and each decode costs microseconds of BigInt work;
   * the findings are still made per entry, since their ranges differ.
   */
  private readonly addrs = new Map<string, AddrRec | null>();
  private readonly addrList: AddrRec[] = [];
  /**
   * Entry values by value (a Map compares BigInts by value): a template repeats the same few values, and a
   * BigInt per entry would be a third of its size.
   */
  private readonly values = new Map<bigint, bigint>();

  private shared(v: bigint): bigint {
    const known = this.values.get(v);
    if (known !== undefined) return known;
    if (this.values.size >= 65536) this.values.clear();
    this.values.set(v, v);
    return v;
  }

  constructor(private readonly needs: StreamNeeds = { dumpEntries: true }) {
    this.json = new JsonStream({
      begin: (isObject, start) => this.begin(isObject, start),
      key: (key) => this.key(key),
      leaf: (kind, start, end, value, cs, ce) => this.leaf(kind, start, end, value, cs, ce),
      end: (end) => this.end(end),
      error: (range, message) => this.syntax.push(makeFinding('IDR001', message, range)),
    });
  }

  feed(text: string, _firstLine: number, final: boolean): { consumed: number; nextLine: number } {
    this.json.feed(text, final);
    return { consumed: text.length, nextLine: this.json.nextLine };
  }

  private begin(isObject: boolean, start: number): void {
    const parent = this.stack[this.stack.length - 1];
    let role = R_IGNORE;
    let cand: Candidate | undefined;
    let located = true;
    if (parent === undefined) role = isObject ? R_ROOT : R_IGNORE;
    else {
      const pr = parent.role;
      const slot = parent.slot;
      if (pr === R_ROOT || pr === R_GCC) {
        located = slot !== 0;
        const c = this.cands[pr === R_ROOT ? 0 : 1];
        if (slot & S_GCC && isObject) role = R_GCC;
        else if (!isObject && slot & (S_CAPS | S_VCPU | S_REGS)) {
          role = slot & S_CAPS ? R_CAPS : slot & S_VCPU ? R_VCPU : R_REGS;
          cand = c;
        }
      } else if (pr === R_VCPU || pr === R_REGS) {
        if (isObject) role = R_ITEM;
        cand = parent.cand;
      } else if (pr === R_CAPS) {
        cand = parent.cand;
      } else if (pr === R_ITEM) {
        located = slot !== 0;
      } else located = false;
    }
    const f = new Frame(isObject ? KIND_OBJECT : KIND_ARRAY, role, cand, located);
    if (located) {
      f.sl = this.json.lineAt(start);
      f.sc = this.json.characterAt(start);
    }
    this.stack.push(f);
  }

  private key(key: string): void {
    const f = this.stack[this.stack.length - 1]!;
    let slot = 0;
    switch (f.role) {
      case R_ROOT: {
        f.key = key;
        if (FINGERPRINT_KEYS.has(key)) {
          if (key === 'guest_cpu_config') {
            if (!this.gccSeen) slot |= S_GCC;
            this.gccSeen = true;
          } else slot |= S_FP;
          if (key === 'firecracker_version' && !this.fvSeen) {
            this.fvSeen = true;
            slot |= S_FV;
          }
          if (key === 'kernel_version' && !this.kvSeen) {
            this.kvSeen = true;
            slot |= S_KV;
          }
        }
        if (TEMPLATE_KEYS.has(key)) this.templateKey = true;
        slot |= this.configSlot(this.cands[0], key);
        break;
      }
      case R_GCC:
        slot = this.configSlot(this.cands[1], key);
        break;
      case R_ITEM: {
        const s = key === 'addr' ? S_ADDR : key === 'bitmap' ? S_BITMAP : key === 'index' ? S_INDEX : 0;
        if (s !== 0 && (f.seen & s) === 0) {
          f.seen |= s;
          slot = s;
        }
        break;
      }
      default:
        break;
    }
    f.slot = slot;
  }

  private configSlot(c: Candidate, key: string): number {
    const s = key === 'kvm_capabilities' ? S_CAPS : key === 'vcpu_features' ? S_VCPU : key === 'reg_modifiers' ? S_REGS : 0;
    if (s === 0 || (c.seen & s) !== 0) return 0;
    c.seen |= s;
    return s;
  }

  private leaf(kind: 'string' | 'number' | 'literal', start: number, end: number, value: string | boolean | null, cs: number, ce: number): void {
    const parent = this.stack[this.stack.length - 1];
    if (parent !== undefined) {
      const pr = parent.role;
      if (pr === R_IGNORE) return;
      if ((pr === R_ROOT || pr === R_GCC || pr === R_ITEM) && parent.slot === 0) return;
    }
    const v = new Val(kind === 'string' ? KIND_STRING : kind === 'number' ? KIND_NUMBER : KIND_LITERAL);
    const j = this.json;
    // A leaf lies on one line.
    v.sl = v.el = j.lineAt(start);
    v.sc = j.characterAt(start);
    v.ec = j.characterAt(end);
    if (kind === 'string') {
      v.text = value as string;
      v.cs = j.characterAt(cs);
      v.ce = j.characterAt(ce);
    } else if (kind === 'number') v.text = value as string;
    this.deliver(parent, v);
  }

  private end(end: number): void {
    const f = this.stack.pop()!;
    if (f.located) {
      f.el = this.json.lineAt(end);
      f.ec = this.json.characterAt(end);
    }
    const parent = this.stack[this.stack.length - 1];
    if (parent === undefined || parent.role !== R_IGNORE) this.deliver(parent, f);
  }

  /** A value of `parent` (an item, or the value of its current member) is complete. */
  private deliver(parent: Frame | undefined, v: Val): void {
    if (parent === undefined) {
      this.root = v;
      return;
    }
    switch (parent.role) {
      case R_ROOT: {
        const s = parent.slot;
        if (s & S_FP && v.kind !== KIND_STRING) {
          this.fpFindings.push(makeFinding('IDR001', `expected "${parent.key}" to be a string`, contentRangeOf(v)));
        }
        if (s & S_GCC) this.gcc = v;
        if (s & S_FV) this.fvValue = true;
        if (s & S_KV && v.kind === KIND_STRING && v.text.length > 0) this.kernel = ownString(v.text);
        if (s & (S_CAPS | S_VCPU | S_REGS)) this.configValue(this.cands[0], s, v);
        break;
      }
      case R_GCC:
        if (parent.slot !== 0) this.configValue(this.cands[1], parent.slot, v);
        break;
      case R_CAPS: {
        parent.count++;
        if (v.kind !== KIND_STRING || !/^!?\d+$/.test(v.text)) {
          parent.cand!.capsFindings.push(makeFinding('IDR001', 'expected a KVM capability number as a string ("171"), or "!171" to remove a check', contentRangeOf(v)));
        } else parent.cand!.caps++;
        break;
      }
      case R_VCPU:
        parent.count++;
        this.vcpuItem(parent.cand!, v);
        break;
      case R_REGS:
        parent.count++;
        this.regItem(parent.cand!, v);
        break;
      case R_ITEM: {
        const s = parent.slot;
        if (s === S_ADDR) parent.a = v;
        else if (s === S_BITMAP) parent.b = v;
        else if (s === S_INDEX) parent.i = v;
        break;
      }
      default:
        break;
    }
  }

  /** The value of a configuration's kvm_capabilities, vcpu_features or reg_modifiers (the first of each). */
  private configValue(c: Candidate, slot: number, v: Val): void {
    if (slot & S_CAPS && v.kind !== KIND_ARRAY) {
      c.capsFindings.push(makeFinding('IDR001', 'expected "kvm_capabilities" to be an array of strings such as "171" or "!172"', rangeOf(v)));
    }
    if (slot & S_VCPU) {
      if (v.kind !== KIND_ARRAY) c.vcpuFindings.push(makeFinding('IDR001', 'expected "vcpu_features" to be an array of { "index", "bitmap" } objects', rangeOf(v)));
      else if (c.edits) c.edits.range = rangeOf(v);
    }
    if (slot & S_REGS && v.kind !== KIND_ARRAY) {
      c.regFindings.push(makeFinding('IDR001', 'expected "reg_modifiers" to be an array of { "addr", "bitmap" } objects', rangeOf(v)));
    }
  }

  private vcpuItem(c: Candidate, item: Val): void {
    const edits = (c.edits ??= { set: [], clear: [], range: ZERO_RANGE });
    const flag = (f: Finding): void => void c.vcpuFindings.push(f);
    if (item.kind !== KIND_OBJECT) {
      flag(makeFinding('IDR001', 'expected a { "index": 0, "bitmap": "0b…" } object in "vcpu_features"', rangeOf(item)));
      return;
    }
    const { i: index, b: bm } = item as Frame;
    if (!index || index.kind !== KIND_NUMBER || !/^\d+$/.test(index.text)) {
      flag(makeFinding('IDR001', 'expected "index": the word of kvm_vcpu_init.features to modify (0..6)', index ? contentRangeOf(index) : firstCharOf(item)));
      return;
    }
    if (!bm || bm.kind !== KIND_STRING) {
      flag(makeFinding('IDR001', 'expected "bitmap": a string of at most 32 0, 1 and x digits', bm ? contentRangeOf(bm) : firstCharOf(item)));
      return;
    }
    const parsed = parseBitmap(bm.text, 32);
    if (typeof parsed === 'string') {
      flag(makeFinding('IDR004', `vcpu_features bitmap: ${parsed}`, contentRangeOf(bm)));
      return;
    }
    // The digits are checked as text: Number() of a 400-digit index is Infinity.
    const digits = index.text.replace(/^0+(?=\d)/, '');
    const word = digits.length <= 2 ? Number(digits) : Infinity;
    if (word > 6) {
      flag(makeFinding('IDR004', `kvm_vcpu_init has 7 feature words (index 0..6), not '${index.text}'`, contentRangeOf(index)));
      return;
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

  /** `addr` as Firecracker's templates_serde accepts it: a string in 0x/0b/decimal, or (leniently) a JSON number. */
  private readAddr(c: Candidate, v: Val | undefined, item: Val): AddrRec | undefined {
    if (!v) {
      c.regFindings.push(makeFinding('IDR001', 'expected "addr": the KVM one-reg id of the register, e.g. "0x603000000013c020"', firstCharOf(item)));
      return undefined;
    }
    if (v.kind !== KIND_STRING && v.kind !== KIND_NUMBER) {
      c.regFindings.push(makeFinding('IDR001', 'expected "addr" to be a string holding a KVM one-reg id (0x…, 0b… or decimal)', contentRangeOf(v)));
      return undefined;
    }
    const text = v.text;
    let known = this.addrs.get(text);
    if (known === undefined) {
      const parsed = parseNumber(text);
      if (parsed === undefined || parsed > 0xffffffffffffffffn) known = null;
      else {
        const info = decodeOneRegId(parsed);
        const width = Math.min(info.sizeBits, FIRECRACKER_VALUE_BITS);
        known = { index: this.addrList.length, text: ownString(text), id: parsed, info, width, widthMask: widthMaskOf(width) };
        this.addrList.push(known);
      }
      this.addrs.set(known ? known.text : ownString(text), known);
    }
    if (known === null) {
      c.regFindings.push(makeFinding('IDR004', `'${text}' is not a 64-bit KVM one-reg id (write 0x…, 0b… or decimal)`, contentRangeOf(v)));
      return undefined;
    }
    if (!known.info.valid) {
      c.regFindings.push(makeFinding('IDR002', `${hex(known.id)} is not a register KVM would accept: ${known.info.problem ?? 'unknown id'}`, contentRangeOf(v)));
    }
    return known;
  }

  private regItem(c: Candidate, item: Val): void {
    if (item.kind !== KIND_OBJECT) {
      c.regFindings.push(makeFinding('IDR001', 'expected a { "addr": …, "bitmap": … } object in "reg_modifiers"', rangeOf(item)));
      return;
    }
    const { a, b: bm } = item as Frame;
    const addr = this.readAddr(c, a, item);
    if (!bm || bm.kind !== KIND_STRING) {
      c.regFindings.push(makeFinding('IDR001', 'expected "bitmap": a string of 0, 1 and x digits (e.g. "0bxxxx0000xxxx")', bm ? contentRangeOf(bm) : firstCharOf(item)));
      return;
    }
    if (!addr) return;
    const bitmap = parseBitmap(bm.text);
    if (typeof bitmap === 'string') {
      c.regFindings.push(makeFinding('IDR004', `bitmap of ${addr.info.name}: ${bitmap}`, contentRangeOf(bm)));
      return;
    }
    const { width, widthMask } = addr;
    if (bitmap.value > widthMask) {
      c.regFindings.push(
        makeFinding('IDR004', `bitmap of ${addr.info.name} sets bits above bit ${width - 1}, but the register is ${width} bits wide`, contentRangeOf(bm), {
          register: addr.info.name,
        }),
      );
    }
    // Digits above the register's width fix bits that do not exist; only the register's own bits count.
    const mask = bitmap.mask === widthMask ? widthMask : bitmap.mask & widthMask;
    const partial = mask !== widthMask;
    if (partial) c.masked = true;
    // addr is a one-line string or number: its content range is (line, start, end) on the line it starts.
    const ac = a!.kind === KIND_STRING ? a!.cs : a!.sc;
    const ae = a!.kind === KIND_STRING ? a!.ce : a!.ec;
    if (this.needs.dumpEntries) c.entries.push(this.shared(bitmap.value > widthMask ? bitmap.value & widthMask : bitmap.value), partial ? mask : undefined, addr, a!.sl, ac, ae, bm.sl, bm.cs, bm.ce);
  }

  finish(): FormatParseResult {
    const findings: Finding[] = this.syntax;
    const entries: DumpEntry[] = [];
    const dump: RegisterDump = { entries };
    const result: FormatParseResult = { format: 'firecracker-template', events: [], dump, findings, stats: { lines: 0, understood: 0, skipped: 0 } };
    const root = this.root;
    const done = (): FormatParseResult => {
      result.stats = this.stats(findings);
      return result;
    };
    if (!root || root.kind !== KIND_OBJECT) {
      if (root) findings.push(makeFinding('IDR001', 'expected a JSON object with "reg_modifiers" (a template) or "guest_cpu_config" (a fingerprint)', rangeOf(root)));
      return done();
    }
    let cfg: Val = root;
    const fingerprint = this.gccSeen || this.fvValue;
    if (fingerprint) {
      result.format = 'firecracker-fingerprint';
      if (this.kernel !== undefined) dump.kernel = this.kernel;
      appendAll(findings, this.fpFindings);
      if (!this.gcc || this.gcc.kind !== KIND_OBJECT) {
        findings.push(makeFinding('IDR001', 'expected "guest_cpu_config": { "kvm_capabilities", "vcpu_features", "reg_modifiers" }', firstCharOf(root)));
        return done();
      }
      cfg = this.gcc;
    }
    const c = this.cands[fingerprint ? 1 : 0];
    appendAll(findings, c.capsFindings);
    appendAll(findings, c.vcpuFindings);
    if (!fingerprint && !this.templateKey) {
      findings.push(makeFinding('IDR001', 'expected a Firecracker CPU template ("reg_modifiers", "vcpu_features", "kvm_capabilities") or a fingerprint ("guest_cpu_config")', firstCharOf(root)));
    }
    appendAll(findings, c.regFindings);
    const store = c.entries;
    const addrs = this.addrList;
    if (store.length > 0) defineEntries(dump, () => store.entries(addrs));
    if (c.edits) result.featureEdits = c.edits;
    // A dump fixes all 128 bits of every register; anything less is a modification of some host.
    const partial = c.masked || c.caps > 0 || c.edits !== undefined;
    if (result.format === 'firecracker-template' && partial) dump.isTemplate = true;
    if (result.format === 'firecracker-fingerprint' && partial) {
      findings.push(makeFinding('IDR001', 'a fingerprint fixes every bit of every register, but this one has kept (x) bits or capability/feature edits', firstCharOf(cfg), { severity: 'warning' }));
    }
    return done();
  }

  /** Lines with an IDR001 are counted once as skipped (the union of their ranges' lines). */
  private stats(findings: Finding[]): { lines: number; understood: number; skipped: number } {
    const lines = this.json.lineCount;
    const spans: [number, number][] = [];
    for (const f of findings) {
      if (f.code !== 'IDR001') continue;
      const { start, end } = f.range;
      // A range that ends at the start of a line (after a line end) does not touch that line.
      spans.push([start.line, end.line > start.line && end.character === 0 ? end.line - 1 : end.line]);
    }
    spans.sort((x, y) => x[0] - y[0]);
    let bad = 0;
    let upTo = -1;
    for (const [a, b] of spans) {
      const from = Math.max(a, upTo + 1);
      if (b >= from) bad += b - from + 1;
      if (b > upTo) upTo = b;
    }
    const skipped = Math.min(lines, bad);
    return { lines, understood: lines - skipped, skipped };
  }
}

const ZERO_RANGE: Range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

/**
 * Parses any of Firecracker's aarch64 CPU-configuration JSON files. A fingerprint or a `template dump`
 * (every bit fixed) is a host dump; anything with `x` digits, short bitmaps, capabilities or vCPU feature
 * edits is a custom template (dump.isTemplate, entries carry their mask). The whole text is one final piece
 * of FirecrackerJsonStream.
 */
export function parseFirecrackerJson(text: string, _path?: string): FormatParseResult {
  const s = new FirecrackerJsonStream();
  s.feed(text, 0, true);
  return s.finish();
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
    // Read by property: a parsed entry's reg and ranges are getters, which a spread would not copy.
    const e: DumpEntry = { reg: t.reg, value, valueRange: t.valueRange };
    if (t.width !== undefined) e.width = t.width;
    if (t.oneRegId !== undefined) e.oneRegId = t.oneRegId;
    entries.push(e);
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

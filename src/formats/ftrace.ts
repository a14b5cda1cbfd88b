// Linux KVM tracepoints on arm64 as ftrace (/sys/kernel/tracing/trace), `trace-cmd report` and
// `perf script` print them (formats.md §2, kvm-model.md §5):
//
//        CPU 0/KVM-4321    [002] d..1.  1234.567890: kvm_exit: TRAP: HSR_EC: 0x0018 (SYS64), PC: 0xffff800080a1b2c4
//        CPU 0/KVM-4321    [002] d..1.  1234.567891: kvm_handle_sys_reg: HSR 0x62300009
//        CPU 0/KVM-4321    [002] d..1.  1234.567892: kvm_sys_access: PC: ffff800080a1b2c4 SYS_ID_AA64PFR0_EL1 (3,0,0,4,0) read
//        CPU 0/KVM-4321    [002] d..1.  1234.567893: kvm_entry: PC: 0xffff800080a1b2c4
//
// Every kvm_sys_access becomes a guest read or write of its vCPU (from the comm `CPU n/KVM`, `kvm-vcpu-n`,
// `fc_vcpu n`, else by pid in order of first appearance). The access is cross-checked with the ESR of the
// kvm_handle_sys_reg before it (IDR003 when they name different registers or directions), with the PC of
// the kvm_exit that trapped it, and the kvm_entry after it must resume at that PC (kvm-model.md §0.1 item 7;
// +4 is accepted for old kernels that advanced the PC before the tracepoint).
//
// Speed and memory (performance.md §3-§5): one pass over the text with indexOf/startsWith, charCodeAt only
// inside short numeric fields, no per-line objects for lines that produce nothing, register names checked
// against a per-encoding cache without slicing. A trapped ID read repeats thousands of times, so by default
// only the first read of a register per vCPU (and every read whose recorded value changes, and every write)
// becomes an event; `accesses` indexes every access compactly for references and views.
import { makeFinding, type Finding, type Position, type Range } from '../findings.ts';
import { EC_SYS64, registerName, resolveRegister, tupleForm } from '../encoding/forms.ts';
import { encodingKey, keyToEncoding, type Encoding, type GuestReadEvent, type GuestWriteEvent, type RegRef, type TraceEvent } from '../model/events.ts';
import type { FormatParseResult } from './detect.ts';
import type { LineChange, LineSource, ParseResult, StreamParser } from './types.ts';

/** Every kvm_sys_access of the trace, struct-of-arrays (about 10 bytes per access). */
export interface AccessIndex {
  count: number;
  /** 0-based line of the record. */
  line: Uint32Array;
  /** encodingKey of the register. */
  key: Uint16Array;
  vcpu: Uint16Array;
  /** ACCESS_WRITE | ACCESS_VALUE | ACCESS_EVENT. */
  flags: Uint8Array;
}

export const ACCESS_WRITE = 1;
/** The record carried the value read or written (the 2025 kvm_sys_access patch). */
export const ACCESS_VALUE = 2;
/** The access is also in `events`. */
export const ACCESS_EVENT = 4;

export interface FtraceOptions {
  /** Emit an event for every access of every register, not only the first ID-register read per vCPU. */
  allAccesses?: boolean;
  /** Lines per re-parse segment (tests use small ones to cross many segment boundaries). */
  segmentLines?: number;
}

export interface FtraceParseResult extends FormatParseResult {
  accesses: AccessIndex;
  /** vCPU number → how it was identified ('comm CPU 0/KVM', 'pid 4321'). */
  vcpus: { vcpu: number; pid: number; comm: string; how: 'comm' | 'pid' }[];
}

/** Widths of op0, op1, CRn, CRm, op2 in the packed encoding key. */
const TUPLE_BITS = [2, 3, 4, 4, 3];

/** Slots of the feature-ID space per vCPU: op1 ∈ {0,1,3} × CRm 0..7 × op2 0..7. */
const ID_SLOTS = 192;

/**
 * A skip-ahead cache's "not in the rest of the text": past any string's end, and a constant, not the text's
 * length, whose load the JIT would only meet near the end of a block, after compiling the loop.
 */
const NOWHERE = 0x7fffffff;

const EV_OTHER = 0;
const EV_EXIT = 1;
const EV_ENTRY = 2;
const EV_HANDLE = 3;
const EV_ACCESS = 4;

// What a line is to the line loop.
const LINE_RECORD = 0;
/** A comment, blank or preamble line: it ends the record before it. */
const LINE_ENDS_RECORD = 1;
/** A line that is no record after a record: a mail client may have wrapped that record. */
const LINE_CONTINUES = 2;
const LINE_NOT_RECORD = 3;

const EXPECT_EXIT = 'kvm_exit: expected `TRAP: HSR_EC: 0x0018 (SYS64), PC: 0x…`';
const EXPECT_ENTRY = 'kvm_entry: expected `PC: 0x…`';
const EXPECT_HANDLE = 'kvm_handle_sys_reg: expected `HSR 0x…` (the ESR in hex)';
const EXPECT_ACCESS = 'kvm_sys_access: expected `PC: <hex> <name> (op0,op1,crn,crm,op2) read|write [value]`';
const EXPECT_RECORD = 'expected an ftrace record `<comm>-<pid> [<cpu>] <flags> <seconds>: <event>: <text>`';

/**
 * Hex digit value by char code (-1 for non-digits), over every UTF-16 code unit so that a lookup needs no
 * range test: one load per digit of the three PCs of every trap.
 */
const HEX_VAL = (() => {
  const t = new Int8Array(65536).fill(-1);
  for (let c = 0; c < 128; c++) {
    if (c >= 48 && c <= 57) t[c] = c - 48;
    else if ((c | 32) >= 97 && (c | 32) <= 102) t[c] = (c | 32) - 87;
  }
  return t;
})();

/** The char codes of a literal that `at` looks for. */
function lit(text: string): Int32Array {
  const codes = new Int32Array(text.length);
  for (let k = 0; k < text.length; k++) codes[k] = text.charCodeAt(k);
  return codes;
}

/**
 * Whether the literal occurs in s at i: a charCodeAt loop the JIT inlines, cheaper than a startsWith builtin
 * call for the short literals tested on every record. The literal comes as char codes, because comparing
 * with a string would load a character of each string per position (about 1.5x the time).
 */
function at(s: string, i: number, codes: Int32Array): boolean {
  const n = codes.length;
  if (i + n > s.length) return false;
  for (let k = 0; k < n; k++) if (s.charCodeAt(i + k) !== codes[k]) return false;
  return true;
}

const LIT_SYS_ACCESS = lit('sys_access:');
const LIT_EXIT = lit('exit:');
const LIT_ENTRY = lit('entry:');
const LIT_HANDLE = lit('handle_sys_reg:');
const LIT_PC = lit('PC: ');
const LIT_HSR = lit('HSR ');
const LIT_READ = lit('read');
const LIT_WRITE = lit('write');

/**
 * `trace-cmd report -l`: `comm-pid  cpu flags secs:`; the pid is the first `-digits ` token. The offset of its
 * last digit, or -1. (Apart from commPid, which then stays small enough for the JIT to inline.)
 */
function lastPidDigit(s: string, ls: number, tsStart: number): number {
  for (let d = s.indexOf('-', ls); d >= 0 && d < tsStart; d = s.indexOf('-', d + 1)) {
    let e = d + 1;
    while (e < tsStart && isDigit(s.charCodeAt(e))) e++;
    if (e > d + 1 && s.charCodeAt(e) === 32) return e - 1;
  }
  return -1;
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

/** One segment of a record that a mail client wrapped over several lines. */
interface Segment {
  line: number;
  /** Offset of the segment in the joined string. */
  at: number;
  length: number;
  /** Characters trimmed from the start of the source line. */
  lead: number;
}

/** A range kept as numbers, so the exits and ESRs of a million-line trace allocate nothing. */
interface LazyRange {
  line: number;
  start: number;
  end: number;
  /** Set instead when the record was wrapped over lines. */
  range?: Range;
}

function realise(r: LazyRange): Range {
  return r.range ?? { start: { line: r.line, character: r.start }, end: { line: r.line, character: r.end } };
}

interface VcpuState {
  exitLine: number;
  exitPcHi: number;
  exitPcLo: number;
  exitAt: LazyRange;
  hsrLine: number;
  hsrEsr: number;
  hsrAt: LazyRange;
  /** ID-space registers this vCPU has been seen reading (index idSlot(key)): read events are emitted once. */
  seen: Uint8Array;
  /** Line of the last access since the exit, -1 when none. */
  accessLine: number;
  accessPcHi: number;
  accessPcLo: number;
}

/** The parser's memory between lines: everything a later line's result can depend on. */
interface FtraceState {
  vcpuByPid: Map<number, number>;
  nextAutoVcpu: number;
  /** Per vCPU number (only vCPUs that have a state). */
  vcpuStates: Map<number, VcpuState>;
  lastValue: Map<number, bigint>;
}

/**
 * The result of a run of lines [startLine, endLine) and the parser state before it. A segment starts at a
 * line that ends every record before it (a record, comment, blank or preamble line), so its state is
 * complete; the language server re-parses from the segment before an edit and stops where the state
 * meets an old segment's again (performance.md §5: checkpoints).
 */
export interface FtraceSegment {
  startLine: number;
  endLine: number;
  state: FtraceState;
  events: TraceEvent[];
  findings: Finding[];
  understood: number;
  skipped: number;
  vcpus: FtraceParseResult['vcpus'];
  acc: { line: Uint32Array; key: Uint16Array; vcpu: Uint16Array; flags: Uint8Array };
}

/** Lines per segment (a re-parse after an edit costs about one segment: ~1 ms). */
const SEGMENT_LINES = 512;

interface ReparsePlan {
  /** New line → old line offset for lines after the edit. */
  delta: number;
  /** First line after the edited lines, new numbering. */
  dirtyEndNew: number;
  /** The same, old numbering. */
  dirtyEndOld: number;
  /** Old segments after the edit by their (old) first line. */
  oldStarts: Map<number, number>;
  old: FtraceSegment[];
}

export interface FeedResult {
  /** Code units of the text consumed; the rest (a record that may continue) must be fed again. */
  consumed: number;
  /** Document line of the first unconsumed character. */
  nextLine: number;
  /** The parser met an old segment with the same state (re-parse only). */
  stopped: boolean;
}

class FtraceParser {
  findings: Finding[] = [];
  events: TraceEvent[] = [];
  lines = 0;
  understood = 0;
  skipped = 0;
  readonly segments: FtraceSegment[] = [];
  private segStart = 0;
  private segState: FtraceState;
  plan: ReparsePlan | undefined;
  /** Index in plan.old of the segment the re-parse converged with, or -1. */
  convergedWith = -1;
  private text = '';

  // The record being parsed: where its source starts and how to map offsets (a wrapped record is a joined string).
  private ls = 0;
  private line = 0;
  private segments_: Segment[] | undefined;

  // Header scratch (set by header()).
  private hPid = 0;
  private hCommStart = 0;
  private hCommEnd = 0;

  // Payload scratch (set by parsePayload()).
  private pType = EV_OTHER;
  private pError = '';
  private pHasPc = false;
  private pPcHi = 0;
  private pPcLo = 0;
  private pPcStart = 0;
  private pPcEnd = 0;
  private pEsr = 0;
  private pEsrStart = 0;
  private pEsrEnd = 0;
  private pNameStart = 0;
  private pNameEnd = 0;
  private pTupleStart = 0;
  private pTupleEnd = 0;
  private pKey = 0;
  private pWrite = false;
  private pHasValue = false;
  private pValue = 0n;
  private pValueStart = 0;
  private pValueEnd = 0;

  // Numeric scratch for hex parsing.
  private nHi = 0;
  private nLo = 0;

  // The record left pending by scan (it may continue in the next text).
  private pend = false;
  private pLs = 0;
  private pLe = 0;
  private pLine = 0;
  private pEv = 0;
  private pPid = 0;
  private pCs = 0;
  private pCe = 0;
  private conts: { ls: number; le: number; line: number }[] | undefined;
  /** Offset where scan stopped at an old segment's state, or -1. */
  private stopAt = -1;

  // Skip-ahead caches so lines without ': ' or '[' never rescan the rest of the file.
  private nextColon = -1;
  private nextBracket = -1;

  private vcpuByPid = new Map<number, number>();
  private usedVcpus = new Set<number>();
  private nextAutoVcpu = 0;
  /** vCPUs first seen in the current segment. */
  private segVcpus: FtraceParseResult['vcpus'] = [];
  private states: VcpuState[] = [];
  /** encodingKey → the char codes of a name spelling already checked against that encoding (a cache: no state). */
  private readonly verifiedName: (Int32Array | undefined)[] = [];
  private readonly regName: (string | undefined)[] = [];
  /** (vcpu << 16 | key) → the last value a read event carried, so a changed value is emitted again. */
  private lastValue = new Map<number, bigint>();

  // The current segment's accesses, grown by doubling.
  private aCount = 0;
  private aLine = new Uint32Array(1024);
  private aKey = new Uint16Array(1024);
  private aVcpu = new Uint16Array(1024);
  private aFlags = new Uint8Array(1024);

  constructor(private readonly options: FtraceOptions) {
    this.segState = this.snapshot();
  }

  // ---------------------------------------------------------------------------------------------
  // Segments and state

  private snapshot(): FtraceState {
    const vcpuStates = new Map<number, VcpuState>();
    for (const v of this.usedVcpus) {
      const st = this.states[v];
      if (st) vcpuStates.set(v, copyVcpuState(st));
    }
    return { vcpuByPid: new Map(this.vcpuByPid), nextAutoVcpu: this.nextAutoVcpu, vcpuStates, lastValue: new Map(this.lastValue) };
  }

  /** Continues from the state before `seg` (a segment of an earlier parse). */
  restore(seg: FtraceSegment): void {
    const s = seg.state;
    this.vcpuByPid = new Map(s.vcpuByPid);
    this.usedVcpus = new Set(s.vcpuByPid.values());
    this.nextAutoVcpu = s.nextAutoVcpu;
    this.states = [];
    for (const [v, st] of s.vcpuStates) this.states[v] = copyVcpuState(st);
    this.lastValue = new Map(s.lastValue);
    this.segStart = seg.startLine;
    this.segState = s;
  }

  /**
   * Set when texts are parts of a file read in blocks: a slice of a block kept in an event or a message keeps
   * the whole block alive in V8 (sliced and cons strings point into their parent), and with one such string
   * per block the file would end up in memory after all.
   */
  detachStrings = false;
  private ownedEvents = 0;
  private ownedFindings = 0;
  private ownedVcpus = 0;

  /** Copies the strings of the results added since the last call (see detachStrings). */
  detachNew(): void {
    if (!this.detachStrings) return;
    const seen = new Set<object>();
    for (let i = this.ownedEvents; i < this.events.length; i++) ownStrings(this.events[i], seen);
    for (let i = this.ownedFindings; i < this.findings.length; i++) ownStrings(this.findings[i], seen);
    for (let i = this.ownedVcpus; i < this.segVcpus.length; i++) ownStrings(this.segVcpus[i], seen);
    this.ownedEvents = this.events.length;
    this.ownedFindings = this.findings.length;
    this.ownedVcpus = this.segVcpus.length;
  }

  /** Ends the current segment before `line`. */
  private cut(line: number): void {
    this.detachNew();
    this.ownedEvents = 0;
    this.ownedFindings = 0;
    this.ownedVcpus = 0;
    const n = this.aCount;
    this.segments.push({
      startLine: this.segStart,
      endLine: line,
      state: this.segState,
      events: this.events,
      findings: this.findings,
      understood: this.understood,
      skipped: this.skipped,
      vcpus: this.segVcpus,
      acc: { line: this.aLine.slice(0, n), key: this.aKey.slice(0, n), vcpu: this.aVcpu.slice(0, n), flags: this.aFlags.slice(0, n) },
    });
    this.events = [];
    this.findings = [];
    this.understood = 0;
    this.skipped = 0;
    this.segVcpus = [];
    this.aCount = 0;
    this.segStart = line;
    this.segState = this.snapshot();
  }

  /** At a line that ends every record before it: cut a segment there, and tell whether a re-parse may stop. */
  private boundary(line: number): boolean {
    if (line === this.segStart) return false;
    const plan = this.plan;
    if (plan && line >= plan.dirtyEndNew) {
      const j = plan.oldStarts.get(line - plan.delta);
      if (j !== undefined) {
        this.cut(line);
        if (sameState(this.segState, plan.old[j]!.state, (v) => (v >= plan.dirtyEndOld ? v + plan.delta : v))) {
          this.convergedWith = j;
          return true;
        }
        return false;
      }
    }
    if (line - this.segStart >= (this.options.segmentLines ?? SEGMENT_LINES)) this.cut(line);
    return false;
  }

  // ---------------------------------------------------------------------------------------------
  // Positions

  private pos(off: number): Position {
    const segs = this.segments_;
    if (!segs) return { line: this.line, character: off - this.ls };
    let k = segs.length - 1;
    while (k > 0 && segs[k]!.at > off) k--;
    const seg = segs[k]!;
    return { line: seg.line, character: seg.lead + Math.max(0, Math.min(off - seg.at, seg.length)) };
  }

  private rng(a: number, b: number): Range {
    return { start: this.pos(a), end: this.pos(b) };
  }

  private recordRange(end: number): Range {
    return { start: this.pos(this.ls), end: this.pos(end) };
  }

  private keep(into: LazyRange, a: number, b: number): void {
    if (this.segments_) {
      into.range = this.rng(a, b);
      return;
    }
    into.range = undefined;
    into.line = this.line;
    into.start = a - this.ls;
    into.end = b - this.ls;
  }

  // ---------------------------------------------------------------------------------------------
  // Header: `<comm>-<pid> [(tgid)] [<cpu>] <flags> <secs>: <event>: …` → offset of the event name, or -1.

  private header(s: string, ls: number, le: number, cache: boolean): number {
    let c = cache ? this.nextColon : -1;
    if (c < ls) {
      c = s.indexOf(': ', ls);
      if (cache) this.nextColon = c < 0 ? NOWHERE : c;
    }
    if (c < 0 || c >= le) return -1;
    // The first ': ' ends the timestamp; a comm containing ': ' is tried past.
    for (let tries = 0; tries < 4 && c >= 0 && c < le; tries++, c = s.indexOf(': ', c + 1)) {
      let j = c - 1;
      let digits = 0;
      let ch = 0;
      for (; j >= ls; j--) {
        ch = s.charCodeAt(j);
        if (isDigit(ch)) digits++;
        else if (ch !== 46) break;
      }
      // ch is the character before the number when the loop broke off.
      if (digits === 0 || j < ls || ch !== 32) continue;
      const tsStart = j + 1;
      if (!this.commPid(s, ls, tsStart, cache)) continue;
      let ev = c + 2;
      // perf script prefixes the subsystem: `kvm:kvm_exit:`.
      if (s.charCodeAt(ev + 3) === 58 /* : */ && s.startsWith('kvm:', ev)) ev += 4;
      return ev;
    }
    return -1;
  }

  /** Finds comm and pid in [ls, tsStart): `comm-pid`, `comm pid` (perf), optional `(tgid)`, `[cpu]`, flags. */
  private commPid(s: string, ls: number, tsStart: number, cache: boolean): boolean {
    let b = cache ? this.nextBracket : -1;
    if (b < ls) {
      b = s.indexOf('[', ls);
      if (cache) this.nextBracket = b < 0 ? NOWHERE : b;
    }
    let p: number;
    if (b >= 0 && b < tsStart) {
      p = b - 1;
      while (p >= ls && s.charCodeAt(p) === 32) p--;
      if (p >= ls && s.charCodeAt(p) === 41 /* ) */) {
        // `(  tgid)` when record-tgid is on.
        const open = s.lastIndexOf('(', p);
        if (open < ls) return false;
        p = open - 1;
        while (p >= ls && s.charCodeAt(p) === 32) p--;
      }
    } else {
      p = lastPidDigit(s, ls, tsStart);
      if (p < 0) return false;
    }
    let pid = 0;
    let mul = 1;
    const end = p;
    while (p >= ls && isDigit(s.charCodeAt(p))) {
      pid += (s.charCodeAt(p) - 48) * mul;
      mul *= 10;
      p--;
    }
    if (p === end || p < ls) return false;
    const sep = s.charCodeAt(p);
    if (sep !== 45 /* - */ && sep !== 32) return false;
    // The comm is trimmed only when a new pid needs its vCPU number (vcpuOf).
    this.hPid = pid;
    this.hCommStart = ls;
    this.hCommEnd = p;
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // vCPUs

  private vcpuOf(pid: number, s: string, cs: number, ce: number): number {
    const known = this.vcpuByPid.get(pid);
    if (known !== undefined) return known;
    // Right-aligned comm before `-pid` (ftrace) or `comm pid` (perf).
    const comm = s.slice(cs, ce).trim();
    // QEMU names vCPU threads `CPU n/KVM`; kvmtool `kvm-vcpu-n`; Firecracker `fc_vcpu n`.
    const m = /^CPU (\d+)\/KVM$/.exec(comm) ?? /^kvm-vcpu-(\d+)$/.exec(comm) ?? /^fc_vcpu ?(\d+)$/.exec(comm) ?? /^vcpu[ _-]?(\d+)$/i.exec(comm);
    let vcpu: number;
    let how: 'comm' | 'pid';
    if (m && Number(m[1]) < 65536 && !this.usedVcpus.has(Number(m[1]))) {
      vcpu = Number(m[1]);
      how = 'comm';
    } else {
      while (this.usedVcpus.has(this.nextAutoVcpu)) this.nextAutoVcpu++;
      vcpu = this.nextAutoVcpu++;
      how = 'pid';
    }
    this.usedVcpus.add(vcpu);
    this.vcpuByPid.set(pid, vcpu);
    this.segVcpus.push({ vcpu, pid, comm, how });
    return vcpu;
  }

  private state(vcpu: number): VcpuState {
    let st = this.states[vcpu];
    if (!st) {
      st = {
        exitLine: -1, exitPcHi: 0, exitPcLo: 0, exitAt: { line: 0, start: 0, end: 0 },
        hsrLine: -1, hsrEsr: 0, hsrAt: { line: 0, start: 0, end: 0 },
        seen: new Uint8Array(ID_SLOTS), accessLine: -1, accessPcHi: 0, accessPcLo: 0,
      };
      this.states[vcpu] = st;
    }
    return st;
  }

  // ---------------------------------------------------------------------------------------------
  // Payloads

  /** Hex number (optional 0x, at most 16 digits) at i into nHi/nLo; the end offset, or -1. */
  private hex64(s: string, i: number, le: number): number {
    if (s.charCodeAt(i) === 48 && (s.charCodeAt(i + 1) | 32) === 120) i += 2;
    const start = i;
    // One pass over the digits (three PCs per trap): the top nibble of lo carries into hi, so both halves
    // stay 32-bit integers; more than 16 digits is rejected below, so what hi loses then is harmless.
    let hi = 0;
    let lo = 0;
    for (; i < le; i++) {
      const d = HEX_VAL[s.charCodeAt(i)]!;
      if (d < 0) break;
      hi = ((hi << 4) | (lo >>> 28)) >>> 0;
      lo = ((lo << 4) | d) >>> 0;
    }
    const n = i - start;
    if (n === 0 || n > 16) return -1;
    this.nHi = hi;
    this.nLo = lo;
    return i;
  }

  /** Small decimal at i; returns the end offset and leaves the value in nLo, or -1. */
  private dec(s: string, i: number, le: number): number {
    const start = i;
    let v = 0;
    while (i < le && isDigit(s.charCodeAt(i)) && i - start < 6) v = v * 10 + (s.charCodeAt(i++) - 48);
    if (i === start) return -1;
    this.nLo = v;
    return i;
  }

  private parsePayload(s: string, ev: number, le: number): void {
    this.pError = '';
    this.pType = EV_OTHER;
    // Dispatch on the character after `kvm_` before confirming the whole name.
    if (s.charCodeAt(ev) !== 107 /* k */ || s.charCodeAt(ev + 3) !== 95 /* _ */ || s.charCodeAt(ev + 1) !== 118 || s.charCodeAt(ev + 2) !== 109) return;
    let type: number;
    let p: number;
    const c4 = s.charCodeAt(ev + 4);
    if (c4 === 115 /* s */ && at(s, ev + 4, LIT_SYS_ACCESS)) {
      type = EV_ACCESS;
      p = ev + 15;
    } else if (c4 === 101 /* e */ && at(s, ev + 4, LIT_EXIT)) {
      type = EV_EXIT;
      p = ev + 9;
    } else if (c4 === 101 && at(s, ev + 4, LIT_ENTRY)) {
      type = EV_ENTRY;
      p = ev + 10;
    } else if (c4 === 104 /* h */ && at(s, ev + 4, LIT_HANDLE)) {
      type = EV_HANDLE;
      p = ev + 19;
    } else return;
    this.pType = type;
    while (p < le && s.charCodeAt(p) === 32) p++;
    if (s.charCodeAt(p) === 91 /* [ */ && s.startsWith('[FAILED TO PARSE]', p)) {
      this.parseRawFields(s, p + 17, le);
      return;
    }
    switch (type) {
      case EV_ACCESS:
        this.parseAccess(s, p, le);
        return;
      case EV_EXIT: {
        // `TRAP: HSR_EC: 0x0018 (SYS64), PC: 0x…`; only the PC matters: the ESR comes with kvm_handle_sys_reg.
        const pcAt = s.indexOf('PC: ', p);
        this.pHasPc = false;
        if (pcAt >= 0 && pcAt < le) {
          const e = this.hex64(s, pcAt + 4, le);
          if (e >= 0 && (e === le || s.charCodeAt(e) === 32)) {
            this.pHasPc = true;
            this.pPcHi = this.nHi;
            this.pPcLo = this.nLo;
            this.pPcStart = pcAt + 4;
            this.pPcEnd = e;
          }
        }
        if (!this.pHasPc) this.pError = EXPECT_EXIT;
        return;
      }
      case EV_ENTRY: {
        this.pHasPc = false;
        if (at(s, p, LIT_PC)) {
          const e = this.hex64(s, p + 4, le);
          if (e >= 0 && (e === le || s.charCodeAt(e) === 32)) {
            this.pHasPc = true;
            this.pPcHi = this.nHi;
            this.pPcLo = this.nLo;
            this.pPcStart = p + 4;
            this.pPcEnd = e;
          }
        }
        if (!this.pHasPc) this.pError = EXPECT_ENTRY;
        return;
      }
      case EV_HANDLE: {
        if (at(s, p, LIT_HSR)) {
          const e = this.hex64(s, p + 4, le);
          if (e >= 0 && this.nHi === 0 && (e === le || s.charCodeAt(e) === 32)) {
            this.pEsr = this.nLo;
            this.pEsrStart = p + 4;
            this.pEsrEnd = e;
            return;
          }
        }
        this.pError = EXPECT_HANDLE;
        return;
      }
    }
  }

  /** `PC: ffff800080528a90 ID_AA64MMFR3_EL1 (3,0,0,7,3) read [value]` */
  private parseAccess(s: string, p: number, le: number): void {
    this.pError = EXPECT_ACCESS;
    if (!at(s, p, LIT_PC)) return;
    let e = this.hex64(s, p + 4, le);
    if (e < 0 || s.charCodeAt(e) !== 32) return;
    this.pHasPc = true;
    this.pPcHi = this.nHi;
    this.pPcLo = this.nLo;
    this.pPcStart = p + 4;
    this.pPcEnd = e;
    const ns = e + 1;
    let open = s.indexOf(' (', ns);
    if (open < 0 || open >= le) return;
    // Names have no spaces, but a `(null)` name would put a '(' first; take the '(' that starts a tuple.
    while (open >= 0 && open < le && !isDigit(s.charCodeAt(open + 2))) open = s.indexOf(' (', open + 1);
    if (open < 0 || open >= le) return;
    this.pNameStart = ns;
    this.pNameEnd = open;
    if (!this.parseTuple(s, open + 1, le)) return;
    e = this.pTupleEnd;
    if (s.charCodeAt(e) !== 32) return;
    e++;
    if (at(s, e, LIT_READ)) {
      this.pWrite = false;
      e += 4;
    } else if (at(s, e, LIT_WRITE)) {
      this.pWrite = true;
      e += 5;
    } else return;
    this.pHasValue = false;
    if (e < le) {
      if (s.charCodeAt(e) !== 32 && s.charCodeAt(e) !== 58 && s.charCodeAt(e) !== 61) return;
      if (!this.parseTrailingValue(s, e, le)) {
        this.pError = `${EXPECT_ACCESS}; the text after read/write is not a value`;
        return;
      }
    }
    this.pError = '';
  }

  /** `(3,0,0,7,3)` at p; sets pKey and the tuple offsets. */
  private parseTuple(s: string, p: number, le: number): boolean {
    if (s.charCodeAt(p) !== 40) return false;
    this.pTupleStart = p;
    let i = p + 1;
    // Five decimals separated by commas; packed as they come, each checked against its field width.
    let key = 0;
    let bad = false;
    for (let k = 0; k < 5; k++) {
      while (s.charCodeAt(i) === 32) i++;
      const e = this.dec(s, i, le);
      if (e < 0) return false;
      const v = this.nLo;
      i = e;
      while (s.charCodeAt(i) === 32) i++;
      if (s.charCodeAt(i) !== (k < 4 ? 44 : 41)) return false;
      i++;
      const width = TUPLE_BITS[k]!;
      if (v >= 1 << width) bad = true;
      key = (key << width) | (v & ((1 << width) - 1));
    }
    this.pTupleEnd = i;
    // The tuple order (op0, op1, CRn, CRm, op2) is the packed key's order: op0<<14|op1<<11|CRn<<7|CRm<<3|op2.
    this.pKey = bad ? -1 : key;
    return true;
  }

  /** The optional value after read/write: ` 0x…`, ` = 0x…`, ` val=0x…`, ` value: 0x…` (hex, 0x optional). */
  private parseTrailingValue(s: string, p: number, le: number): boolean {
    let i = p;
    while (i < le && (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 61 || s.charCodeAt(i) === 58)) i++;
    if (s.startsWith('value', i)) i += 5;
    else if (s.startsWith('val', i)) i += 3;
    while (i < le && (s.charCodeAt(i) === 32 || s.charCodeAt(i) === 61 || s.charCodeAt(i) === 58)) i++;
    if (i === le) return true;
    const e = this.hex64(s, i, le);
    if (e < 0) return false;
    let t = e;
    while (t < le && s.charCodeAt(t) === 32) t++;
    if (t !== le) return false;
    this.pHasValue = true;
    this.pValue = (BigInt(this.nHi) << 32n) | BigInt(this.nLo);
    this.pValueStart = i;
    this.pValueEnd = e;
    return true;
  }

  /** trace-cmd's `[FAILED TO PARSE] key=value …` fallback (rare: parsed with a small scan per line). */
  private parseRawFields(s: string, p: number, le: number): void {
    const fields = new Map<string, { value: string; start: number; end: number }>();
    const re = /([A-Za-z_][A-Za-z0-9_]*)=(\S*)/g;
    re.lastIndex = p;
    const body = s.slice(0, le);
    for (let m = re.exec(body); m; m = re.exec(body)) fields.set(m[1]!, { value: m[2]!, start: m.index + m[1]!.length + 1, end: m.index + m[0].length });
    const num = (k: string): number | undefined => {
      const f = fields.get(k);
      if (!f || !/^(0x[0-9a-fA-F]+|\d+)$/.test(f.value)) return undefined;
      const v = Number(f.value);
      return Number.isSafeInteger(v) ? v : undefined;
    };
    const pc = fields.get('vcpu_pc');
    const setPc = (): boolean => {
      if (!pc || this.hex64(s, pc.start, pc.end) !== pc.end) return false;
      this.pHasPc = true;
      this.pPcHi = this.nHi;
      this.pPcLo = this.nLo;
      this.pPcStart = pc.start;
      this.pPcEnd = pc.end;
      return true;
    };
    this.pHasPc = false;
    switch (this.pType) {
      case EV_EXIT:
        if (!setPc()) this.pError = `${EXPECT_EXIT} (raw fields: esr_ec=… vcpu_pc=…)`;
        return;
      case EV_ENTRY:
        if (!setPc()) this.pError = `${EXPECT_ENTRY} (raw field: vcpu_pc=…)`;
        return;
      case EV_HANDLE: {
        const f = fields.get('hsr') ?? fields.get('esr');
        if (f && this.hex64(s, f.start, f.end) === f.end && this.nHi === 0) {
          this.pEsr = this.nLo;
          this.pEsrStart = f.start;
          this.pEsrEnd = f.end;
        } else this.pError = `${EXPECT_HANDLE} (raw field: hsr=…)`;
        return;
      }
      case EV_ACCESS: {
        const names = ['Op0', 'Op1', 'CRn', 'CRm', 'Op2'];
        const v = names.map((k) => num(k) ?? num(k.toLowerCase()));
        const w = num('is_write');
        if (!setPc() || v.some((x) => x === undefined) || w === undefined) {
          this.pError = `${EXPECT_ACCESS} (raw fields: vcpu_pc=… is_write=… name=… Op0=… Op1=… CRn=… CRm=… Op2=…)`;
          return;
        }
        const [op0, op1, crn, crm, op2] = v as [number, number, number, number, number];
        this.pKey = op0 > 3 || op1 > 7 || crn > 15 || crm > 15 || op2 > 7 ? -1 : (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
        const first = fields.get('Op0') ?? fields.get('op0')!;
        const last = fields.get('Op2') ?? fields.get('op2')!;
        this.pTupleStart = first.start - 4;
        this.pTupleEnd = last.end;
        const name = fields.get('name');
        this.pNameStart = name ? name.start : this.pTupleStart;
        this.pNameEnd = name ? name.end : this.pTupleStart;
        this.pWrite = w !== 0;
        const val = fields.get('val') ?? fields.get('value');
        this.pHasValue = false;
        if (val && this.hex64(s, val.start, val.end) === val.end) {
          this.pHasValue = true;
          this.pValue = (BigInt(this.nHi) << 32n) | BigInt(this.nLo);
          this.pValueStart = val.start;
          this.pValueEnd = val.end;
        }
        return;
      }
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Applying a parsed record

  private apply(s: string, le: number): void {
    switch (this.pType) {
      case EV_EXIT: {
        const st = this.state(this.vcpuOf(this.hPid, s, this.hCommStart, this.hCommEnd));
        st.exitLine = this.line;
        st.exitPcHi = this.pPcHi;
        st.exitPcLo = this.pPcLo;
        this.keep(st.exitAt, this.pPcStart, this.pPcEnd);
        st.hsrLine = -1;
        st.accessLine = -1;
        return;
      }
      case EV_HANDLE: {
        const st = this.state(this.vcpuOf(this.hPid, s, this.hCommStart, this.hCommEnd));
        st.hsrLine = this.line;
        st.hsrEsr = this.pEsr;
        this.keep(st.hsrAt, this.pEsrStart, this.pEsrEnd);
        return;
      }
      case EV_ACCESS:
        this.applyAccess(s, le);
        return;
      case EV_ENTRY: {
        const st = this.state(this.vcpuOf(this.hPid, s, this.hCommStart, this.hCommEnd));
        if (st.accessLine >= 0) {
          const hi = st.exitLine >= 0 ? st.exitPcHi : st.accessPcHi;
          const lo = st.exitLine >= 0 ? st.exitPcLo : st.accessPcLo;
          const same = this.pPcHi === hi && this.pPcLo === lo;
          const plus4 = lo + 4 >= 0x100000000 ? this.pPcHi === (hi + 1) % 0x100000000 && this.pPcLo === lo + 4 - 0x100000000 : this.pPcHi === hi && this.pPcLo === lo + 4;
          if (!same && !plus4) {
            this.findings.push(
              makeFinding(
                'IDR015',
                `the guest resumed at ${pcText(this.pPcHi, this.pPcLo)}, not at the trapping instruction ${pcText(hi, lo)}: KVM injected an exception or forwarded the trap instead of completing the access`,
                this.rng(this.pPcStart, this.pPcEnd),
                { severity: 'warning', related: st.exitLine >= 0 ? [{ range: realise(st.exitAt), message: 'the kvm_exit that trapped the access' }] : [] },
              ),
            );
          }
        }
        st.exitLine = -1;
        st.hsrLine = -1;
        st.accessLine = -1;
        return;
      }
    }
  }

  private applyAccess(s: string, le: number): void {
    const vcpu = this.vcpuOf(this.hPid, s, this.hCommStart, this.hCommEnd);
    const st = this.state(vcpu);
    const key = this.pKey;
    if (key < 0) {
      const text = s.slice(this.pTupleStart, this.pTupleEnd);
      this.findings.push(makeFinding('IDR002', `${text} is not a system-register encoding (op0 0..3, op1 0..7, CRn 0..15, CRm 0..15, op2 0..7)`, this.rng(this.pTupleStart, this.pTupleEnd)));
      return;
    }
    // The name must name the same register as the tuple (checked once per spelling and encoding).
    const ns = this.pNameStart;
    const nl = this.pNameEnd - ns;
    const verified = this.verifiedName[key];
    let nameUsable = nl > 0;
    if (!(verified !== undefined && verified.length === nl && at(s, ns, verified))) nameUsable = this.checkName(s, key);
    // The ESR of kvm_handle_sys_reg names the register and the direction too.
    if (st.hsrLine >= 0) {
      const esr = st.hsrEsr;
      if (esr >>> 26 === EC_SYS64) {
        const esrKey = (((esr >>> 20) & 3) << 14) | (((esr >>> 14) & 7) << 11) | (((esr >>> 10) & 15) << 7) | (((esr >>> 1) & 15) << 3) | ((esr >>> 17) & 7);
        const esrRead = (esr & 1) === 1;
        if (esrKey !== key || esrRead === this.pWrite) this.esrMismatch(s, st, key, esrKey, esrRead);
      }
      st.hsrLine = -1;
    }
    if (st.exitLine >= 0 && (st.exitPcHi !== this.pPcHi || st.exitPcLo !== this.pPcLo)) {
      this.findings.push(
        makeFinding(
          'IDR003',
          `kvm_sys_access is at PC ${pcText(this.pPcHi, this.pPcLo)}, but the kvm_exit that trapped it is at ${pcText(st.exitPcHi, st.exitPcLo)}`,
          this.rng(this.pPcStart, this.pPcEnd),
          { severity: 'warning', related: [{ range: realise(st.exitAt), message: 'the kvm_exit of this trap' }] },
        ),
      );
    }
    st.accessLine = this.line;
    st.accessPcHi = this.pPcHi;
    st.accessPcLo = this.pPcLo;

    // Feature-ID space: op0=3, op1 ∈ {0,1,3}, CRn=0, CRm ≤ 7 (the registers the VM model cares about).
    const op1 = (key >> 11) & 7;
    const isId = key >> 14 === 3 && ((key >> 7) & 15) === 0 && (op1 === 0 || op1 === 1 || op1 === 3) && ((key >> 3) & 15) <= 7;
    let flags = (this.pWrite ? ACCESS_WRITE : 0) | (this.pHasValue ? ACCESS_VALUE : 0);
    let emit = this.options.allAccesses === true || (isId && this.pWrite);
    if (!emit && isId) {
      const slot = (op1 === 3 ? 2 : op1) * 64 + (key & 63);
      if (st.seen[slot] === 0) {
        st.seen[slot] = 1;
        emit = true;
        if (this.pHasValue) this.lastValue.set((vcpu << 16) | key, this.pValue);
      } else if (this.pHasValue) {
        const k = (vcpu << 16) | key;
        if (this.lastValue.get(k) !== this.pValue) {
          emit = true;
          this.lastValue.set(k, this.pValue);
        }
      }
    }
    if (emit) {
      flags |= ACCESS_EVENT;
      this.events.push(this.makeEvent(s, le, vcpu, key, keyToEncoding(key), nameUsable));
    }
    this.index(vcpu, key, flags);
  }

  /** Slow path of the name check: resolve the spelling once; IDR003 when it names another register. */
  private checkName(s: string, key: number): boolean {
    const ns = this.pNameStart;
    const name = s.slice(ns, this.pNameEnd);
    // KVM prints UNKN for encodings it has no descriptor for; offline tools print the name's pointer.
    if (name.length === 0 || name === 'UNKN' || name === '(null)' || /^0x[0-9a-f]+$/i.test(name)) return false;
    const res = resolveRegister(name);
    if (!res) return false;
    if (encodingKey(res.enc) === key) {
      this.verifiedName[key] = lit(name);
      return true;
    }
    this.findings.push(
      makeFinding('IDR003', `${name} is ${tupleForm(res.enc)}, but the access encodes ${tupleForm(keyToEncoding(key))} (${this.nameOf(key)})`, this.rng(ns, this.pNameEnd), {
        related: [{ range: this.rng(this.pTupleStart, this.pTupleEnd), message: 'the encoding KVM decoded' }],
        register: this.nameOf(key),
      }),
    );
    return false;
  }

  private esrMismatch(s: string, st: VcpuState, key: number, esrKey: number, esrRead: boolean): void {
    const what = esrKey !== key ? `${tupleForm(keyToEncoding(esrKey))} (${this.nameOf(esrKey)})` : `a ${esrRead ? 'read' : 'write'}`;
    this.findings.push(
      makeFinding(
        'IDR003',
        `kvm_sys_access says ${this.pWrite ? 'write' : 'read'} of ${s.slice(this.pTupleStart, this.pTupleEnd)} (${this.nameOf(key)}), but the ESR 0x${st.hsrEsr.toString(16).padStart(8, '0')} of the trap encodes ${what}`,
        this.rng(this.pTupleStart, this.pTupleEnd),
        { related: [{ range: realise(st.hsrAt), message: 'the kvm_handle_sys_reg ESR of this trap' }], register: this.nameOf(key) },
      ),
    );
  }

  private nameOf(key: number): string {
    let n = this.regName[key];
    if (n === undefined) {
      n = registerName(keyToEncoding(key));
      this.regName[key] = n;
    }
    return n;
  }

  private makeEvent(s: string, le: number, vcpu: number, key: number, enc: Encoding, nameUsable: boolean): GuestReadEvent | GuestWriteEvent {
    const [rs, re] = nameUsable ? [this.pNameStart, this.pNameEnd] : [this.pTupleStart, this.pTupleEnd];
    const name = this.nameOf(key);
    const reg: RegRef = { text: s.slice(rs, re), range: this.rng(rs, re), enc };
    if (!name.startsWith('S') || !/^S\d_\d_C\d+_C\d+_\d$/.test(name)) reg.name = name;
    const range = this.recordRange(le);
    if (this.pWrite) {
      const ev: GuestWriteEvent = { kind: 'msr', vcpu, reg, range };
      if (this.pHasValue) {
        ev.value = this.pValue;
        ev.valueRange = this.rng(this.pValueStart, this.pValueEnd);
      }
      return ev;
    }
    const ev: GuestReadEvent = { kind: 'mrs', vcpu, reg, range };
    if (this.pHasValue) ev.result = { outcome: { kind: 'value', value: this.pValue }, range: this.rng(this.pValueStart, this.pValueEnd) };
    return ev;
  }

  private index(vcpu: number, key: number, flags: number): void {
    if (this.aCount === this.aLine.length) {
      const n = this.aCount * 2;
      const grow = <T extends Uint32Array | Uint16Array | Uint8Array>(a: T, make: (n: number) => T): T => {
        const b = make(n);
        b.set(a);
        return b;
      };
      this.aLine = grow(this.aLine, (k) => new Uint32Array(k));
      this.aKey = grow(this.aKey, (k) => new Uint16Array(k));
      this.aVcpu = grow(this.aVcpu, (k) => new Uint16Array(k));
      this.aFlags = grow(this.aFlags, (k) => new Uint8Array(k));
    }
    const i = this.aCount++;
    this.aLine[i] = this.line;
    this.aKey[i] = key;
    this.aVcpu[i] = vcpu;
    this.aFlags[i] = flags;
  }

  // ---------------------------------------------------------------------------------------------
  // Lines

  /** Parses and applies one record (this.ls is its start); false (with an IDR001) when its payload is malformed. */
  private record(s: string, le: number, ev: number): boolean {
    this.parsePayload(s, ev, le);
    if (this.pError !== '') {
      this.findings.push(makeFinding('IDR001', this.pError, this.recordRange(le)));
      return false;
    }
    if (this.pType !== EV_OTHER) this.apply(s, le);
    return true;
  }

  /**
   * A record followed by lines that are not records: a mail client wrapped it. The shortest run of
   * continuation lines that completes the record is joined, reported and read; lines after it are on their own.
   */
  private wrappedRecord(head: { ls: number; le: number; line: number; ev: number }, conts: { ls: number; le: number; line: number }[]): void {
    const t = this.text;
    const headPid = this.hPid;
    const headCommStart = this.hCommStart;
    const headCommEnd = this.hCommEnd;
    const pieces = [{ text: t.slice(head.ls, head.le), line: head.line, lead: 0 }];
    for (const c of conts) {
      const raw = t.slice(c.ls, c.le);
      pieces.push({ text: raw.trim(), line: c.line, lead: raw.length - raw.trimStart().length });
    }
    let chosen: string | undefined;
    let used = 0;
    let segs: Segment[] = [];
    // A head that reads well alone continues only into a cut word (`…PC: 0x00000000` + `80528a6c`);
    // a following sentence is text of its own.
    this.parsePayload(t, head.ev, head.le);
    const headAlone = this.pError === '';
    const seps = headAlone ? (pieces[1]!.text.includes(' ') ? [] : ['']) : [' ', ''];
    // Wrapping replaced a space in most mail clients, but some cut inside a word: try both joins.
    for (let k = 1; k <= conts.length && chosen === undefined; k++) {
      for (const sep of seps) {
        const part = pieces.slice(0, k + 1);
        const joined = part.map((p) => p.text).join(sep);
        const evAt = this.header(joined, 0, joined.length, false);
        if (evAt < 0) continue;
        this.parsePayload(joined, evAt, joined.length);
        if (this.pError !== '') continue;
        chosen = joined;
        used = k;
        segs = [];
        let at = 0;
        for (const p of part) {
          segs.push({ line: p.line, at, length: p.text.length, lead: p.lead });
          at += p.text.length + sep.length;
        }
        break;
      }
    }
    if (chosen === undefined) {
      // Nothing completes it: the head is read alone if it can be, and every other line is reported alone.
      // The joins tried above left the header scratch pointing into joined strings: back to the head's own.
      this.hPid = headPid;
      this.hCommStart = headCommStart;
      this.hCommEnd = headCommEnd;
      this.ls = head.ls;
      this.line = head.line;
      this.parsePayload(t, head.ev, head.le);
      if (this.pError === '') {
        if (this.pType !== EV_OTHER) this.apply(t, head.le);
        this.understood++;
        for (const c of conts) this.notRecord(c.ls, c.le, c.line);
        return;
      }
      used = 1;
    }
    const last = conts[used - 1]!;
    const whole: Range = { start: { line: head.line, character: 0 }, end: { line: last.line, character: last.le - last.ls } };
    this.findings.push(
      makeFinding(
        'IDR001',
        `record wrapped over ${last.line - head.line + 1} lines (a mail client line wrap?): expected one ftrace record per line${chosen ? '; read as one record' : `; ${this.pError || EXPECT_RECORD}`}`,
        whole,
      ),
    );
    this.skipped += used;
    if (chosen === undefined) this.skipped++;
    else {
      this.understood++;
      this.ls = 0;
      this.line = head.line;
      this.segments_ = segs;
      if (this.pType !== EV_OTHER) this.apply(chosen, chosen.length);
      this.segments_ = undefined;
    }
    for (const c of conts.slice(used)) this.notRecord(c.ls, c.le, c.line);
  }

  private notRecord(ls: number, le: number, line: number): void {
    const t = this.text;
    let i = ls;
    while (i < le && (t.charCodeAt(i) === 32 || t.charCodeAt(i) === 9)) i++;
    this.findings.push(makeFinding('IDR001', EXPECT_RECORD, { start: { line, character: i - ls }, end: { line, character: le - ls } }));
    this.skipped++;
  }

  /** Parses the pending record, now that the line after it is known not to continue it. */
  private flush(): void {
    if (!this.pend) return;
    this.pend = false;
    this.hPid = this.pPid;
    this.hCommStart = this.pCs;
    this.hCommEnd = this.pCe;
    const conts = this.conts;
    if (conts) {
      this.conts = undefined;
      this.wrappedRecord({ ls: this.pLs, le: this.pLe, line: this.pLine, ev: this.pEv }, conts);
      return;
    }
    this.ls = this.pLs;
    this.line = this.pLine;
    if (this.record(this.text, this.pLe, this.pEv)) this.understood++;
    else this.skipped++;
  }

  /**
   * Parses the lines of `t`, the first of which is document line `firstLine`. A record at the end of a
   * non-final text may continue on the next line (a wrapped record), so it is left unconsumed.
   */
  feed(t: string, firstLine: number, final: boolean): FeedResult {
    this.text = t;
    this.nextColon = -1;
    this.nextBracket = -1;
    const lineNo = this.scan(t, firstLine);
    if (this.stopAt >= 0) return { consumed: this.stopAt, nextLine: lineNo, stopped: true };
    if (!final) {
      // The last record may continue in the next text: it is parsed again from there.
      if (this.pend) return { consumed: this.pLs, nextLine: this.pLine, stopped: false };
      return { consumed: t.length, nextLine: lineNo, stopped: false };
    }
    this.flush();
    this.lines = lineNo;
    this.cut(lineNo);
    return { consumed: t.length, nextLine: lineNo, stopped: false };
  }

  /**
   * The line loop of feed: the document line after the last line read, or the line where a re-parse met an
   * old segment (stopAt ≥ 0, its offset). The record still pending at the end is left in the p* fields.
   * Apart from feed, and with one place where a pending record is parsed, so that a rare kind of line
   * first met after the JIT compiled the loop costs few deoptimizations (each one drops the compiled loop).
   */
  private scan(t: string, firstLine: number): number {
    const len = t.length;
    let pos = 0;
    let lineNo = firstLine;
    // The record waiting for its successor line (which may be its continuation).
    let pend = false;
    let pLs = 0;
    let pLe = 0;
    let pLine = 0;
    let pEv = 0;
    let pPid = 0;
    let pCs = 0;
    let pCe = 0;
    let conts: { ls: number; le: number; line: number }[] | undefined;
    let nConts = 0;
    this.stopAt = -1;
    while (pos < len) {
      let nl = t.indexOf('\n', pos);
      if (nl < 0) nl = len;
      let le = nl;
      if (le > pos && t.charCodeAt(le - 1) === 13) le--;
      const ls = pos;
      const line = lineNo++;
      pos = nl + 1;
      let kind: number;
      let ev = -1;
      let pid = 0;
      let cs = 0;
      let ce = 0;
      // ftrace's comment block starts in column 0; data lines are tried as records first, so the common
      // line costs no scan of its leading padding.
      if (t.charCodeAt(ls) === 35 /* # */) kind = LINE_ENDS_RECORD;
      else {
        ev = le - ls > 20 ? this.header(t, ls, le, true) : -1;
        if (ev >= 0) {
          kind = LINE_RECORD;
          pid = this.hPid;
          cs = this.hCommStart;
          ce = this.hCommEnd;
        } else {
          let i = ls;
          while (i < le && (t.charCodeAt(i) === 32 || t.charCodeAt(i) === 9)) i++;
          if (i === le || t.charCodeAt(i) === 35 || isPreamble(t, i, le)) kind = LINE_ENDS_RECORD;
          else if (pend && nConts < 3) kind = LINE_CONTINUES;
          else kind = LINE_NOT_RECORD;
        }
      }
      if (kind === LINE_CONTINUES) {
        (conts ??= []).push({ ls, le, line });
        nConts++;
        continue;
      }
      if (pend) {
        pend = false;
        this.hPid = pPid;
        this.hCommStart = pCs;
        this.hCommEnd = pCe;
        if (conts === undefined) {
          this.ls = pLs;
          this.line = pLine;
          if (this.record(t, pLe, pEv)) this.understood++;
          else this.skipped++;
        } else {
          this.wrappedRecord({ ls: pLs, le: pLe, line: pLine, ev: pEv }, conts);
          conts = undefined;
          nConts = 0;
        }
      }
      if (kind === LINE_NOT_RECORD) {
        this.notRecord(ls, le, line);
        continue;
      }
      if (this.boundary(line)) {
        this.stopAt = ls;
        lineNo = line;
        break;
      }
      if (kind === LINE_ENDS_RECORD) {
        this.understood++;
        continue;
      }
      pend = true;
      pLs = ls;
      pLe = le;
      pLine = line;
      pEv = ev;
      pPid = pid;
      pCs = cs;
      pCe = ce;
    }
    this.pend = pend;
    this.pLs = pLs;
    this.pLe = pLe;
    this.pLine = pLine;
    this.pEv = pEv;
    this.pPid = pPid;
    this.pCs = pCs;
    this.pCe = pCe;
    this.conts = conts;
    return lineNo;
  }

}

/** A copy of `s` that shares no memory with the text it was cut from (V8 has no direct way to ask). */
function ownString(s: string): string {
  return s.length < 13 ? s : (s + ' ').slice(0, -1); // short strings are copied by slice already
}

/** Replaces every string reachable from `root` by an own copy (frozen shared records are left alone). */
function ownStrings(root: unknown, seen: Set<object>): void {
  if (typeof root !== 'object' || root === null || seen.has(root) || Object.isFrozen(root)) return;
  seen.add(root);
  const o = root as Record<string, unknown>;
  for (const k in o) {
    const v = o[k];
    if (typeof v === 'string') o[k] = ownString(v);
    else if (typeof v === 'object') ownStrings(v, seen);
  }
}

function copyVcpuState(st: VcpuState): VcpuState {
  return {
    ...st,
    exitAt: { ...st.exitAt },
    hsrAt: { ...st.hsrAt },
    seen: st.seen.slice(),
  };
}

function sameRange(a: Range, b: Range, map: (line: number) => number): boolean {
  return (
    a.start.line === map(b.start.line) && a.start.character === b.start.character && a.end.line === map(b.end.line) && a.end.character === b.end.character
  );
}

function sameLazy(a: LazyRange, b: LazyRange, map: (line: number) => number): boolean {
  if (a.range || b.range) return a.range !== undefined && b.range !== undefined && sameRange(a.range, b.range, map);
  return a.line === map(b.line) && a.start === b.start && a.end === b.end;
}

/** Whether state `a` (new numbering) equals `b` (old numbering, lines mapped by `map`). */
function sameState(a: FtraceState, b: FtraceState, map: (line: number) => number): boolean {
  if (a.nextAutoVcpu !== b.nextAutoVcpu || a.vcpuByPid.size !== b.vcpuByPid.size || a.lastValue.size !== b.lastValue.size) return false;
  if (a.vcpuStates.size !== b.vcpuStates.size) return false;
  for (const [pid, v] of a.vcpuByPid) if (b.vcpuByPid.get(pid) !== v) return false;
  for (const [k, v] of a.lastValue) if (b.lastValue.get(k) !== v) return false;
  const line = (v: number): number => (v < 0 ? v : map(v));
  for (const [v, x] of a.vcpuStates) {
    const y = b.vcpuStates.get(v);
    if (!y) return false;
    if (x.exitLine !== line(y.exitLine) || x.hsrLine !== line(y.hsrLine) || x.accessLine !== line(y.accessLine)) return false;
    if (x.exitLine >= 0 && (x.exitPcHi !== y.exitPcHi || x.exitPcLo !== y.exitPcLo || !sameLazy(x.exitAt, y.exitAt, map))) return false;
    if (x.hsrLine >= 0 && (x.hsrEsr !== y.hsrEsr || !sameLazy(x.hsrAt, y.hsrAt, map))) return false;
    if (x.accessLine >= 0 && (x.accessPcHi !== y.accessPcHi || x.accessPcLo !== y.accessPcLo)) return false;
    for (let i = 0; i < x.seen.length; i++) if (x.seen[i] !== y.seen[i]) return false;
  }
  return true;
}

/** Moves every line at or after `from` by `delta` in a segment of an earlier parse (after lines were inserted or deleted above it). */
function shiftSegment(seg: FtraceSegment, from: number, delta: number): void {
  const map = (v: number): number => (v >= from ? v + delta : v);
  seg.startLine = map(seg.startLine);
  seg.endLine = map(seg.endLine);
  for (const st of seg.state.vcpuStates.values()) {
    if (st.exitLine >= 0) st.exitLine = map(st.exitLine);
    if (st.hsrLine >= 0) st.hsrLine = map(st.hsrLine);
    if (st.accessLine >= 0) st.accessLine = map(st.accessLine);
    for (const r of [st.exitAt, st.hsrAt]) {
      r.line = map(r.line);
      if (r.range) r.range = { start: { line: map(r.range.start.line), character: r.range.start.character }, end: { line: map(r.range.end.line), character: r.range.end.character } };
    }
  }
  const seen = new Set<object>();
  shiftPositions(seg.events, from, delta, seen);
  shiftPositions(seg.findings, from, delta, seen);
  const lines = seg.acc.line;
  for (let i = 0; i < lines.length; i++) if (lines[i]! >= from) lines[i] = lines[i]! + delta;
}

/** Moves every Position ({line, character}) reachable from `root` whose line is at or after `from`. */
function shiftPositions(root: unknown, from: number, delta: number, seen: Set<object>): void {
  if (typeof root !== 'object' || root === null || seen.has(root)) return;
  seen.add(root);
  if (Array.isArray(root)) {
    for (const x of root) shiftPositions(x, from, delta, seen);
    return;
  }
  const o = root as Record<string, unknown>;
  if (typeof o.line === 'number' && typeof o.character === 'number') {
    if (o.line >= from) o.line += delta;
    return;
  }
  for (const k in o) shiftPositions(o[k], from, delta, seen);
}

function pcText(hi: number, lo: number): string {
  return '0x' + hi.toString(16).padStart(8, '0') + lo.toString(16).padStart(8, '0');
}

/**
 * trace-cmd report's preamble and buffer markers (`cpus=4`, `version = 6`, `CPU 3 is empty`,
 * `CPU:1 [LOST 12 EVENTS]`), and what people put around a trace they post: a shell prompt, an elision.
 */
function isPreamble(t: string, i: number, le: number): boolean {
  const line = t.slice(i, Math.min(le, i + 80));
  return /^(cpus=\d+|version = \d+|CPU \d+ is empty|CPU:\d+ \[LOST \d+ EVENTS\]|#+ CPU \d+ buffer started|trace-cmd: |\[\s*\d+\.\d+\] |\$ |(\.{3,}|…|\[\.\.\.\]|\[snip\])\s*$|```)/.test(line);
}

/** What a later re-parse of the same document needs (kept on the result, not enumerable). */
interface Resumable {
  segments: FtraceSegment[];
  options: FtraceOptions;
}

const RESUMABLE = Symbol('ftrace segments');

/** Builds the parse result from segments; the access index is joined on first use (only views need it). */
function assemble(segments: FtraceSegment[], lines: number, options: FtraceOptions): FtraceParseResult {
  let understood = 0;
  let skipped = 0;
  let nAcc = 0;
  // Plain loops: after each keystroke in a 40 MB trace this joins ~800 segments, and flatMap took ~0.7 ms.
  const events: TraceEvent[] = [];
  const findings: Finding[] = [];
  const vcpus: FtraceParseResult['vcpus'] = [];
  for (const s of segments) {
    understood += s.understood;
    skipped += s.skipped;
    nAcc += s.acc.line.length;
    for (let i = 0; i < s.events.length; i++) events.push(s.events[i]!);
    for (let i = 0; i < s.findings.length; i++) findings.push(s.findings[i]!);
    for (let i = 0; i < s.vcpus.length; i++) vcpus.push(s.vcpus[i]!);
  }
  let accesses: AccessIndex | undefined;
  const result = {
    format: 'ftrace',
    events,
    findings,
    stats: { lines, understood, skipped },
    vcpus,
  } as Omit<FtraceParseResult, 'accesses'> as FtraceParseResult;
  Object.defineProperty(result, 'accesses', {
    enumerable: true,
    get(): AccessIndex {
      if (!accesses) {
        const a = { count: nAcc, line: new Uint32Array(nAcc), key: new Uint16Array(nAcc), vcpu: new Uint16Array(nAcc), flags: new Uint8Array(nAcc) };
        let at = 0;
        for (const s of segments) {
          a.line.set(s.acc.line, at);
          a.key.set(s.acc.key, at);
          a.vcpu.set(s.acc.vcpu, at);
          a.flags.set(s.acc.flags, at);
          at += s.acc.line.length;
        }
        accesses = a;
      }
      return accesses;
    },
  });
  Object.defineProperty(result, RESUMABLE, { enumerable: false, value: { segments, options } satisfies Resumable });
  return result;
}

/** Parses ftrace / trace-cmd / perf text of the KVM tracepoints. Never throws. */
export function parseFtrace(text: string, _path?: string, options: FtraceOptions = {}): FtraceParseResult {
  const p = new FtraceParser(options);
  p.feed(text, 0, true);
  return assemble(p.segments, p.lines, options);
}

/**
 * Parses a document given piece by piece (the CLI reads big files in blocks): `feed` each text, which must
 * end at a line end unless it is the last; the unconsumed end of a text is passed again at the start of the next.
 */
export class FtraceStream implements StreamParser {
  private readonly p: FtraceParser;
  constructor(private readonly options: FtraceOptions = {}) {
    // Nothing re-parses a streamed file: one segment, no state snapshots to keep.
    this.p = new FtraceParser({ ...options, segmentLines: options.segmentLines ?? Number.POSITIVE_INFINITY });
    this.p.detachStrings = true;
  }
  feed(text: string, firstLine: number, final: boolean): FeedResult {
    const r = this.p.feed(text, firstLine, final);
    this.p.detachNew();
    return r;
  }
  finish(): FtraceParseResult {
    return assemble(this.p.segments, this.p.lines, this.options);
  }
}

/**
 * Re-parses a document after an edit, from the segment before the change until the parser's state equals
 * an old segment's state again; the rest of the old result is reused (moved by the lines added or removed).
 * undefined when `prev` cannot be resumed (the caller parses the whole document).
 */
export function reparseFtrace(prev: ParseResult, source: LineSource, change: LineChange): FtraceParseResult | undefined {
  const r = (prev as unknown as Record<symbol, Resumable | undefined>)[RESUMABLE];
  if (!r || r.segments.length === 0 || change.first < 0 || change.endNew <= change.first) return undefined;
  const old = r.segments;
  let k = 0;
  while (k + 1 < old.length && old[k + 1]!.startLine < change.first) k++;
  const p = new FtraceParser(r.options);
  p.restore(old[k]!);
  const oldStarts = new Map<number, number>();
  for (let j = k + 1; j < old.length; j++) oldStarts.set(old[j]!.startLine, j);
  p.plan = { delta: change.delta, dirtyEndNew: change.endNew, dirtyEndOld: change.endNew - change.delta, oldStarts, old };
  let from = old[k]!.startLine;
  const segmentLines = r.options.segmentLines ?? SEGMENT_LINES;
  let span = 2 * segmentLines;
  const total = source.lineCount;
  for (;;) {
    const to = Math.min(total, from + span);
    const final = to >= total;
    const res = p.feed(source.text(from, to), from, final);
    if (res.stopped || final) break;
    // A window that holds one unfinished record only: take more lines.
    if (res.nextLine === from) span *= 2;
    else {
      from = res.nextLine;
      span = Math.min(span * 2, 64 * segmentLines);
    }
  }
  if (p.convergedWith < 0) return assemble(old.slice(0, k).concat(p.segments), p.lines, r.options);
  const rest = old.slice(p.convergedWith);
  if (change.delta !== 0) for (const seg of rest) shiftSegment(seg, change.endNew - change.delta, change.delta);
  return assemble(old.slice(0, k).concat(p.segments, rest), prev.stats.lines + change.delta, r.options);
}

// `<secs>.<usecs>: [kvm:]kvm_<event>:`. The lookbehind starts the number only at the first digit of a run:
// unanchored, `\d+` would restart at every digit of a long run of digits and make the test quadratic.
const KVM_EVENT_RE = /(?<!\d)\d+\.\d+: (?:kvm:)?kvm_[a-z0-9_]+:/;
/**
 * The record part of a trace line after the first character of `TASK`: `…-PID [(TGID)] [CPU] [flags]
 * TIMESTAMP: event:`, the flags separated from the timestamp by blanks or not. Each quantifier is followed
 * by a character it cannot match, and the timestamp starts only at the first digit of a run (lookbehind),
 * so the test is linear in the line (the former `^[ \t]*\S.*-\d+…\S*[ \t]*\d+…` form was quadratic).
 */
const RECORD_TAIL_RE = /-\d+[ \t]+(?:\([ \t]*\d+\)[ \t]+)?\[\d{3}\][ \t]+(?:\S+[ \t]+|\S*?(?<!\d))\d+\.\d+: \w+:/;

/** Whether a line looks like an ftrace record `TASK-PID [CPU] flags TIMESTAMP: event:` (TASK may hold blanks). */
function looksLikeRecord(line: string): boolean {
  let i = 0;
  while (i < line.length && (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 9)) i++;
  // TASK has at least one character before the `-PID`.
  return i < line.length && RECORD_TAIL_RE.test(line.slice(i + 1));
}

/** Confidence that the text is a KVM trace: a kvm_* tracepoint record or an ftrace header near the top. */
export function sniffFtrace(text: string, path?: string): number {
  const head = text.length > 65536 ? text.slice(0, 65536) : text;
  if (KVM_EVENT_RE.test(head)) return 0.95;
  if (/^# tracer: /m.test(head)) return 0.8;
  for (let pos = 0; pos < head.length; ) {
    let nl = head.indexOf('\n', pos);
    if (nl < 0) nl = head.length;
    if (looksLikeRecord(head.slice(pos, nl))) return 0.6;
    pos = nl + 1;
  }
  if (path !== undefined && /(^|[\\/])(trace|trace_pipe)$|\.(ftrace|trace)$/i.test(path)) return 0.4;
  return 0;
}

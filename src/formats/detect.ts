// The real-world input formats (formats.md): their parsers and sniffers, registered with the check
// pipeline's format registry when this module is imported, plus the host-dependent judgement of what a
// file proposes to write (templates, refused writes in logs, QEMU properties).
//
// Detection is by content first: each sniffer returns a confidence from what the text looks like
// (0.8-0.95 for a clear signature) and falls back to the file name (0.35-0.4) only when the content
// says nothing. check.ts picks the highest score.
import { appendAll, makeFinding, type Finding, type Range } from '../findings.ts';
import { detectDocumentFormat, parseDocument, registerHostJudge, registerParser } from '../check.ts';
import type { DumpEntry, RegRef, RegisterDump } from '../model/events.ts';
import { describeProblem, judgeDumpEntries, judgeWrites, type HostWrite } from '../diff.ts';
import type { FormatId, ParseResult, StreamNeeds } from './types.ts';
import { FtraceStream, parseFtrace, reparseFtrace, sniffFtrace } from './ftrace.ts';
import { FirecrackerJsonStream, parseFirecrackerJson, parseFirecrackerLog, sniffFirecrackerJson, sniffFirecrackerLog } from './firecracker.ts';
import { parseGetRegList, sniffGetRegList } from './getreglist.ts';
import { parseCpuinfo, sniffCpuinfo } from './cpuinfo.ts';
import { parseSysfs, sniffSysfs } from './sysfs.ts';
import { parseCpusysregs, sniffCpusysregs } from './cpusysregs.ts';
import { parseQemuLog, parseQemuQmp, parseQemuTrace, sniffQemuLog, sniffQemuQmp, sniffQemuTrace } from './qemu.ts';
import { parseRegisterList, sniffRegisterList } from './reglist.ts';

/** vCPU feature bits a Firecracker template turns on or off (`vcpu_features`). */
export interface FeatureEdits {
  set: string[];
  clear: string[];
  range: Range;
}

/** A write a file proposes or records, to be judged against a host: a log line, a QEMU property. */
export interface ProposedWrite {
  reg: RegRef;
  /** The KVM one-reg id, when the file named the register by one. */
  oneRegId?: bigint;
  /** Bits set by the write (within `mask`). */
  value: bigint;
  /** Bits the write changes; the others keep the host's value. Undefined: the whole register. */
  mask?: bigint;
  valueRange: Range;
  /** The whole record. */
  range: Range;
  /** What really happened, when the file recorded it: '-EINVAL' (Firecracker's os error), 'failed' (QEMU). */
  recorded?: string;
  /** 'Firecracker write', 'QEMU property SYSREG_ID_AA64ISAR0_EL1_DP', … for messages. */
  what: string;
  /** The field a property sets. */
  field?: string;
}

/** What the parsers of this folder return: the common result plus what the host judgement needs. */
export interface FormatParseResult extends ParseResult {
  proposed?: ProposedWrite[];
  featureEdits?: FeatureEdits;
}

/** Registration order breaks ties: the more specific formats first. */
const FORMATS: { id: FormatId; parse: (text: string, path?: string) => ParseResult; sniff: (text: string, path?: string) => number }[] = [
  { id: 'firecracker-fingerprint', parse: parseFirecrackerJson, sniff: (t, p) => sniffFirecrackerJson(t, p).fingerprint },
  { id: 'firecracker-template', parse: parseFirecrackerJson, sniff: (t, p) => sniffFirecrackerJson(t, p).template },
  { id: 'ftrace', parse: parseFtrace, sniff: sniffFtrace },
  { id: 'firecracker-log', parse: parseFirecrackerLog, sniff: sniffFirecrackerLog },
  { id: 'qemu-qmp', parse: parseQemuQmp, sniff: sniffQemuQmp },
  { id: 'qemu-trace', parse: parseQemuTrace, sniff: sniffQemuTrace },
  { id: 'qemu-log', parse: parseQemuLog, sniff: sniffQemuLog },
  { id: 'get-reg-list', parse: parseGetRegList, sniff: sniffGetRegList },
  { id: 'cpusysregs', parse: parseCpusysregs, sniff: sniffCpusysregs },
  { id: 'sysfs-identification', parse: parseSysfs, sniff: sniffSysfs },
  { id: 'proc-cpuinfo', parse: parseCpuinfo, sniff: sniffCpuinfo },
  { id: 'register-list', parse: parseRegisterList, sniff: sniffRegisterList },
];

for (const f of FORMATS) {
  // Both Firecracker JSON ids read with one parser, which tells them apart by content (as parseFirecrackerJson).
  const extras =
    f.id === 'ftrace'
      ? { reparse: reparseFtrace, stream: () => new FtraceStream() }
      : f.id === 'firecracker-fingerprint' || f.id === 'firecracker-template'
        ? { stream: (needs: StreamNeeds) => new FirecrackerJsonStream(needs) }
        : {};
  registerParser(f.id, f.parse, f.sniff, extras);
}

/** The format of a document (every registered format, the native ones included), or 'unknown'. */
export function detectFormat(text: string, path?: string): FormatId {
  return detectDocumentFormat(text, path);
}

/** Detects and parses a document; never throws. */
export function parseAny(text: string, path?: string, format?: FormatId): ParseResult {
  return parseDocument(text, path, format);
}

// ---------------------------------------------------------------------------------------------
// Judgement against a host

export interface HostJudgeOptions {
  kernel?: string;
  capWritableImp?: boolean;
  /** The host file, for related locations. */
  hostPath?: string;
}

function featuresAfter(host: RegisterDump, edits: FeatureEdits | undefined): string[] | undefined {
  if (!edits) return host.features;
  const set = new Set(host.features ?? []);
  for (const f of edits.clear) set.delete(f);
  for (const f of edits.set) set.add(f);
  return [...set];
}

/** Same register → one write: properties of one register are applied together, as QEMU writes the register once. */
function groupProposals(list: ProposedWrite[]): { write: HostWrite; parts: ProposedWrite[] }[] {
  const groups = new Map<string, { write: HostWrite; parts: ProposedWrite[] }>();
  const out: { write: HostWrite; parts: ProposedWrite[] }[] = [];
  for (const p of list) {
    // Recorded writes each happened; only proposals without a record merge.
    const key = p.recorded === undefined && p.mask !== undefined && p.reg.enc ? `${p.reg.enc.op0}.${p.reg.enc.op1}.${p.reg.enc.crn}.${p.reg.enc.crm}.${p.reg.enc.op2}` : undefined;
    const g = key ? groups.get(key) : undefined;
    if (g) {
      g.write.value = (g.write.value & ~p.mask!) | p.value;
      g.write.mask = (g.write.mask ?? 0n) | p.mask!;
      g.parts.push(p);
      continue;
    }
    const write: HostWrite = { reg: p.reg, ...(p.oneRegId !== undefined ? { oneRegId: p.oneRegId } : {}), value: p.value, ...(p.mask !== undefined ? { mask: p.mask } : {}), valueRange: p.valueRange };
    const ng = { write, parts: [p] };
    if (key) groups.set(key, ng);
    out.push(ng);
  }
  return out;
}

/**
 * What the host's KVM would say to the values a file holds or proposes. A dump's values must each be a
 * write the host accepts; a template is applied to the host first (`new = (old & ~mask) | value`); a QEMU
 * property changes one field; a logged refusal is explained (the rule that refused it), or flagged IDR015
 * when the model would have accepted it. Findings are IDR030 (and IDR015), located in the checked file.
 */
export function judgeAgainstHost(parse: ParseResult, host: RegisterDump, options: HostJudgeOptions = {}): Finding[] {
  const ext = parse as FormatParseResult;
  const findings: Finding[] = [];
  const features = featuresAfter(host, ext.featureEdits);
  const base = {
    ...(options.kernel !== undefined ? { kernel: options.kernel } : {}),
    ...(options.capWritableImp ? { capWritableImp: true } : {}),
    ...(features ? { features } : {}),
  };
  const hostName = 'the host';
  if (parse.dump && parse.dump.entries.length > 0) {
    const template = parse.dump.isTemplate === true;
    const judged = judgeDumpEntries(parse.dump.entries, host, base, {
      what: template ? 'template' : 'dump',
      hostName,
      ...(options.hostPath ? { hostPath: options.hostPath } : {}),
      // A dump may list registers another kernel does not have; that is not this check's business.
      missingSeverity: template ? 'warning' : 'information',
    });
    appendAll(findings, judged);
  }
  const proposed = ext.proposed ?? [];
  if (proposed.length === 0) return findings;
  const groups = groupProposals(proposed);
  const verdicts = judgeWrites(
    groups.map((g) => g.write),
    host,
    base,
  );
  verdicts.forEach((v, i) => {
    const g = groups[i]!;
    const recorded = g.parts[0]!.recorded;
    const related = v.hostEntry ? [{ ...(options.hostPath ? { path: options.hostPath } : {}), range: v.hostEntry.valueRange, message: `the host's value of ${v.name}` }] : [];
    if (v.status === 'missing') {
      findings.push(makeFinding('IDR030', `${g.parts[0]!.what}: the host does not list ${v.name}: KVM there answers -ENOENT`, g.parts[0]!.range, { severity: recorded ? 'information' : 'error', register: v.name, errno: '-ENOENT' }));
      return;
    }
    if (recorded !== undefined) {
      if (v.status === 'refused') {
        findings.push(
          makeFinding('IDR030', `why ${v.name} was refused: ${v.problems.map((p) => describeProblem(v.name, p)).join('; ')}`, g.parts[0]!.valueRange, {
            severity: 'information',
            related,
            register: v.name,
            ...(v.problems[0]?.field !== undefined ? { field: v.problems[0].field } : {}),
            ...(v.errno ? { errno: v.errno } : {}),
          }),
        );
      } else if (v.status === 'ok') {
        findings.push(
          makeFinding('IDR015', `the log records a refusal of ${v.name}, but this host's KVM${options.kernel ? ` (kernel ${options.kernel} rules)` : ''} accepts the value: the refusal came from another host, kernel or VM state (e.g. after the first KVM_RUN, or without KVM_CAP_ARM_WRITABLE_IMP_ID_REGS)`, g.parts[0]!.valueRange, {
            severity: 'warning',
            related,
            register: v.name,
          }),
        );
      }
      return;
    }
    if (v.status !== 'refused') return;
    for (const p of v.problems) {
      // A refused field is reported on the property that set it, when one did.
      const part = g.parts.find((x) => x.field !== undefined && x.field === p.field) ?? g.parts[0]!;
      findings.push(
        makeFinding('IDR030', `${part.what}: ${describeProblem(v.name, p)}: the host would refuse ${v.name} = 0x${v.written.toString(16).padStart(16, '0')} (${v.errno})`, part.valueRange, {
          related,
          register: v.name,
          ...(p.field !== undefined ? { field: p.field } : {}),
          ...(v.errno ? { errno: v.errno } : {}),
        }),
      );
    }
  });
  return findings;
}

// `idreg check FILE --host DUMP` judges non-trace documents with this (templates' feature edits, logged writes).
registerHostJudge(judgeAgainstHost);

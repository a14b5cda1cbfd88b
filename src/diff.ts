// Register values judged against a host's limits, as KVM_SET_ONE_REG on that host would judge them. Two
// users: `idreg diff` (can a VM configured as SOURCE be restored on host DEST: IDR031) and the check of a
// dump, template or refused-write log against `--host` (IDR030, src/formats/detect.ts).
import { makeFinding, type Finding, type FindingCode, type Range } from './findings.ts';
import { decodeOneRegId, registerName } from './encoding/forms.ts';
import { encodingKey, type DumpEntry, type Encoding, type RegRef, type RegisterDump } from './model/events.ts';
import { fieldText, hex64, judgeUserWrite, policyOf, resolveKernel, type WriteJudgement, type WriteProblem } from './model/kvm.ts';

export interface JudgeOptions {
  /** Kernel whose rules apply; default: the host dump's kernel, else the newest rules. */
  kernel?: string;
  /** KVM_CAP_ARM_WRITABLE_IMP_ID_REGS enabled on the VM (MIDR/REVIDR/AIDR writable, 6.15+). */
  capWritableImp?: boolean;
  /** vCPU features of the VM (default: the host dump's). */
  features?: string[];
  /** Whether the host runs 32-bit EL0 (AArch32 ID registers writable); default: from its ID_AA64PFR0_EL1.EL0. */
  hostHas32bitEL0?: boolean;
}

const PFR0_KEY = encodingKey({ op0: 3, op1: 0, crn: 0, crm: 4, op2: 0 });

/** ID_AA64PFR0_EL1.EL0 ≥ 2 means EL0 runs AArch32 too; without it KVM makes the AArch32 views RAZ/write-ignored. */
export function hostHas32bitEL0(host: RegisterDump): boolean | undefined {
  const pfr0 = host.entries.find((e) => e.reg.enc && encodingKey(e.reg.enc) === PFR0_KEY);
  return pfr0 ? (pfr0.value & 0xfn) >= 2n : undefined;
}

/** A value that would be written to a host: a dump entry, a template entry, a logged write. */
export interface HostWrite {
  reg: RegRef;
  oneRegId?: bigint;
  value: bigint;
  /** Bits the write sets; the others keep the host's value (templates, properties). */
  mask?: bigint;
  valueRange: Range;
}

/** What the host's KVM would say to one write. */
export interface HostVerdict {
  write: HostWrite;
  name: string;
  /** The host's entry for the register; undefined when the host does not list it. */
  hostEntry?: DumpEntry;
  /** The value written after a mask is applied to the host's value. */
  written: bigint;
  /** 'ok' accepted; 'refused' with problems; 'missing' the host does not list the register (-ENOENT); 'unknown' not modelled. */
  status: 'ok' | 'refused' | 'missing' | 'unknown';
  /** Accepted but ignored (REG_USER_WI: AArch32 views on a host without 32-bit EL0). */
  ignored?: boolean;
  errno?: string;
  problems: VerdictProblem[];
}

/** A refused field as the model reports it, without the finding code (the caller picks IDR030/IDR031). */
export type VerdictProblem = Omit<WriteProblem, 'code'>;

/** KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2 levels, mapped as kvm_arm_set_fw_reg maps them (NOT_AVAIL/UNKNOWN → 0, AVAIL/NOT_REQUIRED → 3). */
function wa2Level(v: bigint): bigint {
  const level = v & 0xfn;
  return level === 0n || level === 1n ? 0n : 3n;
}

/**
 * Firmware pseudo-registers (arch/arm64/kvm/hypercalls.c kvm_arm_set_fw_reg): a feature bitmap takes only
 * bits the host supports; a workaround state or PSCI version above what the host reports is refused.
 */
function judgeFirmware(group: string, index: number, v: bigint, host: bigint): VerdictProblem | undefined {
  if (group === 'fw-feat') {
    const extra = v & ~host;
    return extra ? { value: v, limit: host, rule: `sets bits ${hex64(extra)} the host's hypervisor services do not offer (only a subset of the host's bitmap is accepted)` } : undefined;
  }
  if (index === 0) return v > host ? { value: v, limit: host, rule: 'a PSCI version above the one the host implements is refused' } : undefined;
  if (index === 2) {
    return wa2Level(v) > wa2Level(host) ? { value: v, limit: host, rule: 'the SSBD workaround state promises more mitigation than the host provides' } : undefined;
  }
  return (v & 0xfn) > (host & 0xfn) ? { value: v, limit: host, rule: 'the workaround state promises more than the host provides (NOT_AVAIL < AVAIL < NOT_REQUIRED)' } : undefined;
}

function hostKey(id: bigint | undefined, enc: Encoding | undefined): string | undefined {
  if (enc) return `s${encodingKey(enc)}`;
  return id === undefined ? undefined : `i${id.toString(16)}`;
}

function entryKey(e: { reg: RegRef; oneRegId?: bigint }): string | undefined {
  // One-reg ids of the sysreg group and encodings name the same register.
  if (e.reg.enc) return hostKey(undefined, e.reg.enc);
  return hostKey(e.oneRegId, undefined);
}

export function writeName(w: { reg: RegRef; oneRegId?: bigint }): string {
  if (w.reg.enc) return w.reg.name ?? registerName(w.reg.enc);
  if (w.oneRegId !== undefined) return decodeOneRegId(w.oneRegId).name;
  return w.reg.name ?? w.reg.text;
}

/** The host's entries by register (the first of each), for judgeWrites. */
export type HostIndex = ReadonlyMap<string, DumpEntry>;

export function indexHost(host: RegisterDump): HostIndex {
  const byKey = new Map<string, DumpEntry>();
  for (const e of host.entries) {
    const k = entryKey(e);
    if (k && !byKey.has(k)) byKey.set(k, e);
  }
  return byKey;
}

/** Judges each write against the host's value of the same register. */
export function judgeWrites(writes: HostWrite[], host: RegisterDump, options: JudgeOptions = {}, byKey: HostIndex = indexHost(host)): HostVerdict[] {
  const kernel = options.kernel ?? host.kernel;
  const features = options.features ?? host.features;
  const has32 = options.hostHas32bitEL0 ?? hostHas32bitEL0(host);
  const out: HostVerdict[] = [];
  for (const w of writes) {
    const name = writeName(w);
    const k = entryKey(w);
    const hostEntry = k ? byKey.get(k) : undefined;
    const base = { write: w, name, problems: [] as VerdictProblem[] };
    if (!hostEntry) {
      out.push({ ...base, written: w.value, status: 'missing', errno: '-ENOENT' });
      continue;
    }
    const limit = hostEntry.value;
    const written = w.mask === undefined ? w.value : (limit & ~w.mask) | (w.value & w.mask);
    const enc = w.reg.enc;
    if (enc && policyOf(enc)) {
      const j: WriteJudgement = judgeUserWrite({
        enc,
        value: written,
        limit,
        ...(kernel !== undefined ? { kernel } : {}),
        ...(features ? { features } : {}),
        ...(options.capWritableImp ? { capWritableImp: true } : {}),
        ...(has32 !== undefined ? { hostHas32bitEL0: has32 } : {}),
      });
      if (j.errno === '0') out.push({ ...base, hostEntry, written, status: 'ok', errno: '0', ...(j.ignored ? { ignored: true } : {}) });
      else if (j.errno === 'unknown') out.push({ ...base, hostEntry, written, status: 'unknown' });
      else {
        const problems = j.problems.map((p) => {
          const q: VerdictProblem = { rule: p.rule };
          if (p.field !== undefined) q.field = p.field;
          if (p.msb !== undefined) q.msb = p.msb;
          if (p.lsb !== undefined) q.lsb = p.lsb;
          if (p.value !== undefined) q.value = p.value;
          if (p.limit !== undefined) q.limit = p.limit;
          return q;
        });
        out.push({ ...base, hostEntry, written, status: 'refused', errno: j.errno, problems });
      }
      continue;
    }
    const info = w.oneRegId !== undefined ? decodeOneRegId(w.oneRegId) : undefined;
    if (info && (info.group === 'fw' || info.group === 'fw-feat')) {
      const p = judgeFirmware(info.group, Number(w.oneRegId! & 0xffffn), written, limit);
      out.push(p ? { ...base, hostEntry, written, status: 'refused', errno: '-EINVAL', problems: [p] } : { ...base, hostEntry, written, status: 'ok', errno: '0' });
      continue;
    }
    // Core registers, timers, CCSIDR, SVE: vCPU state, not a property of the host.
    out.push({ ...base, hostEntry, written, status: 'unknown' });
  }
  return out;
}

/** `ID_AA64ISAR0_EL1.SHA3 [35:32] = 2, limit 1 (unsigned, lower is safe)` */
export function describeProblem(name: string, p: VerdictProblem): string {
  const where = p.field !== undefined ? `${name}.${p.field}` : name;
  const bits = p.msb !== undefined && p.lsb !== undefined ? (p.msb === p.lsb ? ` [${p.msb}]` : ` [${p.msb}:${p.lsb}]`) : '';
  const vals = p.value !== undefined && p.limit !== undefined ? (p.field !== undefined || bits ? ` = ${fieldText(p.value)}, host ${fieldText(p.limit)}` : ` = ${hex64(p.value)}, host ${hex64(p.limit)}`) : '';
  return `${where}${bits}${vals} (${p.rule})`;
}

/** A dump's entry as a write of its value (and mask) to the same register. */
export function entryWrite(e: DumpEntry): HostWrite {
  return { reg: e.reg, ...(e.oneRegId !== undefined ? { oneRegId: e.oneRegId } : {}), value: e.value, ...(e.mask !== undefined ? { mask: e.mask } : {}), valueRange: e.valueRange };
}

/** How many entries judgeDumpEntries judges at once. */
const JUDGE_CHUNK = 1024;

/**
 * The IDR030 findings of a dump's (or template's) entries written to the host. Entries are judged a few
 * thousand at a time: the writes and verdicts of a 200k-entry template made at once held 420 MB.
 */
export function judgeDumpEntries(entries: readonly DumpEntry[], host: RegisterDump, options: JudgeOptions, context: VerdictContext): Finding[] {
  const index = indexHost(host);
  const out: Finding[] = [];
  for (let i = 0; i < entries.length; i += JUDGE_CHUNK) {
    const writes = entries.slice(i, i + JUDGE_CHUNK).map(entryWrite);
    for (const f of verdictFindings(judgeWrites(writes, host, options, index), 'IDR030', context)) out.push(f);
  }
  return out;
}

export interface VerdictContext {
  what: string;
  hostName: string;
  hostPath?: string;
  missingSeverity?: 'error' | 'warning' | 'information';
}

/** Findings for the refusals of a set of verdicts (one per problem), located at the written value. */
export function verdictFindings(verdicts: HostVerdict[], code: FindingCode, context: VerdictContext): Finding[] {
  const out: Finding[] = [];
  for (const v of verdicts) {
    const related = v.hostEntry ? [{ ...(context.hostPath ? { path: context.hostPath } : {}), range: v.hostEntry.valueRange, message: `${context.hostName}'s value of ${v.name}` }] : [];
    if (v.status === 'missing') {
      out.push(
        makeFinding(code, `${context.what}: ${context.hostName} does not list ${v.name}${v.write.oneRegId !== undefined ? ` (${hex64(v.write.oneRegId)})` : ''}: KVM there would answer -ENOENT`, v.write.valueRange, {
          severity: context.missingSeverity ?? 'error',
          errno: '-ENOENT',
          register: v.name,
        }),
      );
      continue;
    }
    if (v.status !== 'refused') continue;
    for (const p of v.problems) {
      out.push(
        makeFinding(code, `${context.what}: ${describeProblem(v.name, p)}: ${context.hostName} would refuse ${hex64(v.written)} (${v.errno})`, v.write.valueRange, {
          related,
          ...(v.errno ? { errno: v.errno } : {}),
          register: v.name,
          ...(p.field !== undefined ? { field: p.field } : {}),
        }),
      );
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// idreg diff

export interface DiffItem {
  register: string;
  oneRegId?: bigint;
  field?: string;
  msb?: number;
  lsb?: number;
  /** Field (or register) value of the source and the destination's limit. */
  source?: bigint;
  destination?: bigint;
  rule: string;
  errno: string;
  sourceRange: Range;
  destinationRange?: Range;
}

export interface DiffResult {
  compatible: boolean;
  /** The kernel text whose rules were used, where it came from, and the era it maps to. */
  kernel: { text?: string; from: 'option' | 'destination' | 'default'; era: string; note: string };
  capWritableImp: boolean;
  refusals: DiffItem[];
  /** Registers compared (in both dumps) and registers of the destination the source does not have. */
  compared: number;
  onlyOnDestination: string[];
  /** Registers that differ but are vCPU state rather than host capability (not judged). */
  notJudged: string[];
  /** Registers whose value the destination accepts but ignores (the guest sees the destination's value). */
  ignored: string[];
  verdicts: HostVerdict[];
}

/** Can a VM configured with SOURCE's values be restored on DEST: every register and field DEST would refuse. */
export function diffDumps(source: RegisterDump, dest: RegisterDump, options: Omit<JudgeOptions, 'features'> = {}): DiffResult {
  const kernelText = options.kernel ?? dest.kernel;
  const from: DiffResult['kernel']['from'] = options.kernel !== undefined ? 'option' : dest.kernel !== undefined ? 'destination' : 'default';
  const k = resolveKernel(kernelText);
  const writes: HostWrite[] = source.entries.map((e) => ({ reg: e.reg, ...(e.oneRegId !== undefined ? { oneRegId: e.oneRegId } : {}), value: e.value, valueRange: e.valueRange }));
  const verdicts = judgeWrites(writes, dest, {
    ...(kernelText !== undefined ? { kernel: kernelText } : {}),
    ...(options.capWritableImp ? { capWritableImp: true } : {}),
    ...(source.features ? { features: source.features } : {}),
  });
  const refusals: DiffItem[] = [];
  const notJudged: string[] = [];
  const ignored: string[] = [];
  for (const v of verdicts) {
    const base = { register: v.name, ...(v.write.oneRegId !== undefined ? { oneRegId: v.write.oneRegId } : {}), sourceRange: v.write.valueRange, ...(v.hostEntry ? { destinationRange: v.hostEntry.valueRange } : {}) };
    if (v.status === 'missing') refusals.push({ ...base, source: v.write.value, rule: 'the destination does not list this register', errno: '-ENOENT' });
    else if (v.status === 'refused') {
      for (const p of v.problems) {
        refusals.push({
          ...base,
          ...(p.field !== undefined ? { field: p.field } : {}),
          ...(p.msb !== undefined ? { msb: p.msb } : {}),
          ...(p.lsb !== undefined ? { lsb: p.lsb } : {}),
          ...(p.value !== undefined ? { source: p.value } : {}),
          ...(p.limit !== undefined ? { destination: p.limit } : {}),
          rule: p.rule,
          errno: v.errno ?? '-EINVAL',
        });
      }
    } else if (v.status === 'unknown' && v.hostEntry && v.hostEntry.value !== v.written) notJudged.push(v.name);
    else if (v.ignored && v.hostEntry && v.hostEntry.value !== v.written) ignored.push(v.name);
  }
  const sourceKeys = new Set(source.entries.map((e) => entryKey(e)));
  const onlyOnDestination = dest.entries.filter((e) => !sourceKeys.has(entryKey(e))).map((e) => writeName(e));
  return {
    compatible: refusals.length === 0,
    kernel: { ...(kernelText !== undefined ? { text: kernelText } : {}), from, era: k.era, note: k.profile.note },
    capWritableImp: options.capWritableImp === true,
    refusals,
    compared: verdicts.filter((v) => v.status !== 'missing').length,
    onlyOnDestination,
    notJudged,
    ignored,
    verdicts,
  };
}

/** IDR031 findings located in the source file. */
export function diffFindings(result: DiffResult, destName: string, destPath?: string): Finding[] {
  return verdictFindings(result.verdicts, 'IDR031', { what: 'migration', hostName: destName, ...(destPath ? { hostPath: destPath } : {}) });
}

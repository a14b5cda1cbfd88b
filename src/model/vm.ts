// The shared VM model: replays trace events against KVM's rules. ID registers are stored once per VM and
// every vCPU sees that copy ("per-VM storage, per-vCPU visibility", kvm-model.md §0, §2.3-§2.4); MPIDR and
// CLIDR are per vCPU. The host dump gives the limit (the fresh-vCPU values); without one the model checks
// what needs no limit and learns reference values from what userspace reads.
//
// Streaming: ReplaySession replays events in batches (a big trace is parsed block by block), and replay()
// is one batch. The replayer keeps nothing per event except, when asked, the predictions and definitions
// the editor shows; what findings point back to (the last set of a register, an observation) is kept per
// register, so memory is bounded by the registers and vCPUs, not by the trace.
import { makeFinding, type Finding, type FindingCode, type FindingFix, type Range, type RelatedLocation } from '../findings.ts';
import { FIRST_RUN_MUTABLE, KVM_REGISTERS, LIMIT_EDITS, VCPU_FEATURES, type LimitFeature, type RegisterPolicy } from '../data/kvm-policy.ts';
import { encodingKey, type DumpEntry, type Encoding, type KernelEvent, type Outcome, type RecordedOutcome, type RegisterDump, type TraceEvent } from './events.ts';
import {
  fieldMask,
  fieldOf,
  fieldText,
  guestReadWithoutDescriptor,
  hex64,
  inFeatureIdSpace,
  isRaz,
  judgeWrite,
  policyEncoding,
  policyOf,
  resolveKernel,
  withField,
  writableMask,
  type KernelInfo,
  type WriteJudgement,
  type WriteProblem,
} from './kvm.ts';

export interface HostLimit {
  dump: RegisterDump;
  path?: string;
}

export interface ReplayOptions {
  /** Kernel version whose rules apply; wins over a `kernel` line in the trace and over the dump's kernel. */
  kernel?: string;
  host?: HostLimit;
  /** The trace's path (findings and same-file related locations leave `path` undefined). */
  path?: string;
}

export interface RegisterState {
  enc: Encoding;
  name: string;
  /** The value, when every bit of it is known. */
  value: bigint | undefined;
  /** Bits of the value the model does not know (present only when some are unknown). */
  unknownMask?: bigint;
  setAt?: Range;
  /** 'host': the host limit; 'set': a userspace write; 'default': KVM's reset value (RAZ, MPIDR); 'get': learned from a GET. */
  setBy?: 'host' | 'set' | 'default' | 'get';
  limit?: bigint;
  limitFrom?: { path?: string; range: Range };
}

export interface VmSnapshot {
  /** The era whose rules were applied ('6.4', '6.5', '6.7', '6.15', 'newest'). */
  kernel: string;
  /** The version text the era came from, when one was given. */
  kernelVersion?: string;
  hasRun: boolean;
  features?: string[];
  caps: string[];
  vcpus: { id: number; initialised: boolean; ran: boolean }[];
  registers: RegisterState[];
  perVcpu: Map<number, RegisterState[]>;
}

export interface ReplayResult {
  findings: Finding[];
  vm: VmSnapshot;
  predictions: { eventIndex: number; predicted: string }[];
  definitions: { eventIndex: number; setEventIndex?: number }[];
}

const U64 = (1n << 64n) - 1n;

interface Slot {
  p: RegisterPolicy;
  enc: Encoding;
  value: bigint;
  unknown: bigint;
  limit: bigint;
  limitUnknown: bigint;
  /** Limit bits unknown because the trace's vCPU features differ from the dump's (reported once per field). */
  featureUnknown: bigint;
  limitFrom?: { path?: string; range: Range };
  limitEntry?: DumpEntry;
  setAt?: Range;
  setBy?: RegisterState['setBy'];
  setEventIndex?: number;
  /** Whether a userspace write has changed the value since the VM was initialised. */
  written: boolean;
  /** Bumped whenever the value may have changed; observations compare only within one epoch. */
  epoch: number;
  /** Up to two observations of the current epoch from different vCPUs: enough to find any disagreement. */
  observations: { vcpu: number; value: bigint; epoch: number; range: Range }[];
  reported022: Set<number>;
  reportedUnchecked: Set<string>;
  /**
   * Fields of this register the first run may change (FIRST_RUN_MUTABLE), as a mask. It depends only on the
   * policy, so it is made on first use: comparable() runs several times per guest read.
   */
  runMutable?: bigint;
  /** comparable() as computed for cmpUnknown and cmpRun: a register is read far more often than either changes. */
  cmp?: bigint;
  cmpUnknown?: bigint;
  cmpRun?: boolean;
  /** hex64(value) for the value in valueHexOf: a register is read far more often than it changes. */
  valueHex?: string;
  valueHexOf?: bigint;
}

interface Vcpu {
  id: number;
  initialised: boolean;
  ran: boolean;
  perVcpu: Map<number, Slot>;
}

const FEATURE_OF_EDIT: Record<LimitFeature, (f: Set<string>) => boolean> = {
  pmu_v3: (f) => f.has('pmu_v3'),
  sve: (f) => f.has('sve'),
  ptrauth: (f) => f.has('ptrauth_address') && f.has('ptrauth_generic'),
  mte: (f) => f.has('mte'),
  has_el2: (f) => f.has('has_el2'),
};

export function outcomeText(o: Outcome): string {
  switch (o.kind) {
    case 'ok':
      return '0';
    case 'errno':
      return o.errno;
    case 'value':
      return hex64(o.value);
    case 'undef':
      return 'undef';
  }
}

function normaliseCap(name: string): string {
  return name.trim().toUpperCase().replace(/^KVM_CAP_/, '');
}

function errnoOf(r: RecordedOutcome | undefined): string | undefined {
  if (!r) return undefined;
  return r.outcome.kind === 'value' ? undefined : outcomeText(r.outcome);
}

class Replayer {
  readonly findings: Finding[] = [];
  readonly predictions: { eventIndex: number; predicted: string }[] = [];
  readonly definitions: { eventIndex: number; setEventIndex?: number }[] = [];
  kernel: KernelInfo;
  kernelText?: string;
  readonly vcpus = new Map<number, Vcpu>();
  readonly slots = new Map<number, Slot>();
  readonly caps = new Set<string>();
  /** Capabilities KVM refused, with where: a later refusal that depends on them points there. */
  readonly refusedCaps = new Map<string, Range>();
  vmFeatures?: string[];
  firstInit?: Range;
  hasRun = false;
  initialised = false;
  readonly hostEntries = new Map<number, DumpEntry>();
  readonly hostHas32bitEL0?: boolean;
  readonly hostCtr?: bigint;
  private reportedEl2 = false;

  /** Whether predictions and definitions are kept (the editor's per-event views need them; a check does not). */
  private readonly keepPerEvent: boolean;

  constructor(readonly options: ReplayOptions, traceKernel: KernelEvent | undefined, keepPerEvent: boolean) {
    this.keepPerEvent = keepPerEvent;
    const host = options.host;
    for (const e of host?.dump.entries ?? []) if (e.reg.enc) this.hostEntries.set(encodingKey(e.reg.enc), e);
    const pfr0 = this.hostEntries.get(encodingKey({ op0: 3, op1: 0, crn: 0, crm: 4, op2: 0 }));
    // Host PFR0.EL0 == 1 means AArch64-only at EL0 (kvm-model.md §0.1 item 19).
    if (pfr0) this.hostHas32bitEL0 = (pfr0.value & 0xfn) === 2n;
    const ctr = this.hostEntries.get(encodingKey({ op0: 3, op1: 3, crn: 0, crm: 0, op2: 1 }));
    if (ctr) this.hostCtr = ctr.value;
    // The dump's own kernel is not used: design.md makes the newest rules the default.
    this.kernelText = options.kernel ?? traceKernel?.version;
    this.kernel = resolveKernel(this.kernelText);
    if (traceKernel && this.kernelText === traceKernel.version && !this.kernel.recognised) {
      this.add('IDR001', `kernel version "${traceKernel.version}" not understood (expected e.g. 6.15): the newest rules apply`, traceKernel.versionRange, { severity: 'warning' });
    }
  }

  /**
   * A copy whose replay can go on independently of this one (a checkpoint). Slots and vCPUs are copied;
   * what they point to is never changed in place (ranges, policies, host entries, observations).
   */
  clone(): Replayer {
    const c = Object.create(Replayer.prototype) as Replayer;
    const slotCopy = (s: Slot): Slot => ({ ...s, observations: s.observations.slice(), reported022: new Set(s.reported022), reportedUnchecked: new Set(s.reportedUnchecked) });
    const slots = new Map<number, Slot>();
    for (const [k, s] of this.slots) slots.set(k, slotCopy(s));
    const vcpus = new Map<number, Vcpu>();
    for (const [id, v] of this.vcpus) {
      const perVcpu = new Map<number, Slot>();
      for (const [k, s] of v.perVcpu) perVcpu.set(k, slotCopy(s));
      vcpus.set(id, { ...v, perVcpu });
    }
    Object.assign(c, {
      ...this,
      findings: this.findings.slice(),
      predictions: this.predictions.slice(),
      definitions: this.definitions.slice(),
      vcpus,
      slots,
      caps: new Set(this.caps),
      refusedCaps: new Map(this.refusedCaps),
      ...(this.vmFeatures ? { vmFeatures: this.vmFeatures.slice() } : {}),
    });
    return c;
  }

  add(code: FindingCode, message: string, range: Range, extra: Partial<Omit<Finding, 'code' | 'message' | 'range'>> = {}): void {
    this.findings.push(makeFinding(code, message, range, extra));
  }

  predict(i: number, predicted: string): void {
    if (this.keepPerEvent) this.predictions.push({ eventIndex: i, predicted });
  }

  /** Which set defined the value an access saw (go-to-definition). */
  define(i: number, slot: Slot): void {
    if (this.keepPerEvent) this.definitions.push({ eventIndex: i, ...(slot.setEventIndex !== undefined ? { setEventIndex: slot.setEventIndex } : {}) });
  }

  vcpu(id: number): Vcpu {
    let v = this.vcpus.get(id);
    if (!v) {
      v = { id, initialised: false, ran: false, perVcpu: new Map() };
      this.vcpus.set(id, v);
    }
    return v;
  }

  /** Compare a recorded result with the prediction; IDR015 when they differ. */
  checkRecorded(predicted: string | undefined, recorded: RecordedOutcome | undefined, why: string, extra: Partial<Finding> = {}): void {
    if (!recorded || predicted === undefined) return;
    const got = outcomeText(recorded.outcome);
    if (got === predicted) return;
    this.add('IDR015', `recorded ${got}, but the model predicts ${predicted}${why ? `: ${why}` : ''}`, recorded.range, extra);
  }

  // --- the limit --------------------------------------------------------------------------------------

  private dumpHas(feature: LimitFeature): boolean | undefined {
    const f = this.options.host?.dump.features;
    return f === undefined ? undefined : FEATURE_OF_EDIT[feature](new Set(f));
  }

  /** The limit for the VM's features, from the host dump (design.md "host" paragraph, kvm-model.md §4.4). */
  private initSlot(p: RegisterPolicy, features: Set<string> | undefined): Slot {
    const enc = policyEncoding(p);
    const key = encodingKey(enc);
    const slot: Slot = {
      p, enc, value: 0n, unknown: U64, limit: 0n, limitUnknown: U64, featureUnknown: 0n, written: false, epoch: 0, observations: [],
      reported022: new Set(), reportedUnchecked: new Set(),
    };
    if (isRaz(p, features && [...features]) || p.classes.includes('sanitised')) {
      slot.value = 0n;
      slot.unknown = 0n;
      slot.limit = 0n;
      slot.limitUnknown = 0n;
      slot.setBy = 'default';
      return slot;
    }
    if (p.classes.includes('aarch32') && this.hostHas32bitEL0 === false && p.name !== 'ID_DFR0_EL1') {
      slot.value = 0n;
      slot.unknown = 0n;
      slot.limit = 0n;
      slot.limitUnknown = 0n;
      slot.setBy = 'default';
      return slot;
    }
    const entry = this.hostEntries.get(key);
    if (!entry) return slot;
    let limit = entry.value & U64;
    let unknown = 0n;
    for (const edit of LIMIT_EDITS) {
      if (edit.register !== p.name || edit.when === 'always' || !('without' in edit.when)) continue;
      const feat = edit.when.without;
      const field = edit.field === '*' ? { lsb: 0, width: 64 } : p.fields?.find((f) => f.name === edit.field);
      if (!field) continue;
      const m = edit.field === '*' ? U64 : fieldMask(field);
      if (!features) {
        // vCPU features unknown (a trace of guest accesses only): these fields may or may not be the dump's.
        unknown |= m;
        continue;
      }
      if (!FEATURE_OF_EDIT[feat](features)) {
        limit &= ~m;
        continue;
      }
      // The VM has the feature: the dump's field is its limit only if the dump was taken with it too.
      const had = this.dumpHas(feat);
      if (had === true) continue;
      if (had === undefined && (limit & m) !== 0n) continue;
      unknown |= m;
    }
    slot.limit = limit;
    slot.limitUnknown = unknown;
    slot.featureUnknown = features ? unknown : 0n;
    slot.value = limit;
    slot.unknown = unknown;
    slot.limitEntry = entry;
    slot.limitFrom = { ...(this.options.host?.path !== undefined ? { path: this.options.host.path } : {}), range: entry.valueRange };
    slot.setBy = 'host';
    return slot;
  }

  private initVm(features: string[] | undefined): void {
    const set = features && new Set(features);
    if (set) for (const c of this.caps) if (c === 'ARM_MTE') set.add('mte');
    for (const p of KVM_REGISTERS) {
      if (p.classes.includes('per-vcpu')) continue;
      const slot = this.initSlot(p, set);
      this.slots.set(encodingKey(slot.enc), slot);
    }
    this.initialised = true;
  }

  private initVcpuRegs(v: Vcpu): void {
    for (const p of KVM_REGISTERS) {
      if (!p.classes.includes('per-vcpu')) continue;
      const slot = this.initSlot(p, this.vmFeatures && new Set(this.vmFeatures));
      if (p.name === 'MPIDR_EL1') {
        // reset_mpidr: bit 31 set, Aff0 = id[3:0], Aff1 = id[11:4], Aff2 = id[19:12] (kvm-model.md §2.2).
        const id = BigInt(v.id);
        slot.value = (1n << 31n) | (id & 0xfn) | (((id >> 4n) & 0xffn) << 8n) | (((id >> 12n) & 0xffn) << 16n);
        slot.unknown = 0n;
        slot.setBy = 'default';
        delete slot.limitFrom;
      }
      v.perVcpu.set(encodingKey(slot.enc), slot);
    }
  }

  // --- helpers for findings --------------------------------------------------------------------------

  related(slot: Slot | undefined): RelatedLocation[] {
    const out: RelatedLocation[] = [];
    if (!slot) return out;
    if (slot.setBy === 'set' && slot.setAt) out.push({ range: slot.setAt, message: `${slot.p.name} was set to ${hex64(slot.value)} here` });
    if (slot.limitFrom && slot.limitUnknown !== U64) {
      out.push({ ...slot.limitFrom, message: `host limit: ${slot.p.name} = ${hex64(slot.limit)}` });
    }
    return out;
  }

  regName(p: RegisterPolicy | undefined, enc: Encoding, given?: string): string {
    return p && !p.classes.includes('unallocated') ? p.name : (given ?? p?.name ?? `S${enc.op0}_${enc.op1}_C${enc.crn}_C${enc.crm}_${enc.op2}`);
  }

  /** The bits a comparison of an observed value may use: known ones, minus the fields the first run may change. */
  comparable(slot: Slot): bigint {
    if (slot.cmpUnknown === slot.unknown && slot.cmpRun === this.hasRun) return slot.cmp!;
    const cmp = this.computeComparable(slot);
    slot.cmp = cmp;
    slot.cmpUnknown = slot.unknown;
    slot.cmpRun = this.hasRun;
    return cmp;
  }

  private computeComparable(slot: Slot): bigint {
    const m = ~slot.unknown & U64;
    if (!this.hasRun) return m;
    let mutable = slot.runMutable;
    if (mutable === undefined) {
      mutable = 0n;
      for (const mf of FIRST_RUN_MUTABLE) {
        if (mf.register !== slot.p.name) continue;
        const f = slot.p.fields?.find((x) => x.name === mf.field);
        if (f) mutable |= fieldMask(f);
      }
      slot.runMutable = mutable;
    }
    return m & ~mutable;
  }

  /** hex64(slot.value), formatted again only when the value changed since the last call. */
  valueHex(slot: Slot): string {
    if (slot.valueHex === undefined || slot.valueHexOf !== slot.value) {
      slot.valueHex = hex64(slot.value);
      slot.valueHexOf = slot.value;
    }
    return slot.valueHex;
  }

  markRun(): void {
    if (this.hasRun) return;
    this.hasRun = true;
    // First-run GIC reconciliation may change these fields (kvm-model.md §4.2 step 5).
    for (const mf of FIRST_RUN_MUTABLE) {
      const p = KVM_REGISTERS.find((x) => x.name === mf.register);
      const slot = p && this.slots.get(encodingKey(policyEncoding(p)));
      const f = p?.fields?.find((x) => x.name === mf.field);
      if (!slot || !f) continue;
      slot.unknown |= fieldMask(f);
      slot.epoch++;
    }
  }

  // --- events ----------------------------------------------------------------------------------------

  /** Replays event `i` (its index in the whole trace). */
  step(e: TraceEvent, i: number): void {
    switch (e.kind) {
      case 'kernel':
      case 'host':
        return;
      case 'cap':
        return this.onCap(e, i);
      case 'init':
        return this.onInit(e, i);
      case 'get':
        return this.onGet(e, i);
      case 'set':
        return this.onSet(e, i);
      case 'run':
        return this.onRun(e, i);
      case 'mrs':
        return this.onMrs(e, i);
      case 'msr':
        return this.onMsr(e, i);
    }
  }

  onCap(e: Extract<TraceEvent, { kind: 'cap' }>, i: number): void {
    const cap = normaliseCap(e.cap);
    let predicted: string | undefined;
    let why = '';
    if (cap === 'ARM_WRITABLE_IMP_ID_REGS') {
      if (!this.kernel.profile.writableImpCap) {
        predicted = '-EINVAL';
        why = `kernel era ${this.kernel.era} has no ARM_WRITABLE_IMP_ID_REGS (added in 6.15)`;
      } else if (this.vcpus.size > 0) {
        predicted = '-EINVAL';
        why = 'the capability must be enabled before any vCPU is created';
      } else predicted = '0';
    } else if (cap === 'ARM_MTE' && this.vcpus.size > 0) {
      predicted = '-EINVAL';
      why = 'the capability must be enabled before any vCPU is created';
    }
    if (predicted !== undefined) this.predict(i, predicted);
    this.checkRecorded(predicted, e.result, why);
    const outcome = e.result ? outcomeText(e.result.outcome) : predicted;
    if (outcome === undefined || outcome === '0') this.caps.add(cap);
    else this.refusedCaps.set(cap, e.capRange);
  }

  onInit(e: Extract<TraceEvent, { kind: 'init' }>, i: number): void {
    const v = this.vcpu(e.vcpu);
    const features = e.features.map((f) => f.trim().toLowerCase()).filter((f) => f !== '');
    const set = new Set(features);
    let predicted = '0';
    let why = '';
    let finding: { message: string; related?: RelatedLocation[] } | undefined;
    const unknown = features.filter((f) => !VCPU_FEATURES.includes(f));
    const hostPfr0 = this.hostEntries.get(encodingKey({ op0: 3, op1: 0, crn: 0, crm: 4, op2: 0 }));
    // Validation order of kvm-model.md §0.1 item 6.
    if (unknown.length) {
      predicted = '-ENOENT';
      why = `unknown vCPU feature ${unknown.join(', ')}`;
    } else if (set.has('el1_32bit') && hostPfr0 && ((hostPfr0.value >> 4n) & 0xfn) === 1n) {
      predicted = '-EINVAL';
      why = 'el1_32bit needs a host with AArch32 at EL1';
      finding = { message: `vCPU ${e.vcpu}: ${why}: KVM returns -EINVAL` };
    } else if (set.has('ptrauth_address') !== set.has('ptrauth_generic')) {
      predicted = '-EINVAL';
      why = 'ptrauth_address and ptrauth_generic must be requested together';
      finding = { message: `vCPU ${e.vcpu}: ${why}: KVM returns -EINVAL` };
    } else if (set.has('el1_32bit') && (set.has('has_el2') || this.caps.has('ARM_MTE'))) {
      predicted = '-EINVAL';
      why = `el1_32bit cannot be combined with ${set.has('has_el2') ? 'has_el2' : 'MTE'}`;
      finding = { message: `vCPU ${e.vcpu}: ${why}: KVM returns -EINVAL` };
    } else if (this.kernel.profile.featureConsistency && this.vmFeatures) {
      const vm = new Set(this.vmFeatures);
      const mine = features.filter((f) => f !== 'power_off');
      const differs = mine.length !== vm.size || mine.some((f) => !vm.has(f));
      if (differs) {
        predicted = '-EINVAL';
        const added = mine.filter((f) => !vm.has(f));
        const missing = [...vm].filter((f) => !set.has(f));
        why = `features differ from the VM's (${[added.length ? `+${added.join(',+')}` : '', missing.length ? `-${missing.join(',-')}` : ''].filter(Boolean).join(' ')})`;
        finding = {
          message: `vCPU ${e.vcpu} initialised with features that differ from the VM's [${[...vm].join(', ')}]: KVM returns -EINVAL`,
          ...(this.firstInit ? { related: [{ range: this.firstInit, message: "the VM's features were recorded here" }] } : {}),
        };
      }
    }
    this.predict(i, predicted);
    if (finding) this.add('IDR014', finding.message, e.featuresRange, { errno: predicted, ...(finding.related ? { related: finding.related } : {}) });
    this.checkRecorded(predicted, e.result, why);
    const outcome = e.result ? outcomeText(e.result.outcome) : predicted;
    if (outcome !== '0') return;
    const wasInit = v.initialised;
    v.initialised = true;
    if (!this.vmFeatures) {
      this.vmFeatures = features.filter((f) => f !== 'power_off');
      this.firstInit = e.featuresRange;
    }
    if (!this.initialised) {
      this.initVm(this.vmFeatures);
      this.reportFeatureGaps(e.featuresRange);
    }
    // A vCPU reset keeps every ID register, including its own MPIDR/CLIDR (kvm-model.md §2.3).
    if (!wasInit) this.initVcpuRegs(v);
  }

  /** Say once which limits the dump cannot give for the trace's features (design.md "host" paragraph). */
  private reportFeatureGaps(range: Range): void {
    if (!this.options.host) return;
    const gaps: string[] = [];
    for (const slot of this.slots.values()) {
      if (!slot.featureUnknown) continue;
      const names = slot.featureUnknown === U64 ? ['(whole register)'] : (slot.p.fields ?? []).filter((f) => slot.featureUnknown & fieldMask(f)).map((f) => f.name);
      gaps.push(`${slot.p.name}.${names.join('/')}`);
    }
    if (gaps.length) {
      this.add('IDR010', `the host dump was taken without features this VM uses, so these limits are unknown and not checked: ${gaps.join(', ')}`, range, {
        severity: 'information',
        related: [...this.slots.values()].filter((x) => x.featureUnknown && x.limitFrom).slice(0, 1).map((x) => ({ ...x.limitFrom!, message: `host dump: ${x.p.name}` })),
      });
    }
    const vmHasEl2 = this.vmFeatures?.includes('has_el2') ?? false;
    if (vmHasEl2 && this.dumpHas('has_el2') !== true && !this.reportedEl2) {
      this.reportedEl2 = true;
      this.add('IDR010', 'has_el2: KVM passes every limit through its nested-virtualisation limiter, which the model does not reproduce; limits come from the dump as is', range, { severity: 'information' });
    }
  }

  /** -ENOEXEC for an access on a vCPU that has not completed its own KVM_ARM_VCPU_INIT (§0.1 item 2). */
  private requireInit(e: { vcpu: number; range: Range; result?: RecordedOutcome }, i: number, what: string, extra: Partial<Finding> = {}): boolean {
    const v = this.vcpu(e.vcpu);
    if (v.initialised) return true;
    this.predict(i, '-ENOEXEC');
    this.add('IDR013', `${what} on vCPU ${e.vcpu} before its KVM_ARM_VCPU_INIT: KVM returns -ENOEXEC`, e.range, { errno: '-ENOEXEC', ...extra });
    this.checkRecorded('-ENOEXEC', e.result, `vCPU ${e.vcpu} is not initialised`);
    return false;
  }

  slotFor(vcpu: Vcpu, enc: Encoding): Slot | undefined {
    const key = encodingKey(enc);
    return this.slots.get(key) ?? vcpu.perVcpu.get(key);
  }

  /**
   * The common front of KVM_GET_ONE_REG and KVM_SET_ONE_REG: -ENOEXEC before this vCPU's init, -ENOENT
   * for an ID-space encoding KVM has no descriptor for; otherwise the register's storage.
   */
  userAccessTarget(e: Extract<TraceEvent, { kind: 'get' | 'set' }>, i: number, what: string): { enc: Encoding; p: RegisterPolicy; name: string; slot: Slot } | undefined {
    const enc = e.reg.enc;
    const p = enc && policyOf(enc);
    const name = enc ? this.regName(p, enc, e.reg.name) : e.reg.text;
    if (!this.requireInit(e, i, `${what} ${name}`, { register: name })) return undefined;
    if (!enc) return undefined;
    if (!p) {
      if (inFeatureIdSpace(enc)) {
        this.predict(i, '-ENOENT');
        this.checkRecorded('-ENOENT', e.result, `KVM has no descriptor for ${name}`, { register: name });
      }
      return undefined;
    }
    const slot = this.slotFor(this.vcpu(e.vcpu), enc);
    return slot ? { enc, p, name, slot } : undefined;
  }

  onGet(e: Extract<TraceEvent, { kind: 'get' }>, i: number): void {
    const target = this.userAccessTarget(e, i, 'KVM_GET_ONE_REG');
    if (!target) return;
    const { enc, name, slot } = target;
    this.define(i, slot);
    if (slot.unknown === 0n) this.predict(i, this.valueHex(slot));
    const rec = e.result?.outcome;
    if (!rec) return;
    if (rec.kind !== 'value') {
      if (slot.unknown === 0n) this.checkRecorded(hex64(slot.value), e.result, '', { register: name });
      return;
    }
    const got = inU64(rec.value);
    let explained = false;
    if (got !== slot.value && ((got ^ slot.value) & this.comparable(slot)) !== 0n && e.result) {
      explained = true;
      this.add('IDR015', `KVM_GET_ONE_REG ${name} returned ${hex64(got)}, but the VM's value is ${hex64(slot.value)}`, e.result.range, {
        register: name, related: this.related(slot),
      });
    }
    this.learn(slot, got, 'get', e.range);
    if (isVmSlot(slot)) this.observe(slot, e.vcpu, got, e.range, e.result?.range ?? e.range, name, explained);
  }

  /** Take what userspace read as the truth: it fills unknown bits and, without a host, becomes the reference. */
  private learn(slot: Slot, got: bigint, by: 'get', at: Range): void {
    if (slot.unknown !== 0n || slot.value !== got) {
      const changed = ((slot.value ^ got) & ~slot.unknown) !== 0n;
      slot.value = got;
      slot.unknown = 0n;
      if (changed || slot.setBy !== 'set') {
        slot.setBy = by;
        slot.setAt = at;
      }
    }
    if (slot.limitUnknown === U64) {
      // A fresh, unwritten, never-run VM reads its limit; later reads still show the non-writable bits.
      slot.limit = got;
      slot.limitUnknown = !slot.written && !this.hasRun ? 0n : writableMask(slot.enc, this.kernelText, hostOpt(this.hostHas32bitEL0));
    }
  }

  private observe(slot: Slot, vcpu: number, value: bigint, lineRange: Range, range: Range, name: string, explained: boolean): void {
    const obs = slot.observations;
    if (obs[0] && obs[0].epoch !== slot.epoch) slot.observations = [];
    if (!explained && slot.observations.length > 0 && !slot.reported022.has(slot.epoch)) {
      // The bits both reads must agree on: known and stable ones, plus the unknown ones (equal on every vCPU
      // even though the model does not know them); the fields the first run may change are left out.
      const usable = this.comparable(slot) | (slot.unknown & U64);
      let other: Slot['observations'][number] | undefined;
      for (const o of slot.observations) {
        if (o.vcpu !== vcpu && o.value !== value && ((o.value ^ value) & usable) !== 0n) {
          other = o;
          break;
        }
      }
      if (other) {
        slot.reported022.add(slot.epoch);
        this.add('IDR022', `vCPU ${vcpu} observed ${name} = ${hex64(value)}, but vCPU ${other.vcpu} observed ${hex64(other.value)}: a VM-wide register must read the same on every vCPU`, range, {
          register: name,
          related: [{ range: other.range, message: `vCPU ${other.vcpu} observed ${hex64(other.value)} here` }],
        });
      }
    }
    if (slot.observations.length < 2 && slot.observations[0]?.vcpu !== vcpu && slot.observations[1]?.vcpu !== vcpu) {
      slot.observations.push({ vcpu, value, epoch: slot.epoch, range: lineRange });
    }
  }

  onSet(e: Extract<TraceEvent, { kind: 'set' }>, i: number): void {
    const target = this.userAccessTarget(e, i, 'KVM_SET_ONE_REG');
    if (!target) return;
    const { enc, name, slot } = target;
    const j = judgeWrite({
      enc, value: e.value, limit: slot.limit, limitUnknown: slot.limitUnknown, kernel: this.kernel, features: this.vmFeatures ?? [],
      ...hostOpt(this.hostHas32bitEL0), capWritableImp: this.caps.has('ARM_WRITABLE_IMP_ID_REGS'), hasRun: this.hasRun,
      current: slot.value, currentUnknown: slot.unknown, ...(this.hostCtr !== undefined ? { hostCtr: this.hostCtr } : {}),
    });
    if (j.errno !== 'unknown') this.predict(i, j.errno);
    this.reportProblems(e, slot, name, j);
    this.reportUnchecked(e, slot, name, j);
    this.checkRecorded(j.errno === 'unknown' ? undefined : j.errno, e.result, j.problems[0] ? this.problemMessage(name, j.problems[0], j.errno) : '', { register: name });
    // Without a recorded result, a write whose outcome the model cannot tell is assumed to have succeeded.
    const outcome = e.result ? errnoOf(e.result) : j.errno === 'unknown' ? '0' : j.errno;
    if (outcome !== '0' || j.ignored) return;
    const stored = j.errno === '0' || j.errno === 'unknown' ? j.stored : e.value & U64;
    const changed = stored !== slot.value || slot.unknown !== 0n;
    slot.value = stored;
    slot.unknown = 0n;
    slot.setAt = e.range;
    slot.setBy = 'set';
    slot.setEventIndex = i;
    slot.written = true;
    if (changed) slot.epoch++;
  }

  problemMessage(reg: string, pr: WriteProblem, errno: string): string {
    const whole = pr.field === undefined && pr.msb === undefined;
    const what = pr.field ? `${reg}.${pr.field}` : whole ? reg : `${reg}[${pr.msb}:${pr.lsb ?? 0}]`;
    const num = (x: bigint): string => (whole ? hex64(x) : fieldText(x));
    const val = pr.value !== undefined ? ` = ${num(pr.value)}` : '';
    const outcome = `KVM returns ${errno}`;
    if (pr.code === 'IDR010') {
      const verb = pr.rule.includes('higher') ? 'is below' : pr.rule.includes('exact') ? 'differs from' : 'exceeds';
      return `${what}${val} ${verb} the host limit ${fieldText(pr.limit ?? 0n)} (${pr.rule}): ${outcome}`;
    }
    if (pr.code === 'IDR012') {
      return `${what}${val} differs from the current ${num(pr.limit ?? 0n)} and ${pr.rule}: ${outcome}`;
    }
    const lim = pr.limit !== undefined && pr.field !== undefined && !pr.rule.startsWith('KVM refuses') ? ` (limit ${fieldText(pr.limit)})` : '';
    return `${what}${val}${lim}: ${pr.rule}: ${outcome}`;
  }

  private reportProblems(e: Extract<TraceEvent, { kind: 'set' }>, slot: Slot, name: string, j: WriteJudgement): void {
    if (!j.problems.length) return;
    const related = this.related(slot);
    const refused = this.refusedCaps.get('ARM_WRITABLE_IMP_ID_REGS');
    if (refused && slot.p.classes.includes('implementation')) {
      related.push({ range: refused, message: 'KVM_ENABLE_CAP(ARM_WRITABLE_IMP_ID_REGS) is refused here (vCPUs already existed, or the kernel lacks it)' });
    }
    // One click fixes every offending field: IDR010 fields go to the limit, IDR011 bits back to the limit.
    const fixFor = (code: 'IDR010' | 'IDR011'): FindingFix[] | undefined => {
      const ps = j.problems.filter((x) => x.code === code && x.lsb !== undefined && x.msb !== undefined && x.limit !== undefined);
      if (!ps.length || ps.length !== j.problems.filter((x) => x.code === code).length) return undefined;
      if (code === 'IDR011' && ps.some((x) => x.rule.startsWith('KVM refuses') || x.rule.includes('frozen'))) return undefined;
      let fixed = e.value & U64;
      for (const pr of ps) fixed = withField(fixed, { lsb: pr.lsb!, width: pr.msb! - pr.lsb! + 1 }, pr.limit!);
      const title = code === 'IDR010' ? `Lower ${ps.map((x) => x.field ?? `[${x.msb}:${x.lsb}]`).join(', ')} to the host limit` : `Restore ${ps.map((x) => x.field ?? `[${x.msb}:${x.lsb}]`).join(', ')} to the limit`;
      return [{ title, range: e.valueRange, newText: hex64(fixed) }];
    };
    const fixes = { IDR010: fixFor('IDR010'), IDR011: fixFor('IDR011') };
    for (const pr of j.problems) {
      const fix = pr.code === 'IDR012' ? undefined : fixes[pr.code];
      this.add(pr.code, this.problemMessage(name, pr, j.errno), e.valueRange, {
        errno: j.errno, register: name, related, ...(pr.field ? { field: pr.field } : {}), ...(fix ? { fixes: fix } : {}),
      });
    }
  }

  private reportUnchecked(e: Extract<TraceEvent, { kind: 'set' }>, slot: Slot, name: string, j: WriteJudgement): void {
    for (const u of j.unchecked ?? []) {
      const m = fieldMask({ lsb: u.lsb, width: u.msb - u.lsb + 1 });
      if (!(slot.featureUnknown & m) || slot.reportedUnchecked.has(u.field)) continue;
      if (fieldOf(e.value & U64, { lsb: u.lsb, width: u.msb - u.lsb + 1 }) === 0n) continue;
      slot.reportedUnchecked.add(u.field);
      this.add('IDR010', `${name}.${u.field} not checked: its limit depends on a vCPU feature the host dump was taken without`, e.valueRange, {
        severity: 'information', register: name, field: u.field, related: this.related(slot),
      });
    }
  }

  onRun(e: Extract<TraceEvent, { kind: 'run' }>, i: number): void {
    if (!this.requireInit(e, i, 'KVM_RUN')) return;
    this.predict(i, '0');
    this.checkRecorded('0', e.result, '');
    const outcome = e.result ? errnoOf(e.result) : '0';
    // HAS_RAN_ONCE is set only when the whole first run succeeds (§0.1 item 14).
    if (outcome !== '0') return;
    this.vcpu(e.vcpu).ran = true;
    this.markRun();
  }

  /** A guest executing means a KVM_RUN succeeded, even when the trace did not record it. */
  private guestRan(vcpu: number): void {
    const v = this.vcpu(vcpu);
    // A trace of guest accesses only (ftrace) implies the VM and this vCPU were set up.
    if (!this.initialised) this.initVm(this.vmFeatures);
    if (!v.initialised) {
      v.initialised = true;
      this.initVcpuRegs(v);
    }
    v.ran = true;
    this.markRun();
  }

  onMrs(e: Extract<TraceEvent, { kind: 'mrs' }>, i: number): void {
    this.guestRan(e.vcpu);
    const enc = e.reg.enc;
    if (!enc) return;
    const p = policyOf(enc);
    const name = this.regName(p, enc, e.reg.name);
    if (!p) {
      const how = guestReadWithoutDescriptor(enc);
      if (how !== 'undef') return;
      this.predict(i, 'undef');
      this.checkRecorded('undef', e.result, `KVM has no descriptor for ${name}: the guest takes an exception`, { register: name });
      return;
    }
    const v = this.vcpu(e.vcpu);
    const slot = this.slotFor(v, enc);
    if (!slot) return;
    this.define(i, slot);
    // Without the capability MIDR/REVIDR/AIDR show the physical CPU's values (kvm-model.md §2.2, §0.1 item 12).
    if (p.classes.includes('implementation') && !this.caps.has('ARM_WRITABLE_IMP_ID_REGS')) return;
    if (!slot.unknown) this.predict(i, this.valueHex(slot));
    const rec = e.result?.outcome;
    if (!rec) return;
    if (rec.kind !== 'value') {
      if (!slot.unknown) this.checkRecorded(this.valueHex(slot), e.result, `a guest read of ${name} returns the VM's value`, { register: name });
      return;
    }
    const got = inU64(rec.value);
    let explained = false;
    if (got !== slot.value && ((got ^ slot.value) & this.comparable(slot)) !== 0n && e.result) {
      explained = true;
      this.add('IDR020', `the guest read ${name} = ${hex64(got)}, but the VM's value is ${hex64(slot.value)}`, e.result.range, {
        register: name, related: this.related(slot),
      });
    }
    if (isVmSlot(slot)) this.observe(slot, e.vcpu, got, e.range, e.result?.range ?? e.range, name, explained);
  }

  onMsr(e: Extract<TraceEvent, { kind: 'msr' }>, i: number): void {
    this.guestRan(e.vcpu);
    const enc = e.reg.enc;
    if (!enc || !inFeatureIdSpace(enc)) return;
    const name = this.regName(policyOf(enc), enc, e.reg.name);
    this.predict(i, 'undef');
    const rec = e.result?.outcome;
    if (rec?.kind === 'undef') return;
    const recorded = rec ? `, but the trace records ${outcomeText(rec)}` : '';
    this.add('IDR021', `the guest wrote ${name}, a read-only ID register: the write must be UNDEFINED${recorded}`, e.result?.range ?? e.range, { register: name, errno: 'undef' });
  }

  // --- the snapshot ----------------------------------------------------------------------------------

  state(slot: Slot): RegisterState {
    const s: RegisterState = { enc: slot.enc, name: slot.p.name, value: slot.unknown ? undefined : slot.value };
    if (slot.unknown && slot.unknown !== U64) {
      s.unknownMask = slot.unknown;
      s.value = undefined;
    }
    if (slot.setAt) s.setAt = slot.setAt;
    if (slot.setBy && slot.unknown !== U64) s.setBy = slot.setBy;
    if (slot.limitUnknown === 0n) s.limit = slot.limit;
    if (slot.limitFrom) s.limitFrom = slot.limitFrom;
    return s;
  }

  snapshot(): VmSnapshot {
    const byKey = (a: Slot, b: Slot): number => encodingKey(a.enc) - encodingKey(b.enc);
    let registers: RegisterState[];
    if (this.initialised) registers = [...this.slots.values()].sort(byKey).map((s) => this.state(s));
    else {
      registers = KVM_REGISTERS.filter((p) => !p.classes.includes('per-vcpu'))
        .map((p) => ({ enc: policyEncoding(p), name: p.name, value: undefined }))
        .sort((a, b) => encodingKey(a.enc) - encodingKey(b.enc));
    }
    const perVcpu = new Map<number, RegisterState[]>();
    const vcpus = [...this.vcpus.values()].sort((a, b) => a.id - b.id);
    for (const v of vcpus) perVcpu.set(v.id, [...v.perVcpu.values()].sort(byKey).map((s) => this.state(s)));
    return {
      kernel: this.kernel.era,
      ...(this.kernelText !== undefined ? { kernelVersion: this.kernelText } : {}),
      hasRun: this.hasRun,
      ...(this.vmFeatures ? { features: [...this.vmFeatures] } : {}),
      caps: [...this.caps],
      vcpus: vcpus.map((v) => ({ id: v.id, initialised: v.initialised, ran: v.ran })),
      registers,
      perVcpu,
    };
  }
}

/** `v & U64`, without making a new bigint for the values parsers give (already 64-bit). */
function inU64(v: bigint): bigint {
  return v >= 0n && v <= U64 ? v : v & U64;
}

function isVmSlot(slot: Slot): boolean {
  return !slot.p.classes.includes('per-vcpu');
}

function hostOpt(h: boolean | undefined): { hostHas32bitEL0?: boolean } {
  return h === undefined ? {} : { hostHas32bitEL0: h };
}

/** What ReplaySession.checkpoint() keeps (opaque outside this module). */
export interface ReplayCheckpoint {
  readonly r: Replayer;
  readonly next: number;
}

/** Options of a ReplaySession: the trace's `kernel` event (replay() finds it; a streaming caller passes it). */
export interface ReplaySessionOptions extends ReplayOptions {
  /** The trace's first `kernel` event; options.kernel wins over it. Its range locates an IDR001 when unknown. */
  kernelEvent?: KernelEvent;
  /** Keep predictions and definitions (one record per access). Default true; false returns them empty. */
  keepPerEvent?: boolean;
}

/**
 * Replays a trace given in batches, as a big file is parsed block by block: the result equals replay() of
 * all the events, provided the trace's kernel event is passed up front (a `kernel` line later in the trace
 * still applies from the first event, as in replay()). Never throws on bad input.
 */
export class ReplaySession {
  private readonly r: Replayer;
  private readonly keepPerEvent: boolean;
  private next = 0;

  constructor(options: ReplaySessionOptions = {}, from?: ReplayCheckpoint) {
    const { kernelEvent, keepPerEvent, ...replayOptions } = options;
    this.keepPerEvent = keepPerEvent ?? true;
    if (from) {
      this.r = from.r.clone();
      this.next = from.next;
    } else this.r = new Replayer(replayOptions, kernelEvent, this.keepPerEvent);
  }

  /** The state after the events fed so far; a session made from it (`new ReplaySession(options, cp)`) goes on from there, as often as wanted. */
  checkpoint(): ReplayCheckpoint {
    return { r: this.r.clone(), next: this.next };
  }

  /** Replays the next events; event indices continue across calls. */
  feed(events: readonly TraceEvent[]): void {
    const r = this.r;
    let i = this.next;
    for (let k = 0; k < events.length; k++) r.step(events[k]!, i++);
    this.next = i;
  }

  finish(): ReplayResult {
    const r = this.r;
    return { findings: r.findings, vm: r.snapshot(), predictions: this.keepPerEvent ? r.predictions : [], definitions: this.keepPerEvent ? r.definitions : [] };
  }
}

/**
 * Replay a trace: predict KVM's answer for every userspace access, check the recorded results and the
 * guest's view, and return the VM's final state. Never throws on bad input: events it cannot use are skipped.
 */
export function replay(events: TraceEvent[], options: ReplayOptions = {}): ReplayResult {
  const kernelEvent = events.find((e): e is KernelEvent => e.kind === 'kernel');
  const session = new ReplaySession({ ...options, ...(kernelEvent ? { kernelEvent } : {}) });
  session.feed(events);
  return session.finish();
}

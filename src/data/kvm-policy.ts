// KVM/arm64's treatment of every ID register, as data. The rules in src/model/kvm.ts read these tables;
// nothing here branches on a register name. Every table names its source in kvm-model.md (and through it
// the kernel file it was read from). Where kvm-model.md and cpufeature.c differ, cpufeature.c wins
// (kvm-model.md §0.1 item 16).

/** Linux's safe-value policy of a feature field (cpufeature.c FTR_*). */
export type FtrType = 'LOWER' | 'HIGHER' | 'EXACT' | 'HIGHER_OR_ZERO';

export interface FieldPolicy {
  name: string;
  lsb: number;
  width: number;
  signed: boolean;
  /** Type in the host table (cpufeature.c). */
  type: FtrType;
  /** The table's safe_val: the EXACT fallback, the baseline value for the others. */
  safe: number;
  /** KVM's override of the host type when it checks a userspace write (kvm-model.md §3.0, §4.6). */
  kvmType?: FtrType;
}

/** An architected field that has no entry in the host table: it is strict RES0 for the sanitiser. */
export interface AbsentField {
  name: string;
  lsb: number;
  width: number;
  signed?: boolean;
}

/**
 * kvm-model.md §2.1 legend. 'filtered' registers have a per-register pre-step before the generic setter;
 * 'sanitised' registers have a host table but nothing writable; 'aarch32' views become RAZ + write-ignored
 * on hosts without 32-bit EL0; 'hidden' and 'unallocated' slots are RAZ; 'implementation' are
 * MIDR/REVIDR/AIDR (§4.10); 'per-vcpu' are MPIDR and CLIDR.
 */
export type RegisterClass =
  | 'writable'
  | 'filtered'
  | 'sanitised'
  | 'aarch32'
  | 'hidden'
  | 'unallocated'
  | 'implementation'
  | 'per-vcpu';

/** Per-register refusals and rewrites that run before the generic setter (kvm-model.md §4.7). */
export type PreStepId =
  | 'pfr0-mpam-drop'
  | 'pfr0-el0-el1-nonzero'
  | 'pfr0-el2-nv'
  | 'pfr1-mpam-frac-drop'
  | 'pfr1-mte-frac'
  | 'dfr0-pmuver-impdef'
  | 'dfr0-debugver-min'
  | 'dfr0-doublelock-nv'
  | 'id-dfr0-perfmon'
  | 'id-dfr0-copdbg-min'
  | 'mmfr0-tgran2-nv'
  | 'mmfr2-nv-drop'
  | 'ctr-l1ip';

export interface RegisterPolicy {
  name: string;
  op0: number;
  op1: number;
  crn: number;
  crm: number;
  op2: number;
  classes: RegisterClass[];
  /** Host sanitisation table (cpufeature.c); undefined when the register has none (MIDR, MPIDR, ...). */
  fields?: FieldPolicy[];
  /** Architected fields absent from the host table, to name bits in messages. */
  absent?: AbsentField[];
  /** KVM's writable mask in the newest kernel (kvm-model.md §4.9); per-era changes are in ERA_MASKS. */
  mask: bigint;
  preSteps?: PreStepId[];
}

// Field constructors keep the tables one line per field, in the cpufeature.c order (descending lsb).
function u(name: string, lsb: number, type: FtrType = 'LOWER', safe = 0, width = 4): FieldPolicy {
  return { name, lsb, width, signed: false, type, safe };
}
function s(name: string, lsb: number, type: FtrType = 'LOWER', safe = 0, width = 4): FieldPolicy {
  return { name, lsb, width, signed: true, type, safe };
}
function a(name: string, lsb: number, width = 4, signed = false): AbsentField {
  return signed ? { name, lsb, width, signed } : { name, lsb, width };
}
/** Eight 4-bit LOWER_SAFE fields (cpufeature.c ftr_generic_32bits, used by ID_ISAR1-3 and ID_MMFR1-3). */
function generic32(names: [string, string, string, string, string, string, string, string]): FieldPolicy[] {
  return names.map((n, i) => u(n, 28 - 4 * i));
}

const AARCH32_MASK = 0x00000000ffffffffn; // kvm-model.md §4.9 (AArch32 views, when the host has 32-bit EL0)
const ALL64 = 0xffffffffffffffffn;

function aarch32(crm: number, op2: number, name: string, fields: FieldPolicy[], absent?: AbsentField[], preSteps?: PreStepId[]): RegisterPolicy {
  return {
    name, op0: 3, op1: 0, crn: 0, crm, op2, classes: preSteps ? ['aarch32', 'filtered', 'writable'] : ['aarch32', 'writable'],
    fields, mask: AARCH32_MASK, ...(absent ? { absent } : {}), ...(preSteps ? { preSteps } : {}),
  };
}
function raz(crm: number, op2: number, name: string, cls: 'hidden' | 'unallocated', fields?: FieldPolicy[]): RegisterPolicy {
  return { name, op0: 3, op1: 0, crn: 0, crm, op2, classes: [cls], mask: 0n, ...(fields ? { fields } : {}) };
}
function unalloc(crm: number, op2: number): RegisterPolicy {
  // KVM's own name for these slots is S3_0_0_<crm>_<op2> (kvm-model.md §1.2); we print the generic form.
  return raz(crm, op2, `S3_0_C0_C${crm}_${op2}`, 'unallocated');
}

/**
 * Every register KVM manages in the feature-ID space, with its host table and newest writable mask.
 * Sources: classification kvm-model.md §2.1/§2.2 [S1]; host tables cpufeature.c at the snapshot
 * [S2] (kvm-model.md §3, §3.13); masks §4.9 with §0.1 item 13 (FPFR0) [S1][S3]; pre-steps §4.7 [S1].
 */
export const KVM_REGISTERS: readonly RegisterPolicy[] = [
  // --- CRm 0: implementation and per-vCPU registers (kvm-model.md §2.2, §4.10) ---
  { name: 'MIDR_EL1', op0: 3, op1: 0, crn: 0, crm: 0, op2: 0, classes: ['implementation'], mask: 0x00000000ffffffffn },
  { name: 'MPIDR_EL1', op0: 3, op1: 0, crn: 0, crm: 0, op2: 5, classes: ['per-vcpu'], mask: 0n },
  { name: 'REVIDR_EL1', op0: 3, op1: 0, crn: 0, crm: 0, op2: 6, classes: ['implementation'], mask: ALL64 },
  // CLIDR's mask is ~RES0 (kvm-model.md §4.9): Ctype1..7, LoUIS, LoC, LoUU, ICB, Ttype1..7 = bits 46:0.
  {
    name: 'CLIDR_EL1', op0: 3, op1: 1, crn: 0, crm: 0, op2: 1, classes: ['per-vcpu'], mask: 0x00007fffffffffffn,
    absent: [a('Ttype', 33, 14), a('ICB', 30, 3), a('LoUU', 27, 3), a('LoC', 24, 3), a('LoUIS', 21, 3), a('Ctype', 0, 21)],
  },
  { name: 'AIDR_EL1', op0: 3, op1: 1, crn: 0, crm: 0, op2: 7, classes: ['implementation'], mask: ALL64 },
  // CTR_EL0: cpufeature.c ftr_ctr; KVM writable DIC, IDC, DminLine, L1Ip, IminLine (kvm-model.md §3.13).
  {
    name: 'CTR_EL0', op0: 3, op1: 3, crn: 0, crm: 0, op2: 1, classes: ['filtered', 'writable'], mask: 0x00000000300fc00fn,
    fields: [
      u('RES1', 31, 'EXACT', 1, 1), u('DIC', 29, 'LOWER', 1, 1), u('IDC', 28, 'LOWER', 1, 1),
      u('CWG', 24, 'HIGHER_OR_ZERO'), u('ERG', 20, 'HIGHER_OR_ZERO'), u('DminLine', 16, 'LOWER', 1),
      u('L1Ip', 14, 'EXACT', 2, 2), u('IminLine', 0),
    ],
    absent: [a('TminLine', 32, 6)],
    preSteps: ['ctr-l1ip'],
  },

  // --- CRm 1..3: AArch32 views (kvm-model.md §2.1; host tables cpufeature.c ftr_id_* [S2]) ---
  aarch32(1, 0, 'ID_PFR0_EL1', [u('DIT', 24), u('CSV2', 16), u('State3', 12), u('State2', 8), u('State1', 4), u('State0', 0)],
    [a('RAS', 28), a('AMU', 20)]),
  aarch32(1, 1, 'ID_PFR1_EL1', [u('GIC', 28), u('Virt_frac', 24), u('Sec_frac', 20), u('GenTimer', 16),
    u('Virtualization', 12), u('MProgMod', 8), u('Security', 4), u('ProgMod', 0)]),
  // PerfMon is EXACT (unsigned) in cpufeature.c; KVM checks it as LOWER_SAFE (kvm-model.md §3.0, §0.1 item 16).
  aarch32(1, 2, 'ID_DFR0_EL1', [{ ...u('PerfMon', 24, 'EXACT'), kvmType: 'LOWER' }, u('MProfDbg', 20), u('MMapTrc', 16),
    u('CopTrc', 12), u('MMapDbg', 8), u('CopSDbg', 4), u('CopDbg', 0)], [a('TraceFilt', 28)], ['id-dfr0-perfmon', 'id-dfr0-copdbg-min']),
  raz(1, 3, 'ID_AFR0_EL1', 'hidden'),
  aarch32(1, 4, 'ID_MMFR0_EL1', [s('InnerShr', 28, 'LOWER', 0xf), u('FCSE', 24), u('AuxReg', 20), u('TCM', 16), u('ShareLvl', 12),
    s('OuterShr', 8, 'LOWER', 0xf), u('PMSA', 4), u('VMSA', 0)]),
  aarch32(1, 5, 'ID_MMFR1_EL1', generic32(['BPred', 'L1TstCln', 'L1Uni', 'L1Hvd', 'L1UniSW', 'L1HvdSW', 'L1UniVA', 'L1HvdVA'])),
  aarch32(1, 6, 'ID_MMFR2_EL1', generic32(['HWAccFlg', 'WFIStall', 'MemBarr', 'UniTLB', 'HvdTLB', 'L1HvdRng', 'L1HvdBG', 'L1HvdFG'])),
  aarch32(1, 7, 'ID_MMFR3_EL1', generic32(['Supersec', 'CMemSz', 'CohWalk', 'PAN', 'MaintBcst', 'BPMaint', 'CMaintSW', 'CMaintVA'])),
  aarch32(2, 0, 'ID_ISAR0_EL1', [u('Divide', 24), u('Debug', 20), u('Coproc', 16), u('CmpBranch', 12), u('BitField', 8),
    u('BitCount', 4), u('Swap', 0)]),
  aarch32(2, 1, 'ID_ISAR1_EL1', generic32(['Jazelle', 'Interwork', 'Immediate', 'IfThen', 'Extend', 'Except_AR', 'Except', 'Endian'])),
  aarch32(2, 2, 'ID_ISAR2_EL1', generic32(['Reversal', 'PSR_AR', 'MultU', 'MultS', 'Mult', 'MultiAccessInt', 'MemHint', 'LoadStore'])),
  aarch32(2, 3, 'ID_ISAR3_EL1', generic32(['T32EE', 'TrueNOP', 'T32Copy', 'TabBranch', 'SynchPrim', 'SVC', 'SIMD', 'Saturate'])),
  aarch32(2, 4, 'ID_ISAR4_EL1', [u('SWP_frac', 28), u('PSR_M', 24), u('SynchPrim_frac', 20), u('Barrier', 16), u('SMC', 12),
    u('Writeback', 8), u('WithShifts', 4), u('Unpriv', 0)]),
  aarch32(2, 5, 'ID_ISAR5_EL1', [u('RDM', 24), u('CRC32', 16), u('SHA2', 12), u('SHA1', 8), u('AES', 4), u('SEVL', 0)], [a('VCMA', 28)]),
  aarch32(2, 6, 'ID_MMFR4_EL1', [u('EVT', 28), u('CCIDX', 24), u('LSM', 20), u('HPDS', 16), u('CnP', 12), u('XNX', 8), u('AC2', 4),
    u('SpecSEI', 0, 'HIGHER')]),
  aarch32(2, 7, 'ID_ISAR6_EL1', [u('I8MM', 24), u('BF16', 20), u('SPECRES', 16), u('SB', 12), u('FHM', 8), u('DP', 4), u('JSCVT', 0)],
    [a('CLRBHB', 28)]),
  aarch32(3, 0, 'MVFR0_EL1', [u('FPRound', 28), u('FPShVec', 24), u('FPSqrt', 20), u('FPDivide', 16), u('FPTrap', 12), u('FPDP', 8),
    u('FPSP', 4), u('SIMDReg', 0)]),
  aarch32(3, 1, 'MVFR1_EL1', [u('SIMDFMAC', 28), u('FPHP', 24), u('SIMDHP', 20), u('SIMDSP', 16), u('SIMDInt', 12), u('SIMDLS', 8),
    u('FPDNaN', 4), u('FPFtZ', 0)]),
  aarch32(3, 2, 'MVFR2_EL1', [u('FPMisc', 4), u('SIMDMisc', 0)]),
  unalloc(3, 3),
  aarch32(3, 4, 'ID_PFR2_EL1', [u('SSBS', 4), u('CSV3', 0)], [a('RAS_frac', 8)]),
  raz(3, 5, 'ID_DFR1_EL1', 'hidden', [s('MTPMU', 0)]),
  aarch32(3, 6, 'ID_MMFR5_EL1', [u('ETS', 0)], [a('nTLBPA', 4)]),
  unalloc(3, 7),

  // --- CRm 4: processor features (kvm-model.md §3.1, §3.2, §3.12, §3.13) ---
  {
    name: 'ID_AA64PFR0_EL1', op0: 3, op1: 0, crn: 0, crm: 4, op2: 0, classes: ['filtered', 'writable'], mask: 0xffff00f0ff00ffffn,
    fields: [u('CSV3', 60), u('CSV2', 56), u('DIT', 48), u('AMU', 44), u('MPAM', 40), u('SEL2', 36), u('SVE', 32), u('RAS', 28),
      u('GIC', 24), s('AdvSIMD', 20, 'LOWER', 0xf), s('FP', 16, 'LOWER', 0xf), u('EL3', 12), u('EL2', 8), u('EL1', 4, 'LOWER', 1),
      u('EL0', 0, 'LOWER', 1)],
    absent: [a('RME', 52)],
    preSteps: ['pfr0-mpam-drop', 'pfr0-el0-el1-nonzero', 'pfr0-el2-nv'],
  },
  {
    name: 'ID_AA64PFR1_EL1', op0: 3, op1: 0, crn: 0, crm: 4, op2: 1, classes: ['filtered', 'writable'], mask: 0x0f00000f0000f0ffn,
    fields: [u('DF2', 56), u('GCS', 44), s('MTE_frac', 40), u('SME', 24), u('MPAM_frac', 16), u('RAS_frac', 12), u('MTE', 8), u('SSBS', 4),
      u('BT', 0)],
    absent: [a('PFAR', 60), a('MTEX', 52), a('THE', 48), a('NMI', 36), a('CSV2_frac', 32), a('RNDR_trap', 28)],
    preSteps: ['pfr1-mpam-frac-drop', 'pfr1-mte-frac'],
  },
  {
    name: 'ID_AA64PFR2_EL1', op0: 3, op1: 0, crn: 0, crm: 4, op2: 2, classes: ['writable'], mask: 0x0000000f0000fff0n,
    fields: [u('FPMR', 32), u('GCIE', 12), u('MTEFAR', 8), u('MTESTOREONLY', 4)],
  },
  unalloc(4, 3),
  {
    name: 'ID_AA64ZFR0_EL1', op0: 3, op1: 0, crn: 0, crm: 4, op2: 4, classes: ['writable'], mask: 0x0fffff0f0ffff0ffn,
    fields: [u('F64MM', 56), u('F32MM', 52), u('F16MM', 48), u('I8MM', 44), u('SM4', 40), u('SHA3', 32), u('B16B16', 24), u('BF16', 20),
      u('BitPerm', 16), u('EltPerm', 12), u('AES', 4), u('SVEver', 0)],
  },
  raz(4, 5, 'ID_AA64SMFR0_EL1', 'hidden'),
  unalloc(4, 6),
  {
    // Mask per kvm-model.md §0.1 item 13; bits 15 and 7:2 are writable but absent from the host table (item 17).
    name: 'ID_AA64FPFR0_EL1', op0: 3, op1: 0, crn: 0, crm: 4, op2: 7, classes: ['writable'], mask: 0x00000000fc0080ffn,
    fields: [u('F8CVT', 31, 'EXACT', 0, 1), u('F8FMA', 30, 'EXACT', 0, 1), u('F8DP4', 29, 'EXACT', 0, 1), u('F8DP2', 28, 'EXACT', 0, 1),
      u('F8MM8', 27, 'EXACT', 0, 1), u('F8MM4', 26, 'EXACT', 0, 1), u('F8E4M3', 1, 'EXACT', 0, 1), u('F8E5M2', 0, 'EXACT', 0, 1)],
  },

  // --- CRm 5: debug features (kvm-model.md §3.11) ---
  {
    name: 'ID_AA64DFR0_EL1', op0: 3, op1: 0, crn: 0, crm: 5, op2: 0, classes: ['filtered', 'writable'], mask: 0x000000f000f00f0fn,
    fields: [s('DoubleLock', 36), u('PMSVer', 32), u('CTX_CMPs', 28), u('WRPs', 20), u('BRPs', 12),
      { ...u('PMUVer', 8, 'EXACT', 0), kvmType: 'LOWER' }, { ...u('DebugVer', 0, 'EXACT', 6), kvmType: 'LOWER' }],
    absent: [a('HPMN0', 60), a('ExtTrcBuff', 56), a('BRBE', 52), a('MTPMU', 48, 4, true), a('TraceBuffer', 44), a('TraceFilt', 40),
      a('SEBEP', 24), a('PMSS', 16), a('TraceVer', 4)],
    preSteps: ['dfr0-pmuver-impdef', 'dfr0-debugver-min', 'dfr0-doublelock-nv'],
  },
  // DFR1 has an empty host table: always 0, only 0 accepted (kvm-model.md §2.1 notes).
  { name: 'ID_AA64DFR1_EL1', op0: 3, op1: 0, crn: 0, crm: 5, op2: 1, classes: ['sanitised'], fields: [], mask: 0n },
  unalloc(5, 2),
  unalloc(5, 3),
  raz(5, 4, 'ID_AA64AFR0_EL1', 'hidden'),
  raz(5, 5, 'ID_AA64AFR1_EL1', 'hidden'),
  unalloc(5, 6),
  unalloc(5, 7),

  // --- CRm 6: instruction set attributes (kvm-model.md §3.3-§3.6) ---
  {
    name: 'ID_AA64ISAR0_EL1', op0: 3, op1: 0, crn: 0, crm: 6, op2: 0, classes: ['writable'], mask: 0xfffffffff0fffff0n,
    fields: [u('RNDR', 60), u('TLB', 56), u('TS', 52), u('FHM', 48), u('DP', 44), u('SM4', 40), u('SM3', 36), u('SHA3', 32), u('RDM', 28),
      u('ATOMIC', 20), u('CRC32', 16), u('SHA2', 12), u('SHA1', 8), u('AES', 4)],
    absent: [a('TME', 24)],
  },
  {
    name: 'ID_AA64ISAR1_EL1', op0: 3, op1: 0, crn: 0, crm: 6, op2: 1, classes: ['writable'], mask: 0xffffffff00fff00fn,
    fields: [u('LS64', 60), u('XS', 56), u('I8MM', 52), u('DGH', 48), u('BF16', 44), u('SPECRES', 40), u('SB', 36), u('FRINTTS', 32),
      u('GPI', 28), u('GPA', 24), u('LRCPC', 20), u('FCMA', 16), u('JSCVT', 12), u('API', 8, 'EXACT'), u('APA', 4, 'EXACT'), u('DPB', 0)],
  },
  {
    name: 'ID_AA64ISAR2_EL1', op0: 3, op1: 0, crn: 0, crm: 6, op2: 2, classes: ['writable'], mask: 0xffffffffffff00ffn,
    fields: [u('LUT', 56), u('CSSC', 52), u('RPRFM', 48), u('CLRBHB', 28), u('BC', 20), u('MOPS', 16), u('APA3', 12, 'EXACT'), u('GPA3', 8),
      u('RPRES', 4), u('WFxT', 0)],
    absent: [a('ATS1A', 60), a('PCDPHINT', 44), a('PRFMSLC', 40), a('SYSINSTR_128', 36), a('SYSREG_128', 32), a('PAC_frac', 24)],
  },
  {
    name: 'ID_AA64ISAR3_EL1', op0: 3, op1: 0, crn: 0, crm: 6, op2: 3, classes: ['writable'], mask: 0x00000000ff0f00f0n,
    fields: [u('FPRCVT', 28), u('LSUI', 24), u('LSFE', 16), u('FAMINMAX', 4)],
    absent: [a('OCCMO', 20), a('PACM', 12), a('TLBIW', 8), a('CPA', 0)],
  },
  unalloc(6, 4), unalloc(6, 5), unalloc(6, 6), unalloc(6, 7),

  // --- CRm 7: memory model (kvm-model.md §3.7-§3.10) ---
  {
    name: 'ID_AA64MMFR0_EL1', op0: 3, op1: 0, crn: 0, crm: 7, op2: 0, classes: ['filtered', 'writable'], mask: 0xff00ffffffffff0fn,
    fields: [u('ECV', 60), u('FGT', 56), u('EXS', 44), u('TGRAN4_2', 40, 'EXACT', 1), u('TGRAN64_2', 36, 'EXACT', 1),
      u('TGRAN16_2', 32, 'EXACT', 1), s('TGRAN4', 28, 'LOWER', 0xf), s('TGRAN64', 24, 'LOWER', 0xf), u('TGRAN16', 20), u('BIGENDEL0', 16),
      u('SNSMEM', 12), u('BIGEND', 8), u('ASIDBITS', 4), u('PARANGE', 0)],
    preSteps: ['mmfr0-tgran2-nv'],
  },
  {
    name: 'ID_AA64MMFR1_EL1', op0: 3, op1: 0, crn: 0, crm: 7, op2: 1, classes: ['writable'], mask: 0xffffffff0ffff00fn,
    fields: [u('ECBHB', 60), u('TIDCP1', 52), u('AFP', 44), u('HCX', 40), u('ETS', 36), u('TWED', 32), u('XNX', 28),
      u('SpecSEI', 24, 'HIGHER'), u('PAN', 20), u('LO', 16), u('HPDS', 12), u('VH', 8), u('VMIDBits', 4), u('HAFDBS', 0)],
    absent: [a('CMOW', 56), a('nTLBPA', 48)],
  },
  {
    name: 'ID_AA64MMFR2_EL1', op0: 3, op1: 0, crn: 0, crm: 7, op2: 2, classes: ['filtered', 'writable'], mask: 0xf0ff000ff00fffffn,
    fields: [u('E0PD', 60), u('EVT', 56), u('BBM', 52), u('TTL', 48), u('FWB', 40), u('IDS', 36), u('AT', 32), u('ST', 28), u('NV', 24),
      u('CCIDX', 20), u('VARange', 16), u('IESB', 12), u('LSM', 8), u('UAO', 4), u('CnP', 0)],
    preSteps: ['mmfr2-nv-drop'],
  },
  {
    name: 'ID_AA64MMFR3_EL1', op0: 3, op1: 0, crn: 0, crm: 7, op2: 3, classes: ['writable'], mask: 0x00000000000f0fffn,
    fields: [u('S1POE', 16), u('S1PIE', 8), u('SCTLRX', 4), u('TCRX', 0)],
    absent: [a('Spec_FPACC', 60), a('ADERR', 56), a('SDERR', 52), a('ANERR', 44), a('SNERR', 40), a('D128_2', 36), a('D128', 32),
      a('MEC', 28), a('AIE', 24), a('S2POE', 20), a('S2PIE', 12)],
  },
  {
    name: 'ID_AA64MMFR4_EL1', op0: 3, op1: 0, crn: 0, crm: 7, op2: 4, classes: ['writable'], mask: 0x0000000000f00000n,
    fields: [s('E2H0', 24), u('NV_frac', 20)],
  },
  unalloc(7, 5), unalloc(7, 6), unalloc(7, 7),
];

/**
 * Encodings in the feature-ID space (Op0=3, Op1∈{0,1,3}, CRn=0, CRm≤7) that have no KVM descriptor but are
 * architected: userspace gets -ENOENT; a guest read is UNDEFINED (or EC 0x18 with FEAT_IDST), except
 * DCZID_EL0, which is never trapped (hardware value), and CCSIDR_EL1, which KVM emulates for the guest.
 * Source: kvm-model.md §2.2, §4.11, §0.1 item 10 [S1].
 */
export const ID_SPACE_WITHOUT_DESCRIPTOR: readonly { name: string; op1: number; crm: number; op2: number; guest: 'undef' | 'hardware' | 'emulated' }[] = [
  { name: 'CCSIDR_EL1', op1: 1, crm: 0, op2: 0, guest: 'emulated' },
  { name: 'CCSIDR2_EL1', op1: 1, crm: 0, op2: 2, guest: 'undef' },
  { name: 'GMID_EL1', op1: 1, crm: 0, op2: 4, guest: 'undef' },
  { name: 'SMIDR_EL1', op1: 1, crm: 0, op2: 6, guest: 'undef' },
  { name: 'DCZID_EL0', op1: 3, crm: 0, op2: 7, guest: 'hardware' },
];

/** vCPU features (KVM_ARM_VCPU_INIT bits, kvm-model.md §4.4 [S8]) as the `.idtrace` names them. */
export const VCPU_FEATURES: readonly string[] = [
  'power_off', 'el1_32bit', 'psci_0_2', 'pmu_v3', 'sve', 'ptrauth_address', 'ptrauth_generic', 'has_el2', 'has_el2_e2h0',
];

/**
 * A VM property that changes the limit: a vCPU feature, or the MTE VM capability (KVM_CAP_ARM_MTE), which
 * the model folds into the feature set as 'mte'. 'ptrauth' means ptrauth_address + ptrauth_generic.
 */
export type LimitFeature = 'pmu_v3' | 'sve' | 'ptrauth' | 'mte' | 'has_el2';

/**
 * How KVM builds the limit (the fresh-vCPU value) from the host's sanitised value. Source: kvm-model.md §3
 * "KVM default" column, §4.3 and §4.4 [S1]. `when: 'always'` edits are already in any KVM host dump (the
 * dump is a limit); the feature-dependent ones let the model move a dump to the trace's vCPU features.
 */
export interface LimitEdit {
  register: string;
  /** Field name, or '*' for the whole register (it reads as zero). */
  field: string;
  when: 'always' | { without: LimitFeature } | { with: LimitFeature };
  action: 'clear' | 'limit' | { force: number } | { cap: number };
  note: string;
}

export const LIMIT_EDITS: readonly LimitEdit[] = [
  // Feature-dependent (kvm-model.md §4.4).
  { register: 'ID_AA64DFR0_EL1', field: 'PMUVer', when: { without: 'pmu_v3' }, action: 'clear', note: 'no PMUv3 without the pmu_v3 feature' },
  { register: 'ID_DFR0_EL1', field: 'PerfMon', when: { without: 'pmu_v3' }, action: 'clear', note: 'no PMUv3 without the pmu_v3 feature' },
  { register: 'ID_AA64PFR0_EL1', field: 'SVE', when: { without: 'sve' }, action: 'clear', note: 'SVE hidden without the sve feature' },
  { register: 'ID_AA64ZFR0_EL1', field: '*', when: { without: 'sve' }, action: 'clear', note: 'ZFR0 is RAZ without the sve feature' },
  { register: 'ID_AA64ISAR1_EL1', field: 'APA', when: { without: 'ptrauth' }, action: 'clear', note: 'pointer authentication needs ptrauth_address+ptrauth_generic' },
  { register: 'ID_AA64ISAR1_EL1', field: 'API', when: { without: 'ptrauth' }, action: 'clear', note: 'pointer authentication needs ptrauth_address+ptrauth_generic' },
  { register: 'ID_AA64ISAR1_EL1', field: 'GPA', when: { without: 'ptrauth' }, action: 'clear', note: 'pointer authentication needs ptrauth_address+ptrauth_generic' },
  { register: 'ID_AA64ISAR1_EL1', field: 'GPI', when: { without: 'ptrauth' }, action: 'clear', note: 'pointer authentication needs ptrauth_address+ptrauth_generic' },
  { register: 'ID_AA64ISAR2_EL1', field: 'APA3', when: { without: 'ptrauth' }, action: 'clear', note: 'pointer authentication needs ptrauth_address+ptrauth_generic' },
  { register: 'ID_AA64ISAR2_EL1', field: 'GPA3', when: { without: 'ptrauth' }, action: 'clear', note: 'pointer authentication needs ptrauth_address+ptrauth_generic' },
  { register: 'ID_AA64PFR1_EL1', field: 'MTE', when: { without: 'mte' }, action: 'clear', note: 'MTE needs the ARM_MTE VM capability' },
  { register: 'ID_AA64PFR1_EL1', field: 'MTE_frac', when: { without: 'mte' }, action: 'clear', note: 'MTE needs the ARM_MTE VM capability' },
  { register: 'ID_AA64PFR2_EL1', field: 'MTEFAR', when: { without: 'mte' }, action: 'clear', note: 'MTE needs the ARM_MTE VM capability' },
  { register: 'ID_AA64PFR2_EL1', field: 'MTESTOREONLY', when: { without: 'mte' }, action: 'clear', note: 'MTE needs the ARM_MTE VM capability' },
  // Unconditional edits (kvm-model.md §3.1, §3.2, §3.9-§3.11, §4.3).
  { register: 'ID_AA64PFR0_EL1', field: 'AMU', when: 'always', action: 'clear', note: 'AMU is not offered to guests' },
  { register: 'ID_AA64PFR0_EL1', field: 'MPAM', when: 'always', action: 'clear', note: 'MPAM is not offered to guests (a write of the host value is tolerated)' },
  { register: 'ID_AA64PFR0_EL1', field: 'CSV2', when: 'always', action: { force: 1 }, note: 'forced to 1 when the host is not affected by Spectre-v2' },
  { register: 'ID_AA64PFR0_EL1', field: 'CSV3', when: 'always', action: { force: 1 }, note: 'forced to 1 when the host is not affected by Meltdown' },
  { register: 'ID_AA64PFR0_EL1', field: 'GIC', when: 'always', action: { force: 1 }, note: 'set when the host has a GICv3-compatible CPU interface; cleared at first run without an in-kernel irqchip' },
  { register: 'ID_AA64PFR1_EL1', field: 'GCS', when: 'always', action: 'clear', note: 'not offered to guests' },
  { register: 'ID_AA64PFR1_EL1', field: 'SME', when: 'always', action: 'clear', note: 'not offered to guests' },
  { register: 'ID_AA64PFR1_EL1', field: 'MPAM_frac', when: 'always', action: 'clear', note: 'MPAM is not offered to guests' },
  { register: 'ID_AA64DFR0_EL1', field: 'PMSVer', when: 'always', action: 'clear', note: 'SPE is hidden' },
  { register: 'ID_AA64DFR0_EL1', field: 'DebugVer', when: 'always', action: { cap: 0xa }, note: 'capped at Armv8.8 debug' },
  { register: 'ID_AA64DFR0_EL1', field: 'PMUVer', when: { with: 'pmu_v3' }, action: 'limit', note: "the VM's PMU version limit" },
  { register: 'ID_DFR0_EL1', field: 'CopDbg', when: 'always', action: { cap: 0xa }, note: 'capped at Armv8.8 debug' },
  { register: 'ID_AA64MMFR2_EL1', field: 'NV', when: 'always', action: 'clear', note: 'nested virtualisation is described by has_el2, not by this field' },
  { register: 'ID_AA64MMFR2_EL1', field: 'CCIDX', when: 'always', action: 'clear', note: 'KVM fabricates 32-bit CCSIDR' },
  { register: 'ID_MMFR4_EL1', field: 'CCIDX', when: 'always', action: 'clear', note: 'KVM fabricates 32-bit CCSIDR' },
  { register: 'ID_AA64ISAR2_EL1', field: 'WFxT', when: 'always', action: 'clear', note: 'kept only when the host has WFxT and a usable CNTVOFF' },
];

/**
 * Fields KVM may change at the first KVM_RUN (GIC reconciliation, kvm-model.md §4.2 step 5): the guest view
 * can differ from the last userspace write there, so comparisons of observed values ignore them (as the
 * kernel's selftest does with its `mutable` flag, §6.1).
 */
export const FIRST_RUN_MUTABLE: readonly { register: string; field: string }[] = [
  { register: 'ID_AA64PFR0_EL1', field: 'GIC' },
  { register: 'ID_AA64PFR2_EL1', field: 'GCIE' },
  { register: 'ID_PFR1_EL1', field: 'GIC' },
];

/** Kernel eras whose rules the model knows (kvm-model.md §4.1). */
export type KernelEra = '6.4' | '6.5' | '6.7' | '6.15' | 'newest';

export interface EraProfile {
  era: KernelEra;
  /** First kernel version (major, minor) the profile applies to. */
  from: [number, number];
  /** ≤6.4: ID registers are invariant for userspace (a different value is -EINVAL), stored per vCPU. */
  invariant: boolean;
  /** 6.5+: all vCPUs must be initialised with the same features (IDR014). */
  featureConsistency: boolean;
  /** CTR_EL0 is a writable per-VM register (writable since ~6.11, unconfirmed; the 6.15 profile on). */
  ctrWritable: boolean;
  /** MIDR/REVIDR/AIDR writable behind KVM_CAP_ARM_WRITABLE_IMP_ID_REGS (6.15+). */
  writableImpCap: boolean;
  /** AArch32 views take writes ([31:0]) when the host has 32-bit EL0 (6.7+). */
  aarch32Writable: boolean;
  /** Pre-steps (kvm-model.md §4.7) that exist in this era. */
  preSteps: readonly PreStepId[];
  /** Writable masks that differ from the newest ones (register name → mask). */
  masks: Readonly<Record<string, bigint>>;
  /** Why the profile looks the way it does, for hovers and reports. */
  note: string;
}

const NEWEST_PRE_STEPS: readonly PreStepId[] = [
  'pfr0-mpam-drop', 'pfr0-el0-el1-nonzero', 'pfr0-el2-nv', 'pfr1-mpam-frac-drop', 'pfr1-mte-frac', 'dfr0-pmuver-impdef',
  'dfr0-debugver-min', 'dfr0-doublelock-nv', 'id-dfr0-perfmon', 'id-dfr0-copdbg-min', 'mmfr0-tgran2-nv', 'mmfr2-nv-drop', 'ctr-l1ip',
];

// The 6.15 masks are the newest minus the Sept-2025 MMFR1.{HCX,TWED} additions (kvm-model.md §4.1 [S18]).
const MMFR1_6_15 = 0xffffffff0ffff00fn & ~(0xfn << 40n) & ~(0xfn << 32n);

/**
 * The era profiles. Sources: kvm-model.md §4.1 timeline [S15][S16][S17][S18][S19].
 * - 6.4 (≤6.4): invariant ID registers [S19]; the CSV2/CSV3 and PMUVer/PerfMon exceptions of late 5.x/6.x
 *   kernels are "partly unconfirmed" there and are not modelled.
 * - 6.5: per-VM storage and feature consistency [S15]. Writes go through the host tables; our choice of
 *   what 6.5 made writable (the per-guest fields of the 6.5 series): ID_AA64PFR0_EL1.{CSV2,CSV3},
 *   ID_AA64DFR0_EL1.PMUVer, ID_DFR0_EL1.PerfMon. Everything else must equal the limit.
 * - 6.7: the writable-masks series [S16]: §4.9 masks for ISAR0-2, MMFR0-2, PFR0, ZFR0, DFR0, AArch32 views,
 *   minus what came later (PFR1, PFR2, FPFR0, ISAR3, MMFR3, MMFR4, MMFR1.{HCX,TWED}); CTR_EL0 and the
 *   implementation registers stay invariant.
 * - 6.15: writable MIDR/REVIDR/AIDR behind the cap [S17], writable CTR_EL0, §4.9 masks minus MMFR1.{HCX,TWED}.
 * - newest: the snapshot (kvm-model.md §0): adds MMFR1.{HCX,TWED}, the PFR0 EL0/EL1(/EL2) non-zero rule, the
 *   MPAM/MTE_frac/MMFR2.NV tolerances and the NV DoubleLock fix-up.
 */
export const ERA_PROFILES: readonly EraProfile[] = [
  {
    era: '6.4', from: [0, 0], invariant: true, featureConsistency: false, ctrWritable: false, writableImpCap: false, aarch32Writable: false,
    preSteps: [], masks: {}, note: 'ID registers are invariant for userspace: only the current value can be written back',
  },
  {
    era: '6.5', from: [6, 5], invariant: false, featureConsistency: true, ctrWritable: false, writableImpCap: false, aarch32Writable: false,
    preSteps: ['dfr0-pmuver-impdef', 'id-dfr0-perfmon'],
    masks: {
      ID_AA64PFR0_EL1: (0xfn << 60n) | (0xfn << 56n),
      ID_AA64DFR0_EL1: 0xfn << 8n,
      ID_DFR0_EL1: 0xfn << 24n,
      ID_AA64PFR1_EL1: 0n, ID_AA64PFR2_EL1: 0n, ID_AA64ZFR0_EL1: 0n, ID_AA64FPFR0_EL1: 0n,
      ID_AA64ISAR0_EL1: 0n, ID_AA64ISAR1_EL1: 0n, ID_AA64ISAR2_EL1: 0n, ID_AA64ISAR3_EL1: 0n,
      ID_AA64MMFR0_EL1: 0n, ID_AA64MMFR1_EL1: 0n, ID_AA64MMFR2_EL1: 0n, ID_AA64MMFR3_EL1: 0n, ID_AA64MMFR4_EL1: 0n,
    },
    note: 'per-VM ID registers; only PFR0.CSV2/CSV3, DFR0.PMUVer and ID_DFR0.PerfMon are writable',
  },
  {
    era: '6.7', from: [6, 7], invariant: false, featureConsistency: true, ctrWritable: false, writableImpCap: false, aarch32Writable: true,
    preSteps: ['dfr0-pmuver-impdef', 'dfr0-debugver-min', 'id-dfr0-perfmon', 'id-dfr0-copdbg-min'],
    masks: {
      ID_AA64PFR1_EL1: 0n, ID_AA64PFR2_EL1: 0n, ID_AA64FPFR0_EL1: 0n, ID_AA64ISAR3_EL1: 0n, ID_AA64MMFR3_EL1: 0n, ID_AA64MMFR4_EL1: 0n,
      ID_AA64MMFR1_EL1: MMFR1_6_15,
    },
    note: 'KVM_ARM_GET_REG_WRITABLE_MASKS era: writable feature fields in the main registers',
  },
  {
    era: '6.15', from: [6, 15], invariant: false, featureConsistency: true, ctrWritable: true, writableImpCap: true, aarch32Writable: true,
    preSteps: ['dfr0-pmuver-impdef', 'dfr0-debugver-min', 'id-dfr0-perfmon', 'id-dfr0-copdbg-min', 'mmfr0-tgran2-nv', 'ctr-l1ip'],
    masks: { ID_AA64MMFR1_EL1: MMFR1_6_15 },
    note: 'writable MIDR/REVIDR/AIDR behind KVM_CAP_ARM_WRITABLE_IMP_ID_REGS; writable CTR_EL0',
  },
  {
    era: 'newest', from: [6, 18], invariant: false, featureConsistency: true, ctrWritable: true, writableImpCap: true, aarch32Writable: true,
    preSteps: NEWEST_PRE_STEPS, masks: {},
    note: 'the snapshot rules of kvm-model.md (late-2025 mainline)',
  },
];

/**
 * CLIDR_EL1 became writable (own setter, no has-run check; kvm-model.md §2.2) in 6.3 (Akihiko Odaki's cache
 * configuration series). The version is not in kvm-model.md: recalled, unconfirmed.
 */
export const CLIDR_WRITABLE_FROM: [number, number] = [6, 3];

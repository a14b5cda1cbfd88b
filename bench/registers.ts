// The registers the generators use: the bench's own small table (independent of src/data, so that a
// change in the register database never changes the generated inputs). Values are plausible limits of
// a Neoverse-class host; they only need to be self-consistent (the .iddump, the .idtrace and the
// Firecracker template all use them).

export interface BenchReg {
  name: string; // architectural name, without SYS_
  op0: number;
  op1: number;
  crn: number;
  crm: number;
  op2: number;
  value: bigint;
  /** Userspace may lower fields (KVM writable mask non-zero), so `set` lines make sense. */
  writable: boolean;
  /** Guests read it often (weight for the read mix). */
  weight: number;
}

function r(name: string, t: [number, number, number, number, number], value: bigint, writable: boolean, weight: number): BenchReg {
  return { name, op0: t[0], op1: t[1], crn: t[2], crm: t[3], op2: t[4], value, writable, weight };
}

export const ID_REGS: readonly BenchReg[] = [
  r('ID_PFR0_EL1', [3, 0, 0, 1, 0], 0x10010131n, true, 2),
  r('ID_PFR1_EL1', [3, 0, 0, 1, 1], 0x00010000n, true, 2),
  r('ID_DFR0_EL1', [3, 0, 0, 1, 2], 0x16011099n, true, 1),
  r('ID_MMFR0_EL1', [3, 0, 0, 1, 4], 0x10201105n, true, 1),
  r('ID_MMFR1_EL1', [3, 0, 0, 1, 5], 0x40000000n, true, 1),
  r('ID_MMFR2_EL1', [3, 0, 0, 1, 6], 0x01260000n, true, 1),
  r('ID_MMFR3_EL1', [3, 0, 0, 1, 7], 0x02122211n, true, 1),
  r('ID_ISAR0_EL1', [3, 0, 0, 2, 0], 0x02101110n, true, 1),
  r('ID_ISAR1_EL1', [3, 0, 0, 2, 1], 0x13112111n, true, 1),
  r('ID_ISAR2_EL1', [3, 0, 0, 2, 2], 0x21232042n, true, 1),
  r('ID_ISAR3_EL1', [3, 0, 0, 2, 3], 0x01112131n, true, 1),
  r('ID_ISAR4_EL1', [3, 0, 0, 2, 4], 0x00010142n, true, 1),
  r('ID_ISAR5_EL1', [3, 0, 0, 2, 5], 0x11011121n, true, 1),
  r('ID_MMFR4_EL1', [3, 0, 0, 2, 6], 0x00021110n, true, 1),
  r('ID_ISAR6_EL1', [3, 0, 0, 2, 7], 0x01111111n, true, 1),
  r('MVFR0_EL1', [3, 0, 0, 3, 0], 0x10110222n, true, 1),
  r('MVFR1_EL1', [3, 0, 0, 3, 1], 0x13211111n, true, 1),
  r('MVFR2_EL1', [3, 0, 0, 3, 2], 0x00000043n, true, 1),
  r('ID_PFR2_EL1', [3, 0, 0, 3, 4], 0x00000011n, true, 1),
  r('ID_AA64PFR0_EL1', [3, 0, 0, 4, 0], 0x1101001021111112n, true, 12),
  r('ID_AA64PFR1_EL1', [3, 0, 0, 4, 1], 0x0000000000000020n, true, 6),
  r('ID_AA64ZFR0_EL1', [3, 0, 0, 4, 4], 0x0000000000000000n, true, 3),
  r('ID_AA64DFR0_EL1', [3, 0, 0, 5, 0], 0x0000000110305408n, true, 5),
  r('ID_AA64DFR1_EL1', [3, 0, 0, 5, 1], 0x0000000000000000n, false, 1),
  r('ID_AA64AFR0_EL1', [3, 0, 0, 5, 4], 0x0000000000000000n, false, 1),
  r('ID_AA64ISAR0_EL1', [3, 0, 0, 6, 0], 0x1011111110212120n, true, 12),
  r('ID_AA64ISAR1_EL1', [3, 0, 0, 6, 1], 0x0011100001211032n, true, 10),
  r('ID_AA64ISAR2_EL1', [3, 0, 0, 6, 2], 0x0000000000000000n, true, 5),
  r('ID_AA64MMFR0_EL1', [3, 0, 0, 7, 0], 0x0000000000101125n, true, 8),
  r('ID_AA64MMFR1_EL1', [3, 0, 0, 7, 1], 0x0000000010212122n, true, 8),
  r('ID_AA64MMFR2_EL1', [3, 0, 0, 7, 2], 0x0000100001011011n, true, 6),
  r('ID_AA64MMFR3_EL1', [3, 0, 0, 7, 3], 0x0000000000000000n, true, 2),
];

/** Trapped registers outside the CRm 1..7 ID block that a guest also reads (cache geometry, CTR). */
export const OTHER_TRAPPED: readonly BenchReg[] = [
  r('CTR_EL0', [3, 3, 0, 0, 1], 0x0000000084448004n, false, 2),
  r('CLIDR_EL1', [3, 1, 0, 0, 1], 0x0000000082000023n, false, 1),
  r('CCSIDR_EL1', [3, 1, 0, 0, 0], 0x000000007003e01an, false, 1),
  r('CSSELR_EL1', [3, 2, 0, 0, 0], 0n, false, 1),
];

/** KVM's name for unallocated ID slots (kvm-model.md §1.2): no C letters. */
export const UNALLOCATED: readonly BenchReg[] = [
  r('S3_0_0_4_3', [3, 0, 0, 4, 3], 0n, false, 1),
  r('S3_0_0_6_4', [3, 0, 0, 6, 4], 0n, false, 1),
];

export function genericName(x: BenchReg): string {
  return `S${x.op0}_${x.op1}_C${x.crn}_C${x.crm}_${x.op2}`;
}

export function tuple(x: BenchReg): string {
  return `(${x.op0},${x.op1},${x.crn},${x.crm},${x.op2})`;
}

/** ESR_EL2 for EC 0x18 (kvm-model.md §1.5). */
export function esrOf(x: BenchReg, read: boolean, rt: number): number {
  const iss = (x.op0 << 20) | (x.op2 << 17) | (x.op1 << 14) | (x.crn << 10) | (rt << 5) | (x.crm << 1) | (read ? 1 : 0);
  return ((0x18 << 26) | (1 << 25) | iss) >>> 0;
}

/** KVM one-reg id (kvm-model.md §1.4) as 0x-prefixed lower-case hex. */
export function oneRegId(x: BenchReg): string {
  const low = (x.op0 << 14) | (x.op1 << 11) | (x.crn << 7) | (x.crm << 3) | x.op2;
  return '0x6030000000130000'.slice(0, 18 - 4) + low.toString(16).padStart(4, '0');
}

export function hex16(v: bigint): string {
  return v.toString(16).padStart(16, '0');
}

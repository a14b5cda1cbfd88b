import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  allForms, decodeEsr, decodeInsn, decodeLinuxEncoding, decodeOneRegId, esrOf, genericName, linuxEncodingOf,
  mrsWord, msrWord, oneRegIdOf, parseRegisterToken, resolveRegister,
} from '../../src/encoding/forms.ts';
import { allRegisters } from '../../src/data/registers.ts';
import type { Encoding } from '../../src/model/events.ts';

// kvm-model.md §1.7: name, tuple, Linux enc, one-reg ID, ESR (MRS X0), ESR (MRS X5), MRS X0 word, MSR X0 word.
const VECTORS: [string | null, [number, number, number, number, number], number, bigint, number, number, number, number][] = [
  ['MIDR_EL1', [3, 0, 0, 0, 0], 0x180000, 0x603000000013c000n, 0x62300001, 0x623000a1, 0xd5380000, 0xd5180000],
  ['MPIDR_EL1', [3, 0, 0, 0, 5], 0x1800a0, 0x603000000013c005n, 0x623a0001, 0x623a00a1, 0xd53800a0, 0xd51800a0],
  ['REVIDR_EL1', [3, 0, 0, 0, 6], 0x1800c0, 0x603000000013c006n, 0x623c0001, 0x623c00a1, 0xd53800c0, 0xd51800c0],
  ['ID_PFR0_EL1', [3, 0, 0, 1, 0], 0x180100, 0x603000000013c008n, 0x62300003, 0x623000a3, 0xd5380100, 0xd5180100],
  ['ID_DFR0_EL1', [3, 0, 0, 1, 2], 0x180140, 0x603000000013c00an, 0x62340003, 0x623400a3, 0xd5380140, 0xd5180140],
  ['MVFR0_EL1', [3, 0, 0, 3, 0], 0x180300, 0x603000000013c018n, 0x62300007, 0x623000a7, 0xd5380300, 0xd5180300],
  ['ID_AA64PFR0_EL1', [3, 0, 0, 4, 0], 0x180400, 0x603000000013c020n, 0x62300009, 0x623000a9, 0xd5380400, 0xd5180400],
  ['ID_AA64PFR1_EL1', [3, 0, 0, 4, 1], 0x180420, 0x603000000013c021n, 0x62320009, 0x623200a9, 0xd5380420, 0xd5180420],
  ['ID_AA64PFR2_EL1', [3, 0, 0, 4, 2], 0x180440, 0x603000000013c022n, 0x62340009, 0x623400a9, 0xd5380440, 0xd5180440],
  [null, [3, 0, 0, 4, 3], 0x180460, 0x603000000013c023n, 0x62360009, 0x623600a9, 0xd5380460, 0xd5180460],
  ['ID_AA64ZFR0_EL1', [3, 0, 0, 4, 4], 0x180480, 0x603000000013c024n, 0x62380009, 0x623800a9, 0xd5380480, 0xd5180480],
  ['ID_AA64SMFR0_EL1', [3, 0, 0, 4, 5], 0x1804a0, 0x603000000013c025n, 0x623a0009, 0x623a00a9, 0xd53804a0, 0xd51804a0],
  ['ID_AA64FPFR0_EL1', [3, 0, 0, 4, 7], 0x1804e0, 0x603000000013c027n, 0x623e0009, 0x623e00a9, 0xd53804e0, 0xd51804e0],
  ['ID_AA64DFR0_EL1', [3, 0, 0, 5, 0], 0x180500, 0x603000000013c028n, 0x6230000b, 0x623000ab, 0xd5380500, 0xd5180500],
  ['ID_AA64DFR1_EL1', [3, 0, 0, 5, 1], 0x180520, 0x603000000013c029n, 0x6232000b, 0x623200ab, 0xd5380520, 0xd5180520],
  ['ID_AA64AFR0_EL1', [3, 0, 0, 5, 4], 0x180580, 0x603000000013c02cn, 0x6238000b, 0x623800ab, 0xd5380580, 0xd5180580],
  ['ID_AA64ISAR0_EL1', [3, 0, 0, 6, 0], 0x180600, 0x603000000013c030n, 0x6230000d, 0x623000ad, 0xd5380600, 0xd5180600],
  ['ID_AA64ISAR1_EL1', [3, 0, 0, 6, 1], 0x180620, 0x603000000013c031n, 0x6232000d, 0x623200ad, 0xd5380620, 0xd5180620],
  ['ID_AA64ISAR2_EL1', [3, 0, 0, 6, 2], 0x180640, 0x603000000013c032n, 0x6234000d, 0x623400ad, 0xd5380640, 0xd5180640],
  ['ID_AA64ISAR3_EL1', [3, 0, 0, 6, 3], 0x180660, 0x603000000013c033n, 0x6236000d, 0x623600ad, 0xd5380660, 0xd5180660],
  ['ID_AA64MMFR0_EL1', [3, 0, 0, 7, 0], 0x180700, 0x603000000013c038n, 0x6230000f, 0x623000af, 0xd5380700, 0xd5180700],
  ['ID_AA64MMFR1_EL1', [3, 0, 0, 7, 1], 0x180720, 0x603000000013c039n, 0x6232000f, 0x623200af, 0xd5380720, 0xd5180720],
  ['ID_AA64MMFR2_EL1', [3, 0, 0, 7, 2], 0x180740, 0x603000000013c03an, 0x6234000f, 0x623400af, 0xd5380740, 0xd5180740],
  ['ID_AA64MMFR3_EL1', [3, 0, 0, 7, 3], 0x180760, 0x603000000013c03bn, 0x6236000f, 0x623600af, 0xd5380760, 0xd5180760],
  ['ID_AA64MMFR4_EL1', [3, 0, 0, 7, 4], 0x180780, 0x603000000013c03cn, 0x6238000f, 0x623800af, 0xd5380780, 0xd5180780],
  ['CLIDR_EL1', [3, 1, 0, 0, 1], 0x190020, 0x603000000013c801n, 0x62324001, 0x623240a1, 0xd5390020, 0xd5190020],
  ['AIDR_EL1', [3, 1, 0, 0, 7], 0x1900e0, 0x603000000013c807n, 0x623e4001, 0x623e40a1, 0xd53900e0, 0xd51900e0],
  ['CTR_EL0', [3, 3, 0, 0, 1], 0x1b0020, 0x603000000013d801n, 0x6232c001, 0x6232c0a1, 0xd53b0020, 0xd51b0020],
  ['DCZID_EL0', [3, 3, 0, 0, 7], 0x1b00e0, 0x603000000013d807n, 0x623ec001, 0x623ec0a1, 0xd53b00e0, 0xd51b00e0],
];

const enc = (t: [number, number, number, number, number]): Encoding => ({ op0: t[0], op1: t[1], crn: t[2], crm: t[3], op2: t[4] });

test('kvm-model.md §1.7 vectors: every form', () => {
  for (const [name, tuple, linux, oneReg, esr0, esr5, mrs, msr] of VECTORS) {
    const e = enc(tuple);
    const label = name ?? genericName(e);
    assert.equal(linuxEncodingOf(e), linux, `${label} linux enc`);
    assert.equal(oneRegIdOf(e), oneReg, `${label} one-reg`);
    assert.equal(esrOf(e, { read: true, rt: 0 }), esr0, `${label} ESR x0`);
    assert.equal(esrOf(e, { read: true, rt: 5 }), esr5, `${label} ESR x5`);
    assert.equal(mrsWord(e), mrs, `${label} MRS`);
    assert.equal(msrWord(e), msr, `${label} MSR`);
    for (const token of [`0x${oneReg.toString(16)}`, `esr:0x${esr0.toString(16)}`, `0x${mrs.toString(16)}`, `enc:0x${linux.toString(16)}`, `(${tuple.join(',')})`]) {
      const tok = parseRegisterToken(token);
      assert.ok(tok.ok, `${token}: ${tok.ok ? '' : tok.message}`);
      assert.deepEqual(tok.enc, e, token);
      if (name) assert.equal(tok.name, name, token);
      else assert.equal(tok.unallocated, true, token);
    }
  }
});

test('ESR decode names register, direction and Rt', () => {
  const tok = parseRegisterToken('esr:0x62300009');
  assert.ok(tok.ok);
  assert.equal(tok.name, 'ID_AA64PFR0_EL1');
  assert.equal(tok.esr?.read, true);
  assert.equal(tok.esr?.rt, 0);
  const w = decodeEsr(0x623000a8);
  assert.equal(w?.read, false);
  assert.equal(w?.rt, 5);
  // A bare ESR is read by its shape (EC 0x18 in bits 31:26).
  const bare = parseRegisterToken('0x62300009');
  assert.ok(bare.ok && bare.kind === 'esr');
  // A data abort is not a trapped MSR/MRS.
  assert.equal(parseRegisterToken('esr:0x92000046').ok, false);
});

test('names: any case, SYS_ prefix, missing _EL1, generic and KVM unallocated forms', () => {
  const pfr0 = { op0: 3, op1: 0, crn: 0, crm: 4, op2: 0 };
  for (const t of ['ID_AA64PFR0_EL1', 'id_aa64pfr0_el1', 'SYS_ID_AA64PFR0_EL1', 'ID_AA64PFR0', 'S3_0_C0_C4_0', 's3_0_c0_c4_0', 'op0:3 op1:0 crn:0 crm:4 op2:0', 'ARM64_SYS_REG(3, 0, 0, 4, 0)']) {
    const tok = parseRegisterToken(t);
    assert.ok(tok.ok, t);
    assert.deepEqual(tok.enc, pfr0, t);
    assert.equal(tok.name, 'ID_AA64PFR0_EL1', t);
  }
  const unalloc = resolveRegister('S3_0_0_4_3');
  assert.deepEqual(unalloc?.enc, { op0: 3, op1: 0, crn: 0, crm: 4, op2: 3 });
  assert.equal(unalloc?.unallocated, true);
  assert.equal(resolveRegister('CTR')?.name, 'CTR_EL0');
  assert.equal(resolveRegister('NOT_A_REGISTER'), undefined);
  assert.equal(parseRegisterToken('S3_0_C16_C0_0').ok, false);
});

test('one-reg IDs of every group are named', () => {
  const cases: [bigint, string, string, number][] = [
    [0x6030000000100040n, 'core', 'regs.pc', 64],
    [0x6030000000100000n, 'core', 'regs.regs[0]', 64],
    [0x60200000001000d4n, 'core', 'fp_regs.fpsr', 32],
    [0x60200000001000d5n, 'core', 'fp_regs.fpcr', 32],
    [0x6040000000100054n, 'core', 'fp_regs.vregs[0]', 128],
    [0x6020000000110002n, 'demux', 'CCSIDR[2]', 32],
    [0x6030000000140000n, 'fw', 'KVM_REG_ARM_PSCI_VERSION', 64],
    [0x6030000000160003n, 'fw-feat', 'KVM_REG_ARM_VENDOR_HYP_BMAP_2', 64],
    [0x6080000000150060n, 'sve', 'Z3', 2048],
    [0x606000000015ffffn, 'sve', 'KVM_REG_ARM64_SVE_VLS', 512],
    [0x603000000013df1an, 'sysreg', 'KVM_REG_ARM_TIMER_CNT', 64],
  ];
  for (const [id, group, name, bits] of cases) {
    const info = decodeOneRegId(id);
    assert.equal(info.group, group, id.toString(16));
    assert.equal(info.name, name, id.toString(16));
    assert.equal(info.sizeBits, bits, id.toString(16));
    assert.equal(info.valid, true, id.toString(16));
  }
  assert.equal(decodeOneRegId(0x603000001013c020n).valid, false); // stray bit 28
  assert.equal(decodeOneRegId(0x602000000013c020n).valid, false); // sysreg with a 32-bit size
});

test('instruction words decode; other words are refused', () => {
  assert.deepEqual(decodeInsn(0xd53b0020), { read: true, enc: { op0: 3, op1: 3, crn: 0, crm: 0, op2: 1 }, rt: 0 });
  assert.equal(decodeInsn(0xd503201f), undefined); // NOP
  assert.equal(parseRegisterToken('insn:0xd503201f').ok, false);
  assert.equal(decodeLinuxEncoding(0x180401), undefined);
});

test('round trip: every register in the database through every form', () => {
  const regs = allRegisters();
  assert.ok(regs.length > 500, `database has ${regs.length} registers`);
  let checked = 0;
  for (const reg of regs) {
    const e = reg.enc;
    const forms = allForms(e);
    for (const [form, token] of Object.entries({
      name: reg.name, generic: forms.generic!, tuple: forms.tuple!, opFields: forms.opFields!, macro: forms.macro!,
      oneReg: forms.oneReg!, sysRegEnc: 'enc:' + forms.sysRegEnc!, mrs: forms.mrs!, msr: forms.msr!, esrRead: forms.esrRead!, esrWrite: forms.esrWrite!,
    })) {
      const tok = parseRegisterToken(token);
      assert.ok(tok.ok, `${reg.name} ${form} ${token}: ${tok.ok ? '' : tok.message}`);
      assert.deepEqual(tok.enc, e, `${reg.name} ${form}`);
      checked++;
    }
    assert.equal(decodeEsr(esrOf(e, { read: false, rt: 7 }))?.rt, 7);
  }
  assert.ok(checked > 5000);
});

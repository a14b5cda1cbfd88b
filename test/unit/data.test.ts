// Tests of the generated register table (src/data/registers.generated.json) and its API.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodingKey, type Encoding } from '../../src/model/events.ts';
import {
  DATA_VERSION,
  allRegisters,
  midrImplementerName,
  midrPartName,
  registerByKey,
  registerByName,
  type RegisterDef,
} from '../../src/data/registers.ts';

const repoRoot = path.resolve(__dirname, '..', '..');
const referenceDir = process.env.IDREG_REFERENCE_DIR
  ? path.resolve(process.env.IDREG_REFERENCE_DIR)
  : path.resolve(repoRoot, '../shared/reference');

const enc = (op0: number, op1: number, crn: number, crm: number, op2: number): Encoding => ({ op0, op1, crn, crm, op2 });
const mask = (msb: number, lsb: number) => ((1n << BigInt(msb - lsb + 1)) - 1n) << BigInt(lsb);
const isIdSpace = (e: Encoding) => e.op0 === 3 && e.crn === 0 && [0, 1, 3].includes(e.op1);

function reg(name: string): RegisterDef {
  const r = registerByName(name);
  assert.ok(r, `${name} is in the table`);
  return r;
}

test('the committed table is fresh (generate.ts --check)', (t) => {
  if (!fs.existsSync(referenceDir)) {
    t.skip(`reference data not found at ${referenceDir}; cannot regenerate (set IDREG_REFERENCE_DIR)`);
    return;
  }
  const res = spawnSync(process.execPath, ['--import', 'tsx', path.join('src', 'data', 'generate.ts'), '--check'], {
    cwd: repoRoot,
    encoding: 'utf8',
    env: { ...process.env, IDREG_REFERENCE_DIR: referenceDir },
  });
  assert.equal(res.status, 0, `generator --check failed (exit ${res.status}):\n${res.stdout}\n${res.stderr}\nRun \`npm run gen:data\` and commit the result.`);
  t.diagnostic(res.stdout.trim());
});

test('DATA_VERSION names the Arm release', () => {
  assert.match(DATA_VERSION, /^AARCHMRS BSD A-profile \d{4}-\d{2} \(v\dAp\d+-A build \d+\)$/);
  assert.equal(DATA_VERSION, 'AARCHMRS BSD A-profile 2024-12 (v9Ap6-A build 406)');
});

test('counts', (t) => {
  const all = allRegisters();
  const id = all.filter((r) => isIdSpace(r.enc));
  const fields = id.flatMap((r) => r.fields ?? []);
  const withMeaning = fields.reduce((n, f) => n + Object.keys(f.meanings).length, 0);
  const withFeatures = fields.reduce((n, f) => n + Object.keys(f.features).length, 0);
  t.diagnostic(
    `registers=${all.length} (register form ${all.filter((r) => r.readable || r.writable).length}, system instructions ${all.filter((r) => !r.readable && !r.writable).length}) ` +
      `expandedFromArrays=${all.filter((r) => r.array).length} aliases=${all.reduce((n, r) => n + (r.aliases?.length ?? 0), 0)} ` +
      `idSpace=${id.length} idSpaceWithFields=${id.filter((r) => r.fields?.length).length} fields=${fields.length} ` +
      `valuesWithMeanings=${withMeaning} valuesWithFeatures=${withFeatures}`,
  );
  assert.ok(all.length > 1000);
  assert.ok(id.length >= 50);
  assert.ok(fields.length > 400);
  assert.ok(withMeaning > 500);
});

test('names and encodings are unique and both lookups agree', () => {
  const keys = new Set<number>();
  const names = new Set<string>();
  for (const r of allRegisters()) {
    const k = encodingKey(r.enc);
    assert.ok(!keys.has(k), `duplicate encoding for ${r.name}`);
    keys.add(k);
    for (const n of [r.name, ...(r.aliases ?? [])]) {
      assert.ok(!names.has(n.toUpperCase()), `duplicate name ${n}`);
      names.add(n.toUpperCase());
      assert.equal(registerByName(n.toUpperCase()), r, n);
    }
    assert.equal(registerByKey(k), r, r.name);
    assert.ok(!/[<>]/.test(r.name), `unexpanded template ${r.name}`);
    assert.ok(r.width === 64 || r.width === 128, `${r.name} width ${r.width}`);
  }
  // Sorted by key.
  const ks = allRegisters().map((r) => encodingKey(r.enc));
  assert.deepEqual(ks, [...ks].sort((a, b) => a - b));
  assert.equal(registerByName('id_aa64pfr0_el1'), undefined, 'lookups take upper case');
  assert.equal(registerByName('NOT_A_REGISTER_EL1'), undefined);
});

test('ID_AA64PFR0_EL1: encoding, fields and meanings', () => {
  const r = reg('ID_AA64PFR0_EL1');
  assert.deepEqual(r.enc, enc(3, 0, 0, 4, 0));
  assert.equal(registerByKey(encodingKey(enc(3, 0, 0, 4, 0))), r);
  assert.equal(r.readable, true);
  assert.equal(r.writable, false);
  const layout = r.fields!.map((f) => `${f.name} ${f.msb}:${f.lsb}`);
  assert.deepEqual(layout, [
    'CSV3 63:60', 'CSV2 59:56', 'RME 55:52', 'DIT 51:48', 'AMU 47:44', 'MPAM 43:40', 'SEL2 39:36', 'SVE 35:32',
    'RAS 31:28', 'GIC 27:24', 'AdvSIMD 23:20', 'FP 19:16', 'EL3 15:12', 'EL2 11:8', 'EL1 7:4', 'EL0 3:0',
  ]);
  assert.equal(r.res0, 0n);
  assert.equal(r.res1, 0n);
  const f = (n: string) => r.fields!.find((x) => x.name === n)!;
  assert.match(f('SVE').meanings[1]!, /FEAT_SVE implemented/);
  assert.match(f('SVE').meanings[0]!, /not implemented/);
  assert.deepEqual(f('SVE').features[1], ['FEAT_SVE']);
  assert.deepEqual(f('SVE').values, [0, 1]);
  assert.deepEqual(f('EL0').values, [1, 2]);
  assert.ok(f('EL0').meanings[1]);
  // AdvSIMD is signed: 0xF means "not implemented", 0 and 1 imply FEAT_AdvSIMD.
  assert.deepEqual(f('AdvSIMD').values, [0, 1, 15]);
  assert.ok(f('AdvSIMD').features[0]!.includes('FEAT_AdvSIMD'));
  assert.ok(f('AdvSIMD').features[1]!.includes('FEAT_FP16'));
  assert.equal(f('AdvSIMD').features[15], undefined);
  assert.match(f('AdvSIMD').meanings[15]!, /not implemented/);
});

test('ID_AA64ISAR0_EL1: RES0 bits 3:0 and FEAT names', () => {
  const r = reg('ID_AA64ISAR0_EL1');
  assert.deepEqual(r.enc, enc(3, 0, 0, 6, 0));
  assert.equal(r.res0 & 0xfn, 0xfn);
  assert.ok(!r.fields!.some((f) => f.lsb <= 3), 'no field in 3:0');
  const dp = r.fields!.find((f) => f.name === 'DP')!;
  assert.equal(dp.msb, 47);
  assert.equal(dp.lsb, 44);
  assert.deepEqual(dp.features[1], ['FEAT_DotProd']);
  const aes = r.fields!.find((f) => f.name === 'AES')!;
  assert.deepEqual(aes.features[2], ['FEAT_AES', 'FEAT_PMULL']);
  const atomic = r.fields!.find((f) => f.name === 'Atomic')!;
  assert.deepEqual(atomic.values, [0, 2, 3]);
  assert.ok(atomic.features[3]!.includes('FEAT_LSE128'));
});

test('FEAT-derived meanings where edk2 has no text', () => {
  // ID_AA64ISAR3_EL1 is not in edk2-armcpuinfo, so its texts come from Features.json.
  const r = reg('ID_AA64ISAR3_EL1');
  const fam = r.fields!.find((f) => f.name === 'FAMINMAX')!;
  assert.equal(fam.meanings[1], 'FEAT_FAMINMAX implemented');
  assert.equal(fam.meanings[0], 'FEAT_FAMINMAX not implemented');
  // Signed field with SInt(...) >= 0: 0xF is "not implemented".
  const mm0 = reg('ID_AA64MMFR0_EL1');
  const tg4 = mm0.fields!.find((f) => f.name === 'TGran4')!;
  assert.deepEqual(tg4.features[0], ['FEAT_TGran4K']);
  assert.equal(tg4.features[15], undefined);
});

test('register arrays are expanded with their encodings', () => {
  const r = reg('DBGBCR5_EL1');
  assert.deepEqual(r.enc, enc(2, 0, 0, 5, 5));
  assert.deepEqual(r.array, { template: 'DBGBCR<n>_EL1', index: 5 });
  assert.ok(r.readable && r.writable);
  assert.deepEqual(reg('DBGBCR0_EL1').enc, enc(2, 0, 0, 0, 5));
  assert.deepEqual(reg('DBGBCR15_EL1').enc, enc(2, 0, 0, 15, 5));
  assert.equal(registerByName('DBGBCR16_EL1'), undefined);
  // Concatenated index encodings.
  assert.deepEqual(reg('ICH_LR15_EL2').enc, enc(3, 4, 12, 13, 7)); // CRm = '110':m[3], op2 = m[2:0]
  assert.deepEqual(reg('PMEVCNTR30_EL0').enc, enc(3, 3, 14, 11, 6)); // CRm = '10':m[4:3]
  assert.deepEqual(reg('BRBINF31_EL1').enc, enc(2, 1, 8, 15, 4)); // op2 = m[4]:'00'
  assert.deepEqual(reg('TRCACATR15').enc, enc(2, 1, 2, 14, 3)); // CRm = m[2:0]:'0', op2 = '01':m[3]
  assert.deepEqual(reg('ICC_AP0R3_EL1').enc, enc(3, 0, 12, 8, 7)); // op2 = '1':m[1:0]
});

test('aliases and other names', () => {
  // ICV_* registers share the ICC_* encodings.
  const icc = reg('ICC_PMR_EL1');
  assert.equal(registerByName('ICV_PMR_EL1'), icc);
  assert.ok(icc.aliases?.includes('ICV_PMR_EL1'));
  assert.equal(registerByName('ICV_AP1R2_EL1'), reg('ICC_AP1R2_EL1'));
  // *_EL12 / *_EL02 names have encodings of their own.
  assert.deepEqual(reg('ACTLR_EL12').enc, enc(3, 5, 1, 0, 1));
  assert.deepEqual(reg('CNTP_CTL_EL02').enc, enc(3, 5, 14, 2, 1));
  // A register reached through another register's name (VPIDR_EL2 as MIDR_EL1 from EL1) keeps its own encoding.
  assert.deepEqual(reg('VPIDR_EL2').enc, enc(3, 4, 0, 0, 0));
  assert.equal(reg('MIDR_EL1').aliases, undefined);
  // Mixed-case architectural names are found by their upper-case spelling.
  assert.equal(reg('SPSEL').name, 'SPSel');
  // System instructions are listed with their SYS encodings; they are neither MRS- nor MSR-accessible.
  const tlbi = reg('TLBI VMALLE1IS');
  assert.deepEqual(tlbi.enc, enc(1, 0, 8, 3, 0));
  assert.equal(tlbi.readable || tlbi.writable, false);
  // 128-bit registers.
  assert.equal(reg('PAR_EL1').width, 128);
  assert.equal(reg('TTBR0_EL1').width, 128);
});

test('kvm-model.md §1.7 vectors resolve', () => {
  const vectors: [string, Encoding][] = [
    ['MIDR_EL1', enc(3, 0, 0, 0, 0)], ['MPIDR_EL1', enc(3, 0, 0, 0, 5)], ['REVIDR_EL1', enc(3, 0, 0, 0, 6)],
    ['ID_PFR0_EL1', enc(3, 0, 0, 1, 0)], ['ID_DFR0_EL1', enc(3, 0, 0, 1, 2)], ['MVFR0_EL1', enc(3, 0, 0, 3, 0)],
    ['ID_AA64PFR1_EL1', enc(3, 0, 0, 4, 1)], ['ID_AA64PFR2_EL1', enc(3, 0, 0, 4, 2)], ['ID_AA64ZFR0_EL1', enc(3, 0, 0, 4, 4)],
    ['ID_AA64SMFR0_EL1', enc(3, 0, 0, 4, 5)], ['ID_AA64FPFR0_EL1', enc(3, 0, 0, 4, 7)], ['ID_AA64DFR0_EL1', enc(3, 0, 0, 5, 0)],
    ['ID_AA64DFR1_EL1', enc(3, 0, 0, 5, 1)], ['ID_AA64AFR0_EL1', enc(3, 0, 0, 5, 4)], ['ID_AA64ISAR1_EL1', enc(3, 0, 0, 6, 1)],
    ['ID_AA64ISAR2_EL1', enc(3, 0, 0, 6, 2)], ['ID_AA64ISAR3_EL1', enc(3, 0, 0, 6, 3)], ['ID_AA64MMFR0_EL1', enc(3, 0, 0, 7, 0)],
    ['ID_AA64MMFR1_EL1', enc(3, 0, 0, 7, 1)], ['ID_AA64MMFR2_EL1', enc(3, 0, 0, 7, 2)], ['ID_AA64MMFR3_EL1', enc(3, 0, 0, 7, 3)],
    ['ID_AA64MMFR4_EL1', enc(3, 0, 0, 7, 4)], ['CLIDR_EL1', enc(3, 1, 0, 0, 1)], ['AIDR_EL1', enc(3, 1, 0, 0, 7)],
    ['CTR_EL0', enc(3, 3, 0, 0, 1)], ['DCZID_EL0', enc(3, 3, 0, 0, 7)],
  ];
  for (const [name, e] of vectors) {
    assert.deepEqual(reg(name).enc, e, name);
    assert.equal(registerByKey(encodingKey(e))?.name, name);
    assert.ok(reg(name).fields, `${name} has fields`);
  }
  assert.equal(registerByKey(encodingKey(enc(3, 0, 0, 4, 3))), undefined, 'unallocated slot');
});

test('fields of the named non-feature ID registers', () => {
  const midr = reg('MIDR_EL1');
  assert.deepEqual(
    midr.fields!.map((f) => `${f.name} ${f.msb}:${f.lsb}`),
    ['Implementer 31:24', 'Variant 23:20', 'Architecture 19:16', 'PartNum 15:4', 'Revision 3:0'],
  );
  assert.equal(midr.res0, mask(63, 32));
  assert.equal(midr.fields![0]!.meanings[0x41], 'ARM');
  assert.ok(midr.fields![0]!.values!.includes(0x48), 'implementer codes known to arm-socs-table are allowed');
  const mpidr = reg('MPIDR_EL1');
  assert.equal(mpidr.res1, 1n << 31n);
  const ctr = reg('CTR_EL0');
  assert.equal(ctr.res1, 1n << 31n);
  assert.ok(ctr.fields!.some((f) => f.name === 'TminLine' && f.msb === 37 && f.lsb === 32), 'conditional TminLine');
  const clidr = reg('CLIDR_EL1');
  assert.ok(clidr.fields!.some((f) => f.name === 'Ctype1' && f.msb === 2 && f.lsb === 0));
  assert.ok(clidr.fields!.some((f) => f.name === 'Ctype7' && f.msb === 20 && f.lsb === 18));
  assert.ok(clidr.fields!.some((f) => f.name === 'Ttype7' && f.msb === 46 && f.lsb === 45));
  const dczid = reg('DCZID_EL0');
  assert.deepEqual(dczid.fields!.map((f) => f.name), ['DZP', 'BS']);
  for (const n of ['REVIDR_EL1', 'AIDR_EL1']) assert.deepEqual(reg(n).fields!.map((f) => `${f.name} ${f.msb}:${f.lsb}`), ['IMPDEF 63:0']);
});

// Bits Arm marks UNKNOWN (neither a field nor RES0/RES1) in the fieldset the table uses.
const KNOWN_UNDESCRIBED: Record<string, bigint> = {
  CCSIDR_EL1: mask(31, 28), // 32-bit CCSIDR format (no FEAT_CCIDX): bits 31:28 UNKNOWN
};

test('every ID-space register: fields ∪ RES0 ∪ RES1 cover all 64 bits without overlap', (t) => {
  const noFields: string[] = [];
  for (const r of allRegisters()) {
    if (!isIdSpace(r.enc)) {
      assert.equal(r.fields, undefined, `${r.name} is outside the ID space and has no fields`);
      continue;
    }
    assert.ok(r.fields, `${r.name} has a fields array`);
    const all = (1n << 64n) - 1n;
    let covered = 0n;
    let prevLsb = 64;
    for (const f of r.fields) {
      assert.ok(f.msb >= f.lsb && f.msb < 64 && f.lsb >= 0, `${r.name}.${f.name} range`);
      assert.ok(f.msb < prevLsb, `${r.name}.${f.name}: fields descend without overlap`);
      prevLsb = f.lsb;
      const m = mask(f.msb, f.lsb);
      assert.equal(covered & m, 0n, `${r.name}.${f.name} overlaps`);
      covered |= m;
      const max = 2 ** (f.msb - f.lsb + 1) - 1;
      for (const v of f.values ?? []) assert.ok(v >= 0 && v <= max, `${r.name}.${f.name} value ${v}`);
      for (const k of [...Object.keys(f.meanings), ...Object.keys(f.features)]) assert.ok(Number(k) <= max, `${r.name}.${f.name} key ${k}`);
      for (const fs of Object.values(f.features)) for (const x of fs) assert.match(x, /^FEAT_/);
    }
    assert.equal(covered & r.res0, 0n, `${r.name}: fields overlap RES0`);
    assert.equal(covered & r.res1, 0n, `${r.name}: fields overlap RES1`);
    assert.equal(r.res0 & r.res1, 0n, `${r.name}: RES0 and RES1 overlap`);
    const rest = all & ~(covered | r.res0 | r.res1);
    if (r.fields.length === 0) noFields.push(r.name);
    const expected = KNOWN_UNDESCRIBED[r.name] ?? 0n;
    if (expected) t.diagnostic(`${r.name}: bits 0x${expected.toString(16)} are UNKNOWN in Arm's fieldset (no field)`);
    assert.equal(rest, expected, `${r.name}: bits 0x${rest.toString(16)} not covered`);
  }
  if (noFields.length) t.diagnostic(`Arm defines no fields (all RES0) for: ${noFields.join(', ')}`);
});

test('MIDR implementer and part names', () => {
  assert.equal(midrImplementerName(0x41), 'ARM');
  assert.equal(midrPartName(0x41, 0xd4f), 'Neoverse V2');
  assert.equal(midrPartName(0x41, 0xd0c), 'Neoverse N1');
  assert.equal(midrPartName(0x41, 0xd08), 'Cortex-A72');
  assert.equal(midrImplementerName(0xc0), 'Ampere');
  assert.equal(midrImplementerName(0x99), undefined);
  assert.equal(midrPartName(0x41, 0xfff), undefined);
});

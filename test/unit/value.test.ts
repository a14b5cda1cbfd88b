// Value decoding of real register values, field by field. The values come from the Firecracker
// fingerprints of Graviton2 (Neoverse N1), Graviton3 (V1) and Graviton4 (V2) hosts (Linux 6.1), written
// here as numbers; the sample files themselves stay in shared/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeValue, describeBits } from '../../src/encoding/value.ts';
import { resolveRegister } from '../../src/encoding/forms.ts';

function fields(reg: string, value: bigint): Record<string, number> {
  const r = resolveRegister(reg);
  assert.ok(r, reg);
  const d = decodeValue(r.enc, value);
  return Object.fromEntries(d.fields.map((f) => [f.name, Number(f.value)]));
}

test('Graviton4 ID_AA64PFR0_EL1 field by field', () => {
  const d = decodeValue(resolveRegister('ID_AA64PFR0_EL1')!.enc, 0x1101011021111111n);
  const byName = new Map(d.fields.map((f) => [f.name, f]));
  assert.deepEqual(
    d.fields.map((f) => [f.name, f.msb, f.lsb, Number(f.value)]),
    [
      ['CSV3', 63, 60, 1], ['CSV2', 59, 56, 1], ['RME', 55, 52, 0], ['DIT', 51, 48, 1], ['AMU', 47, 44, 0],
      ['MPAM', 43, 40, 1], ['SEL2', 39, 36, 1], ['SVE', 35, 32, 0], ['RAS', 31, 28, 2], ['GIC', 27, 24, 1],
      ['AdvSIMD', 23, 20, 1], ['FP', 19, 16, 1], ['EL3', 15, 12, 1], ['EL2', 11, 8, 1], ['EL1', 7, 4, 1], ['EL0', 3, 0, 1],
    ],
  );
  assert.match(byName.get('SVE')!.meaning!, /FEAT_SVE not implemented/);
  assert.match(byName.get('RAS')!.meaning!, /RASv1p1/);
  assert.ok(d.fields.every((f) => f.known));
  assert.equal(d.res0Violations, 0n);
});

test('Graviton2 (N1) registers, including AArch32 support at EL0', () => {
  assert.deepEqual(fields('ID_AA64PFR0_EL1', 0x1100000011111112n), {
    CSV3: 1, CSV2: 1, RME: 0, DIT: 0, AMU: 0, MPAM: 0, SEL2: 0, SVE: 0, RAS: 1, GIC: 1, AdvSIMD: 1, FP: 1, EL3: 1, EL2: 1, EL1: 1, EL0: 2,
  });
  const isar0 = fields('ID_AA64ISAR0_EL1', 0x0000100010211120n);
  assert.equal(isar0.DP, 1);
  assert.equal(isar0.Atomic, 2);
  assert.equal(isar0.AES, 2);
  assert.equal(isar0.SHA2, 1);
  assert.equal(isar0.RDM, 1);
  const mmfr0 = fields('ID_AA64MMFR0_EL1', 0x0000000000101125n);
  assert.equal(mmfr0.PARange, 5);
  assert.equal(mmfr0.ASIDBits, 2);
  assert.equal(mmfr0.TGran16, 1);
});

test('Graviton3 (V1) and Graviton4 (V2) ISA registers', () => {
  const v1 = fields('ID_AA64ISAR0_EL1', 0x1011111110212120n);
  assert.equal(v1.RNDR, 1);
  assert.equal(v1.SM4, 1);
  assert.equal(v1.SHA3, 1);
  const v2 = fields('ID_AA64ISAR0_EL1', 0x1221100110212120n);
  assert.equal(v2.TLB, 2);
  assert.equal(v2.TS, 2);
  assert.equal(v2.SM4, 0);
  const isar1 = fields('ID_AA64ISAR1_EL1', 0x0011111100211002n);
  assert.equal(isar1.I8MM, 1);
  assert.equal(isar1.BF16, 1);
  assert.equal(isar1.LRCPC, 2);
  assert.equal(isar1.DPB, 2);
  assert.equal(isar1.API, 0);
});

test('ID_AA64DFR0_EL1 with DoubleLock not implemented (0xF)', () => {
  const d = decodeValue(resolveRegister('ID_AA64DFR0_EL1')!.enc, 0x000000f010305006n);
  const dl = d.fields.find((f) => f.name === 'DoubleLock')!;
  assert.equal(dl.value, 0xfn);
  assert.match(dl.meaning!, /not implemented/);
  assert.equal(d.fields.find((f) => f.name === 'DebugVer')!.value, 6n);
  assert.equal(d.fields.find((f) => f.name === 'BRPs')!.value, 5n);
});

test('MIDR_EL1 names the vendor and the core', () => {
  for (const [value, core] of [[0x413fd0c1n, 'Neoverse N1'], [0x411fd401n, 'Neoverse V1'], [0x410fd4f1n, 'Neoverse V2']] as const) {
    const d = decodeValue(resolveRegister('MIDR_EL1')!.enc, value);
    assert.equal(d.fields.find((f) => f.name === 'PartNum')!.meaning, core);
    assert.match(d.fields.find((f) => f.name === 'Implementer')!.meaning!, /arm/i);
  }
});

test('RES0 bits set and unknown field values are flagged', () => {
  const isar0 = resolveRegister('ID_AA64ISAR0_EL1')!.enc;
  const bad = decodeValue(isar0, 0x0000100010211121n); // bit 0 is RES0
  assert.equal(bad.res0Violations, 1n);
  const odd = decodeValue(isar0, 0x0000100010211170n); // AES = 7 is not an allowed value
  assert.equal(odd.fields.find((f) => f.name === 'AES')!.known, false);
  const midr = decodeValue(resolveRegister('MIDR_EL1')!.enc, 0x1_410fd4f1n); // MIDR bits 63:32 are RES0
  assert.equal(describeBits(midr.res0Violations), '32');
});

test('signed fields report their two\'s-complement value', () => {
  const d = decodeValue(resolveRegister('ID_AA64DFR0_EL1')!.enc, 0x000000f010305006n);
  assert.equal(d.fields.find((f) => f.name === 'DoubleLock')!.signedValue, -1);
  assert.equal(d.fields.find((f) => f.name === 'PMUVer')!.signedValue, undefined); // unsigned in cpufeature.c
  const mmfr0 = decodeValue(resolveRegister('ID_AA64MMFR0_EL1')!.enc, 0x00000000f0101125n);
  assert.equal(mmfr0.fields.find((f) => f.name === 'TGran4')!.signedValue, -1);
});

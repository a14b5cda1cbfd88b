// Value decoding (src/encoding/value.ts): the fields plus the RES0/RES1 bits give back the value.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allRegisters, type RegisterDef } from '../../../src/data/registers.ts';
import { decodeValue, describeBits, fieldValue, toSigned } from '../../../src/encoding/value.ts';
import { encArb, anyBigArb, u64Arb } from '../arbitraries.ts';
import type { PropertyDef, PropertyGroup } from './types.ts';

function fieldMaskOf(msb: number, lsb: number): bigint {
  return ((1n << BigInt(msb - lsb + 1)) - 1n) << BigInt(lsb);
}

function checkDecoded(reg: RegisterDef, value: bigint): void {
  const what = `${reg.name} = 0x${value.toString(16)}`;
  const d = decodeValue(reg, value);
  const mask = (1n << BigInt(reg.width)) - 1n;
  assert.equal(d.value, value & mask, `${what}: value`);
  assert.equal(d.overflow, value & ~mask, `${what}: overflow`);
  assert.equal(d.width, reg.width);
  assert.equal(d.register, reg.name);
  let covered = 0n;
  let rebuilt = 0n;
  for (const f of d.fields) {
    const fw = `${what}.${f.name}`;
    assert.ok(Number.isInteger(f.lsb) && Number.isInteger(f.msb) && f.lsb >= 0 && f.msb >= f.lsb && f.msb < reg.width, `${fw}: bits ${f.msb}:${f.lsb} outside the register`);
    const fm = fieldMaskOf(f.msb, f.lsb);
    assert.equal(covered & fm, 0n, `${fw}: overlaps another field (bits ${describeBits(covered & fm)})`);
    covered |= fm;
    assert.equal(f.value, fieldValue(d.value, f), `${fw}: value`);
    assert.ok(f.value >= 0n && f.value < 1n << BigInt(f.msb - f.lsb + 1), `${fw}: value does not fit the field`);
    rebuilt |= f.value << BigInt(f.lsb);
    if (f.signedValue !== undefined) assert.equal(f.signedValue, toSigned(f.value, f.msb - f.lsb + 1), `${fw}: signed value`);
    const def = reg.fields!.find((x) => x.name === f.name && x.lsb === f.lsb)!;
    assert.ok(def, `${fw}: not a field of the register`);
    if (f.value <= BigInt(Number.MAX_SAFE_INTEGER)) {
      const n = Number(f.value);
      assert.equal(f.known, def.values === undefined || def.values.includes(n), `${fw}: known`);
      assert.equal(f.meaning === undefined ? undefined : f.meaning, def.meanings[n] ?? (reg.name === 'MIDR_EL1' ? f.meaning : undefined), `${fw}: meaning`);
    }
  }
  // Sorted from the top bit down, as the hover table shows them.
  for (let i = 1; i < d.fields.length; i++) assert.ok(d.fields[i - 1]!.msb > d.fields[i]!.msb, `${what}: fields not sorted`);
  assert.equal(d.res0Violations, d.value & reg.res0, `${what}: res0Violations`);
  assert.equal(d.res1Violations, ~d.value & reg.res1 & mask, `${what}: res1Violations`);
  // Reassemble: the fields, then the RES0 bits that are set, the RES1 bits that are set, then the rest.
  const res1Set = reg.res1 & mask & ~d.res1Violations;
  const other = d.value & ~(covered | reg.res0 | reg.res1);
  assert.equal(rebuilt | d.res0Violations | res1Set | other, d.value, `${what}: fields + RES0/RES1 do not give back the value`);
  assert.equal(d.noFields, !reg.fields || reg.fields.length === 0);
}

const withFields = allRegisters().filter((r) => r.fields && r.fields.length > 0);

const reassemble: PropertyDef<[number, bigint, boolean]> = {
  name: 'value.decode.reassemble',
  runs: 3000,
  arb: fc.tuple(fc.nat(), u64Arb, fc.boolean()),
  check: ([i, value, anyReg]) => {
    const pool = anyReg ? allRegisters() : withFields;
    checkDecoded(pool[i % pool.length]!, value);
  },
};

const layout: PropertyDef<null> = {
  name: 'value.layout.everyRegister',
  runs: 1,
  exhaustive: allRegisters().length,
  weight: 0,
  arb: fc.constant(null),
  check: () => {
    for (const reg of allRegisters()) {
      const mask = (1n << BigInt(reg.width)) - 1n;
      assert.equal(reg.res0 & reg.res1, 0n, `${reg.name}: bits both RES0 and RES1: ${describeBits(reg.res0 & reg.res1)}`);
      assert.equal((reg.res0 | reg.res1) & ~mask, 0n, `${reg.name}: RES0/RES1 above the width`);
      let covered = 0n;
      for (const f of reg.fields ?? []) {
        const fm = fieldMaskOf(f.msb, f.lsb);
        assert.ok(f.msb < reg.width && f.lsb >= 0 && f.msb >= f.lsb, `${reg.name}.${f.name}: bits ${f.msb}:${f.lsb}`);
        assert.equal(covered & fm, 0n, `${reg.name}.${f.name}: overlaps another field`);
        assert.equal(fm & (reg.res0 | reg.res1), 0n, `${reg.name}.${f.name}: bits ${describeBits(fm & (reg.res0 | reg.res1))} are also RES0/RES1`);
        covered |= fm;
      }
      // Three decodings: all zeros, all ones, the RES1 value.
      for (const v of [0n, mask, reg.res1]) checkDecoded(reg, v);
    }
  },
};

const anyEncoding: PropertyDef<[{ op0: number; op1: number; crn: number; crm: number; op2: number }, bigint]> = {
  name: 'value.decode.anyEncoding',
  runs: 2000,
  arb: fc.tuple(encArb, anyBigArb),
  check: ([enc, value]) => {
    const d = decodeValue(enc, value);
    assert.equal(typeof d.register, 'string');
    assert.ok(d.width === 64 || d.width === 128 || d.width === 32, `width ${d.width}`);
    const mask = (1n << BigInt(d.width)) - 1n;
    assert.equal(d.value, value & mask);
    assert.ok(d.value >= 0n);
    for (const f of d.fields) assert.ok(f.value >= 0n);
    describeBits(d.res0Violations | d.overflow);
  },
};

export function valueGroup(): PropertyGroup {
  return { group: 'value', properties: [reassemble, layout, anyEncoding], missing: [] };
}

// Encoding forms (src/encoding/forms.ts): every form converts to every other and back; parsing any text
// never throws and only ever yields valid encodings.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  allForms,
  decodeEsr,
  decodeInsn,
  decodeLinuxEncoding,
  decodeOneRegId,
  esrOf,
  genericName,
  isValidEncoding,
  linuxEncodingOf,
  macroForm,
  mrsWord,
  msrWord,
  oneRegIdOf,
  opFieldsForm,
  parseNumber,
  parseRegisterToken,
  registerName,
  resolveRegister,
  tupleForm,
} from '../../../src/encoding/forms.ts';
import { allRegisters } from '../../../src/data/registers.ts';
import { encodingKey, keyToEncoding, type Encoding } from '../../../src/model/events.ts';
import { anyTextArb, encArb, mutate, u32Arb, u64Arb, U64_MAX } from '../arbitraries.ts';
import type { PropertyDef, PropertyGroup } from './types.ts';

function sameEnc(a: Encoding | undefined, b: Encoding, what: string): void {
  assert.ok(a, `${what}: no encoding`);
  assert.deepEqual({ ...a }, { ...b }, `${what}: ${tupleForm(a)} instead of ${tupleForm(b)}`);
}

function parsesTo(text: string, e: Encoding, what: string, kind?: string): void {
  const tok = parseRegisterToken(text);
  assert.ok(tok.ok, `${what}: parseRegisterToken(${JSON.stringify(text)}) failed: ${tok.ok ? '' : tok.message}`);
  sameEnc(tok.enc, e, `${what} ${JSON.stringify(text)}`);
  if (kind) assert.equal(tok.kind, kind, `${what}: ${JSON.stringify(text)} read as ${tok.kind}`);
}

/** Every form of allForms() with the prefix that forces its reading. */
function formTexts(e: Encoding): [string, string][] {
  const f = allForms(e);
  return [
    ['name', f.name!],
    ['generic', f.generic!],
    ['tuple', f.tuple!],
    ['opFields', f.opFields!],
    ['macro', f.macro!],
    ['oneReg', f.oneReg!],
    ['oneReg id:', `id:${f.oneReg}`],
    ['sysRegEnc', `enc:${f.sysRegEnc}`],
    ['esrRead', `esr:${f.esrRead}`],
    ['esrWrite', `esr:${f.esrWrite}`],
    ...(e.op0 !== 0 ? ([['mrs', `insn:${f.mrs}`], ['msr', `insn:${f.msr}`]] as [string, string][]) : []),
  ];
}

/** All the forward/backward conversions of one encoding. */
function roundTrip(e: Encoding, rt: number, read: boolean): void {
  assert.ok(isValidEncoding(e));
  assert.deepEqual(keyToEncoding(encodingKey(e)), { ...e }, 'encodingKey');
  for (const [kind, text] of formTexts(e)) parsesTo(text, e, `form ${kind}`);
  parsesTo(genericName(e), e, 'generic', 'generic');
  parsesTo(tupleForm(e), e, 'tuple', 'tuple');
  parsesTo(opFieldsForm(e), e, 'opfields', 'opfields');
  parsesTo(macroForm(e), e, 'macro', 'macro');
  parsesTo(`S${e.op0}_${e.op1}_${e.crn}_${e.crm}_${e.op2}`, e, "KVM's S3_0_0_4_3 form");
  // Names: the arch name when allocated, else the generic one, any case.
  const name = registerName(e);
  parsesTo(name, e, 'registerName');
  parsesTo(name.toLowerCase(), e, 'registerName lower case');
  const res = resolveRegister(name);
  assert.ok(res, `resolveRegister(${name})`);
  sameEnc(res.enc, e, `resolveRegister(${name})`);
  // One-reg ID.
  const id = oneRegIdOf(e);
  const info = decodeOneRegId(id);
  assert.equal(info.group, 'sysreg');
  assert.ok(info.valid, `one-reg 0x${id.toString(16)} invalid: ${info.problem}`);
  sameEnc(info.enc, e, 'decodeOneRegId');
  parsesTo('0x' + id.toString(16), e, 'bare one-reg ID', 'oneReg');
  parsesTo(id.toString(), e, 'decimal one-reg ID', 'oneReg');
  // Linux sys_reg encoding.
  const lin = linuxEncodingOf(e);
  sameEnc(decodeLinuxEncoding(lin), e, 'decodeLinuxEncoding');
  // ESR.
  const esr = esrOf(e, { read, rt });
  const ei = decodeEsr(esr);
  assert.ok(ei && ei.enc, 'decodeEsr');
  sameEnc(ei.enc, e, 'decodeEsr');
  assert.equal(ei.read, read, 'ESR direction');
  assert.equal(ei.rt, rt, 'ESR Rt');
  assert.equal(ei.res0, 0, 'ESR RES0');
  assert.equal(ei.il, true, 'ESR IL');
  const esrTok = parseRegisterToken('0x' + esr.toString(16));
  assert.ok(esrTok.ok && esrTok.kind === 'esr', `bare ESR 0x${esr.toString(16)} not read as an ESR: ${JSON.stringify(esrTok)}`);
  sameEnc(esrTok.enc, e, 'bare ESR');
  // MRS/MSR words (op0 = 0 is MSR immediate / hints: no register).
  for (const [word, isRead] of [[mrsWord(e, rt), true], [msrWord(e, rt), false]] as const) {
    const ii = decodeInsn(word);
    if (e.op0 === 0) {
      assert.equal(ii, undefined, `decodeInsn(0x${word.toString(16)}) for op0=0`);
      continue;
    }
    assert.ok(ii, `decodeInsn(0x${word.toString(16)})`);
    sameEnc(ii.enc, e, 'decodeInsn');
    assert.equal(ii.read, isRead);
    assert.equal(ii.rt, rt);
    parsesTo('0x' + word.toString(16), e, 'bare MRS/MSR word', 'insn');
  }
}

const roundTripProp: PropertyDef<[Encoding, number, boolean]> = {
  name: 'encoding.forms.roundtrip',
  runs: 3000,
  arb: fc.tuple(encArb, fc.integer({ min: 0, max: 31 }), fc.boolean()),
  check: ([e, rt, read]) => roundTrip(e, rt, read),
};

const everyRegister: PropertyDef<null> = {
  name: 'encoding.forms.everyRegister',
  runs: 1,
  exhaustive: allRegisters().length,
  weight: 0,
  arb: fc.constant(null),
  check: () => {
    for (const reg of allRegisters()) {
      const what = `${reg.name} ${tupleForm(reg.enc)}`;
      assert.equal(registerName(reg.enc), reg.name, `${what}: registerName`);
      for (const name of [reg.name, reg.name.toLowerCase(), reg.name.toUpperCase(), ...(reg.aliases ?? [])]) {
        const res = resolveRegister(name);
        assert.ok(res, `${what}: resolveRegister(${name})`);
        sameEnc(res.enc, reg.enc, `${what}: resolveRegister(${name})`);
        if (!/\s/.test(name)) parsesTo(name, reg.enc, `${what}: parseRegisterToken`);
      }
      if (/^[A-Z][A-Z0-9_]*$/i.test(reg.name)) parsesTo(`SYS_${reg.name}`, reg.enc, `${what}: SYS_ prefix`);
      roundTrip(reg.enc, 3, true);
    }
  },
};

const oneRegDecode: PropertyDef<bigint> = {
  name: 'encoding.oneReg.decode',
  runs: 3000,
  arb: fc.oneof(
    u64Arb,
    fc.tuple(fc.constantFrom(0x10n, 0x11n, 0x13n, 0x14n, 0x15n, 0x16n, 0x12n, 0xfffn), fc.integer({ min: 0, max: 8 }), fc.integer({ min: 0, max: 0xffff }), fc.boolean()).map(
      ([group, size, low, stray]) => 0x6000000000000000n | (BigInt(size) << 52n) | (group << 16n) | BigInt(low) | (stray ? 1n << 30n : 0n),
    ),
  ),
  check: (id) => {
    const info = decodeOneRegId(id);
    assert.equal(typeof info.name, 'string');
    assert.ok(info.name.length > 0, 'empty name');
    assert.equal(info.id, id);
    if (info.enc) assert.ok(isValidEncoding(info.enc));
    if (info.group === 'sysreg' && info.valid) assert.equal(oneRegIdOf(info.enc!), id, `0x${id.toString(16)} does not round-trip`);
    if (info.valid) assert.equal(info.problem, undefined);
    else assert.ok(info.problem, `invalid one-reg 0x${id.toString(16)} without a reason`);
    const tok = parseRegisterToken('id:0x' + id.toString(16));
    if (tok.ok && tok.enc) assert.ok(isValidEncoding(tok.enc));
  },
};

const esrDecode: PropertyDef<number> = {
  name: 'encoding.esr.decode',
  runs: 3000,
  arb: u32Arb,
  check: (esr) => {
    const info = decodeEsr(esr);
    assert.ok(info, `decodeEsr(0x${esr.toString(16)})`);
    assert.equal(info.ec, esr >>> 26);
    if (!info.enc) return;
    assert.ok(isValidEncoding(info.enc));
    if (info.il && info.res0 === 0) assert.equal(esrOf(info.enc, { read: info.read, rt: info.rt }), esr, `ESR 0x${esr.toString(16)} does not round-trip`);
    const tok = parseRegisterToken('esr:0x' + esr.toString(16));
    assert.ok(tok.ok, 'esr: token');
    sameEnc(tok.enc, info.enc, 'esr: token');
  },
};

const insnDecode: PropertyDef<number> = {
  name: 'encoding.insn.decode',
  runs: 3000,
  arb: u32Arb,
  check: (word) => {
    const info = decodeInsn(word);
    const tok = parseRegisterToken('insn:0x' + word.toString(16));
    if (!info) {
      assert.ok(!tok.ok, `insn: 0x${word.toString(16)} accepted although decodeInsn refuses it`);
      return;
    }
    assert.ok(isValidEncoding(info.enc));
    assert.notEqual(info.enc.op0, 0);
    const again = info.read ? mrsWord(info.enc, info.rt) : msrWord(info.enc, info.rt);
    assert.equal(again, word, `0x${word.toString(16)} does not round-trip (0x${again.toString(16)})`);
    assert.ok(tok.ok, 'insn: token');
    sameEnc(tok.enc, info.enc, 'insn: token');
  },
};

const linuxDecode: PropertyDef<number> = {
  name: 'encoding.linuxEnc.decode',
  runs: 2000,
  arb: fc.oneof(fc.integer({ min: 0, max: 0x1fffff }), fc.integer({ min: 0, max: 0xffff }).map((k) => k << 5), fc.integer({ min: -5, max: 0x3fffff })),
  check: (v) => {
    const e = decodeLinuxEncoding(v);
    if (v < 0 || v > 0x1fffff || (v & 0x1f) !== 0) {
      assert.equal(e, undefined, `decodeLinuxEncoding(0x${v.toString(16)}) should refuse`);
      return;
    }
    assert.ok(e);
    assert.equal(linuxEncodingOf(e), v);
  },
};

const numberText: PropertyDef<[bigint, number, number]> = {
  name: 'encoding.number.print',
  runs: 2000,
  arb: fc.tuple(fc.bigInt({ min: 0n, max: U64_MAX }), fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 5 })),
  check: ([v, radixIdx, group]) => {
    const radix = [16, 10, 2][radixIdx]!;
    let digits = v.toString(radix);
    if (group > 0) digits = digits.replace(new RegExp(`\\B(?=(.{${group}})+$)`, 'g'), '_');
    const text = (radix === 16 ? '0x' : radix === 2 ? '0b' : '') + digits;
    assert.equal(parseNumber(text), v, `parseNumber(${text})`);
    assert.equal(parseNumber(text.toUpperCase().replace(/^0X/, '0x').replace(/^0B/, '0b')), v, `parseNumber upper case ${text}`);
  },
};

/** Any text: parsing never throws and every success names a valid encoding. */
const anyToken: PropertyDef<string> = {
  name: 'encoding.token.anyText',
  runs: 3000,
  arb: fc.oneof(
    anyTextArb,
    fc.tuple(encArb, fc.integer({ min: 0, max: 10 }), fc.array(fc.record({ kind: fc.constantFrom('delChars', 'dupChars', 'swapChars', 'insert', 'hugeNumber', 'replaceWord' as const), a: fc.nat(), b: fc.nat(), s: fc.constantFrom('0', '9', ' ', ',', '_', '(', ')', 'x', '-1', '99999999999999999999', ':', 'C', 'S') }), { maxLength: 3 })).map(
      ([e, k, ops]) => ops.reduce((t, op) => mutate(t, op), formTexts(e)[k % formTexts(e).length]![1]),
    ),
  ),
  check: (text) => {
    const tok = parseRegisterToken(text);
    if (tok.ok) {
      if (tok.enc) assert.ok(isValidEncoding(tok.enc), `parseRegisterToken(${JSON.stringify(text)}) gave an invalid encoding ${JSON.stringify(tok.enc)}`);
      assert.ok(Array.isArray(tok.warnings));
      if (tok.name !== undefined) assert.ok(tok.name.length > 0);
    } else {
      assert.equal(typeof tok.message, 'string');
      assert.ok(tok.message.length > 0);
    }
    const res = resolveRegister(text);
    if (res) assert.ok(isValidEncoding(res.enc), `resolveRegister(${JSON.stringify(text)}) gave an invalid encoding`);
    const n = parseNumber(text);
    if (n !== undefined) assert.ok(n >= 0n);
    // Case and surrounding blanks do not change a successful reading.
    if (tok.ok && tok.enc) {
      const again = parseRegisterToken(`  ${text}\t`);
      assert.ok(again.ok, `surrounding blanks break ${JSON.stringify(text)}`);
      sameEnc(again.enc, tok.enc, `surrounding blanks ${JSON.stringify(text)}`);
    }
  },
};

export function encodingGroup(): PropertyGroup {
  return { group: 'encoding', properties: [roundTripProp, everyRegister, oneRegDecode, esrDecode, insnDecode, linuxDecode, numberText, anyToken], missing: [] };
}

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../src/cli.ts';
import { captureIO } from '../helpers/cli-io.ts';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const io = captureIO();
  const code = await main(args, io);
  return { code, out: io.out, err: io.err };
}

test('decode a value prints an aligned field table with meanings', async () => {
  const r = await run(['decode', 'ID_AA64PFR0_EL1', '0x1101001021111111']);
  assert.equal(r.code, 0);
  assert.match(r.out, /^ {2}63:60 {2}CSV3 {5}0x1 {4}FEAT_CSV3 implemented\./m);
  assert.match(r.out, /35:32 +SVE +0x0 +FEAT_SVE not implemented/);
  assert.match(r.out, /3:0 +EL0 +0x1 +EL0 in AArch64 only/);
});

test('decode esr: names the register, the direction and Rt', async () => {
  const r = await run(['decode', 'esr:0x62300009']);
  assert.equal(r.code, 0);
  assert.match(r.out, /^ID_AA64PFR0_EL1 /);
  assert.match(r.out, /trapped read \(MRS\), x0/);
});

test('decode --json has the design.md shape', async () => {
  const r = await run(['decode', 'S3_0_C0_C6_0', '0x0000100010211120', '--json']);
  assert.equal(r.code, 0);
  const j = JSON.parse(r.out);
  assert.equal(j.name, 'ID_AA64ISAR0_EL1');
  assert.deepEqual(j.encoding, { op0: 3, op1: 0, crn: 0, crm: 6, op2: 0 });
  for (const form of ['generic', 'oneReg', 'sysRegEnc', 'mrs', 'msr', 'esrRead', 'esrWrite']) assert.equal(typeof j.forms[form], 'string', form);
  assert.equal(j.forms.esrRead, '0x6230000d');
  assert.equal(j.forms.esrWrite, '0x6230000c');
  const aes = j.fields.find((f: { name: string }) => f.name === 'AES');
  assert.deepEqual([aes.msb, aes.lsb, aes.value], [7, 4, 2]);
  assert.match(aes.meaning, /PMULL/);
});

test('decode errors exit 2 with one line on stderr', async () => {
  for (const args of [['decode', 'NOPE_EL1'], ['decode', '0x12345678'], ['decode', 'MIDR_EL1', 'zz'], ['decode', 'MIDR_EL1', '0x1ffffffffffffffff'], ['decode'], ['decode', 'MIDR_EL1', '--bogus']]) {
    const r = await run(args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.out, '');
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.doesNotMatch(r.err, /at .*\.ts:\d+/);
  }
});

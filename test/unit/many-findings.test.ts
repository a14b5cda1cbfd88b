// Hundreds of thousands of findings pass every stage: push(...spread) overflows the stack past ~120k
// elements, and a 200k-entry template judged against a host once reported only
// "internal error while judging against the host: Maximum call stack size exceeded".
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import '../../src/formats/detect.ts';
import { checkDocument } from '../../src/check.ts';

const HOST = join(__dirname, '..', 'fixtures', 'formats', 'firecracker', 'host-a.fingerprint.json');
const MANY = 200_000;

describe('hundreds of thousands of findings', () => {
  it('a trace with a finding on every line (from the replay)', () => {
    const text = 'kernel 6.15\n' + 'vcpu 0 get ID_AA64PFR0_EL1\n'.repeat(MANY);
    const r = checkDocument({ path: 'many.idtrace', text });
    assert.deepEqual(r.findings.filter((f) => f.code === 'IDR001'), []);
    assert.equal(r.findings.filter((f) => f.code === 'IDR013').length, MANY);
  });

  it('a dump whose every entry the host lacks (from the host judgement)', () => {
    // ID_PFR2_EL1 is not in host-a's fingerprint: each entry is an IDR030 "does not list".
    const entry = '{ "addr": "0x603000000013c01c", "bitmap": "0b0000000000000000000000000000000000000000000000000000000000010001" }';
    const text = `{\n"kvm_capabilities": [],\n"vcpu_features": [],\n"reg_modifiers": [\n${Array.from({ length: MANY }, () => entry).join(',\n')}\n]\n}\n`;
    const r = checkDocument({ path: 'many.json', text }, { host: HOST });
    assert.deepEqual(r.findings.filter((f) => f.code === 'IDR001'), []);
    const missing = r.findings.filter((f) => f.code === 'IDR030' && f.message.includes('does not list ID_PFR2_EL1'));
    assert.equal(missing.length, MANY);
  });
});

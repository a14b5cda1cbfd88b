// QEMU logs, -trace output and QMP exchanges (formats.md §3).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseQemuLog, parseQemuQmp, parseQemuTrace, sniffQemuLog, sniffQemuQmp, sniffQemuTrace, splitSysregProperty } from '../../src/formats/qemu.ts';
import { parseFirecrackerJson } from '../../src/formats/firecracker.ts';
import { judgeAgainstHost } from '../../src/formats/detect.ts';

const DIR = join(__dirname, '../fixtures/formats');
const read = (name: string): string => readFileSync(join(DIR, name), 'utf8');
const hostA = (): ReturnType<typeof parseFirecrackerJson>['dump'] & object => parseFirecrackerJson(read('firecracker/host-a.fingerprint.json')).dump!;

describe('QEMU migration and KVM write errors', () => {
  it('reports the old count-only migration failure (IDR031) with the counts', () => {
    const r = parseQemuLog(read('qemu/migration-old.log'));
    assert.equal(r.findings.length, 1);
    assert.equal(r.findings[0]!.code, 'IDR031');
    assert.match(r.findings[0]!.message, /236 registers, the destination takes at most 162/);
    assert.equal(r.stats.understood, 4);
  });

  it('names unexpected (IDR031 error) and missing (information) registers, and checks the op fields (IDR003)', () => {
    const r = parseQemuLog(read('qemu/migration-new.log'));
    assert.deepEqual(
      r.findings.map((f) => [f.code, f.severity, f.register ?? '', f.range.start.line]),
      [
        ['IDR031', 'error', 'TCR2_EL1', 0],
        ['IDR003', 'error', '', 1],
        ['IDR031', 'error', 'ID_AA64PFR0_EL1', 1],
        ['IDR031', 'information', 'KVM_REG_ARM_VENDOR_HYP_BMAP_2', 2],
      ],
    );
  });

  it('decodes `write ID(VALUE) to kvm failed` (IDR030) and explains it with a host', () => {
    const r = parseQemuLog(read('qemu/write-failed.log'));
    assert.deepEqual(r.findings.map((f) => [f.code, f.register]), [
      ['IDR030', 'ID_AA64ISAR0_EL1'],
      ['IDR030', 'MIDR_EL1'],
    ]);
    const why = judgeAgainstHost(r, hostA());
    // ISAR0 equals host A's value, so host A would accept it: the refusal came from elsewhere.
    assert.deepEqual(why.map((f) => [f.code, f.severity, f.register]), [
      ['IDR015', 'warning', 'ID_AA64ISAR0_EL1'],
      ['IDR030', 'information', 'MIDR_EL1'],
    ]);
  });
});

describe('QEMU SYSREG properties', () => {
  it('splits SYSREG_<REG>_<FIELD> names as Registers.json spells them', () => {
    const ok = splitSysregProperty('ID_AA64ISAR0_EL1_DP');
    assert.ok(typeof ok === 'object' && ok.reg.name === 'ID_AA64ISAR0_EL1' && ok.field.name === 'DP');
    assert.match(splitSysregProperty('ID_AA64ISAR0_EL1_XX') as string, /has no field XX/);
    assert.match(splitSysregProperty('FOO_BAR') as string, /no register named/);
  });

  it('reads properties and id lists from a command line; bad ones are IDR002/IDR004', () => {
    const r = parseQemuLog(read('qemu/cmdline.txt'));
    assert.deepEqual(r.proposed!.map((p) => [p.reg.name, p.field, p.value, p.mask]), [
      ['ID_AA64ISAR0_EL1', 'DP', 0n, 0xf00000000000n],
      ['ID_AA64MMFR0_EL1', 'ECV', 0n, 0xf000000000000000n],
      ['ID_AA64ISAR0_EL1', 'SHA3', 0x200000000n, 0xf00000000n],
    ]);
    assert.deepEqual(r.findings.map((f) => f.code), ['IDR002', 'IDR004', 'IDR002', 'IDR002']);
  });

  it('judges the properties of one register together against a host, naming the refused one (IDR030)', () => {
    const r = parseQemuLog(read('qemu/cmdline.txt'));
    const f = judgeAgainstHost(r, hostA());
    assert.equal(f.length, 1);
    assert.equal(f[0]!.code, 'IDR030');
    assert.equal(f[0]!.field, 'SHA3');
    assert.match(f[0]!.message, /SYSREG_ID_AA64ISAR0_EL1_SHA3: ID_AA64ISAR0_EL1.SHA3 \[35:32\] = 2, host 1/);
    assert.equal(f[0]!.range.start.line, 1);
  });
});

describe('QEMU traces and QMP', () => {
  it('checks ID-register overwrites against their default (the limit) and names migration registers', () => {
    const r = parseQemuTrace(read('qemu/trace.txt'));
    assert.deepEqual(r.findings.map((f) => [f.code, f.severity, f.range.start.line]), [
      ['IDR030', 'error', 2],
      ['IDR031', 'error', 5],
      ['IDR031', 'information', 6],
      ['IDR001', 'error', 7],
    ]);
    assert.match(r.findings[0]!.message, /SHA2/);
  });

  it('reads SYSREG props from a (truncated) QMP excerpt', () => {
    const r = parseQemuQmp(read('qemu/qmp.txt'));
    assert.deepEqual(r.proposed!.map((p) => p.field), ['EL3', 'DP', 'SHA3']);
    assert.deepEqual(r.findings.map((f) => f.code), ['IDR002']);
  });

  it('tells the three apart', () => {
    assert.equal(sniffQemuQmp(read('qemu/qmp.txt')), 0.92);
    assert.equal(sniffQemuTrace(read('qemu/trace.txt')), 0.9);
    assert.equal(sniffQemuLog(read('qemu/migration-new.log')), 0.9);
    assert.equal(sniffQemuLog(read('qemu/cmdline.txt')), 0.8);
    assert.equal(sniffQemuTrace(read('qemu/migration-new.log')), 0);
  });
});

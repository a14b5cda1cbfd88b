// NAME = value register lists: ArmCpuInfo.efi and lk2nd's bootloader dump (formats.md §5.3).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseRegisterList, sniffRegisterList } from '../../src/formats/reglist.ts';

const DIR = join(__dirname, '../fixtures/formats/reglist');
const read = (name: string): string => readFileSync(join(DIR, name), 'utf8');

describe('register lists', () => {
  it('reads ArmCpuInfo output, its table included', () => {
    const r = parseRegisterList(read('armcpuinfo.txt'));
    assert.deepEqual(r.findings, []);
    assert.equal(r.stats.skipped, 0);
    assert.deepEqual(
      r.dump!.entries.map((e) => [e.reg.name, e.value]),
      [
        ['ID_AA64ISAR0_EL1', 0x0000100010211120n],
        ['ID_AA64PFR0_EL1', 0x1100000011111112n],
        ['MIDR_EL1', 0x413fd0c1n],
      ],
    );
  });

  it('reads the bootloader dump: (bootloader) prefix, names without _EL1, unpadded hex', () => {
    const r = parseRegisterList(read('bootloader.txt'));
    assert.deepEqual(r.findings, []);
    assert.deepEqual(
      r.dump!.entries.map((e) => [e.reg.text, e.reg.name, e.value]),
      [
        ['MIDR', 'MIDR_EL1', 0x410fd034n],
        ['ID_PFR0', 'ID_PFR0_EL1', 0x131n],
        ['ID_ISAR0', 'ID_ISAR0_EL1', 0x2101110n],
        ['ID_AA64ISAR0', 'ID_AA64ISAR0_EL1', 0x11120n],
      ],
    );
  });

  it('reports bad values (IDR004), unknown names (IDR002) and other lines (IDR001)', () => {
    const r = parseRegisterList(read('bad.txt'));
    assert.deepEqual(r.findings.map((f) => [f.code, f.range.start.line]), [
      ['IDR004', 0],
      ['IDR002', 1],
      ['IDR004', 2],
      ['IDR001', 3],
    ]);
  });

  it('is detected by its banner, the bootloader prefix, or NAME = 0x… lines naming registers', () => {
    assert.equal(sniffRegisterList(read('armcpuinfo.txt')), 0.9);
    assert.equal(sniffRegisterList(read('bootloader.txt')), 0.9);
    assert.equal(sniffRegisterList('MIDR_EL1 = 0x1\nCTR_EL0 = 0x2\n'), 0.7);
    assert.equal(sniffRegisterList('FOO = 0x1\n'), 0);
  });
});

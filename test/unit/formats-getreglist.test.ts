// KVM selftest get-reg-list output (formats.md §4) on fixtures written from the selftest's printf formats.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateRegisterExpression, parseGetRegList, sniffGetRegList } from '../../src/formats/getreglist.ts';

const DIR = join(__dirname, '../fixtures/formats/get-reg-list');
const read = (name: string): string => readFileSync(join(DIR, name), 'utf8');

describe('get-reg-list', () => {
  it('evaluates every register expression the selftest prints to its one-reg id', () => {
    const cases: [string, bigint][] = [
      ['ARM64_SYS_REG(3, 0, 0, 4, 0)', 0x603000000013c020n],
      ['KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(regs.pc)', 0x6030000000100040n],
      ['KVM_REG_ARM64 | KVM_REG_SIZE_U32 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(fp_regs.fpsr)', 0x60200000001000d4n],
      ['KVM_REG_ARM64 | KVM_REG_SIZE_U128 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(fp_regs.vregs[0])', 0x6040000000100054n],
      ['KVM_REG_ARM64 | KVM_REG_SIZE_U32 | KVM_REG_ARM_DEMUX | KVM_REG_ARM_DEMUX_ID_CCSIDR | 2', 0x6020000000110002n],
      ['KVM_REG_ARM_FW_REG(1)', 0x6030000000140001n],
      ['KVM_REG_ARM_FW_FEAT_BMAP_REG(3)', 0x6030000000160003n],
      ['KVM_REG_ARM_TIMER_CNT', 0x603000000013df1an],
      ['KVM_ARM64_SYS_REG(SYS_CNTV_CTL_EL0)', 0x603000000013df19n],
      ['KVM_REG_ARM64_SVE_ZREG(0, 0)', 0x6080000000150000n],
      ['0x6030000000130000', 0x6030000000130000n],
    ];
    for (const [expr, id] of cases) assert.equal(evaluateRegisterExpression(expr), id, expr);
    assert.match(evaluateRegisterExpression('ARM64_SYS_REG(4, 0, 0, 0, 0)') as string, /op0 \(0\.\.3\)/);
  });

  it('reads a --list output without findings', () => {
    const r = parseGetRegList(read('list.txt'));
    assert.deepEqual(r.findings, []);
    assert.equal(r.stats.understood, r.stats.lines);
  });

  it('reports missing registers (IDR031) and failed sets (IDR015) from a failing run', () => {
    const r = parseGetRegList(read('output.txt'));
    assert.deepEqual(
      r.findings.map((f) => [f.code, f.severity, f.register, f.range.start.line]),
      [
        ['IDR031', 'warning', 'ID_AA64ISAR3_EL1', 14],
        ['IDR015', 'warning', 'ID_AA64PFR1_EL1', 16],
      ],
    );
    assert.equal(r.stats.skipped, 0);
  });

  it('reports a comment naming another register (IDR003), bad expressions (IDR001) and unknown ids (IDR002)', () => {
    const r = parseGetRegList(read('bad.txt'));
    assert.deepEqual(
      r.findings.map((f) => [f.code, f.range.start.line]),
      [
        ['IDR003', 0],
        ['IDR001', 1],
        ['IDR001', 2],
        ['IDR002', 3],
      ],
    );
    assert.equal(r.stats.skipped, 2);
  });

  it('is detected by its register lines or its summary', () => {
    assert.equal(sniffGetRegList(read('list.txt')), 0.9);
    assert.equal(sniffGetRegList('vregs: Number blessed registers:   234\n'), 0.85);
    assert.equal(sniffGetRegList('hello'), 0);
  });
});

// A peer suite in the style of the kernel's set_id_regs selftest (kvm-model.md §6.1, §6.2), written from
// its rules, not its code: for every field of its tables, on real host values, a "safe" value must be
// accepted and an "invalid" one refused. Where the selftest's table and cpufeature.c differ, KVM follows
// cpufeature.c (kvm-model.md §0.1 item 16): PMUVer and PerfMon are checked as unsigned here.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lineRange } from '../../src/findings.ts';
import { LIMIT_EDITS } from '../../src/data/kvm-policy.ts';
import type { Encoding, TraceEvent } from '../../src/model/events.ts';
import { judgeUserWrite, policyByName, policyEncoding, writableMask } from '../../src/model/kvm.ts';
import { replay } from '../../src/model/vm.ts';

function enc(name: string): Encoding {
  return policyEncoding(policyByName(name)!);
}

// Host values from public Firecracker fingerprints of AWS Graviton hosts (kernel 6.1, taken without
// pmu_v3 or sve): Graviton3 = Neoverse V1 (AArch32 at EL0), Graviton4 = Neoverse V2 (AArch64-only).
const GRAVITON3: Record<string, bigint> = {
  MIDR_EL1: 0x411fd401n, MPIDR_EL1: 0x80000000n, REVIDR_EL1: 0x1n, AIDR_EL1: 0x0n, CTR_EL0: 0xb444c004n, CLIDR_EL1: 0x82000023n,
  ID_DFR0_EL1: 0x11099n,
  ID_AA64PFR0_EL1: 0x1101010021111112n, ID_AA64PFR1_EL1: 0x20n, ID_AA64ZFR0_EL1: 0x0n, ID_AA64DFR0_EL1: 0xf010305006n,
  ID_AA64ISAR0_EL1: 0x1011111110212120n, ID_AA64ISAR1_EL1: 0x0011100000211002n, ID_AA64ISAR2_EL1: 0x0n, ID_AA64ISAR3_EL1: 0x0n,
  ID_AA64MMFR0_EL1: 0x0000000000101125n, ID_AA64MMFR1_EL1: 0x10212122n, ID_AA64MMFR2_EL1: 0x0220011102001011n, ID_AA64MMFR3_EL1: 0x0n,
};
const GRAVITON4: Record<string, bigint> = {
  MIDR_EL1: 0x410fd4f1n, MPIDR_EL1: 0x80000000n, REVIDR_EL1: 0x17n, AIDR_EL1: 0x0n, CTR_EL0: 0xb444c004n, CLIDR_EL1: 0x82000023n,
  ID_DFR0_EL1: 0x0n,
  ID_AA64PFR0_EL1: 0x1101011021111111n, ID_AA64PFR1_EL1: 0x21n, ID_AA64ZFR0_EL1: 0x0n, ID_AA64DFR0_EL1: 0xf010305006n,
  ID_AA64ISAR0_EL1: 0x1221100110212120n, ID_AA64ISAR1_EL1: 0x0011111100211002n, ID_AA64ISAR2_EL1: 0x0n, ID_AA64ISAR3_EL1: 0x0n,
  ID_AA64MMFR0_EL1: 0x0000022200101125n, ID_AA64MMFR1_EL1: 0x10312122n, ID_AA64MMFR2_EL1: 0x1221011112001011n, ID_AA64MMFR3_EL1: 0x0n,
};

type Type = 'EXACT' | 'LOWER' | 'HIGHER' | 'HIGHER_OR_ZERO';
interface Ftr { name: string; signed: boolean; type: Type; shift: number; safe: number }
const U = (name: string, shift: number, type: Type = 'LOWER', safe = 0): Ftr => ({ name, signed: false, type, shift, safe });
const S = (name: string, shift: number, type: Type = 'LOWER', safe = 0): Ftr => ({ name, signed: true, type, shift, safe });

// kvm-model.md §6.2 (snapshot tables).
const TABLES: Record<string, Ftr[]> = {
  ID_AA64DFR0_EL1: [S('DoubleLock', 36), U('WRPs', 20), U('PMUVer', 8), U('DebugVer', 0, 'LOWER', 6)],
  ID_DFR0_EL1: [U('PerfMon', 24, 'LOWER', 3), U('CopDbg', 0, 'LOWER', 6)],
  ID_AA64ISAR0_EL1: ['RNDR:60', 'TLB:56', 'TS:52', 'FHM:48', 'DP:44', 'SM4:40', 'SM3:36', 'SHA3:32', 'RDM:28', 'ATOMIC:20', 'CRC32:16', 'SHA2:12',
    'SHA1:8', 'AES:4'].map(lower),
  ID_AA64ISAR1_EL1: ['LS64:60', 'XS:56', 'I8MM:52', 'DGH:48', 'BF16:44', 'SPECRES:40', 'SB:36', 'FRINTTS:32', 'LRCPC:20', 'FCMA:16', 'JSCVT:12',
    'DPB:0'].map(lower),
  ID_AA64ISAR2_EL1: ['BC:20', 'RPRES:4', 'WFxT:0'].map(lower),
  ID_AA64ISAR3_EL1: ['FPRCVT:28', 'LSUI:24', 'LSFE:16', 'FAMINMAX:4'].map(lower),
  ID_AA64PFR0_EL1: [U('CSV3', 60), U('CSV2', 56), U('DIT', 48), U('SEL2', 36), U('GIC', 24, 'EXACT', 0), U('EL3', 12, 'LOWER', 1),
    U('EL2', 8, 'LOWER', 1), U('EL1', 4, 'LOWER', 1), U('EL0', 0, 'LOWER', 1)],
  ID_AA64PFR1_EL1: [U('DF2', 56), U('CSV2_frac', 32), U('SSBS', 4), U('BT', 0)],
  ID_AA64MMFR0_EL1: [U('ECV', 60), U('EXS', 44), U('TGRAN4_2', 40, 'EXACT', 1), U('TGRAN64_2', 36, 'EXACT', 1), U('TGRAN16_2', 32, 'EXACT', 1),
    S('TGRAN4', 28), S('TGRAN64', 24), U('TGRAN16', 20), U('BIGENDEL0', 16), U('SNSMEM', 12), U('BIGEND', 8), U('PARANGE', 0)],
  ID_AA64MMFR1_EL1: [U('TIDCP1', 52), U('AFP', 44), U('HCX', 40), U('ETS', 36), U('TWED', 32), U('SpecSEI', 24, 'HIGHER'), U('PAN', 20),
    U('LO', 16), U('HPDS', 12), U('HAFDBS', 0)],
  ID_AA64MMFR2_EL1: ['E0PD:60', 'BBM:52', 'TTL:48', 'AT:32', 'ST:28', 'VARange:16', 'IESB:12', 'LSM:8', 'UAO:4', 'CnP:0'].map(lower),
  ID_AA64MMFR3_EL1: ['S1POE:16', 'S1PIE:8', 'SCTLRX:4', 'TCRX:0'].map(lower),
  ID_AA64ZFR0_EL1: ['F64MM:56', 'F32MM:52', 'I8MM:44', 'SM4:40', 'SHA3:32', 'BF16:20', 'BitPerm:16', 'AES:4', 'SVEver:0'].map(lower),
};
function lower(spec: string): Ftr {
  const [name, shift] = spec.split(':');
  return U(name!, Number(shift));
}

const MAX = 0xfn;
const MASK64 = (1n << 64n) - 1n;

/** kvm-model.md §6.1 "safe" generator; returns the field value. */
function safeValue(f: Ftr, cur: bigint): bigint {
  if (f.signed && cur === 0xfn) return cur;
  const top = f.signed ? MAX - 1n : MAX;
  switch (f.type) {
    case 'EXACT':
      return BigInt(f.safe);
    case 'LOWER':
      return cur > BigInt(f.safe) ? cur - 1n : cur;
    case 'HIGHER':
      return cur < top ? cur + 1n : cur;
    case 'HIGHER_OR_ZERO':
      return cur === top ? 0n : cur !== 0n ? cur + 1n : 0n;
  }
}

/** kvm-model.md §6.1 "invalid" generator; returns the whole register (HIGHER underflows past the field). */
function invalidRegister(f: Ftr, reg: bigint, cur: bigint): bigint {
  const shift = BigInt(f.shift);
  const base = reg & ~(MAX << shift);
  if (f.signed && cur === 0xfn) return base;
  let v: bigint;
  switch (f.type) {
    case 'EXACT':
      v = BigInt(f.safe) + 1n > cur + 1n ? BigInt(f.safe) + 1n : cur + 1n;
      break;
    case 'LOWER':
      v = cur + 1n;
      break;
    case 'HIGHER':
      v = cur - 1n;
      break;
    case 'HIGHER_OR_ZERO':
      v = cur === 0n ? MAX : cur - 1n;
      break;
  }
  return (base | ((v << shift) & MASK64)) & MASK64;
}

/**
 * The limit a newest kernel would build from this host: the dump is a 6.1 limit, so apply the
 * unconditional clears newer kernels do (MPAM, MMFR2.NV, ...) — kvm-model.md §3 "KVM default".
 */
function newestLimit(name: string, host: bigint): bigint {
  const p = policyByName(name)!;
  let v = host;
  for (const e of LIMIT_EDITS) {
    if (e.register !== name || e.when !== 'always' || e.action !== 'clear' || e.field === 'WFxT') continue;
    const f = p.fields!.find((x) => x.name === e.field)!;
    v &= ~(((1n << BigInt(f.width)) - 1n) << BigInt(f.lsb));
  }
  return v;
}

function suite(hostName: string, host: Record<string, bigint>): void {
  const aarch64Only = (host.ID_AA64PFR0_EL1! & 0xfn) === 1n;
  const features = ['psci_0_2'];
  const limits = Object.fromEntries(Object.entries(host).map(([n, v]) => [n, newestLimit(n, v)]));
  const judge = (name: string, value: bigint, extra: { hasRun?: boolean } = {}) =>
    judgeUserWrite({
      enc: enc(name), value, limit: limits[name]!, hostValue: host[name]!, features, hostHas32bitEL0: !aarch64Only,
      capWritableImp: true, hostCtr: host.CTR_EL0!, ...extra,
    });

  describe(`set_id_regs peer on ${hostName}`, () => {
    for (const [reg, fields] of Object.entries(TABLES)) {
      const skip = aarch64Only && enc(reg).crm < 4 ? 'AArch32 register on an AArch64-only host' : false;
      for (const f of fields) {
        test(`${reg}.${f.name}: safe accepted, invalid refused`, { skip }, () => {
          const field = MAX << BigInt(f.shift);
          assert.equal(writableMask(enc(reg), undefined, { hostHas32bitEL0: !aarch64Only }) & field, field, 'field inside the writable mask');
          const limit = limits[reg]!;
          const cur = (limit >> BigInt(f.shift)) & MAX;
          const safe = (limit & ~field) | (safeValue(f, cur) << BigInt(f.shift));
          const ok = judge(reg, safe);
          assert.equal(ok.errno, '0', `safe ${safe.toString(16)}: ${ok.problems.map((p) => p.rule).join('; ')}`);
          const bad = judge(reg, invalidRegister(f, limit, cur));
          assert.equal(bad.errno, '-EINVAL', `invalid ${invalidRegister(f, limit, cur).toString(16)}`);
          assert.equal(bad.stored, limit, 'the refused write leaves the register unchanged');
        });
      }
    }

    test('CLIDR_EL1: a unified cache at the first empty level is accepted', () => {
      const clidr = host.CLIDR_EL1!;
      let level = 0;
      while (level < 7 && ((clidr >> BigInt(3 * level)) & 7n) !== 0n) level++;
      assert.equal(judge('CLIDR_EL1', clidr | (4n << BigInt(3 * level))).errno, '0');
    });
    test('CTR_EL0: clearing DIC and lowering IminLine is accepted', () => {
      let ctr = host.CTR_EL0! & ~(1n << 29n);
      if (ctr & 0xfn) ctr -= 1n;
      assert.equal(judge('CTR_EL0', ctr).errno, '0');
    });
    test('MPIDR_EL1: any value is accepted', () => {
      assert.equal(judge('MPIDR_EL1', host.MPIDR_EL1! + 1n).errno, '0');
    });
    for (const name of ['MIDR_EL1', 'REVIDR_EL1', 'AIDR_EL1']) {
      test(`${name}: value + 1 is accepted with ARM_WRITABLE_IMP_ID_REGS`, () => {
        assert.equal(judge(name, host[name]! + 1n).errno, '0');
      });
    }

    const pfr0 = limits.ID_AA64PFR0_EL1!;
    const pfr1 = limits.ID_AA64PFR1_EL1!;
    const hostMpam = (host.ID_AA64PFR0_EL1! >> 40n) & 0xfn;
    const hostMpamFrac = (host.ID_AA64PFR1_EL1! >> 16n) & 0xfn;
    test('MPAM = 0 accepted', () => assert.equal(judge('ID_AA64PFR0_EL1', pfr0 & ~(0xfn << 40n)).errno, '0'));
    test('MPAM = 1 accepted when the host has MPAM', { skip: hostMpam === 1n ? false : 'host without MPAM' }, () =>
      assert.equal(judge('ID_AA64PFR0_EL1', pfr0 | (1n << 40n)).errno, '0'));
    test('MPAM = 2 refused', () => assert.equal(judge('ID_AA64PFR0_EL1', (pfr0 & ~(0xfn << 40n)) | (2n << 40n)).errno, '-EINVAL'));
    test('MPAM_frac = 0 accepted', () => assert.equal(judge('ID_AA64PFR1_EL1', pfr1 & ~(0xfn << 16n)).errno, '0'));
    test('MPAM_frac = 1 accepted when the host has it', { skip: hostMpamFrac === 1n ? false : 'host without MPAM_frac' }, () =>
      assert.equal(judge('ID_AA64PFR1_EL1', pfr1 | (1n << 16n)).errno, '0'));
    test('MPAM_frac = 2 refused', () => assert.equal(judge('ID_AA64PFR1_EL1', (pfr1 & ~(0xfn << 16n)) | (2n << 16n)).errno, '-EINVAL'));

    const mteCase = ((pfr1 >> 8n) & 0xfn) === 2n && ((pfr1 >> 40n) & 0xfn) === 0xfn;
    test('MTE_frac = 0 accepted over MTE2 with MTE_frac NI', { skip: mteCase ? false : 'host without MTE2/MTE_frac NI' }, () =>
      assert.equal(judge('ID_AA64PFR1_EL1', pfr1 & ~(0xfn << 40n)).errno, '0'));

    test('the guest reads what userspace wrote, and a vCPU reset keeps it', () => {
      const events: TraceEvent[] = [];
      let line = 0;
      const r = () => lineRange(line++, 0, 10);
      const reg = (name: string) => ({ text: name, range: lineRange(line, 0, 5), enc: enc(name), name });
      events.push({ kind: 'cap', cap: 'ARM_WRITABLE_IMP_ID_REGS', capRange: lineRange(line, 0, 5), range: r() });
      events.push({ kind: 'init', vcpu: 0, features, featuresRange: lineRange(line, 0, 5), range: r() });
      const written: Record<string, bigint> = {};
      for (const [name, fields] of Object.entries(TABLES)) {
        if (aarch64Only && enc(name).crm < 4) continue;
        let v = limits[name]!;
        for (const f of fields) v = (v & ~(MAX << BigInt(f.shift))) | (safeValue(f, (v >> BigInt(f.shift)) & MAX) << BigInt(f.shift));
        written[name] = v;
        events.push({ kind: 'set', vcpu: 0, reg: reg(name), value: v, valueRange: lineRange(line, 6, 9), range: r() });
      }
      written.MIDR_EL1 = host.MIDR_EL1! + 1n;
      events.push({ kind: 'set', vcpu: 0, reg: reg('MIDR_EL1'), value: written.MIDR_EL1, valueRange: lineRange(line, 6, 9), range: r() });
      events.push({ kind: 'run', vcpu: 0, range: r() });
      for (const [name, v] of Object.entries(written)) {
        events.push({ kind: 'mrs', vcpu: 0, reg: reg(name), result: { outcome: { kind: 'value', value: v }, range: lineRange(line, 6, 9) }, range: r() });
      }
      events.push({ kind: 'init', vcpu: 0, features, featuresRange: lineRange(line, 0, 5), range: r() });
      for (const [name, v] of Object.entries(written)) {
        events.push({ kind: 'get', vcpu: 0, reg: reg(name), result: { outcome: { kind: 'value', value: v }, range: lineRange(line, 6, 9) }, range: r() });
      }
      const dump = {
        entries: Object.entries(host).map(([name, value], i) => ({ reg: { text: name, range: lineRange(i, 0, 1), enc: enc(name), name }, value: limits[name] ?? value, valueRange: lineRange(i, 2, 3) })),
        features,
      };
      const res = replay(events, { host: { dump } });
      assert.deepEqual(res.findings.map((f) => `${f.code} ${f.message}`), []);
    });
  });
}

suite('Graviton3 (Neoverse V1)', GRAVITON3);
suite('Graviton4 (Neoverse V2)', GRAVITON4);

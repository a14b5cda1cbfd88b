import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { lineRange, type Range } from '../../src/findings.ts';
import type { Encoding, RecordedOutcome, RegisterDump, TraceEvent } from '../../src/model/events.ts';
import {
  describePolicy,
  isVmIdRegister,
  judgeUserWrite,
  policyByName,
  policyEncoding,
  resolveKernel,
  safestCommon,
  safestCommonValue,
  writableMask,
} from '../../src/model/kvm.ts';
import { replay, type ReplayOptions } from '../../src/model/vm.ts';

// --- helpers ----------------------------------------------------------------------------------------

function enc(name: string): Encoding {
  const p = policyByName(name);
  if (!p) throw new Error(`no policy for ${name}`);
  return policyEncoding(p);
}

type Res = '0' | `-E${string}` | bigint | 'undef';

function outcome(r: Res, line: number): RecordedOutcome {
  const range = lineRange(line, 40, 50);
  if (typeof r === 'bigint') return { outcome: { kind: 'value', value: r }, range };
  if (r === '0') return { outcome: { kind: 'ok' }, range };
  if (r === 'undef') return { outcome: { kind: 'undef' }, range };
  return { outcome: { kind: 'errno', errno: r }, range };
}

/** Builds events line by line, the way a parser of `.idtrace` would. */
class Trace {
  readonly events: TraceEvent[] = [];
  private line = 0;
  private next(): { range: Range; line: number } {
    const line = this.line++;
    return { range: lineRange(line, 0, 60), line };
  }
  private reg(name: string | Encoding): { text: string; range: Range; enc: Encoding; name?: string } {
    const r = lineRange(this.line - 1, 10, 20);
    if (typeof name === 'string') return { text: name, range: r, enc: enc(name), name };
    return { text: 'S3_x', range: r, enc: name };
  }
  kernel(version: string): this {
    const { range, line } = this.next();
    this.events.push({ kind: 'kernel', version, versionRange: lineRange(line, 7, 7 + version.length), range });
    return this;
  }
  cap(cap: string, result?: Res): this {
    const { range, line } = this.next();
    this.events.push({ kind: 'cap', cap, capRange: lineRange(line, 4, 20), range, ...(result !== undefined ? { result: outcome(result, line) } : {}) });
    return this;
  }
  init(vcpu: number, features: string[], result?: Res): this {
    const { range, line } = this.next();
    this.events.push({ kind: 'init', vcpu, features, featuresRange: lineRange(line, 12, 30), range, ...(result !== undefined ? { result: outcome(result, line) } : {}) });
    return this;
  }
  get(vcpu: number, name: string | Encoding, result?: Res): this {
    const { range, line } = this.next();
    this.events.push({ kind: 'get', vcpu, reg: this.reg(name), range, ...(result !== undefined ? { result: outcome(result, line) } : {}) });
    return this;
  }
  set(vcpu: number, name: string | Encoding, value: bigint, result?: Res): this {
    const { range, line } = this.next();
    this.events.push({ kind: 'set', vcpu, reg: this.reg(name), value, valueRange: lineRange(line, 21, 39), range, ...(result !== undefined ? { result: outcome(result, line) } : {}) });
    return this;
  }
  run(vcpu: number, result?: Res): this {
    const { range, line } = this.next();
    this.events.push({ kind: 'run', vcpu, range, ...(result !== undefined ? { result: outcome(result, line) } : {}) });
    return this;
  }
  mrs(vcpu: number, name: string | Encoding, result?: Res): this {
    const { range, line } = this.next();
    this.events.push({ kind: 'mrs', vcpu, reg: this.reg(name), range, ...(result !== undefined ? { result: outcome(result, line) } : {}) });
    return this;
  }
  msr(vcpu: number, name: string | Encoding, value: bigint, result?: Res): this {
    const { range, line } = this.next();
    this.events.push({ kind: 'msr', vcpu, reg: this.reg(name), value, range, ...(result !== undefined ? { result: outcome(result, line) } : {}) });
    return this;
  }
}

// A Graviton3 (Neoverse V1) host as its Firecracker fingerprint shows it (no pmu_v3, no sve; AArch32 at EL0).
const G3: Record<string, bigint> = {
  MIDR_EL1: 0x411fd401n, REVIDR_EL1: 0x1n, AIDR_EL1: 0n, CTR_EL0: 0xb444c004n, CLIDR_EL1: 0x82000023n,
  ID_PFR0_EL1: 0x10131n, ID_DFR0_EL1: 0x11099n, ID_ISAR5_EL1: 0x1011121n,
  ID_AA64PFR0_EL1: 0x1101010021111112n, ID_AA64PFR1_EL1: 0x20n, ID_AA64DFR0_EL1: 0xf010305006n,
  ID_AA64ISAR0_EL1: 0x1011111110212120n, ID_AA64ISAR1_EL1: 0x0011100000211002n, ID_AA64ISAR2_EL1: 0n,
  ID_AA64MMFR0_EL1: 0x101125n, ID_AA64MMFR1_EL1: 0x10212122n, ID_AA64MMFR2_EL1: 0x0220011102001011n, ID_AA64ZFR0_EL1: 0n,
};

function dump(values: Record<string, bigint>, features?: string[]): RegisterDump {
  return {
    entries: Object.entries(values).map(([name, value], i) => ({
      reg: { text: name, range: lineRange(i, 0, name.length), enc: enc(name), name },
      value,
      valueRange: lineRange(i, 22, 40),
    })),
    ...(features ? { features } : {}),
  };
}

const HOST: ReplayOptions = { host: { dump: dump(G3, ['psci_0_2']), path: 'g3.json' } };

function codes(r: { findings: { code: string }[] }): string[] {
  return r.findings.map((f) => f.code);
}

function predicted(r: { predictions: { eventIndex: number; predicted: string }[] }, i: number): string | undefined {
  return r.predictions.find((p) => p.eventIndex === i)?.predicted;
}

function hex(v: bigint): string {
  return '0x' + v.toString(16).padStart(16, '0');
}

// --- kernel eras ------------------------------------------------------------------------------------

describe('kernel versions map to eras', () => {
  test('version strings', () => {
    const cases: [string | undefined, string][] = [
      ['6.15', '6.15'], ['6.1.172-216.329.amzn2023.aarch64', '6.4'], ['5.10', '6.4'], ['6.4', '6.4'], ['6.5', '6.5'], ['6.6.30', '6.5'],
      ['6.7', '6.7'], ['v6.12', '6.7'], ['6.17', '6.15'], ['6.18', 'newest'], ['7.0', 'newest'], [undefined, 'newest'], ['newest', 'newest'],
    ];
    for (const [text, era] of cases) assert.equal(resolveKernel(text).era, era, String(text));
  });
  test('text that is not a version falls back to the newest rules and says so', () => {
    const k = resolveKernel('banana');
    assert.equal(k.era, 'newest');
    assert.equal(k.recognised, false);
  });
});

describe('writable masks per era (kvm-model.md §4.9)', () => {
  test('newest masks', () => {
    assert.equal(writableMask(enc('ID_AA64ISAR0_EL1')), 0xfffffffff0fffff0n);
    assert.equal(writableMask(enc('ID_AA64PFR0_EL1')), 0xffff00f0ff00ffffn);
    assert.equal(writableMask(enc('ID_AA64FPFR0_EL1')), 0x00000000fc0080ffn);
    assert.equal(writableMask(enc('ID_AA64MMFR1_EL1')), 0xffffffff0ffff00fn);
    assert.equal(writableMask(enc('CTR_EL0')), 0x00000000300fc00fn);
    assert.equal(writableMask(enc('MIDR_EL1')), 0x00000000ffffffffn);
    assert.equal(writableMask(enc('ID_AA64DFR1_EL1')), 0n);
  });
  test('AArch32 views: [31:0] with 32-bit EL0, 0 without', () => {
    assert.equal(writableMask(enc('ID_ISAR5_EL1'), undefined, { hostHas32bitEL0: true }), 0xffffffffn);
    assert.equal(writableMask(enc('ID_ISAR5_EL1'), undefined, { hostHas32bitEL0: false }), 0n);
  });
  test('6.15 lacks MMFR1.HCX/TWED; 6.7 also lacks ISAR3 and the implementation registers; 6.5 only CSV2/CSV3; 6.4 nothing', () => {
    const hcxTwed = (0xfn << 40n) | (0xfn << 32n);
    assert.equal(writableMask(enc('ID_AA64MMFR1_EL1'), '6.15') & hcxTwed, 0n);
    assert.equal(writableMask(enc('ID_AA64MMFR1_EL1'), '6.7') & hcxTwed, 0n);
    assert.equal(writableMask(enc('ID_AA64ISAR3_EL1'), '6.7'), 0n);
    assert.equal(writableMask(enc('MIDR_EL1'), '6.7'), 0n);
    assert.equal(writableMask(enc('MIDR_EL1'), '6.15'), 0xffffffffn);
    assert.equal(writableMask(enc('ID_AA64ISAR0_EL1'), '6.5'), 0n);
    assert.equal(writableMask(enc('ID_AA64PFR0_EL1'), '6.5'), 0xff00000000000000n);
    assert.equal(writableMask(enc('ID_AA64PFR0_EL1'), '6.1'), 0n);
  });
});

// --- one write ---------------------------------------------------------------------------------------

describe('judgeUserWrite: the safe-subset test (kvm-model.md §4.6)', () => {
  const isar0 = enc('ID_AA64ISAR0_EL1');
  const limit = G3.ID_AA64ISAR0_EL1!; // AES = 2
  test('unsigned LOWER: above the limit is -EINVAL (IDR010), at or below is 0', () => {
    const up = judgeUserWrite({ enc: isar0, value: limit | 0x30n, limit });
    assert.equal(up.errno, '-EINVAL');
    assert.deepEqual(up.problems.map((p) => [p.code, p.field, p.value, p.limit, p.rule]), [['IDR010', 'AES', 3n, 2n, 'unsigned, lower is safe']]);
    assert.equal(up.stored, limit, 'a refused write stores nothing new');
    const down = judgeUserWrite({ enc: isar0, value: limit & ~0xf0n, limit });
    assert.equal(down.errno, '0');
    assert.equal(down.stored, limit & ~0xf0n);
  });
  test('signed LOWER: 0xF means "not implemented" and is lower than 0 (MMFR0.TGRAN4)', () => {
    const m = enc('ID_AA64MMFR0_EL1');
    const l = G3.ID_AA64MMFR0_EL1!; // TGRAN4 = 0 (implemented)
    assert.equal(judgeUserWrite({ enc: m, value: l | (0xfn << 28n), limit: l }).errno, '0');
    const ni = l | (0xfn << 28n);
    const r = judgeUserWrite({ enc: m, value: l, limit: ni });
    assert.equal(r.errno, '-EINVAL');
    assert.equal(r.problems[0]?.rule, 'signed, lower is safe');
  });
  test('PFR0.FP/AdvSIMD are signed LOWER but not writable: 0xF is refused as a non-writable change', () => {
    const p = enc('ID_AA64PFR0_EL1');
    const l = G3.ID_AA64PFR0_EL1!;
    assert.equal(describePolicy(p, 'FP'), 'signed, lower is safe');
    const r = judgeUserWrite({ enc: p, value: l | (0xfn << 16n), limit: l });
    assert.equal(r.errno, '-EINVAL');
    assert.deepEqual(r.problems.map((x) => [x.code, x.field]), [['IDR011', 'FP']]);
  });
  test('HIGHER: MMFR1.SpecSEI may only go up', () => {
    const m = enc('ID_AA64MMFR1_EL1');
    const l = G3.ID_AA64MMFR1_EL1! | (1n << 24n);
    assert.equal(judgeUserWrite({ enc: m, value: l & ~(0xfn << 24n), limit: l }).errno, '-EINVAL');
    assert.equal(judgeUserWrite({ enc: m, value: (l & ~(0xfn << 24n)) | (2n << 24n), limit: l }).errno, '0');
  });
  test('EXACT: the limit or the table safe value (MMFR0.TGRAN4_2, safe 1)', () => {
    const m = enc('ID_AA64MMFR0_EL1');
    const l = G3.ID_AA64MMFR0_EL1! | (2n << 40n);
    const with2 = (v: bigint): bigint => (l & ~(0xfn << 40n)) | (v << 40n);
    assert.equal(judgeUserWrite({ enc: m, value: with2(1n), limit: l }).errno, '0');
    assert.equal(judgeUserWrite({ enc: m, value: with2(2n), limit: l }).errno, '0');
    const r = judgeUserWrite({ enc: m, value: with2(0n), limit: l });
    assert.equal(r.errno, '-EINVAL');
    assert.match(r.problems[0]!.rule, /exact/);
  });
  test("KVM's LOWER override of PMUVer (unsigned, §0.1 item 16): 8 over a limit of 6 is refused, 4 accepted", () => {
    const d = enc('ID_AA64DFR0_EL1');
    const l = G3.ID_AA64DFR0_EL1! | (6n << 8n);
    const pmu = (v: bigint): bigint => (l & ~(0xfn << 8n)) | (v << 8n);
    assert.equal(judgeUserWrite({ enc: d, value: pmu(8n), limit: l }).errno, '-EINVAL');
    assert.equal(judgeUserWrite({ enc: d, value: pmu(4n), limit: l }).errno, '0');
    assert.match(describePolicy(d, 'PMUVer')!, /unsigned, lower is safe \(KVM's override/);
  });
  test('non-writable field and RES0 bits must equal the limit (IDR011)', () => {
    const p = enc('ID_AA64PFR0_EL1');
    const l = G3.ID_AA64PFR0_EL1!;
    const r = judgeUserWrite({ enc: p, value: l | (1n << 32n), limit: l });
    assert.deepEqual(r.problems.map((x) => [x.code, x.field]), [['IDR011', 'SVE']]);
    const r2 = judgeUserWrite({ enc: enc('ID_AA64ISAR0_EL1'), value: G3.ID_AA64ISAR0_EL1! | 1n, limit: G3.ID_AA64ISAR0_EL1! });
    assert.equal(r2.problems[0]?.code, 'IDR011');
    assert.equal(r2.problems[0]?.msb, 0);
    assert.equal(r2.problems[0]?.lsb, 0);
  });
  test('writable bits absent from the host table accept only the limit (PFR1.CSV2_frac, §0.1 item 17)', () => {
    const p = enc('ID_AA64PFR1_EL1');
    const r = judgeUserWrite({ enc: p, value: G3.ID_AA64PFR1_EL1! | (1n << 32n), limit: G3.ID_AA64PFR1_EL1! });
    assert.deepEqual(r.problems.map((x) => [x.code, x.field]), [['IDR011', 'CSV2_frac']]);
  });
});

describe('judgeUserWrite: per-register pre-steps (kvm-model.md §4.7)', () => {
  const pfr0 = enc('ID_AA64PFR0_EL1');
  const l = G3.ID_AA64PFR0_EL1! & ~(0xfn << 40n); // a newest-kernel limit: MPAM cleared
  test('PFR0.EL0 = 0 and EL1 = 0 are refused; EL2 = 0 only with has_el2', () => {
    assert.equal(judgeUserWrite({ enc: pfr0, value: l & ~0xfn, limit: l }).errno, '-EINVAL');
    assert.equal(judgeUserWrite({ enc: pfr0, value: l & ~0xf0n, limit: l }).errno, '-EINVAL');
    const noEl2 = l & ~0xf00n;
    assert.equal(judgeUserWrite({ enc: pfr0, value: noEl2, limit: l }).errno, '0');
    assert.equal(judgeUserWrite({ enc: pfr0, value: noEl2, limit: l, features: ['has_el2'] }).errno, '-EINVAL');
  });
  test("PFR0.MPAM: the host's value is dropped, another one refused", () => {
    const host = G3.ID_AA64PFR0_EL1!; // MPAM = 1
    const r = judgeUserWrite({ enc: pfr0, value: l | (1n << 40n), limit: l, hostValue: host });
    assert.equal(r.errno, '0');
    assert.equal(r.stored, l);
    assert.equal(judgeUserWrite({ enc: pfr0, value: l | (2n << 40n), limit: l, hostValue: host }).errno, '-EINVAL');
  });
  test('PFR1.MTE_frac: ASYNC (0) over a host NI (0xF) with MTE2 is accepted and stored as 0xF', () => {
    const p1 = enc('ID_AA64PFR1_EL1');
    const lim = (2n << 8n) | (0xfn << 40n) | 0x20n;
    const r = judgeUserWrite({ enc: p1, value: lim & ~(0xfn << 40n), limit: lim });
    assert.equal(r.errno, '0');
    assert.equal(r.stored, lim);
  });
  test('DFR0: PMUVer 0xF is stored as 0; DebugVer below 6 is refused', () => {
    const d = enc('ID_AA64DFR0_EL1');
    const lim = G3.ID_AA64DFR0_EL1! | (6n << 8n);
    const r = judgeUserWrite({ enc: d, value: lim | (0xfn << 8n), limit: lim });
    assert.equal(r.errno, '0');
    assert.equal((r.stored >> 8n) & 0xfn, 0n);
    const low = judgeUserWrite({ enc: d, value: (lim & ~0xfn) | 5n, limit: lim });
    assert.equal(low.errno, '-EINVAL');
    assert.equal(low.problems[0]?.field, 'DebugVer');
  });
  test('ID_DFR0: PerfMon 1/2 refused, 0xF stored as 0, CopDbg below 6 refused', () => {
    const d = enc('ID_DFR0_EL1');
    const lim = G3.ID_DFR0_EL1! | (4n << 24n);
    const pm = (v: bigint): bigint => (lim & ~(0xfn << 24n)) | (v << 24n);
    assert.equal(judgeUserWrite({ enc: d, value: pm(1n), limit: lim, hostHas32bitEL0: true }).errno, '-EINVAL');
    assert.equal(judgeUserWrite({ enc: d, value: pm(2n), limit: lim, hostHas32bitEL0: true }).errno, '-EINVAL');
    const f = judgeUserWrite({ enc: d, value: pm(0xfn), limit: lim, hostHas32bitEL0: true });
    assert.equal(f.errno, '0');
    assert.equal((f.stored >> 24n) & 0xfn, 0n);
    assert.equal(judgeUserWrite({ enc: d, value: (lim & ~0xfn) | 5n, limit: lim, hostHas32bitEL0: true }).errno, '-EINVAL');
  });
  test('CTR_EL0.L1Ip VPIPT/AIVIVT refused; lowering IminLine accepted', () => {
    const c = enc('CTR_EL0');
    const lim = G3.CTR_EL0!;
    assert.equal(judgeUserWrite({ enc: c, value: lim & ~(3n << 14n), limit: lim }).errno, '-EINVAL');
    assert.equal(judgeUserWrite({ enc: c, value: (lim & ~(3n << 14n)) | (1n << 14n), limit: lim }).errno, '-EINVAL');
    assert.equal(judgeUserWrite({ enc: c, value: lim - 1n, limit: lim }).errno, '0');
  });
  test('MMFR0 TGRAN*_2 with has_el2: only the limit or 1', () => {
    const m = enc('ID_AA64MMFR0_EL1');
    const lim = G3.ID_AA64MMFR0_EL1! | (2n << 40n);
    const v = (lim & ~(0xfn << 40n)) | (3n << 40n);
    const r = judgeUserWrite({ enc: m, value: v, limit: lim, features: ['has_el2'] });
    assert.equal(r.errno, '-EINVAL');
    assert.equal(r.problems[0]?.field, 'TGRAN4_2');
  });
  test('MMFR2.NV: the host value is dropped', () => {
    const m = enc('ID_AA64MMFR2_EL1');
    const host = G3.ID_AA64MMFR2_EL1!; // NV = 2
    const lim = host & ~(0xfn << 24n);
    const r = judgeUserWrite({ enc: m, value: host, limit: lim, hostValue: host });
    assert.equal(r.errno, '0');
    assert.equal(r.stored, lim);
  });
  test('pre-step refusals come before the has-run check (§0.1 item 18)', () => {
    assert.equal(judgeUserWrite({ enc: pfr0, value: l & ~0xfn, limit: l, hasRun: true, current: l }).errno, '-EINVAL');
    const d = enc('ID_AA64DFR0_EL1');
    const lim = G3.ID_AA64DFR0_EL1!;
    assert.equal(judgeUserWrite({ enc: d, value: (lim & ~0xfn) | 5n, limit: lim, hasRun: true, current: lim }).errno, '-EINVAL');
    assert.equal(judgeUserWrite({ enc: enc('CTR_EL0'), value: G3.CTR_EL0! & ~(3n << 14n), limit: G3.CTR_EL0!, hasRun: true }).errno, '-EINVAL');
  });
});

describe('judgeUserWrite: lifecycle, RAZ, AArch32, implementation registers', () => {
  test('after run: identical is 0, different is -EBUSY even when unsafe', () => {
    const e = enc('ID_AA64ISAR0_EL1');
    const l = G3.ID_AA64ISAR0_EL1!;
    assert.equal(judgeUserWrite({ enc: e, value: l, limit: l, hasRun: true, current: l }).errno, '0');
    const busy = judgeUserWrite({ enc: e, value: l | 0x30n, limit: l, hasRun: true, current: l });
    assert.equal(busy.errno, '-EBUSY');
    assert.equal(busy.problems[0]?.code, 'IDR012');
  });
  test('RAZ slots: 0 accepted, non-zero -EINVAL before run and -EBUSY after (§0.1 item 4)', () => {
    const slot = { op0: 3, op1: 0, crn: 0, crm: 4, op2: 3 };
    assert.equal(judgeUserWrite({ enc: slot, value: 0n, limit: 0n }).errno, '0');
    assert.equal(judgeUserWrite({ enc: slot, value: 0x1badc0den, limit: 0n }).errno, '-EINVAL');
    assert.equal(judgeUserWrite({ enc: slot, value: 0x1badc0den, limit: 0n, hasRun: true, current: 0n }).errno, '-EBUSY');
    assert.equal(judgeUserWrite({ enc: enc('ID_AA64SMFR0_EL1'), value: 1n, limit: 0n }).errno, '-EINVAL');
  });
  test('ZFR0 is RAZ without sve', () => {
    const z = enc('ID_AA64ZFR0_EL1');
    assert.equal(judgeUserWrite({ enc: z, value: 1n, limit: 0n, features: ['psci_0_2'] }).errno, '-EINVAL');
    assert.equal(judgeUserWrite({ enc: z, value: 1n, limit: 1n, features: ['sve'] }).errno, '0');
  });
  test('AArch32 views on an AArch64-only host ignore any write (RAZ + WI), ID_DFR0 included', () => {
    for (const name of ['ID_ISAR5_EL1', 'ID_DFR0_EL1', 'MVFR0_EL1']) {
      const r = judgeUserWrite({ enc: enc(name), value: 0x1badc0den, limit: 0n, hostHas32bitEL0: false });
      assert.equal(r.errno, '0', name);
      assert.equal(r.ignored, true);
      assert.equal(r.stored, 0n);
    }
    // Hidden AArch32 slots are plain RAZ: non-zero is refused (aarch32_id_regs "RAZ invariant" set).
    assert.equal(judgeUserWrite({ enc: enc('ID_AFR0_EL1'), value: 0x1badc0den, limit: 0n, hostHas32bitEL0: false }).errno, '-EINVAL');
  });
  test('MIDR/REVIDR/AIDR (§4.10): same value always 0; different needs the cap; -EBUSY after run; MIDR bits above 31 refused', () => {
    const m = enc('MIDR_EL1');
    const l = G3.MIDR_EL1!;
    assert.equal(judgeUserWrite({ enc: m, value: l, limit: l }).errno, '0');
    const noCap = judgeUserWrite({ enc: m, value: l + 1n, limit: l });
    assert.equal(noCap.errno, '-EINVAL');
    assert.equal(noCap.problems[0]?.code, 'IDR011');
    assert.equal(judgeUserWrite({ enc: m, value: l + 1n, limit: l, capWritableImp: true }).errno, '0');
    assert.equal(judgeUserWrite({ enc: m, value: l + 1n, limit: l, capWritableImp: true, hasRun: true }).errno, '-EBUSY');
    assert.equal(judgeUserWrite({ enc: m, value: l | (1n << 40n), limit: l, capWritableImp: true }).errno, '-EINVAL');
    assert.equal(judgeUserWrite({ enc: enc('AIDR_EL1'), value: 1n << 63n, limit: 0n, capWritableImp: true }).errno, '0');
    assert.equal(judgeUserWrite({ enc: m, value: l + 1n, limit: l, capWritableImp: true, kernel: '6.7' }).errno, '-EINVAL');
  });
  test('CLIDR: RES0 refused, IDC claim needs host CTR.IDC, no has-run check', () => {
    const c = enc('CLIDR_EL1');
    const l = G3.CLIDR_EL1!;
    assert.equal(judgeUserWrite({ enc: c, value: l | (1n << 50n), limit: l }).errno, '-EINVAL');
    const noPou = l & ~((7n << 27n) | (7n << 21n));
    assert.equal(judgeUserWrite({ enc: c, value: noPou, limit: l, hostCtr: G3.CTR_EL0! & ~(1n << 28n) }).errno, '-EINVAL');
    assert.equal(judgeUserWrite({ enc: c, value: noPou, limit: l, hostCtr: G3.CTR_EL0! }).errno, '0');
    assert.equal(judgeUserWrite({ enc: c, value: l | 0x4n << 9n, limit: l, hasRun: true, hostCtr: G3.CTR_EL0! }).errno, '0');
  });
  test('MPIDR takes any value at any time; unknown ID-space encodings are -ENOENT', () => {
    assert.equal(judgeUserWrite({ enc: enc('MPIDR_EL1'), value: 0x80000042n, limit: 0x80000000n, hasRun: true }).errno, '0');
    assert.equal(judgeUserWrite({ enc: { op0: 3, op1: 3, crn: 0, crm: 0, op2: 7 }, value: 4n, limit: 4n }).errno, '-ENOENT');
  });
});

describe('judgeUserWrite: eras', () => {
  const e = enc('ID_AA64ISAR0_EL1');
  const l = G3.ID_AA64ISAR0_EL1!;
  test('6.4: invariant — identical 0, different -EINVAL', () => {
    assert.equal(judgeUserWrite({ enc: e, value: l, limit: l, kernel: '6.1' }).errno, '0');
    const r = judgeUserWrite({ enc: e, value: l & ~0xf0n, limit: l, kernel: '5.10' });
    assert.equal(r.errno, '-EINVAL');
    assert.match(r.problems[0]!.rule, /invariant/);
  });
  test('6.5: only PFR0.CSV2/CSV3 (and PMUVer/PerfMon) take new values', () => {
    assert.equal(judgeUserWrite({ enc: e, value: l & ~0xf0n, limit: l, kernel: '6.5' }).errno, '-EINVAL');
    const p = G3.ID_AA64PFR0_EL1!;
    assert.equal(judgeUserWrite({ enc: enc('ID_AA64PFR0_EL1'), value: p & ~(0xfn << 56n), limit: p, kernel: '6.5' }).errno, '0');
    assert.equal(judgeUserWrite({ enc: enc('ID_AA64PFR0_EL1'), value: p & ~(0xfn << 48n), limit: p, kernel: '6.5' }).errno, '-EINVAL');
  });
  test('6.7: lowering ISAR0 fields works; MMFR1.HCX does not (newest: it does)', () => {
    assert.equal(judgeUserWrite({ enc: e, value: l & ~0xf0n, limit: l, kernel: '6.7' }).errno, '0');
    const m = enc('ID_AA64MMFR1_EL1');
    const ml = G3.ID_AA64MMFR1_EL1! | (1n << 40n);
    assert.equal(judgeUserWrite({ enc: m, value: ml & ~(0xfn << 40n), limit: ml, kernel: '6.7' }).errno, '-EINVAL');
    assert.equal(judgeUserWrite({ enc: m, value: ml & ~(0xfn << 40n), limit: ml, kernel: '6.15' }).errno, '-EINVAL');
    assert.equal(judgeUserWrite({ enc: m, value: ml & ~(0xfn << 40n), limit: ml }).errno, '0');
  });
  test('CTR_EL0 is invariant before the 6.15 profile', () => {
    const c = enc('CTR_EL0');
    assert.equal(judgeUserWrite({ enc: c, value: G3.CTR_EL0! - 1n, limit: G3.CTR_EL0!, kernel: '6.7' }).errno, '-EINVAL');
    assert.equal(judgeUserWrite({ enc: c, value: G3.CTR_EL0! - 1n, limit: G3.CTR_EL0!, kernel: '6.15' }).errno, '0');
  });
  test('the PFR0 EL0 rule is newest-only', () => {
    const p = G3.ID_AA64PFR0_EL1!;
    assert.equal(judgeUserWrite({ enc: enc('ID_AA64PFR0_EL1'), value: p & ~0xfn, limit: p, kernel: '6.15' }).errno, '0');
  });
});

describe('baseline and policy helpers', () => {
  test('safestCommonValue: LOWER takes the min, HIGHER the max, signed compares sign-extended, EXACT falls back to safe', () => {
    assert.equal(safestCommonValue(enc('ID_AA64ISAR0_EL1'), [0x20n, 0x10n]), 0x10n);
    assert.equal(safestCommonValue(enc('ID_AA64MMFR1_EL1'), [1n << 24n, 2n << 24n]), 2n << 24n);
    assert.equal(safestCommonValue(enc('ID_AA64MMFR0_EL1'), [0n, 0xfn << 28n]), 0xfn << 28n);
    assert.equal(safestCommonValue(enc('ID_AA64MMFR0_EL1'), [2n << 40n, 3n << 40n]), 1n << 40n);
    assert.equal(safestCommonValue(enc('ID_AA64MMFR0_EL1'), [2n << 40n, 2n << 40n]), 2n << 40n);
  });
  test('non-writable bits: kept when hosts agree, the first host otherwise, with the conflict reported', () => {
    const r = safestCommon(enc('ID_AA64PFR0_EL1'), [G3.ID_AA64PFR0_EL1!, G3.ID_AA64PFR0_EL1! | (1n << 32n)]);
    assert.equal(r.value, G3.ID_AA64PFR0_EL1!);
    assert.deepEqual(r.conflicts, [{ field: 'SVE', msb: 35, lsb: 32 }]);
    assert.deepEqual(safestCommon(enc('ID_AA64PFR0_EL1'), [G3.ID_AA64PFR0_EL1!, G3.ID_AA64PFR0_EL1!]).conflicts, []);
  });
  test('describePolicy and isVmIdRegister', () => {
    assert.equal(describePolicy(enc('ID_AA64ISAR0_EL1'), 'AES'), 'unsigned, lower is safe');
    assert.equal(describePolicy(enc('ID_AA64MMFR1_EL1'), 'SpecSEI'), 'unsigned, higher is safe');
    assert.equal(describePolicy(enc('ID_AA64ISAR0_EL1'), 'NOPE'), undefined);
    assert.equal(isVmIdRegister(enc('ID_AA64ISAR0_EL1')), true);
    assert.equal(isVmIdRegister(enc('CTR_EL0')), true);
    assert.equal(isVmIdRegister(enc('MPIDR_EL1')), false);
    assert.equal(isVmIdRegister({ op0: 3, op1: 0, crn: 1, crm: 0, op2: 0 }), false);
  });
});

// --- replay ------------------------------------------------------------------------------------------

describe('replay: lifecycle', () => {
  test("-ENOEXEC before this vCPU's own init, even after another vCPU initialised the VM (§0.1 item 2)", () => {
    const t = new Trace().init(0, ['psci_0_2']).get(1, 'ID_AA64ISAR0_EL1').set(1, 'ID_AA64ISAR0_EL1', 0n).run(1);
    const r = replay(t.events, HOST);
    assert.deepEqual(codes(r), ['IDR013', 'IDR013', 'IDR013']);
    assert.equal(predicted(r, 1), '-ENOEXEC');
    assert.equal(r.findings[0]!.errno, '-ENOEXEC');
    assert.equal(r.vm.hasRun, false);
  });
  test('a GET reads the VM value; a SET through one vCPU is seen by every vCPU; definitions point at the SET', () => {
    const low = G3.ID_AA64ISAR0_EL1! & ~0xf0n;
    const t = new Trace().init(0, ['psci_0_2']).init(1, ['psci_0_2']).get(0, 'ID_AA64ISAR0_EL1').set(0, 'ID_AA64ISAR0_EL1', low).get(1, 'ID_AA64ISAR0_EL1');
    const r = replay(t.events, HOST);
    assert.deepEqual(codes(r), []);
    assert.equal(predicted(r, 2), hex(G3.ID_AA64ISAR0_EL1!));
    assert.equal(predicted(r, 3), '0');
    assert.equal(predicted(r, 4), hex(low));
    assert.deepEqual(r.definitions.find((d) => d.eventIndex === 4), { eventIndex: 4, setEventIndex: 3 });
    const st = r.vm.registers.find((x) => x.name === 'ID_AA64ISAR0_EL1')!;
    assert.equal(st.value, low);
    assert.equal(st.setBy, 'set');
    assert.equal(st.limit, G3.ID_AA64ISAR0_EL1);
  });
  test('a refused write leaves the value unchanged', () => {
    const t = new Trace().init(0, ['psci_0_2']).set(0, 'ID_AA64ISAR0_EL1', G3.ID_AA64ISAR0_EL1! | 0x30n).get(0, 'ID_AA64ISAR0_EL1');
    const r = replay(t.events, HOST);
    assert.deepEqual(codes(r), ['IDR010']);
    assert.equal(predicted(r, 2), hex(G3.ID_AA64ISAR0_EL1!));
  });
  test('identical write after run is fine; a different one is -EBUSY (IDR012)', () => {
    const v = G3.ID_AA64ISAR0_EL1!;
    const t = new Trace().init(0, ['psci_0_2']).run(0).set(0, 'ID_AA64ISAR0_EL1', v).set(0, 'ID_AA64ISAR0_EL1', v & ~0xf0n);
    const r = replay(t.events, HOST);
    assert.equal(predicted(r, 2), '0');
    assert.equal(predicted(r, 3), '-EBUSY');
    assert.deepEqual(codes(r), ['IDR012']);
  });
  test("after any vCPU ran, a never-run vCPU's write is refused too", () => {
    const v = G3.ID_AA64ISAR0_EL1!;
    const t = new Trace().init(0, ['psci_0_2']).init(1, ['psci_0_2']).run(0).set(1, 'ID_AA64ISAR0_EL1', v & ~0xf0n);
    const r = replay(t.events, HOST);
    assert.equal(predicted(r, 3), '-EBUSY');
    assert.deepEqual(r.vm.vcpus, [{ id: 0, initialised: true, ran: true }, { id: 1, initialised: true, ran: false }]);
  });
  test('a failed KVM_RUN does not freeze the registers (§0.1 item 14)', () => {
    const v = G3.ID_AA64ISAR0_EL1!;
    const t = new Trace().init(0, ['psci_0_2']).run(0, '-EINVAL').set(0, 'ID_AA64ISAR0_EL1', v & ~0xf0n);
    const r = replay(t.events, HOST);
    assert.equal(predicted(r, 2), '0');
    assert.equal(r.vm.hasRun, false);
    assert.deepEqual(codes(r), ['IDR015'], 'the model expected the run to succeed');
  });
  test('vCPU features must agree (IDR014, 6.5+); power_off is excluded; 6.4 does not check', () => {
    const t = new Trace().init(0, ['psci_0_2', 'pmu_v3']).init(1, ['psci_0_2', 'power_off', 'pmu_v3']).init(2, ['psci_0_2']);
    const r = replay(t.events, HOST);
    const errors = (x: typeof r): string[] => x.findings.filter((f) => f.severity !== 'information').map((f) => f.code);
    assert.deepEqual(errors(r), ['IDR014']);
    assert.equal(predicted(r, 1), '0');
    assert.equal(predicted(r, 2), '-EINVAL');
    assert.equal(r.findings[0]!.related.length, 1);
    assert.equal(r.vm.vcpus.find((v) => v.id === 2)!.initialised, false);
    assert.deepEqual(errors(replay(t.events, { ...HOST, kernel: '6.1' })), []);
  });
  test('init validation: ptrauth pair, unknown features', () => {
    const r = replay(new Trace().init(0, ['ptrauth_address']).init(1, ['warp_drive']).events, HOST);
    assert.equal(predicted(r, 0), '-EINVAL');
    assert.equal(predicted(r, 1), '-ENOENT');
    assert.deepEqual(codes(r), ['IDR014']);
  });
  test('ARM_WRITABLE_IMP_ID_REGS: before vCPUs 0, after a vCPU -EINVAL (§0.1 item 1), unknown before 6.15', () => {
    const ok = replay(new Trace().cap('ARM_WRITABLE_IMP_ID_REGS').init(0, []).set(0, 'MIDR_EL1', G3.MIDR_EL1! + 1n).events, HOST);
    assert.equal(predicted(ok, 0), '0');
    assert.equal(predicted(ok, 2), '0');
    assert.deepEqual(ok.vm.caps, ['ARM_WRITABLE_IMP_ID_REGS']);
    const late = replay(new Trace().init(0, []).cap('KVM_CAP_ARM_WRITABLE_IMP_ID_REGS', '-EINVAL').set(0, 'MIDR_EL1', G3.MIDR_EL1! + 1n).events, HOST);
    assert.equal(predicted(late, 1), '-EINVAL');
    assert.equal(predicted(late, 2), '-EINVAL');
    assert.deepEqual(codes(late), ['IDR011']);
    const old = replay(new Trace().kernel('6.7').cap('ARM_WRITABLE_IMP_ID_REGS').events, HOST);
    assert.equal(predicted(old, 1), '-EINVAL');
  });
});

describe('replay: the host limit and vCPU features', () => {
  test('IDR010 names the field and rule, relates the host line, and offers the lowered value as a fix', () => {
    const bad = G3.ID_AA64ISAR0_EL1! | 0x30n;
    const r = replay(new Trace().init(0, ['psci_0_2']).set(0, 'ID_AA64ISAR0_EL1', bad).events, HOST);
    const f = r.findings[0]!;
    assert.equal(f.code, 'IDR010');
    assert.equal(f.message, 'ID_AA64ISAR0_EL1.AES = 3 exceeds the host limit 2 (unsigned, lower is safe): KVM returns -EINVAL');
    assert.equal(f.register, 'ID_AA64ISAR0_EL1');
    assert.equal(f.field, 'AES');
    assert.equal(f.errno, '-EINVAL');
    assert.deepEqual(f.range, lineRange(1, 21, 39));
    assert.equal(f.related[0]!.path, 'g3.json');
    assert.equal(f.fixes![0]!.newText, hex(G3.ID_AA64ISAR0_EL1!));
    assert.deepEqual(f.fixes![0]!.range, lineRange(1, 21, 39));
  });
  test("related location points at the write that set the current value", () => {
    const low = G3.ID_AA64ISAR0_EL1! & ~0xf0n;
    const r = replay(new Trace().init(0, []).set(0, 'ID_AA64ISAR0_EL1', low).run(0).set(0, 'ID_AA64ISAR0_EL1', G3.ID_AA64ISAR0_EL1!).events, HOST);
    const f = r.findings.find((x) => x.code === 'IDR012')!;
    assert.deepEqual(f.related[0]!.range, lineRange(1, 0, 60));
  });
  test('without pmu_v3 PMUVer is limited to 0 even when the dump had a PMU', () => {
    const withPmu = { ...G3, ID_AA64DFR0_EL1: G3.ID_AA64DFR0_EL1! | (6n << 8n) };
    const host = { host: { dump: dump(withPmu, ['psci_0_2', 'pmu_v3']) } };
    const r = replay(new Trace().init(0, ['psci_0_2']).set(0, 'ID_AA64DFR0_EL1', G3.ID_AA64DFR0_EL1! | (1n << 8n)).events, host);
    assert.equal(predicted(r, 1), '-EINVAL');
    assert.equal(r.findings[0]!.field, 'PMUVer');
  });
  test('with pmu_v3 the dump taken without it cannot give the PMUVer limit: an information finding, no guess', () => {
    const r = replay(new Trace().init(0, ['psci_0_2', 'pmu_v3']).set(0, 'ID_AA64DFR0_EL1', G3.ID_AA64DFR0_EL1! | (5n << 8n)).events, HOST);
    assert.ok(r.findings.every((f) => f.severity === 'information'));
    assert.ok(r.findings.some((f) => f.field === 'PMUVer'));
    assert.equal(predicted(r, 1), undefined);
    assert.equal(r.vm.registers.find((x) => x.name === 'ID_AA64DFR0_EL1')!.limit, undefined);
  });
  test('without sve, PFR0.SVE and ZFR0 are 0 (ZFR0 RAZ)', () => {
    const withSve = { ...G3, ID_AA64PFR0_EL1: G3.ID_AA64PFR0_EL1! | (1n << 32n), ID_AA64ZFR0_EL1: 0x1n };
    const host = { host: { dump: dump(withSve, ['sve']) } };
    const r = replay(new Trace().init(0, []).get(0, 'ID_AA64ZFR0_EL1').get(0, 'ID_AA64PFR0_EL1').set(0, 'ID_AA64ZFR0_EL1', 1n).events, host);
    assert.equal(predicted(r, 1), hex(0n));
    assert.equal(predicted(r, 2), hex(G3.ID_AA64PFR0_EL1!));
    assert.equal(predicted(r, 3), '-EINVAL');
  });
  test('AArch32 views on an AArch64-only host: writes ignored, GET still 0', () => {
    const g4 = { ...G3, ID_AA64PFR0_EL1: 0x1101011021111111n, ID_ISAR5_EL1: 0n, ID_PFR0_EL1: 0n, ID_DFR0_EL1: 0n };
    const r = replay(new Trace().init(0, []).set(0, 'ID_ISAR5_EL1', 0x1badc0den).get(0, 'ID_ISAR5_EL1').set(0, 'ID_AFR0_EL1', 0x1badc0den).events, { host: { dump: dump(g4) } });
    assert.equal(predicted(r, 1), '0');
    assert.equal(predicted(r, 2), hex(0n));
    assert.equal(predicted(r, 3), '-EINVAL');
  });
  test('the snapshot lists every per-VM register sorted by encoding, and per-vCPU MPIDR', () => {
    const r = replay(new Trace().init(0, []).init(17, []).events, HOST);
    assert.equal(r.vm.registers.length, 60);
    const keys = r.vm.registers.map((x) => (x.enc.op1 << 12) | (x.enc.crm << 3) | x.enc.op2);
    assert.deepEqual(keys, [...keys].sort((a, b) => a - b));
    const mpidr = r.vm.perVcpu.get(17)!.find((x) => x.name === 'MPIDR_EL1')!;
    assert.equal(mpidr.value, 0x80000101n);
    assert.equal(r.vm.kernel, 'newest');
  });
  test('the kernel line of a trace picks the era; the option wins over it', () => {
    const t = new Trace().kernel('6.1').init(0, []).set(0, 'ID_AA64ISAR0_EL1', G3.ID_AA64ISAR0_EL1! & ~0xf0n);
    assert.equal(predicted(replay(t.events, HOST), 2), '-EINVAL');
    assert.equal(predicted(replay(t.events, { ...HOST, kernel: '6.15' }), 2), '0');
    assert.equal(replay(t.events, HOST).vm.kernel, '6.4');
  });
});

describe('replay: recorded results and the guest view', () => {
  test('IDR015 when the recorded result differs; the state follows what really happened', () => {
    const bad = G3.ID_AA64ISAR0_EL1! | 0x30n;
    const r = replay(new Trace().init(0, []).set(0, 'ID_AA64ISAR0_EL1', bad, '0').get(0, 'ID_AA64ISAR0_EL1').events, HOST);
    assert.deepEqual(codes(r), ['IDR010', 'IDR015']);
    assert.equal(predicted(r, 2), hex(bad));
  });
  test('matching recorded results produce no IDR015', () => {
    const r = replay(new Trace().init(0, [], '0').get(0, 'ID_AA64ISAR0_EL1', G3.ID_AA64ISAR0_EL1!).run(0, '0').set(0, 'ID_AA64ISAR0_EL1', 0n, '-EBUSY').events, HOST);
    assert.deepEqual(codes(r), ['IDR012']);
  });
  test('IDR020: a guest read of another value; first-run GIC changes are tolerated', () => {
    const p = G3.ID_AA64PFR0_EL1!;
    const r = replay(new Trace().init(0, []).run(0).mrs(0, 'ID_AA64PFR0_EL1', p & ~(0xfn << 24n)).mrs(0, 'ID_AA64ISAR0_EL1', 0n).events, HOST);
    assert.deepEqual(codes(r), ['IDR020']);
    assert.equal(r.findings[0]!.register, 'ID_AA64ISAR0_EL1');
  });
  test('IDR021: a guest MSR to an ID register must be UNDEFINED', () => {
    const r = replay(new Trace().msr(0, 'ID_AA64ISAR0_EL1', 0n, 'undef').msr(0, 'ID_AA64ISAR0_EL1', 0n).msr(1, 'ID_AA64PFR0_EL1', 0n, '0').events, HOST);
    assert.deepEqual(codes(r), ['IDR021', 'IDR021']);
    assert.equal(predicted(r, 0), 'undef');
  });
  test('IDR022: two vCPUs observed different values of a VM-wide register (no host needed)', () => {
    const r = replay(new Trace().mrs(0, 'ID_AA64ISAR0_EL1', 0x10n).mrs(1, 'ID_AA64ISAR0_EL1', 0x20n).mrs(2, 'ID_AA64ISAR0_EL1', 0x20n).events);
    assert.deepEqual(codes(r), ['IDR022']);
    assert.equal(r.vm.hasRun, true, 'a guest executing means the VM ran');
  });
  test('guest reads of encodings without a descriptor are predicted UNDEFINED', () => {
    const smidr = { op0: 3, op1: 1, crn: 0, crm: 0, op2: 6 };
    const r = replay(new Trace().mrs(0, smidr, 0n).events);
    assert.equal(predicted(r, 0), 'undef');
    assert.deepEqual(codes(r), ['IDR015']);
  });
});

describe('replay: without a host', () => {
  test('the first GET becomes the reference: non-writable changes are refused, lowering is accepted', () => {
    const v = G3.ID_AA64PFR0_EL1!;
    const t = new Trace().init(0, []).get(0, 'ID_AA64PFR0_EL1', v).set(0, 'ID_AA64PFR0_EL1', v | (1n << 32n)).set(0, 'ID_AA64PFR0_EL1', v & ~(0xfn << 60n));
    const r = replay(t.events);
    assert.deepEqual(codes(r), ['IDR011']);
    assert.equal(predicted(r, 2), '-EINVAL');
    assert.equal(predicted(r, 3), '0');
  });
  test('a GET after a write only tells the non-writable bits: raising a field back is not judged', () => {
    const v = G3.ID_AA64ISAR0_EL1!;
    const t = new Trace().init(0, []).set(0, 'ID_AA64ISAR0_EL1', v & ~0xf0n).get(0, 'ID_AA64ISAR0_EL1', v & ~0xf0n).set(0, 'ID_AA64ISAR0_EL1', v).set(0, 'ID_AA64ISAR0_EL1', v | 0x1n);
    const r = replay(t.events);
    assert.equal(predicted(r, 1), undefined);
    assert.equal(predicted(r, 3), undefined);
    assert.equal(predicted(r, 4), '-EINVAL');
    assert.deepEqual(codes(r), ['IDR011']);
  });
  test('lifecycle rules still apply', () => {
    const r = replay(new Trace().init(0, []).get(0, 'ID_AA64ISAR0_EL1', 5n).run(0).set(0, 'ID_AA64ISAR0_EL1', 4n).set(0, 'ID_AA64ISAR0_EL1', 5n).events);
    assert.equal(predicted(r, 3), '-EBUSY');
    assert.equal(predicted(r, 4), '0');
  });
  test('bad input never throws', () => {
    const events = [
      { kind: 'set', vcpu: 0, reg: { text: '???', range: lineRange(0, 0, 3) }, value: 1n, valueRange: lineRange(0, 4, 5), range: lineRange(0, 0, 5) },
      { kind: 'get', vcpu: -1, reg: { text: 'x', range: lineRange(1, 0, 1), enc: { op0: 9, op1: 9, crn: 99, crm: 99, op2: 9 } }, range: lineRange(1, 0, 1) },
    ] as TraceEvent[];
    assert.doesNotThrow(() => replay(events, { kernel: 'garbage' }));
  });
});

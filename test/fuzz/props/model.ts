// The VM model (src/model/vm.ts, kvm.ts) and what is built on it (src/diff.ts, src/baseline.ts): replay
// never throws; a refused write stays refused and changes nothing; an accepted value is accepted again;
// the host's own values are accepted; a baseline is accepted by every host it was made for; a host can
// always migrate to itself.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { KVM_REGISTERS, type RegisterPolicy } from '../../../src/data/kvm-policy.ts';
import { encodingKey, type DumpEntry, type Encoding, type RegisterDump, type TraceEvent } from '../../../src/model/events.ts';
import type { Range } from '../../../src/findings.ts';
import { u64Arb } from '../arbitraries.ts';
import { assertFinding, lineLengths, stableJson, short } from '../invariants.ts';
import { SEEDS } from '../seeds.ts';
import type { PropertyDef, PropertyGroup } from './types.ts';

type ParseFn = (text: string, path?: string) => { events: TraceEvent[]; dump?: RegisterDump };

const U64 = (1n << 64n) - 1n;
const FEATURES = ['psci_0_2', 'pmu_v3', 'sve', 'ptrauth_address', 'ptrauth_generic', 'has_el2', 'el1_32bit', 'power_off'];
const KERNELS = [undefined, '6.1', '6.4', '6.5', '6.7', '6.10', '6.15', '6.16', 'v5.10.0-rc1', 'garbage'];
const POLICIES = KVM_REGISTERS.filter((p) => p.op0 === 3);

function encOf(p: RegisterPolicy): Encoding {
  return { op0: p.op0, op1: p.op1, crn: p.crn, crm: p.crm, op2: p.op2 };
}

function tuple(e: Encoding): string {
  return `(${e.op0},${e.op1},${e.crn},${e.crm},${e.op2})`;
}

/** A value near `base`: equal, one 4-bit field one step up or down, one bit flipped, random, zero. */
function nearArb(base: bigint): fc.Arbitrary<bigint> {
  return fc.oneof(
    { weight: 3, arbitrary: fc.constant(base) },
    { weight: 3, arbitrary: fc.tuple(fc.integer({ min: 0, max: 15 }), fc.boolean()).map(([f, up]) => {
      const sh = BigInt(f * 4);
      const cur = (base >> sh) & 0xfn;
      const next = up ? (cur === 0xfn ? 0n : cur + 1n) : cur === 0n ? 0xfn : cur - 1n;
      return (base & ~(0xfn << sh)) | (next << sh);
    }) },
    { weight: 1, arbitrary: fc.integer({ min: 0, max: 63 }).map((b) => base ^ (1n << BigInt(b))) },
    { weight: 1, arbitrary: u64Arb },
    { weight: 1, arbitrary: fc.constant(0n) },
  );
}

// ---------------------------------------------------------------------------------------------
// Hosts

let baseHostCache: Map<number, bigint> | undefined;

/** The values of the .iddump seed (a Neoverse V1 host) by encoding key. */
async function baseHost(): Promise<Map<number, bigint>> {
  if (baseHostCache) return baseHostCache;
  const { parseIddump } = (await import('../../../src/formats/iddump.ts')) as { parseIddump: ParseFn };
  const dump = parseIddump(SEEDS.find((s) => s.format === 'iddump')!.text).dump!;
  baseHostCache = new Map(dump.entries.filter((e) => e.reg.enc).map((e) => [encodingKey(e.reg.enc!), e.value]));
  return baseHostCache;
}

function hostValue(base: Map<number, bigint>, p: RegisterPolicy): bigint {
  return base.get(encodingKey(encOf(p))) ?? 0n;
}

/**
 * A host dump: the base host with some registers moved and some left out. A moved value is kept only when it
 * could be a KVM limit at all, i.e. when KVM would accept it written back on itself (no DebugVer below 6 ...).
 */
let possibleLimit: (p: RegisterPolicy, v: bigint, features: string[] | null) => boolean = () => true;

function hostArb(base: Map<number, bigint>): fc.Arbitrary<{ values: [number, bigint][]; features: string[] | null; kernel: string | null }> {
  const regs = POLICIES.filter((p) => base.has(encodingKey(encOf(p))));
  return fc.record({
    values: fc.tuple(...regs.map((p) => fc.option(nearArb(hostValue(base, p)), { freq: 8, nil: undefined }))),
    features: fc.option(fc.subarray(['psci_0_2', 'pmu_v3', 'sve', 'ptrauth_address', 'ptrauth_generic'])),
    kernel: fc.option(fc.constantFrom('6.15', '6.7', '6.4', '6.1')),
  }).map(({ values, features, kernel }) => ({
    values: values.flatMap((v, i) => {
      if (v === undefined) return [];
      const p = regs[i]!;
      const keep = possibleLimit(p, v, features) ? v : possibleLimit(p, hostValue(base, p), features) ? hostValue(base, p) : 0n;
      return [[encodingKey(encOf(p)), keep] as [number, bigint]];
    }),
    features,
    kernel,
  }));
}

const ZERO: Range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

function toDump(h: { values: [number, bigint][]; features: string[] | null; kernel: string | null }): RegisterDump {
  const entries: DumpEntry[] = h.values.map(([key, value]) => {
    const p = POLICIES.find((x) => encodingKey(encOf(x)) === key)!;
    return { reg: { text: p.name, range: ZERO, enc: encOf(p), name: p.name }, value, valueRange: ZERO };
  });
  return { entries, ...(h.features ? { features: h.features } : {}), ...(h.kernel ? { kernel: h.kernel } : {}) };
}

// ---------------------------------------------------------------------------------------------
// Traces that exercise the model: few vCPUs, ID registers, values near the host's.

function traceLineArb(base: Map<number, bigint>): fc.Arbitrary<string> {
  const vcpu = fc.integer({ min: 0, max: 3 });
  const reg = fc.constantFrom(...POLICIES);
  const regText = (p: RegisterPolicy): fc.Arbitrary<string> => fc.constantFrom(p.name.startsWith('S3_') ? p.name : p.name, tuple(encOf(p)));
  const result = (kind: 'status' | 'read'): fc.Arbitrary<string> =>
    fc.oneof(
      { weight: 4, arbitrary: fc.constant('') },
      { weight: 1, arbitrary: fc.constantFrom(' = 0', ' = -EINVAL', ' = -EBUSY', ' = -ENOEXEC', ' = -ENOENT') },
      ...(kind === 'read' ? [{ weight: 2, arbitrary: u64Arb.map((v) => ` = 0x${v.toString(16)}`) }] : []),
    );
  return fc.oneof(
    { weight: 2, arbitrary: fc.tuple(vcpu, fc.subarray(FEATURES), result('status')).map(([v, fs, r]) => `vcpu ${v} init ${fs.join(',')}${r}`) },
    { weight: 6, arbitrary: fc.tuple(vcpu, reg).chain(([v, p]) => fc.tuple(regText(p), nearArb(hostValue(base, p)), result('status')).map(([t, val, r]) => `vcpu ${v} set ${t} 0x${val.toString(16)}${r}`)) },
    { weight: 3, arbitrary: fc.tuple(vcpu, reg).chain(([v, p]) => fc.tuple(regText(p), fc.option(nearArb(hostValue(base, p)))).map(([t, val]) => `vcpu ${v} get ${t}${val === null ? '' : ` = 0x${val.toString(16)}`}`)) },
    { weight: 1, arbitrary: fc.tuple(vcpu, result('status')).map(([v, r]) => `vcpu ${v} run${r}`) },
    { weight: 2, arbitrary: fc.tuple(vcpu, reg).chain(([v, p]) => fc.tuple(regText(p), fc.option(nearArb(hostValue(base, p)))).map(([t, val]) => `vcpu ${v} mrs ${t}${val === null ? '' : ` = 0x${val.toString(16)}`}`)) },
    { weight: 1, arbitrary: fc.tuple(vcpu, reg, fc.constantFrom('', ' = undef', ' = 0')).map(([v, p, r]) => `vcpu ${v} msr ${tuple(encOf(p))} 0x0${r}`) },
    { weight: 1, arbitrary: fc.constantFrom('cap ARM_WRITABLE_IMP_ID_REGS', 'cap ARM_MTE', 'cap ARM_WRITABLE_IMP_ID_REGS = -EINVAL', 'kernel 6.4', 'kernel 6.15') },
    { weight: 1, arbitrary: fc.tuple(vcpu, fc.constantFrom('(3,0,0,4,3)', '(3,0,0,7,7)', 'MIDR_EL1', 'MPIDR_EL1', 'CTR_EL0', 'CLIDR_EL1', 'DCZID_EL0', 'REVIDR_EL1', 'AIDR_EL1', 'S3_1_C0_C0_0', '(3,0,15,2,0)'), u64Arb).map(([v, r, val]) => `vcpu ${v} set ${r} 0x${val.toString(16)}`) },
  );
}

interface ModelCase {
  lines: string[];
  host: { values: [number, bigint][]; features: string[] | null; kernel: string | null } | null;
  kernel: string | undefined;
}

function modelCaseArb(base: Map<number, bigint>, initFirst: boolean): fc.Arbitrary<ModelCase> {
  const init = fc.constantFrom(['vcpu 0 init psci_0_2,pmu_v3', 'vcpu 1 init psci_0_2,pmu_v3'], ['vcpu 0 init'], ['vcpu 0 init psci_0_2,pmu_v3,sve']);
  return fc.record({
    lines: initFirst ? fc.tuple(init, fc.array(traceLineArb(base), { maxLength: 25 })).map(([a, b]) => [...a, ...b]) : fc.array(traceLineArb(base), { maxLength: 25 }),
    host: fc.option(hostArb(base), { freq: 4 }),
    kernel: fc.constantFrom(...KERNELS),
  });
}

// ---------------------------------------------------------------------------------------------

interface Model {
  parseIdtrace: ParseFn;
  replay: (events: TraceEvent[], options?: { kernel?: string; host?: { dump: RegisterDump; path?: string }; path?: string }) => {
    findings: import('../../../src/findings.ts').Finding[];
    vm: { registers: { value?: bigint; unknownMask?: bigint; limit?: bigint }[]; perVcpu: Map<number, unknown[]>; vcpus: { id: number; initialised: boolean; ran: boolean }[]; hasRun: boolean; caps: string[]; features?: string[] };
    predictions: { eventIndex: number; predicted: string }[];
    definitions: { eventIndex: number; setEventIndex?: number }[];
  };
}

function run(m: Model, c: ModelCase): { text: string; events: TraceEvent[]; result: ReturnType<Model['replay']> } {
  const text = c.lines.join('\n') + '\n';
  const events = m.parseIdtrace(text, 'model.idtrace').events;
  const result = m.replay(events, { ...(c.kernel !== undefined ? { kernel: c.kernel } : {}), ...(c.host ? { host: { dump: toDump(c.host), path: '/host.iddump' } } : {}), path: '/model.idtrace' });
  return { text, events, result };
}

function replayCheck(m: Model): (c: ModelCase) => void {
  return (c) => {
    const { text, events, result } = run(m, c);
    const lengths = lineLengths(text);
    result.findings.forEach((f, i) => assertFinding(f, text, lengths, `replay finding ${i}`));
    for (const p of result.predictions) {
      assert.ok(p.eventIndex >= 0 && p.eventIndex < events.length, `prediction for event ${p.eventIndex} of ${events.length}`);
      assert.equal(typeof p.predicted, 'string');
    }
    for (const d of result.definitions) {
      assert.ok(d.eventIndex >= 0 && d.eventIndex < events.length);
      if (d.setEventIndex !== undefined) {
        assert.ok(d.setEventIndex < d.eventIndex, `definition of event ${d.eventIndex} is a later event ${d.setEventIndex}`);
        assert.equal(events[d.setEventIndex]!.kind, 'set', 'a definition that is not a set');
      }
    }
    for (const r of result.vm.registers) {
      if (r.value !== undefined) assert.ok(r.value >= 0n && r.value <= U64, `register value ${r.value}`);
      if (r.limit !== undefined) assert.ok(r.limit >= 0n && r.limit <= U64);
    }
    const again = run(m, c).result;
    assert.equal(stableJson(again.findings), stableJson(result.findings), 'replay is not deterministic');
  };
}

/** What a state comparison looks at: every register of the VM and of each vCPU that existed, and the lifecycle. */
function stateOf(r: ReturnType<Model['replay']>, vcpus?: Set<number>): string {
  const per = [...r.vm.perVcpu.entries()].filter(([id]) => !vcpus || vcpus.has(id));
  return stableJson({ registers: r.vm.registers, perVcpu: per, hasRun: r.vm.hasRun, caps: r.vm.caps, features: r.vm.features, vcpus: r.vm.vcpus.filter((v) => !vcpus || vcpus.has(v.id)) });
}

/** A set the model refuses, repeated: the same errno again, and the VM's state as before the first. */
function refusedSetCheck(m: Model): (c: ModelCase & { set: string }) => void {
  return (c) => {
    const prefix = run(m, c);
    const withSet = run(m, { ...c, lines: [...c.lines, c.set] });
    const twice = run(m, { ...c, lines: [...c.lines, c.set, c.set] });
    const n = prefix.events.length;
    if (withSet.events.length !== n + 1 || withSet.events[n]!.kind !== 'set') return; // the line did not parse as a set
    const first = withSet.result.predictions.find((p) => p.eventIndex === n)?.predicted;
    if (first === undefined || first === '0') return;
    const second = twice.result.predictions.find((p) => p.eventIndex === n + 1)?.predicted;
    assert.equal(second, first, `'${c.set}' was refused with ${first}, then the same write in the same state gives ${second ?? 'no prediction'}`);
    assert.equal(stateOf(twice.result), stateOf(withSet.result), `a second refused '${c.set}' changed the VM's state`);
    const before = new Set(prefix.result.vm.vcpus.map((v) => v.id));
    assert.equal(stateOf(withSet.result, before), stateOf(prefix.result, before), `the refused '${c.set}' (${first}) changed the VM's state`);
  };
}

// ---------------------------------------------------------------------------------------------

type Judge = typeof import('../../../src/model/kvm.ts');

function judgeArgs(p: RegisterPolicy, value: bigint, limit: bigint, kernel: string | undefined, extra: { has32: boolean | undefined; capImp: boolean; features: string[] | null }) {
  return {
    enc: encOf(p),
    value,
    limit,
    ...(kernel !== undefined ? { kernel } : {}),
    ...(extra.has32 !== undefined ? { hostHas32bitEL0: extra.has32 } : {}),
    capWritableImp: extra.capImp,
    ...(extra.features ? { features: extra.features } : {}),
  };
}

export async function modelGroup(): Promise<PropertyGroup> {
  const missing: string[] = [];
  let m: Model | undefined;
  let kvm: Judge | undefined;
  try {
    const vm = (await import('../../../src/model/vm.ts')) as Pick<Model, 'replay'>;
    const idt = (await import('../../../src/formats/idtrace.ts')) as Pick<Model, 'parseIdtrace'>;
    m = { replay: vm.replay, parseIdtrace: idt.parseIdtrace };
  } catch (err) {
    missing.push(`src/model/vm.ts (${(err as Error).message.split('\n')[0]})`);
  }
  try {
    kvm = (await import('../../../src/model/kvm.ts')) as Judge;
  } catch {
    missing.push('src/model/kvm.ts');
  }
  const props: PropertyDef<any>[] = [];
  const base = await baseHost();
  if (kvm) {
    const k = kvm;
    possibleLimit = (p, v, features) => {
      const j = k.judgeUserWrite({ enc: encOf(p), value: v, limit: v, hostHas32bitEL0: true, ...(features ? { features } : {}) });
      return j.errno === '0' || j.errno === 'unknown';
    };
  }
  if (m) {
    const mm = m;
    props.push(
      { name: 'model.replay.trace', runs: 700, arb: modelCaseArb(base, false), check: replayCheck(mm) },
      { name: 'model.replay.initialisedTrace', runs: 700, arb: modelCaseArb(base, true), check: replayCheck(mm) },
      {
        name: 'model.replay.refusedSetIsStable',
        runs: 1000,
        arb: fc.tuple(modelCaseArb(base, true), fc.constantFrom(...POLICIES), fc.integer({ min: 0, max: 1 })).chain(([c, p, v]) =>
          nearArb(hostValue(base, p)).map((val) => ({ ...c, set: `vcpu ${v} set ${p.name.startsWith('S3_') ? tuple(encOf(p)) : p.name} 0x${val.toString(16)}` })),
        ),
        check: refusedSetCheck(mm),
      },
    );
  }
  if (kvm) {
    const k = kvm;
    const extraArb = fc.record({ has32: fc.constantFrom(true, false, undefined), capImp: fc.boolean(), features: fc.option(fc.subarray(FEATURES)) });
    props.push(
      {
        name: 'model.judge.acceptedIsAcceptedAgain',
        runs: 2000,
        arb: fc.tuple(fc.constantFrom(...POLICIES), fc.constantFrom(...KERNELS), extraArb).chain(([p, kernel, extra]) =>
          fc.tuple(fc.constant(p), nearArb(hostValue(base, p)), nearArb(hostValue(base, p)), fc.constant(kernel), fc.constant(extra)),
        ),
        check: ([p, value, limit, kernel, extra]: [RegisterPolicy, bigint, bigint, string | undefined, { has32: boolean | undefined; capImp: boolean; features: string[] | null }]) => {
          const args = judgeArgs(p, value, limit, kernel, extra);
          const j = k.judgeUserWrite(args);
          assert.equal(stableJson(k.judgeUserWrite(args)), stableJson(j), 'judgeUserWrite is not deterministic');
          assert.ok(['0', '-EINVAL', '-EBUSY', '-ENOENT', '-ENOEXEC', '-EPERM', 'unknown'].includes(j.errno), `errno ${j.errno}`);
          if (j.errno !== '0') {
            if (j.errno === '-EINVAL') assert.ok(j.problems.length > 0, `${p.name} = 0x${value.toString(16)} refused without a reason`);
            return;
          }
          assert.ok(j.stored >= 0n && j.stored <= U64);
          if (j.ignored) return;
          const again = k.judgeUserWrite({ ...args, value: j.stored });
          assert.equal(again.errno, '0', `${p.name}: 0x${value.toString(16)} accepted (stored 0x${j.stored.toString(16)}) against limit 0x${limit.toString(16)}, but writing the stored value is ${again.errno}: ${again.problems.map((x) => x.rule).join('; ')}`);
          assert.equal(again.stored, j.stored, `${p.name}: the stored value changes when written again`);
        },
      },
      {
        name: 'model.judge.hostValueAccepted',
        runs: 1,
        weight: 0,
        exhaustive: base.size * KERNELS.length,
        arb: fc.constant(null),
        check: () => {
          for (const kernel of KERNELS) {
            for (const p of POLICIES) {
              if (!base.has(encodingKey(encOf(p)))) continue;
              const h = hostValue(base, p);
              const j = k.judgeUserWrite(judgeArgs(p, h, h, kernel, { has32: (base.get(encodingKey({ op0: 3, op1: 0, crn: 0, crm: 4, op2: 0 }))! & 0xfn) === 2n, capImp: false, features: null }));
              assert.ok(j.errno === '0' || j.errno === 'unknown', `kernel ${kernel}: writing back the host's own ${p.name} = 0x${h.toString(16)} is ${j.errno}: ${j.problems.map((x) => `${x.field ?? ''} ${x.rule}`).join('; ')}`);
            }
          }
        },
      },
    );
  }
  // diff and baseline (src/diff.ts, src/baseline.ts)
  try {
    const diff = (await import('../../../src/diff.ts')) as typeof import('../../../src/diff.ts');
    props.push({
      name: 'model.diff.selfIsCompatible',
      runs: 500,
      arb: fc.tuple(hostArb(base), fc.constantFrom(...KERNELS), fc.boolean()),
      check: ([h, kernel, capImp]: [Parameters<typeof toDump>[0], string | undefined, boolean]) => {
        const d = toDump(h);
        const r = diff.diffDumps(d, d, { ...(kernel !== undefined ? { kernel } : {}), capWritableImp: capImp });
        assert.equal(r.refusals.length, 0, `a host cannot migrate to itself: ${r.refusals.map((x) => `${x.register}.${x.field ?? ''} ${x.rule}`).join('; ')}`);
        assert.ok(r.compatible);
      },
    });
  } catch {
    missing.push('src/diff.ts');
  }
  try {
    const bl = (await import('../../../src/baseline.ts')) as typeof import('../../../src/baseline.ts');
    const diff = (await import('../../../src/diff.ts')) as typeof import('../../../src/diff.ts');
    if (!kvm) throw new Error('no kvm.ts');
    const k = kvm;
    props.push({
      name: 'model.baseline.everyHostAccepts',
      runs: 400,
      arb: fc.tuple(fc.array(hostArb(base), { minLength: 1, maxLength: 4 }), fc.constantFrom(...KERNELS)),
      check: ([hosts, kernel]: [Parameters<typeof toDump>[0][], string | undefined]) => {
        const dumps = hosts.map((h, i) => ({ name: `host${i}`, dump: toDump(h) }));
        const res = bl.computeBaseline(dumps, kernel !== undefined ? { kernel } : {});
        for (const r of res.registers) {
          assert.equal(r.value & ~r.mask, 0n, `${r.name}: value has bits outside the mask`);
          dumps.forEach((h, i) => {
            const entry = h.dump.entries.find((e) => e.reg.enc && encodingKey(e.reg.enc) === encodingKey(r.enc));
            if (!entry) return;
            const written = (entry.value & ~r.mask) | (r.value & r.mask);
            const has32 = diff.hostHas32bitEL0(h.dump);
            const j = k.judgeUserWrite({ enc: r.enc, value: written, limit: entry.value, ...(res.kernel.text ?? h.dump.kernel ? { kernel: (res.kernel.text ?? h.dump.kernel)! } : {}), ...(has32 !== undefined ? { hostHas32bitEL0: has32 } : {}) });
            assert.ok(j.errno === '0' || j.errno === 'unknown', `baseline ${r.name} = 0x${r.value.toString(16)} mask 0x${r.mask.toString(16)} is refused by host${i} (0x${entry.value.toString(16)}): ${j.errno} ${j.problems.map((x) => `${x.field ?? ''} ${x.rule}`).join('; ')}`);
          });
        }
        // The two output formats read back as what was computed.
        const tpl = bl.formatFirecrackerTemplate(res);
        JSON.parse(tpl);
        const dumpText = bl.formatIddump(res);
        assert.ok(!dumpText.includes('undefined'), short(dumpText));
      },
    });
  } catch (err) {
    missing.push(`src/baseline.ts (${(err as Error).message.split('\n')[0]})`);
  }
  return { group: 'model', properties: props, missing };
}

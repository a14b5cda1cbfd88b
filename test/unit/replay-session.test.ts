// The CLI replays a big trace batch by batch (ReplaySession) as it parses it; the editor replays the whole
// event list (replay()). Whatever the batches, the findings, the VM snapshot and (when kept) the predictions
// and definitions must be what replay() gives. Traces: every .idtrace fixture and example, and generated
// traces that read, write, run and re-read the ID registers on several vCPUs, with and without a host.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { parseIdtrace } from '../../src/formats/idtrace.ts';
import { parseIddump } from '../../src/formats/iddump.ts';
import { replay, ReplaySession, type ReplayOptions, type ReplayResult } from '../../src/model/vm.ts';
import type { KernelEvent, TraceEvent } from '../../src/model/events.ts';
import { idtraceFixtures } from '../helpers/fixtures.ts';

const ROOT = join(__dirname, '..', '..');

const FILES = idtraceFixtures();
const HOST_PATH = join(ROOT, 'examples', 'graviton3.iddump');
const HOST_DUMP = parseIddump(readFileSync(HOST_PATH, 'utf8')).dump!;
const HOSTS: (ReplayOptions['host'] | undefined)[] = [undefined, { dump: HOST_DUMP, path: HOST_PATH }];

/** Splits `events` at the sorted `cuts` (indices) and replays the pieces one feed at a time. */
function replayInPieces(events: TraceEvent[], options: ReplayOptions, cuts: number[], keepPerEvent: boolean): ReplayResult {
  const kernelEvent = events.find((e): e is KernelEvent => e.kind === 'kernel');
  const session = new ReplaySession({ ...options, ...(kernelEvent ? { kernelEvent } : {}), keepPerEvent });
  let from = 0;
  for (const cut of [...cuts, events.length]) {
    if (cut < from) continue;
    session.feed(events.slice(from, cut));
    from = cut;
  }
  return session.finish();
}

function check(events: TraceEvent[], options: ReplayOptions, cuts: number[]): void {
  const whole = replay(events, options);
  assert.deepStrictEqual(replayInPieces(events, options, cuts, true), whole);
  const lean = replayInPieces(events, options, cuts, false);
  assert.deepStrictEqual(lean.findings, whole.findings);
  assert.deepStrictEqual(lean.vm, whole.vm);
  assert.deepStrictEqual(lean.predictions, []);
  assert.deepStrictEqual(lean.definitions, []);
}

const cutsArb = (n: number): fc.Arbitrary<number[]> => fc.uniqueArray(fc.nat(n), { maxLength: 10 }).map((a) => a.sort((x, y) => x - y));

// Registers and values that make the model talk: the host's value, a field moved, a bit flipped, anything.
const HOST_VALUES = HOST_DUMP.entries.filter((e) => e.reg.name).map((e) => [e.reg.name!, e.value] as const);
const valueArb = (base: bigint): fc.Arbitrary<bigint> =>
  fc.oneof(
    { weight: 4, arbitrary: fc.constant(base) },
    { weight: 2, arbitrary: fc.nat(15).map((k) => base ^ (1n << BigInt(4 * k))) },
    { weight: 1, arbitrary: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }) },
    { weight: 1, arbitrary: fc.constant(0n) },
  );
const hex = (v: bigint): string => '0x' + v.toString(16).padStart(16, '0');
const lineArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.tuple(fc.nat(3), fc.constantFrom('psci_0_2,pmu_v3', 'pmu_v3,ptrauth_address,ptrauth_generic', '', 'sve', 'ptrauth_address')).map(([v, f]) => `vcpu ${v} init ${f}`) },
  {
    weight: 8,
    arbitrary: fc
      .tuple(fc.nat(3), fc.constantFrom('get', 'mrs', 'mrs', 'set', 'msr'), fc.constantFrom(...HOST_VALUES), fc.boolean())
      .chain(([v, action, [name, base], recorded]) =>
        valueArb(base).map((value) => {
          if (action === 'set') return `vcpu ${v} set ${name} ${hex(value)}${recorded ? ' = 0' : ''}`;
          if (action === 'msr') return `vcpu ${v} msr ${name} ${hex(value)}${recorded ? ' = undef' : ''}`;
          return `vcpu ${v} ${action} ${name}${recorded ? ` = ${hex(value)}` : ''}`;
        }),
      ),
  },
  {
    // Reads of two registers from every vCPU: sometimes they disagree (IDR022 when the model cannot tell who is right).
    weight: 3,
    arbitrary: fc
      .tuple(fc.nat(3), fc.constantFrom('get', 'mrs'), fc.constantFrom(...HOST_VALUES.filter(([n]) => n === 'ID_AA64PFR0_EL1' || n === 'ID_AA64ISAR0_EL1')))
      .chain(([v, action, [name, base]]) => fc.constantFrom(base, base ^ 0x10n).map((value) => `vcpu ${v} ${action} ${name} = ${hex(value)}`)),
  },
  { weight: 1, arbitrary: fc.tuple(fc.nat(3), fc.constantFrom('', ' = 0', ' = -EINVAL')).map(([v, r]) => `vcpu ${v} run${r}`) },
  { weight: 1, arbitrary: fc.constantFrom('cap ARM_WRITABLE_IMP_ID_REGS', 'cap ARM_MTE = -EINVAL', 'kernel 6.4', 'kernel 6.15', 'kernel banana', 'vcpu 0 get MIDR_EL1', 'vcpu 1 mrs (3,0,0,4,3) = 0x0', 'vcpu 2 get S3_0_C0_C7_7') },
);
const traceArb = fc.tuple(fc.array(lineArb, { minLength: 1, maxLength: 60 }), fc.boolean()).map(([lines, initFirst]) =>
  parseIdtrace((initFirst ? 'vcpu 0 init psci_0_2,pmu_v3\nvcpu 1 init psci_0_2,pmu_v3\n' : '') + lines.join('\n')).events,
);

describe('ReplaySession fed in pieces equals replay() of all the events', () => {
  it('fixtures and examples, without and with a host', () => {
    assert.ok(FILES.length >= 20);
    for (const file of FILES) {
      const events = parseIdtrace(readFileSync(file, 'utf8')).events;
      for (const host of HOSTS) {
        const options: ReplayOptions = { path: file, ...(host ? { host } : {}) };
        fc.assert(fc.property(cutsArb(events.length), (cuts) => check(events, options, cuts)), { seed: 20261128, numRuns: 10, examples: [[[]], [[...events.keys()]]] });
      }
    }
  });

  it('generated traces: several vCPUs, writes, runs, disagreeing reads, kernel lines anywhere', () => {
    fc.assert(
      fc.property(
        traceArb.chain((events) => fc.tuple(fc.constant(events), cutsArb(events.length), fc.constantFrom(...HOSTS), fc.constantFrom(undefined, '6.7'))),
        ([events, cuts, host, kernel]) => check(events, { ...(host ? { host } : {}), ...(kernel ? { kernel } : {}) }, cuts),
      ),
      { seed: 0x1d7e6, numRuns: 300 },
    );
  });

  it('event indices continue across feeds', () => {
    const pfr0 = HOST_VALUES.find(([name]) => name === 'ID_AA64PFR0_EL1')![1];
    const events = parseIdtrace(`vcpu 0 init\nvcpu 0 get ID_AA64PFR0_EL1\nvcpu 0 set ID_AA64PFR0_EL1 ${hex(pfr0)}\nvcpu 0 get ID_AA64PFR0_EL1\n`).events;
    const s = new ReplaySession({ host: HOSTS[1]! });
    s.feed(events.slice(0, 2));
    s.feed([]);
    s.feed(events.slice(2));
    const r = s.finish();
    assert.deepEqual(r.predictions.map((p) => p.eventIndex), [0, 1, 2, 3]);
    assert.deepEqual(r.definitions, [{ eventIndex: 1 }, { eventIndex: 3, setEventIndex: 2 }]);
  });

  it("the kernel event given up front sets the rules, and an unknown version is reported on its line", () => {
    const events = parseIdtrace('vcpu 0 init\nkernel 9.x-unknown\n').events;
    const kernelEvent = events[1] as KernelEvent;
    const s = new ReplaySession({ kernelEvent, keepPerEvent: false });
    s.feed(events);
    const r = s.finish();
    assert.deepStrictEqual(r, { ...replay(events), predictions: [], definitions: [] });
    assert.equal(r.findings[0]?.range.start.line, 1);
  });
});

// The native formats (.idtrace, .iddump): what is written is what is read (events, values, exact ranges of
// every token), and each line is read on its own (a line never changes how another line reads).
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { allRegisters } from '../../../src/data/registers.ts';
import { genericName, macroForm, oneRegIdOf, registerName, tupleForm, esrOf, mrsWord, isAllocated } from '../../../src/encoding/forms.ts';
import type { Encoding, Outcome, RegRef, TraceEvent } from '../../../src/model/events.ts';
import type { Finding, Range } from '../../../src/findings.ts';
import { encArb, idEncArb, u64Arb } from '../arbitraries.ts';
import { assertParseResult, stableJson, short } from '../invariants.ts';
import type { PropertyDef, PropertyGroup } from './types.ts';

type ParseFn = (text: string, path?: string) => { events: TraceEvent[]; findings: Finding[]; stats: { lines: number; understood: number; skipped: number }; format: string; dump?: { entries: { reg: RegRef; value: bigint; valueRange: Range }[]; kernel?: string; features?: string[] } };

const FEATURES = ['power_off', 'el1_32bit', 'psci_0_2', 'pmu_v3', 'sve', 'ptrauth_address', 'ptrauth_generic', 'has_el2', 'has_el2_e2h0'];
const ERRNOS: [string, number][] = [['-ENOENT', 2], ['-EINVAL', 22], ['-EBUSY', 16], ['-ENOEXEC', 8], ['-EPERM', 1], ['-EFAULT', 14]];
const IDENT = /^[A-Za-z][A-Za-z0-9_]*$/;

// ---------------------------------------------------------------------------------------------
// Writing tokens

const sepArb = fc.constantFrom(' ', ' ', '  ', '\t', ' \t ');
const caseArb = fc.constantFrom<'same' | 'lower' | 'upper'>('same', 'lower', 'upper');

function recase(t: string, c: 'same' | 'lower' | 'upper'): string {
  return c === 'lower' ? t.toLowerCase() : c === 'upper' ? t.toUpperCase() : t;
}

/** A number as the trace may write it: hex (any case, padded, `_`-grouped), decimal or binary. */
export const numberTextArb = (v: bigint): fc.Arbitrary<string> =>
  fc.tuple(fc.integer({ min: 0, max: 5 }), fc.boolean(), fc.integer({ min: 0, max: 4 })).map(([style, upper, group]) => {
    let digits: string;
    let prefix = '';
    if (style <= 2) {
      digits = v.toString(16);
      if (style === 1) digits = digits.padStart(16, '0');
      if (upper) digits = digits.toUpperCase();
      prefix = '0x';
    } else if (style <= 4) {
      digits = v.toString(10);
    } else {
      digits = v.toString(2);
      prefix = '0b';
    }
    if (group > 0 && digits.length > group) digits = digits.replace(new RegExp(`\\B(?=(.{${group}})+$)`, 'g'), '_');
    return prefix + digits;
  });

/** The register written in one of its forms; every form of one register reads back to its encoding. */
function regFormArb(e: Encoding): fc.Arbitrary<string> {
  const name = isAllocated(e) ? registerName(e) : undefined;
  const named = name !== undefined && IDENT.test(name);
  const id = oneRegIdOf(e);
  const forms: fc.Arbitrary<string>[] = [
    caseArb.map((c) => recase(genericName(e), c)),
    fc.constantFrom(tupleForm(e), tupleForm(e).replace(/,/g, ', '), `( ${e.op0} ,${e.op1},${e.crn} , ${e.crm},${e.op2} )`),
    fc.constant(macroForm(e)),
    fc.constant(`op0:${e.op0} op1:${e.op1} crn:${e.crn} crm:${e.crm} op2:${e.op2}`),
    fc.constantFrom('0x' + id.toString(16), 'id:0x' + id.toString(16), '0x' + id.toString(16).toUpperCase(), `S${e.op0}_${e.op1}_${e.crn}_${e.crm}_${e.op2}`),
    fc.constant(`esr:0x${esrOf(e, { read: true }).toString(16)}`),
  ];
  if (e.op0 !== 0) forms.push(fc.constant(`insn:0x${mrsWord(e, 1).toString(16)}`));
  if (named) {
    forms.push(
      caseArb.map((c) => recase(name, c)),
      fc.constant(`SYS_${name}`),
      fc.constant(`${name}${tupleForm(e)}`),
      fc.constant(`${name}@0x${id.toString(16)}`),
      fc.constant(`${name}@${genericName(e)}`),
    );
  }
  return fc.oneof(...forms);
}

const regArb: fc.Arbitrary<Encoding> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...allRegisters().filter((r) => r.enc.op0 === 3 && r.enc.crn === 0).map((r) => ({ ...r.enc }))) },
  { weight: 1, arbitrary: fc.constantFrom(...allRegisters().map((r) => ({ ...r.enc }))) },
  { weight: 1, arbitrary: idEncArb },
  { weight: 1, arbitrary: encArb },
);

// ---------------------------------------------------------------------------------------------
// Lines of a trace and what each must read as

export interface ExpectedEvent {
  kind: TraceEvent['kind'];
  vcpu?: number;
  enc?: Encoding;
  /** The exact texts of the tokens whose ranges must point at them. */
  regText?: string;
  value?: bigint;
  valueText?: string;
  outcome?: Outcome;
  resultText?: string;
  version?: string;
  path?: string;
  cap?: string;
  features?: string[];
}

export interface TraceLine {
  text: string;
  expected?: ExpectedEvent;
}

type ResultKind = 'status' | 'read' | 'guestRead' | 'guestWrite';

function resultArb(kind: ResultKind): fc.Arbitrary<{ text: string; outcome: Outcome } | undefined> {
  const errno = fc.tuple(fc.constantFrom(...ERRNOS), fc.boolean(), caseArb).map(([[name, n], numeric, c]) => ({ text: numeric ? `-${n}` : recase(name, c === 'upper' ? 'same' : c), outcome: { kind: 'errno', errno: name } as Outcome }));
  const value = u64Arb.chain((v) => numberTextArb(v).map((text) => ({ text, outcome: { kind: 'value', value: v } as Outcome })));
  const ok = fc.constantFrom('0', '0x0', '00').map((text) => ({ text, outcome: { kind: 'ok' } as Outcome }));
  const undef = fc.constantFrom('undef', 'UNDEF', 'Undef').map((text) => ({ text, outcome: { kind: 'undef' } as Outcome }));
  const choices = { status: [ok, errno], read: [value, errno], guestRead: [value, undef], guestWrite: [undef, ok] }[kind];
  return fc.option(fc.oneof(...choices), { nil: undefined, freq: 3 });
}

function assemble(parts: (string | undefined)[], seps: string[]): string {
  let out = '';
  let k = 0;
  for (const p of parts) {
    if (p === undefined) continue;
    out += (out ? seps[k++ % seps.length] : '') + p;
  }
  return out;
}

const decorArb = fc.record({ lead: fc.constantFrom('', '', ' ', '\t', '  '), seps: fc.array(sepArb, { minLength: 1, maxLength: 4 }), comment: fc.constantFrom('', '', '', ' # note', '\t#', ' #= vcpu 9 run') });

function withDecor(parts: (string | undefined)[], result: string | undefined, d: { lead: string; seps: string[]; comment: string }): string {
  const all = result === undefined ? parts : [...parts, '=', result];
  return d.lead + assemble(all, d.seps) + d.comment;
}

const vcpuArb = fc.oneof(fc.integer({ min: 0, max: 7 }), fc.integer({ min: 0, max: 0x7fffffff }));

export const traceLineArb: fc.Arbitrary<TraceLine> = fc.oneof(
  // blank and comment lines
  { weight: 1, arbitrary: fc.constantFrom('', '   ', '# a comment', '\t# vcpu 0 run', '#').map((text): TraceLine => ({ text })) },
  // kernel
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom('6.15', 'v6.1.172-216.329.amzn2023.aarch64', '5.10', '6.4.0-rc1', '7'), decorArb).map(([v, d]): TraceLine => ({
      text: withDecor(['kernel', v], undefined, d),
      expected: { kind: 'kernel', version: v.replace(/^v/, '') },
    })),
  },
  // host
  {
    weight: 1,
    arbitrary: fc.tuple(fc.stringMatching(/^[A-Za-z0-9_.\/-]([A-Za-z0-9_. \/-]{0,20}[A-Za-z0-9_.\/-])?$/), fc.boolean(), decorArb).map(([p, quoted, d]): TraceLine => ({
      text: withDecor(['host', quoted ? `"${p}"` : p], undefined, { ...d, comment: d.comment.startsWith(' #') ? d.comment : '' }),
      expected: { kind: 'host', path: p },
    })),
  },
  // cap
  {
    weight: 1,
    arbitrary: fc.tuple(fc.constantFrom('ARM_WRITABLE_IMP_ID_REGS', 'KVM_CAP_ARM_MTE', 'arm_mte', 'ARM_EL1_32BIT'), resultArb('status'), decorArb).map(([c, r, d]): TraceLine => ({
      text: withDecor(['cap', c], r?.text, d),
      expected: { kind: 'cap', cap: c.toUpperCase().replace(/^KVM_CAP_/, ''), ...(r ? { outcome: r.outcome, resultText: r.text } : {}) },
    })),
  },
  // vcpu N init
  {
    weight: 2,
    arbitrary: fc.tuple(vcpuArb, fc.subarray(FEATURES), caseArb, fc.boolean(), resultArb('status'), decorArb).map(([v, fs, c, prefixed, r, d]): TraceLine => ({
      text: withDecor(['vcpu', String(v), 'init', fs.length ? fs.map((f) => recase(prefixed ? `KVM_ARM_VCPU_${f}` : f, c)).join(',') : undefined], r?.text, d),
      expected: { kind: 'init', vcpu: v, features: fs, ...(r ? { outcome: r.outcome, resultText: r.text } : {}) },
    })),
  },
  // vcpu N run
  {
    weight: 1,
    arbitrary: fc.tuple(vcpuArb, resultArb('status'), decorArb).map(([v, r, d]): TraceLine => ({
      text: withDecor(['vcpu', String(v), 'run'], r?.text, d),
      expected: { kind: 'run', vcpu: v, ...(r ? { outcome: r.outcome, resultText: r.text } : {}) },
    })),
  },
  // vcpu N get/mrs REG
  {
    weight: 4,
    arbitrary: fc.tuple(vcpuArb, fc.constantFrom<'get' | 'mrs'>('get', 'mrs'), regArb, decorArb).chain(([v, action, e, d]) =>
      fc.tuple(regFormArb(e), resultArb(action === 'get' ? 'read' : 'guestRead')).map(([reg, r]): TraceLine => ({
        text: withDecor(['vcpu', String(v), action, reg], r?.text, d),
        expected: { kind: action, vcpu: v, enc: e, regText: reg, ...(r ? { outcome: r.outcome, resultText: r.text } : {}) },
      })),
    ),
  },
  // vcpu N set/msr REG VALUE
  {
    weight: 4,
    arbitrary: fc.tuple(vcpuArb, fc.constantFrom<'set' | 'msr'>('set', 'msr'), regArb, u64Arb, decorArb).chain(([v, action, e, value, d]) =>
      fc.tuple(regFormArb(e), numberTextArb(value), resultArb(action === 'set' ? 'status' : 'guestWrite')).map(([reg, valueText, r]): TraceLine => ({
        text: withDecor(['vcpu', String(v), action, reg, valueText], r?.text, d),
        expected: { kind: action, vcpu: v, enc: e, regText: reg, value, valueText, ...(r ? { outcome: r.outcome, resultText: r.text } : {}) },
      })),
    ),
  },
);

export const traceArb: fc.Arbitrary<{ lines: TraceLine[]; eol: string }> = fc.record({
  lines: fc.array(traceLineArb, { maxLength: 25 }),
  eol: fc.constantFrom('\n', '\n', '\r\n'),
});

function slice(lines: string[], r: Range): string {
  assert.equal(r.start.line, r.end.line, `range spans lines: ${JSON.stringify(r)}`);
  return lines[r.start.line]!.slice(r.start.character, r.end.character);
}

function plain<T>(v: T): T {
  return JSON.parse(stableJson(v)) as T;
}

/** Parses the written trace and compares every event with what was written. */
export function checkTraceRoundTrip(parse: ParseFn, t: { lines: TraceLine[]; eol: string }): void {
  const text = t.lines.map((l) => l.text).join(t.eol) + (t.lines.length ? t.eol : '');
  const res = parse(text, 'rt.idtrace');
  assertParseResult(text, res, `idtrace round trip ${short(text)}`, { skippedHaveFindings: true });
  const syntax = res.findings.filter((f) => f.code === 'IDR001' || f.code === 'IDR004' || f.code === 'IDR003');
  assert.equal(syntax.length, 0, `syntax findings on well-formed lines: ${syntax.map((f) => `line ${f.range.start.line}: ${f.code} ${f.message}`).join('; ')}`);
  const srcLines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  const expected = t.lines.map((l, i) => [i, l.expected] as const).filter(([, e]) => e !== undefined);
  assert.equal(res.events.length, expected.length, `${expected.length} events written, ${res.events.length} read`);
  assert.equal(res.stats.skipped, 0, 'lines skipped');
  expected.forEach(([line, exp], k) => {
    const ev = res.events[k]! as TraceEvent & Record<string, unknown>;
    const what = `line ${line} ${JSON.stringify(t.lines[line]!.text)}`;
    assert.equal(ev.kind, exp!.kind, `${what}: kind`);
    assert.equal(ev.range.start.line, line, `${what}: range line`);
    if (exp!.vcpu !== undefined) assert.equal(ev.vcpu, exp!.vcpu, `${what}: vcpu`);
    if (exp!.version !== undefined) assert.equal(ev.version, exp!.version, `${what}: version`);
    if (exp!.path !== undefined) {
      assert.equal(ev.path, exp!.path, `${what}: host path`);
      assert.equal(slice(srcLines, ev.pathRange as Range), exp!.path, `${what}: host path range`);
    }
    if (exp!.cap !== undefined) assert.equal(ev.cap, exp!.cap, `${what}: cap`);
    if (exp!.features !== undefined) assert.deepEqual(ev.features, exp!.features, `${what}: features`);
    if (exp!.enc !== undefined) {
      const reg = ev.reg as RegRef;
      assert.deepEqual(plain(reg.enc), plain(exp!.enc), `${what}: register encoding`);
      assert.equal(reg.text, exp!.regText, `${what}: register text`);
      assert.equal(slice(srcLines, reg.range), exp!.regText, `${what}: register range`);
      if (isAllocated(exp!.enc)) assert.equal(reg.name, registerName(exp!.enc), `${what}: register name`);
    }
    if (exp!.value !== undefined) {
      assert.equal(ev.value, exp!.value, `${what}: value`);
      assert.equal(slice(srcLines, ev.valueRange as Range), exp!.valueText, `${what}: value range`);
    }
    const result = ev.result as { outcome: Outcome; range: Range } | undefined;
    if (exp!.outcome === undefined) assert.equal(result, undefined, `${what}: a result that was not written`);
    else {
      assert.ok(result, `${what}: result lost`);
      assert.deepEqual(plain(result.outcome), plain(exp!.outcome), `${what}: result`);
      assert.equal(slice(srcLines, result.range), exp!.resultText, `${what}: result range`);
    }
  });
}

/** Each line read alone gives the same events and findings as in the whole file. */
export function checkLineLocal(parse: ParseFn, lines: string[], what: string, entriesOnly: boolean): void {
  const text = lines.join('\n');
  const whole = parse(text);
  const pick = (r: ReturnType<ParseFn>): unknown[] => (entriesOnly ? (r.dump?.entries ?? []) : r.events);
  const wholeItems = pick(whole) as { range?: Range; reg?: RegRef }[];
  const lineOf = (x: { range?: Range; reg?: RegRef }): number => (x.range ?? x.reg!.range).start.line;
  const shift = (v: unknown, line: number): string => stableJson(v).replace(/"line":0\b/g, `"line":${line}`);
  for (let i = 0; i < lines.length; i++) {
    const alone = parse(lines[i]!);
    const mine = wholeItems.filter((x) => lineOf(x) === i);
    const got = (pick(alone) as unknown[]).map((x) => shift(x, i));
    assert.deepEqual(mine.map((x) => stableJson(x)), got, `${what}: line ${i} ${short(lines[i]!)} reads differently inside the file`);
    if (!entriesOnly) {
      const wf = whole.findings.filter((f) => f.range.start.line === i).map((f) => `${f.code} ${f.message}`);
      const af = alone.findings.map((f) => `${f.code} ${f.message}`);
      assert.deepEqual(wf, af, `${what}: line ${i} ${short(lines[i]!)} has other findings inside the file`);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// .iddump

const dumpRegs = allRegisters().filter((r) => IDENT.test(r.name));

export const dumpArb = fc.record({
  regs: fc.uniqueArray(fc.constantFrom(...dumpRegs.map((r) => r.name)), { maxLength: 30 }),
  values: fc.array(u64Arb, { minLength: 30, maxLength: 30 }),
  style: fc.array(fc.record({ sys: fc.boolean(), pad: fc.boolean(), prefix: fc.boolean(), sep: fc.constantFrom('\t', ' ', ':\t', ' \t'), form: fc.constantFrom('name', 'generic', 'kvm') }), { minLength: 30, maxLength: 30 }),
  kernel: fc.option(fc.constantFrom('6.15', '6.1.172-216.amzn2023', 'v6.7')),
  features: fc.option(fc.subarray(FEATURES)),
  eol: fc.constantFrom('\n', '\r\n'),
});

export type DumpSpec = { regs: string[]; values: bigint[]; style: { sys: boolean; pad: boolean; prefix: boolean; sep: string; form: string }[]; kernel: string | null; features: string[] | null; eol: string };

export function checkDumpRoundTrip(parse: ParseFn, d: DumpSpec): void {
  const lines: string[] = [];
  if (d.kernel !== null) lines.push(`# kernel: ${d.kernel}`);
  if (d.features !== null) lines.push(`# features: ${d.features.join(',')}`);
  const exp: { enc: Encoding; value: bigint; name: string; valueText: string; line: number }[] = [];
  d.regs.forEach((rn, k) => {
    const reg = dumpRegs.find((r) => r.name === rn)!;
    const st = d.style[k]!;
    let name = st.form === 'generic' ? genericName(reg.enc) : st.form === 'kvm' ? `S${reg.enc.op0}_${reg.enc.op1}_${reg.enc.crn}_${reg.enc.crm}_${reg.enc.op2}` : st.sys ? `SYS_${reg.name}` : reg.name;
    if (st.pad) name = name.padStart(20);
    const v = d.values[k]!;
    const valueText = (st.prefix ? '0x' : '') + v.toString(16).padStart(16, '0');
    const sep = st.sep.startsWith(':') ? st.sep : ':' + st.sep;
    exp.push({ enc: reg.enc, value: v, name: name.trim(), valueText, line: lines.length });
    lines.push(`${name}${sep}${valueText}`);
  });
  const text = lines.join(d.eol) + d.eol;
  const res = parse(text, 'rt.iddump');
  assertParseResult(text, res, `iddump round trip ${short(text)}`, { skippedHaveFindings: true });
  assert.equal(res.findings.length, 0, `findings on a well-formed dump: ${res.findings.map((f) => `line ${f.range.start.line}: ${f.code} ${f.message}`).join('; ')}`);
  const entries = res.dump?.entries ?? [];
  assert.equal(entries.length, exp.length, 'entries');
  const src = text.split('\n').map((l) => l.replace(/\r$/, ''));
  exp.forEach((x, k) => {
    const e = entries[k]!;
    assert.deepEqual(plain(e.reg.enc), plain(x.enc), `${x.name}: encoding`);
    assert.equal(e.value, x.value, `${x.name}: value ${x.valueText} read as 0x${e.value.toString(16)}`);
    assert.equal(slice(src, e.reg.range), x.name, `${x.name}: name range`);
    assert.equal(slice(src, e.valueRange), x.valueText, `${x.name}: value range`);
    assert.equal(e.reg.range.start.line, x.line);
  });
  if (d.kernel !== null) assert.equal(res.dump?.kernel, d.kernel.replace(/^v/, ''), 'kernel');
  if (d.features !== null) assert.deepEqual(res.dump?.features, d.features, 'features');
}

// ---------------------------------------------------------------------------------------------

export async function nativeGroup(): Promise<PropertyGroup> {
  const props: PropertyDef<any>[] = [];
  const missing: string[] = [];
  let idtrace: ParseFn | undefined;
  let iddump: ParseFn | undefined;
  try {
    idtrace = ((await import('../../../src/formats/idtrace.ts')) as { parseIdtrace: ParseFn }).parseIdtrace;
  } catch {
    missing.push('src/formats/idtrace.ts');
  }
  try {
    iddump = ((await import('../../../src/formats/iddump.ts')) as { parseIddump: ParseFn }).parseIddump;
  } catch {
    missing.push('src/formats/iddump.ts');
  }
  if (idtrace) {
    const p = idtrace;
    props.push(
      { name: 'native.idtrace.roundtrip', runs: 1500, arb: traceArb, check: (t: { lines: TraceLine[]; eol: string }) => checkTraceRoundTrip(p, t) },
      {
        name: 'native.idtrace.lineLocal',
        runs: 600,
        arb: fc.array(fc.oneof(traceLineArb.map((l) => l.text), fc.string({ maxLength: 30 }).map((s) => s.replace(/\n/g, ''))), { maxLength: 12 }),
        check: (lines: string[]) => checkLineLocal(p, lines, 'idtrace', false),
      },
    );
  }
  if (iddump) {
    const p = iddump;
    props.push(
      { name: 'native.iddump.roundtrip', runs: 800, arb: dumpArb, check: (d: DumpSpec) => checkDumpRoundTrip(p, d) },
      {
        name: 'native.iddump.lineLocal',
        runs: 600,
        arb: fc.array(fc.oneof(fc.constantFrom('SYS_ID_AA64PFR0_EL1:\t1101000021111112', 'MIDR_EL1: 0x410fd4f1', '# kernel: 6.15', 'bogus', 'X: 1', 'ID_AA64ISAR0_EL1:'), fc.string({ maxLength: 30 }).map((s) => s.replace(/\n/g, ''))), { maxLength: 10 }),
        check: (lines: string[]) => checkLineLocal(p, lines, 'iddump', true),
      },
    );
  }
  return { group: 'native', properties: props, missing };
}

// Format-specific properties: the tolerant JSON reader agrees with JSON.parse on valid JSON and never
// throws on anything else; a Firecracker template or fingerprint reads back as written; the small helpers
// of the parsers (bitmaps, register expressions, SYSREG_ property names) never throw.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { allRegisters } from '../../../src/data/registers.ts';
import { esrOf, isAllocated, oneRegIdOf, registerName } from '../../../src/encoding/forms.ts';
import type { Encoding, TraceEvent } from '../../../src/model/events.ts';
import { anyTextArb, encArb, idEncArb, mutatedArb, u64Arb } from '../arbitraries.ts';
import { assertParseResult, short, stableJson } from '../invariants.ts';
import { SEEDS } from '../seeds.ts';
import { FORMATS_DIR } from './discover.ts';
import type { PropertyDef, PropertyGroup } from './types.ts';

// The tree-building reader JsonStream is tested against (test/unit/firecracker-stream.test.ts).
type JsonScanMod = typeof import('../../helpers/json-reference.ts');
type JsonValue = import('../../helpers/json-reference.ts').JsonValue;

/** The scanner's tree as plain JSON (last duplicate key wins, as in JSON.parse). */
function toPlain(v: JsonValue): unknown {
  switch (v.kind) {
    case 'object': {
      const o: Record<string, unknown> = {};
      // defineProperty: a "__proto__" member is an own property in JSON.parse's result, not the prototype.
      for (const m of v.members) if (m.value) Object.defineProperty(o, m.key, { value: toPlain(m.value), enumerable: true, writable: true, configurable: true });
      return o;
    }
    case 'array':
      return v.items.map(toPlain);
    case 'string':
      return v.value;
    case 'number':
      return Number(v.raw);
    case 'literal':
      return v.value;
  }
}

function checkNode(v: JsonValue, len: number, depth = 0): void {
  assert.ok(v.start >= 0 && v.start <= v.end && v.end <= len, `node ${v.kind} [${v.start}, ${v.end}) outside [0, ${len}]`);
  if (depth > 300) return;
  if (v.kind === 'object') for (const m of v.members) m.value && checkNode(m.value, len, depth + 1);
  if (v.kind === 'array') for (const i of v.items) checkNode(i, len, depth + 1);
  if (v.kind === 'string') assert.ok(v.contentStart >= v.start && v.contentEnd <= v.end && v.contentStart <= v.contentEnd);
}

function jsonProps(js: JsonScanMod): PropertyDef<any>[] {
  return [
    {
      name: 'json.scan.validJson',
      runs: 1500,
      arb: fc.tuple(fc.json({ maxDepth: 6 }), fc.constantFrom('', ' ', '\n', '\r\n  ', '\t')),
      check: ([json, ws]: [string, string]) => {
        const text = ws + json + ws;
        const s = js.scanJson(text);
        assert.equal(s.errors.length, 0, `errors on valid JSON ${short(text)}: ${s.errors.map((e) => e.message).join('; ')}`);
        assert.equal(s.values.length, 1);
        assert.equal(stableJson(toPlain(s.values[0]!)), stableJson(JSON.parse(text)), `reads ${short(text)} differently from JSON.parse`);
        checkNode(s.values[0]!, text.length);
      },
    },
    {
      name: 'json.scan.anyText',
      runs: 2000,
      arb: fc.tuple(fc.oneof(anyTextArb, mutatedArb(SEEDS.filter((x) => x.text.trimStart().startsWith('{')), 4), fc.json().chain((j) => fc.nat({ max: j.length }).map((n) => j.slice(0, n)))), fc.boolean()),
      check: ([text, multiple]: [string, boolean]) => {
        const s = js.scanJson(text, { multiple });
        for (const v of s.values) checkNode(v, text.length);
        for (const e of s.errors) {
          assert.ok(e.start >= 0 && e.start <= e.end, `error [${e.start}, ${e.end}) ${e.message}`);
          assert.ok(e.end <= text.length || /end of the file|invalid escape/.test(e.message), `error [${e.start}, ${e.end}) past the end of the text (${text.length}): ${e.message}`);
          assert.ok(e.message.length > 0);
        }
        let valid = true;
        try {
          JSON.parse(text);
        } catch {
          valid = false;
        }
        if (valid && text.trim().length > 0) assert.equal(s.errors.length, 0, `valid JSON ${short(text)} has errors: ${s.errors.map((e) => e.message).join('; ')}`);
        if (!valid && !multiple) assert.ok(s.errors.length > 0, `invalid JSON ${short(text)} read without an error`);
      },
    },
    {
      name: 'json.scan.lineIndex',
      runs: 1000,
      arb: anyTextArb,
      check: (text: string) => {
        const li = new js.LineIndex(text);
        const lines = text.split('\n');
        for (let off = 0; off <= text.length; off += Math.max(1, Math.floor(text.length / 13))) {
          const p = li.positionAt(off);
          const before = text.slice(0, off).split('\n');
          assert.equal(p.line, before.length - 1, `positionAt(${off}).line`);
          assert.equal(p.character, before[before.length - 1]!.length, `positionAt(${off}).character`);
          assert.ok(p.character <= lines[p.line]!.length);
        }
      },
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// Firecracker

interface FcEntry {
  id: bigint;
  digits: string;
  width: number;
  value: bigint;
  mask: bigint;
}

const idArb: fc.Arbitrary<{ id: bigint; width: number }> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...allRegisters().filter((r) => r.enc.op0 === 3 && r.enc.crn === 0)).map((r) => ({ id: oneRegIdOf(r.enc), width: 64 })) },
  { weight: 1, arbitrary: encArb.map((e) => ({ id: oneRegIdOf(e), width: 64 })) },
  { weight: 1, arbitrary: fc.constantFrom({ id: 0x60200000001000d4n, width: 32 }, { id: 0x6030000000100040n, width: 64 }, { id: 0x6040000000100054n, width: 128 }, { id: 0x6020000000110002n, width: 32 }, { id: 0x6030000000140001n, width: 64 }, { id: 0x6030000000160003n, width: 64 }) },
);

const entryArb: fc.Arbitrary<FcEntry> = fc.tuple(idArb, fc.array(fc.constantFrom('0', '1', '1', 'x'), { minLength: 1, maxLength: 128 }), fc.boolean(), fc.boolean()).map(([{ id, width }, digs, full, sep]) => {
  // A dump writes all 128 digits; a template fewer, with x digits (kept bits).
  const body = full ? digs.join('').replace(/x/g, '0').padStart(128, '0') : digs.join('');
  let value = 0n;
  let mask = 0n;
  for (const c of body) {
    value = (value << 1n) | (c === '1' ? 1n : 0n);
    mask = (mask << 1n) | (c === 'x' ? 0n : 1n);
  }
  const wm = (1n << BigInt(width)) - 1n;
  // Bits above the register width must be 0 (else IDR004); make them so.
  value &= wm;
  const high = Math.max(0, body.length - width);
  const shown = body.slice(0, high).replace(/1/g, '0') + body.slice(high);
  const withSep = sep ? shown.replace(/(.{8})(?=.)/g, '$1_') : shown;
  return { id, digits: withSep, width, value, mask: mask & wm };
});

function fcDoc(entries: FcEntry[], kind: 'template' | 'fingerprint', eol: string, indent: string): string {
  const mods = entries.map((e) => `${indent}${indent}{ "addr": "0x${e.id.toString(16)}", "bitmap": "0b${e.digits}" }`).join(`,${eol}`);
  const config = `{${eol}${indent}"kvm_capabilities": [],${eol}${indent}"vcpu_features": [],${eol}${indent}"reg_modifiers": [${eol}${mods}${eol}${indent}]${eol}}`;
  if (kind === 'template') return config + eol;
  return `{${eol}${indent}"firecracker_version": "1.16.0-dev",${eol}${indent}"kernel_version": "6.1.0",${eol}${indent}"guest_cpu_config": ${config}${eol}}${eol}`;
}

type FcParse = (text: string, path?: string) => import('../../../src/formats/detect.ts').FormatParseResult;

function firecrackerProps(parse: FcParse, parseBitmap: (t: string, max?: number) => unknown): PropertyDef<any>[] {
  return [
    {
      name: 'firecracker.json.roundtrip',
      runs: 600,
      arb: fc.tuple(fc.uniqueArray(entryArb, { maxLength: 12, selector: (e) => e.id }), fc.constantFrom<'template' | 'fingerprint'>('template', 'fingerprint'), fc.constantFrom('\n', '\r\n'), fc.constantFrom('  ', '\t', '')),
      check: ([entries, kind, eol, indent]: [FcEntry[], 'template' | 'fingerprint', string, string]) => {
        const text = fcDoc(entries, kind, eol, indent);
        const res = parse(text, `${kind}.json`);
        assertParseResult(text, res, `firecracker ${short(text)}`);
        const syntax = res.findings.filter((f) => (f.code === 'IDR001' || f.code === 'IDR004') && f.severity === 'error');
        assert.equal(syntax.length, 0, `syntax findings on a well-formed ${kind}: ${syntax.map((f) => f.message).join('; ')}`);
        const got = res.dump?.entries ?? [];
        assert.equal(got.length, entries.length, 'entries');
        entries.forEach((e, i) => {
          const g = got[i]!;
          const wm = (1n << BigInt(e.width)) - 1n;
          assert.equal(g.oneRegId, e.id, `entry ${i}: addr`);
          assert.equal(g.value, e.value, `entry ${i} 0x${e.id.toString(16)}: value 0x${g.value.toString(16)} for 0x${e.value.toString(16)}`);
          const mask = g.mask ?? wm;
          assert.equal(mask, e.mask, `entry ${i}: mask 0x${mask.toString(16)} for 0x${e.mask.toString(16)}`);
        });
      },
    },
    {
      name: 'firecracker.bitmap.anyText',
      runs: 1500,
      arb: fc.tuple(fc.oneof(anyTextArb, fc.array(fc.constantFrom('0', '1', 'x', 'X', '_', '0b', 'b', ' ', '2'), { maxLength: 200 }).map((a) => a.join(''))), fc.integer({ min: 0, max: 200 })),
      check: ([text, max]: [string, number]) => {
        const r = parseBitmap(text, max) as { value: bigint; mask: bigint; digits: number } | string;
        if (typeof r === 'string') return;
        assert.ok(r.digits <= max && r.digits > 0, `${r.digits} digits accepted with max ${max}`);
        assert.ok(r.value >= 0n && r.value < 1n << BigInt(r.digits), 'value wider than the digits');
        assert.equal(r.value & ~r.mask, 0n, 'value has bits outside the mask');
        const body = text.replace(/^0[bB]/, '').replace(/_/g, '');
        let v = 0n;
        let m = 0n;
        for (const c of body) {
          v = (v << 1n) | (c === '1' ? 1n : 0n);
          m = (m << 1n) | (c === '0' || c === '1' ? 1n : 0n);
        }
        assert.equal(r.value, v, `value of ${short(text)}`);
        assert.equal(r.mask, m, `mask of ${short(text)}`);
      },
    },
  ];
}

// ---------------------------------------------------------------------------------------------
// ftrace: well-formed KVM tracepoint records read back as the accesses they record, without findings.

interface FtAccess {
  vcpu: number;
  enc: Encoding;
  write: boolean;
  pc: bigint;
  rt: number;
  value: bigint | null;
  entry: 'same' | 'plus4';
  unkn: boolean;
}

const COMMS = [(n: number) => `CPU ${n}/KVM`, (n: number) => `kvm-vcpu-${n}`, (n: number) => `fc_vcpu ${n}`];

const ftAccessArb: fc.Arbitrary<FtAccess> = fc.record({
  vcpu: fc.integer({ min: 0, max: 2 }),
  enc: fc.oneof(idEncArb, fc.constantFrom(...allRegisters().filter((r) => r.enc.op0 === 3).map((r) => ({ ...r.enc })))),
  write: fc.boolean(),
  pc: fc.bigInt({ min: 0n, max: (1n << 64n) - 5n }),
  rt: fc.integer({ min: 0, max: 30 }),
  value: fc.option(u64Arb),
  entry: fc.constantFrom<'same' | 'plus4'>('same', 'plus4'),
  unkn: fc.boolean(),
});

/** Which tracepoints were enabled: the same for the whole trace (trace-cmd record -e …). */
interface FtEvents {
  exit: boolean;
  hsr: boolean;
  entry: boolean;
}

function ftraceText(accesses: FtAccess[], comm: number, vcpuIds: number[], eol: string, on: FtEvents): string {
  const lines: string[] = ['# tracer: nop', '#'];
  let t = 0;
  const rec = (a: FtAccess, event: string, payload: string): void => {
    t++;
    const who = `${COMMS[comm]!(vcpuIds[a.vcpu]!)}-${4000 + a.vcpu}`;
    lines.push(`${who.padStart(22)} [00${a.vcpu}] d..1. ${1000 + Math.floor(t / 1000)}.${String(t % 1000000).padStart(6, '0')}: ${event}: ${payload}`);
  };
  const hex16 = (v: bigint): string => v.toString(16).padStart(16, '0');
  for (const a of accesses) {
    const e = a.enc;
    if (on.exit) rec(a, 'kvm_exit', `TRAP: HSR_EC: 0x0018 (SYS64), PC: 0x${hex16(a.pc)}`);
    if (on.hsr) rec(a, 'kvm_handle_sys_reg', `HSR 0x${esrOf(e, { read: !a.write, rt: a.rt }).toString(16).padStart(8, '0')}`);
    const name = !a.unkn && isAllocated(e) && /^[A-Za-z][A-Za-z0-9_]*$/.test(registerName(e)) ? registerName(e) : 'UNKN';
    rec(a, 'kvm_sys_access', `PC: ${a.pc.toString(16)} ${name} (${e.op0},${e.op1},${e.crn},${e.crm},${e.op2}) ${a.write ? 'write' : 'read'}${a.value !== null ? ` 0x${a.value.toString(16)}` : ''}`);
    if (on.entry) rec(a, 'kvm_entry', `PC: 0x${hex16(a.entry === 'same' ? a.pc : a.pc + 4n)}`);
  }
  return lines.join(eol) + eol;
}

type FtraceParse = (text: string, path?: string, options?: { allAccesses?: boolean }) => import('../../../src/formats/detect.ts').FormatParseResult;

function ftraceProps(parse: FtraceParse): PropertyDef<any>[] {
  return [
    {
      name: 'ftrace.records.roundtrip',
      runs: 800,
      arb: fc.tuple(fc.array(ftAccessArb, { maxLength: 20 }), fc.nat({ max: COMMS.length - 1 }), fc.uniqueArray(fc.integer({ min: 0, max: 63 }), { minLength: 3, maxLength: 3 }), fc.constantFrom('\n', '\r\n'), fc.record({ exit: fc.boolean(), hsr: fc.boolean(), entry: fc.boolean() })),
      check: ([accesses, comm, ids, eol, on]: [FtAccess[], number, number[], string, FtEvents]) => {
        const text = ftraceText(accesses, comm, ids, eol, on);
        const res = parse(text, 'trace.txt', { allAccesses: true });
        assertParseResult(text, res, `ftrace ${short(text)}`);
        const bad = res.findings.filter((f) => f.code === 'IDR001' || f.code === 'IDR003' || f.code === 'IDR004');
        assert.equal(bad.length, 0, `findings on well-formed records: ${bad.map((f) => `line ${f.range.start.line}: ${f.code} ${f.message}`).join('; ')}`);
        assert.equal(res.stats.skipped, 0, 'records skipped');
        const evs = res.events.filter((e): e is Extract<TraceEvent, { kind: 'mrs' | 'msr' }> => e.kind === 'mrs' || e.kind === 'msr');
        assert.equal(evs.length, accesses.length, `${accesses.length} accesses written, ${evs.length} read`);
        accesses.forEach((a, i) => {
          const ev = evs[i]!;
          const what = `access ${i} (${a.write ? 'write' : 'read'} of (${a.enc.op0},${a.enc.op1},${a.enc.crn},${a.enc.crm},${a.enc.op2}) on vCPU ${ids[a.vcpu]})`;
          assert.equal(ev.kind, a.write ? 'msr' : 'mrs', `${what}: kind`);
          assert.equal(ev.vcpu, ids[a.vcpu], `${what}: vCPU`);
          assert.deepEqual({ ...ev.reg.enc }, { ...a.enc }, `${what}: encoding`);
          if (a.value !== null) {
            const got = ev.kind === 'msr' ? ev.value : ev.result?.outcome.kind === 'value' ? ev.result.outcome.value : undefined;
            assert.equal(got, a.value, `${what}: value`);
          }
        });
      },
    },
  ];
}

// ---------------------------------------------------------------------------------------------

function helperProp(name: string, fn: (t: string) => unknown, arb: fc.Arbitrary<string>): PropertyDef<string> {
  return {
    name,
    runs: 1000,
    arb,
    check: (t) => {
      const r = fn(t);
      // A bigint wider than 64 bits is fine here: the parser's decodeOneRegId reports it (IDR002).
      if (typeof r === 'bigint') assert.ok(r >= 0n, `${name}(${short(t)}) = ${r}: negative`);
      else if (typeof r === 'string') assert.ok(r.length > 0);
    },
  };
}

export async function formatsGroup(): Promise<PropertyGroup> {
  const props: PropertyDef<any>[] = [];
  const missing: string[] = [];
  try {
    props.push(...jsonProps((await import('../../helpers/json-reference.ts')) as JsonScanMod));
  } catch {
    missing.push('test/helpers/json-reference.ts');
  }
  if (existsSync(join(FORMATS_DIR, 'firecracker.ts'))) {
    const m = (await import('../../../src/formats/firecracker.ts')) as { parseFirecrackerJson: FcParse; parseBitmap: (t: string, max?: number) => unknown };
    props.push(...firecrackerProps(m.parseFirecrackerJson, m.parseBitmap));
  } else missing.push('src/formats/firecracker.ts');
  if (existsSync(join(FORMATS_DIR, 'ftrace.ts'))) {
    const m = (await import('../../../src/formats/ftrace.ts')) as { parseFtrace: FtraceParse };
    props.push(...ftraceProps(m.parseFtrace));
  } else missing.push('src/formats/ftrace.ts');
  if (existsSync(join(FORMATS_DIR, 'getreglist.ts'))) {
    const m = (await import('../../../src/formats/getreglist.ts')) as { evaluateRegisterExpression?: (t: string) => unknown };
    if (m.evaluateRegisterExpression) {
      const words = ['KVM_REG_ARM64', 'KVM_REG_SIZE_U64', 'KVM_REG_SIZE_U32', 'KVM_REG_SIZE_U128', 'KVM_REG_ARM_CORE', 'KVM_REG_ARM_CORE_REG(regs.regs[0])', 'KVM_REG_ARM_CORE_REG(regs.pc)', 'KVM_REG_ARM_DEMUX', 'KVM_REG_ARM_DEMUX_ID_CCSIDR', 'ARM64_SYS_REG(3, 0, 0, 4, 0)', 'KVM_REG_ARM_FW_REG(99999999999999999999)', 'KVM_REG_ARM64_SVE_ZREG(31, 99)', '0x603000000013c020', '99999999999999999999999', '2', '|', ' | ', '(', ')', ','];
      const evaluate = m.evaluateRegisterExpression;
      props.push(helperProp('getreglist.expression.anyText', evaluate, fc.oneof(anyTextArb, fc.array(fc.constantFrom(...words), { maxLength: 8 }).map((a) => a.join(' | ')))));
      // An argument is kept exactly or refused: KVM_REG_ARM_FW_REG(65536) must not become register 0.
      const fields: [string, bigint[]][] = [['KVM_REG_ARM_FW_REG', [0xffffn]], ['KVM_REG_ARM_FW_FEAT_BMAP_REG', [0xffffn]], ['KVM_REG_ARM64_SVE_ZREG', [31n, 31n]], ['KVM_REG_ARM64_SVE_PREG', [15n, 31n]], ['KVM_REG_ARM64_SVE_FFR', [31n]]];
      props.push({
        name: 'getreglist.expression.argumentsFit',
        runs: 800,
        arb: fc.nat({ max: fields.length - 1 }).chain((i) =>
          fc.tuple(fc.constant(i), fc.tuple(...fields[i]![1].map((max) => fc.oneof(fc.bigInt({ min: 0n, max }), fc.bigInt({ min: 0n, max: max * 4n + 3n }), fc.bigInt({ min: 0n, max: 1n << 70n }))))),
        ),
        check: ([i, argv]: [number, bigint[]]) => {
          const [name, maxes] = fields[i]!;
          const r = evaluate(`${name}(${argv.join(', ')})`);
          const fits = argv.every((a, k) => a <= maxes[k]!);
          if (!fits) assert.equal(typeof r, 'string', `${name}(${argv.join(', ')}) is out of range but reads as 0x${typeof r === 'bigint' ? r.toString(16) : r}`);
          else assert.equal(typeof r, 'bigint', `${name}(${argv.join(', ')}) refused: ${String(r)}`);
        },
      });
    }
  }
  if (existsSync(join(FORMATS_DIR, 'qemu.ts'))) {
    const m = (await import('../../../src/formats/qemu.ts')) as { splitSysregProperty?: (t: string) => unknown };
    if (m.splitSysregProperty) props.push(helperProp('qemu.sysregProperty.anyText', m.splitSysregProperty, fc.oneof(anyTextArb, fc.constantFrom('ID_AA64ISAR0_EL1_DP', '_', '__', 'ID_AA64ISAR0_EL1_', '_EL1_DP', 'MIDR_EL1_PartNum'))));
  }
  return { group: 'formats', properties: props, missing };
}

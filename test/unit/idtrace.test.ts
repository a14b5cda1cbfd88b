// The native formats: .idtrace lines → events with exact ranges; .iddump lines → register values.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseIdtrace, parseNumberText, sniffIdtrace, VCPU_FEATURES } from '../../src/formats/idtrace.ts';
import { parseIddump, sniffIddump } from '../../src/formats/iddump.ts';
import type { Range } from '../../src/findings.ts';
import type { TraceEvent } from '../../src/model/events.ts';

function r(line: number, s: number, e: number): Range {
  return { start: { line, character: s }, end: { line, character: e } };
}

/** The range of the first occurrence of `needle` on `line` of `text`. */
function rangeOf(text: string, line: number, needle: string, nth = 0): Range {
  const l = text.split('\n')[line]!;
  let at = -1;
  for (let i = 0; i <= nth; i++) at = l.indexOf(needle, at + 1);
  assert.ok(at >= 0, `'${needle}' not on line ${line}`);
  return r(line, at, at + needle.length);
}

function one(text: string): { event: TraceEvent; codes: string[] } {
  const res = parseIdtrace(text);
  assert.equal(res.events.length, 1, `expected one event from ${JSON.stringify(text)}: ${JSON.stringify(res.findings.map((f) => f.message))}`);
  return { event: res.events[0]!, codes: res.findings.map((f) => f.code) };
}

function codes(text: string): string[] {
  return parseIdtrace(text).findings.map((f) => f.code);
}

describe('idtrace: events', () => {
  it('parses every event kind with exact token ranges', () => {
    const text = [
      'kernel 6.15                                # rules of this KVM version',
      'host graviton3.iddump',
      'cap ARM_WRITABLE_IMP_ID_REGS',
      'vcpu 0 init pmu_v3,psci_0_2',
      'vcpu 0 get ID_AA64PFR0_EL1 = 0x1101001021111111',
      'vcpu 0 set ID_AA64ISAR0_EL1 0x0000100010211110 = 0',
      'vcpu 1 set ID_AA64PFR0_EL1 0x1101001021111112 = -EINVAL',
      'vcpu 0 run',
      'vcpu 1 mrs ID_AA64ISAR0_EL1 = 0x0000100010211110   # a guest read',
      'vcpu 1 msr ID_AA64ISAR0_EL1 0x0 = undef',
      'vcpu 0 set S3_0_C0_C6_0 0x0 = -EBUSY',
    ].join('\n');
    const res = parseIdtrace(text, 'x.idtrace');
    assert.deepEqual(res.findings, []);
    assert.deepEqual(res.stats, { lines: 11, understood: 11, skipped: 0 });
    const [kernel, host, cap, init, get, set, set2, run, mrs, msr, set3] = res.events;
    assert.deepEqual(kernel, { kind: 'kernel', version: '6.15', versionRange: rangeOf(text, 0, '6.15'), range: r(0, 0, 11) });
    assert.deepEqual(host, { kind: 'host', path: 'graviton3.iddump', pathRange: rangeOf(text, 1, 'graviton3.iddump'), range: r(1, 0, 21) });
    assert.deepEqual(cap, { kind: 'cap', cap: 'ARM_WRITABLE_IMP_ID_REGS', capRange: rangeOf(text, 2, 'ARM_WRITABLE_IMP_ID_REGS'), range: r(2, 0, 28) });
    assert.deepEqual(init, { kind: 'init', vcpu: 0, features: ['pmu_v3', 'psci_0_2'], featuresRange: rangeOf(text, 3, 'pmu_v3,psci_0_2'), range: r(3, 0, 27) });
    assert.deepEqual(get, {
      kind: 'get',
      vcpu: 0,
      reg: { text: 'ID_AA64PFR0_EL1', range: rangeOf(text, 4, 'ID_AA64PFR0_EL1'), enc: { op0: 3, op1: 0, crn: 0, crm: 4, op2: 0 }, name: 'ID_AA64PFR0_EL1' },
      range: r(4, 0, 47),
      result: { outcome: { kind: 'value', value: 0x1101001021111111n }, range: rangeOf(text, 4, '0x1101001021111111') },
    });
    assert.equal(set!.kind, 'set');
    if (set!.kind === 'set') {
      assert.equal(set.value, 0x0000100010211110n);
      assert.deepEqual(set.valueRange, rangeOf(text, 5, '0x0000100010211110'));
      assert.deepEqual(set.result, { outcome: { kind: 'ok' }, range: r(5, 49, 50) });
    }
    assert.ok(set2!.kind === 'set' && set2.result?.outcome.kind === 'errno' && set2.result.outcome.errno === '-EINVAL');
    assert.deepEqual(run, { kind: 'run', vcpu: 0, range: r(7, 0, 10) });
    assert.ok(mrs!.kind === 'mrs' && mrs.result?.outcome.kind === 'value' && mrs.result.outcome.value === 0x0000100010211110n);
    assert.deepEqual(mrs!.range, r(8, 0, 48), 'the line range ends before the comment');
    assert.ok(msr!.kind === 'msr' && msr.value === 0n && msr.result?.outcome.kind === 'undef');
    assert.ok(set3!.kind === 'set' && set3.reg.name === 'ID_AA64ISAR0_EL1' && set3.reg.text === 'S3_0_C0_C6_0');
  });

  it('tolerates CRLF, tabs, blank lines, comment-only lines and a missing final newline', () => {
    const text = '# header\r\n\r\n\tvcpu 0 init\t# no features\r\nvcpu 0 get MIDR_EL1 = 0x411fd401\r\n   \r\nvcpu 0 run';
    const res = parseIdtrace(text);
    assert.deepEqual(res.findings, []);
    assert.deepEqual(res.stats, { lines: 6, understood: 6, skipped: 0 });
    assert.equal(res.events.length, 3);
    const init = res.events[0]!;
    assert.ok(init.kind === 'init');
    assert.deepEqual(init.features, []);
    assert.deepEqual(init.range, r(2, 1, 12));
    const get = res.events[1]!;
    assert.ok(get.kind === 'get' && get.result?.outcome.kind === 'value');
    assert.deepEqual(get.result.range, r(3, 22, 32), 'the \\r is not part of the value');
  });

  it('counts a final newline as the end of the last line, not an extra line', () => {
    assert.equal(parseIdtrace('vcpu 0 run\n').stats.lines, 1);
    assert.equal(parseIdtrace('vcpu 0 run\n\n').stats.lines, 2);
    assert.equal(parseIdtrace('').stats.lines, 0);
  });

  it('accepts every encoding form for a register, with the token range covering the whole form', () => {
    const forms = [
      'id_aa64pfr0_el1',
      'SYS_ID_AA64PFR0_EL1',
      'ID_AA64PFR0',
      'S3_0_C0_C4_0',
      'S3_0_0_4_0',
      '(3,0,0,4,0)',
      '(3, 0, 0, 4, 0)',
      'ARM64_SYS_REG(3, 0, 0, 4, 0)',
      'op0:3 op1:0 crn:0 crm:4 op2:0',
      '0x603000000013c020',
      'id:0x603000000013c020',
      'ID_AA64PFR0_EL1(3,0,0,4,0)',
      'ID_AA64PFR0_EL1@0x603000000013c020',
      'ID_AA64PFR0_EL1@S3_0_C0_C4_0',
      'ID_AA64PFR0_EL1(S3_0_C0_C4_0)',
    ];
    for (const form of forms) {
      const text = `vcpu 2 get ${form} = 0x11 # c`;
      const { event, codes } = one(text);
      assert.deepEqual(codes, [], form);
      assert.ok(event.kind === 'get', form);
      assert.deepEqual(event.reg.enc, { op0: 3, op1: 0, crn: 0, crm: 4, op2: 0 }, form);
      assert.equal(event.reg.name, 'ID_AA64PFR0_EL1', form);
      assert.equal(event.reg.text, form);
      assert.deepEqual(event.reg.range, r(0, 11, 11 + form.length), form);
      assert.ok(event.result?.outcome.kind === 'value' && event.result.outcome.value === 0x11n, form);
    }
  });

  it('reads numbers in hex, binary and decimal with _ separators', () => {
    for (const [t, v] of [
      ['0x0000_1000_1021_1110', 0x100010211110n],
      ['0X1F', 31n],
      ['4096', 4096n],
      ['1_000', 1000n],
      ['0b1010', 10n],
      ['0xffffffffffffffff', 0xffffffffffffffffn],
    ] as const) {
      const { event, codes } = one(`vcpu 0 set ID_AA64ISAR0_EL1 ${t}`);
      assert.deepEqual(codes, []);
      assert.ok(event.kind === 'set' && event.value === v, t);
    }
    const opDecimal = one('vcpu 0 set op0:3 op1:0 crn:0 crm:4 op2:0 1 = 0');
    assert.deepEqual(opDecimal.codes, []);
    assert.ok(opDecimal.event.kind === 'set' && opDecimal.event.value === 1n && opDecimal.event.reg.name === 'ID_AA64PFR0_EL1', 'a decimal value after the op-fields form');
    const spaced = one('vcpu 0 get op0: 3 op1: 0 crn: 0 crm: 4 op2: 0 = 0x11');
    assert.ok(spaced.event.kind === 'get' && spaced.event.reg.name === 'ID_AA64PFR0_EL1', 'op-fields with spaces after the colons');
    assert.deepEqual(parseNumberText('0x1__0'), { ok: false, message: "'0x1__0' is not a number: misplaced '_'" });
    assert.equal(parseNumberText('_1').ok, false);
    assert.equal(parseNumberText('1_').ok, false);
    assert.equal(parseNumberText('0x').ok, false);
    assert.equal(parseNumberText('ff', { bareHex: true }).ok, true);
    assert.deepEqual(parseNumberText('0b00000000100001', { bareHex: true }), { ok: true, value: 0x0b00000000100001n }, 'a dump value is hex even when it starts with 0b');
  });

  it('records every result form: 0, each errno by name or number, undef, values', () => {
    for (const e of ['-ENOENT', '-EINVAL', '-EBUSY', '-ENOEXEC', '-EPERM', '-EFAULT']) {
      const { event, codes } = one(`vcpu 0 set ID_AA64ISAR0_EL1 0 = ${e}`);
      assert.deepEqual(codes, []);
      assert.ok(event.kind === 'set' && event.result?.outcome.kind === 'errno' && event.result.outcome.errno === e);
    }
    const numeric = one('vcpu 0 set ID_AA64ISAR0_EL1 0 = -22').event;
    assert.ok(numeric.kind === 'set' && numeric.result?.outcome.kind === 'errno' && numeric.result.outcome.errno === '-EINVAL');
    const lower = one('vcpu 0 run = -ebusy').event;
    assert.ok(lower.kind === 'run' && lower.result?.outcome.kind === 'errno' && lower.result.outcome.errno === '-EBUSY');
    const zeroRead = one('vcpu 0 get ID_AA64ZFR0_EL1 = 0').event;
    assert.ok(zeroRead.kind === 'get' && zeroRead.result?.outcome.kind === 'value' && zeroRead.result.outcome.value === 0n, 'a get records a value');
    const ok = one('cap ARM_WRITABLE_IMP_ID_REGS = 0').event;
    assert.ok(ok.kind === 'cap' && ok.result?.outcome.kind === 'ok');
    const glued = one('vcpu 0 init pmu_v3=-EINVAL').event;
    assert.ok(glued.kind === 'init' && glued.result?.outcome.kind === 'errno', '= needs no spaces');
    const msrOk = one('vcpu 0 msr ID_AA64ISAR0_EL1 = 0').event;
    assert.ok(msrOk.kind === 'msr' && msrOk.value === undefined && msrOk.result?.outcome.kind === 'ok');
  });

  it('rejects a result that does not fit the event (IDR001)', () => {
    assert.deepEqual(codes('vcpu 0 set ID_AA64ISAR0_EL1 0 = 0x5'), ['IDR001']);
    assert.deepEqual(codes('vcpu 0 set ID_AA64ISAR0_EL1 0 = undef'), ['IDR001']);
    assert.deepEqual(codes('vcpu 0 mrs ID_AA64ISAR0_EL1 = -EINVAL'), ['IDR001']);
    assert.deepEqual(codes('vcpu 0 run = -ENOSPC'), ['IDR001']);
    assert.deepEqual(codes('vcpu 0 run = -99'), ['IDR001']);
    assert.deepEqual(codes('vcpu 0 run ='), ['IDR001']);
    assert.deepEqual(codes('vcpu 0 run = 0 0'), ['IDR001']);
    assert.deepEqual(codes('vcpu 0 get ID_AA64ISAR0_EL1 = 0x1_0000_0000_0000_0000'), ['IDR004']);
    // The event itself is still understood; only its result is dropped.
    const res = parseIdtrace('vcpu 0 set ID_AA64ISAR0_EL1 0 = 0x5');
    assert.equal(res.events.length, 1);
    assert.equal((res.events[0] as { result?: unknown }).result, undefined);
  });

  it('names the known features for an unknown one, and normalises spellings', () => {
    const res = parseIdtrace('vcpu 0 init PMU_V3, KVM_ARM_VCPU_PSCI_0_2,sve2');
    assert.equal(res.findings.length, 1);
    const f = res.findings[0]!;
    assert.equal(f.code, 'IDR001');
    assert.deepEqual(f.range, r(0, 42, 46));
    for (const name of VCPU_FEATURES) assert.ok(f.message.includes(name), name);
    const init = res.events[0]!;
    assert.ok(init.kind === 'init');
    assert.deepEqual(init.features, ['pmu_v3', 'psci_0_2', 'sve2'], 'an unknown feature stays in the event: KVM answers it with -ENOENT');
  });

  it('reports lines it does not understand with what was expected (IDR001), and counts them skipped', () => {
    const text = 'bogus line\nvcpu\nvcpu zero run\nvcpu 0\nvcpu 0 jump\nvcpu 0 set ID_AA64ISAR0_EL1\nvcpu 0 get\nkernel\nkernel six\nhost\ncap\nkernel 6.15 extra';
    const res = parseIdtrace(text);
    const byLine = res.findings.map((f) => [f.range.start.line, f.code]);
    assert.deepEqual(byLine, [
      [0, 'IDR001'], [1, 'IDR001'], [2, 'IDR001'], [3, 'IDR001'], [4, 'IDR001'], [5, 'IDR001'],
      [6, 'IDR001'], [7, 'IDR001'], [8, 'IDR001'], [9, 'IDR001'], [10, 'IDR001'], [11, 'IDR001'],
    ]);
    assert.match(res.findings[0]!.message, /expected an event \(kernel VER, host PATH, cap NAME, or vcpu N/);
    assert.match(res.findings[4]!.message, /init, get, set, run, mrs or msr/);
    assert.deepEqual(res.stats, { lines: 12, understood: 1, skipped: 11 }, 'only the kernel line with an extra token is still an event');
  });

  it('reports unknown registers (IDR002) but accepts unallocated ID slots, which KVM treats as RAZ', () => {
    const unknown = parseIdtrace('vcpu 0 get ID_AA64PFR9_EL1');
    assert.deepEqual(unknown.findings.map((f) => [f.code, f.range]), [['IDR002', r(0, 11, 26)]]);
    const ev = unknown.events[0]!;
    assert.ok(ev.kind === 'get' && ev.reg.enc === undefined, 'an unknown name has no encoding');

    const raz = parseIdtrace('vcpu 0 set S3_0_C0_C4_3 0 = 0');
    assert.deepEqual(raz.findings, []);
    const razEv = raz.events[0]!;
    assert.ok(razEv.kind === 'set' && razEv.reg.name === undefined);
    assert.deepEqual(razEv.reg.enc, { op0: 3, op1: 0, crn: 0, crm: 4, op2: 3 });

    const outside = parseIdtrace('vcpu 0 get S3_1_C0_C9_0 = -ENOENT');
    assert.deepEqual(outside.findings.map((f) => f.code), ['IDR002']);
    assert.match(outside.findings[0]!.message, /-ENOENT/);
    const outEv = outside.events[0]!;
    assert.ok(outEv.kind === 'get' && outEv.reg.enc !== undefined, 'the encoding is kept so the model can predict -ENOENT');

    assert.deepEqual(codes('vcpu 0 get (3,0,0,4)'), ['IDR001'], 'a malformed tuple is a syntax error');
    assert.deepEqual(codes('vcpu 0 get (9,0,0,4,0)'), ['IDR001']);
  });

  it('reports a name and an encoding that disagree (IDR003) with two fixes that make them agree', () => {
    const text = 'vcpu 1 get ID_AA64PFR0_EL1(3,0,0,4,1) = 0x20';
    const res = parseIdtrace(text);
    assert.equal(res.findings.length, 1);
    const f = res.findings[0]!;
    assert.equal(f.code, 'IDR003');
    assert.deepEqual(f.range, rangeOf(text, 0, 'ID_AA64PFR0_EL1(3,0,0,4,1)'));
    assert.match(f.message, /ID_AA64PFR0_EL1 is \(3,0,0,4,0\), but \(3,0,0,4,1\) is ID_AA64PFR1_EL1/);
    assert.deepEqual(f.fixes, [
      { title: 'Use the name of (3,0,0,4,1): ID_AA64PFR1_EL1', range: rangeOf(text, 0, 'ID_AA64PFR0_EL1'), newText: 'ID_AA64PFR1_EL1' },
      { title: 'Use the encoding of ID_AA64PFR0_EL1: (3,0,0,4,0)', range: rangeOf(text, 0, '(3,0,0,4,1)'), newText: '(3,0,0,4,0)' },
    ]);
    const ev = res.events[0]!;
    assert.ok(ev.kind === 'get' && ev.reg.name === 'ID_AA64PFR1_EL1', 'the encoding wins');

    const at = 'vcpu 0 get ID_AA64PFR0_EL1@0x603000000013c021';
    const f2 = parseIdtrace(at).findings[0]!;
    assert.equal(f2.code, 'IDR003');
    assert.deepEqual(f2.fixes![1], { title: 'Use the encoding of ID_AA64PFR0_EL1: (3,0,0,4,0)', range: rangeOf(at, 0, '0x603000000013c021'), newText: '0x603000000013c020' });

    // Applying either fix leaves a line without findings.
    for (const fix of f.fixes!) {
      const fixed = text.slice(0, fix.range.start.character) + fix.newText + text.slice(fix.range.end.character);
      assert.deepEqual(codes(fixed), [], fixed);
    }
    assert.deepEqual(codes('vcpu 0 get FOO@(3,0,0,4,0)'), ['IDR002']);
  });

  it('reports malformed numbers and values wider than 64 bits (IDR004) on the value', () => {
    const text = 'vcpu 0 set ID_AA64ISAR0_EL1 0x1_0000_0000_0000_0000 = 0';
    const res = parseIdtrace(text);
    assert.deepEqual(res.findings.map((f) => [f.code, f.range]), [['IDR004', rangeOf(text, 0, '0x1_0000_0000_0000_0000')]]);
    assert.match(res.findings[0]!.message, /wider than 64 bits/);
    assert.equal(res.stats.skipped, 1);
    assert.deepEqual(codes('vcpu 0 set ID_AA64ISAR0_EL1 12ab'), ['IDR004']);
    assert.match(parseIdtrace('vcpu 0 set ID_AA64ISAR0_EL1 12ab').findings[0]!.message, /0x prefix/);
    assert.deepEqual(codes('vcpu 0 set ID_AA64ISAR0_EL1 -1'), ['IDR004']);
    assert.deepEqual(codes('vcpu 0 set ID_AA64ISAR0_EL1 0xg'), ['IDR004']);
    assert.deepEqual(codes('vcpu 0 set ID_AA64ISAR0_EL1 value'), ['IDR001']);
    assert.deepEqual(codes('vcpu 99999999999 run'), ['IDR004']);
  });

  it('detects the format from the extension or the first lines', () => {
    assert.equal(sniffIdtrace('', 'a/b.idtrace'), 1);
    assert.ok(sniffIdtrace('# x\nvcpu 0 init\nvcpu 0 run\n') > 0.5);
    assert.ok(sniffIdtrace('{"a": 1}') < 0.3);
    assert.equal(sniffIddump('', 'x.iddump'), 1);
    assert.ok(sniffIddump('SYS_ID_AA64PFR0_EL1:\t1101010021111112\n  SYS_ID_AA64PFR1_EL1:\t0000000000000020\n') > 0.5);
    assert.ok(sniffIddump('vcpu 0 run\n') < 0.3);
  });

  it('never throws, and accounts for every line (property)', () => {
    const piece = fc.constantFrom(
      'vcpu', 'kernel', 'host', 'cap', 'init', 'get', 'set', 'run', 'mrs', 'msr', '0', '1', '=', '#', '(', ')', '@', ',',
      '-EINVAL', 'undef', 'ID_AA64PFR0_EL1', '(3,0,0,4,0)', '0x603000000013c020', 'pmu_v3', ' ', '\t', '\n', '\r\n', 'op0:3', '0x', '_', 'é',
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(piece, fc.string({ maxLength: 6 })), { maxLength: 40 }), (parts) => {
        const text = parts.join(' ');
        const res = parseIdtrace(text);
        const lines = text.length === 0 ? 0 : text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
        assert.equal(res.stats.lines, lines);
        assert.equal(res.stats.understood + res.stats.skipped, lines);
        for (const f of res.findings) {
          assert.ok(f.range.start.line < Math.max(lines, 1));
          assert.ok(f.range.start.character <= f.range.end.character || f.range.start.line < f.range.end.line);
        }
        const dump = parseIddump(text);
        assert.equal(dump.stats.understood + dump.stats.skipped, dump.stats.lines);
      }),
      { numRuns: 400 },
    );
  });
});

describe('iddump', () => {
  it('reads the kernel debugfs format: right-aligned names, SYS_ prefix optional, tab, 16 hex digits', () => {
    const text = [
      '# kernel: 6.15',
      '# features: psci_0_2,pmu_v3',
      ' SYS_ID_AA64PFR0_EL1:\t1101010021111112',
      '    ID_AA64ISAR0_EL1:\t0000100010211110   # trailing comment',
      '          S3_0_0_4_3:\t0000000000000000',
      'ID_AA64DFR0_EL1:  0x000000f010305006',
    ].join('\r\n');
    const res = parseIddump(text, 'host.iddump');
    assert.deepEqual(res.findings, []);
    assert.deepEqual(res.stats, { lines: 6, understood: 6, skipped: 0 });
    const dump = res.dump!;
    assert.equal(dump.kernel, '6.15');
    assert.deepEqual(dump.features, ['psci_0_2', 'pmu_v3']);
    assert.deepEqual(
      dump.entries.map((e) => [e.reg.name ?? e.reg.text, e.value]),
      [
        ['ID_AA64PFR0_EL1', 0x1101010021111112n],
        ['ID_AA64ISAR0_EL1', 0x0000100010211110n],
        ['S3_0_0_4_3', 0n],
        ['ID_AA64DFR0_EL1', 0x000000f010305006n],
      ],
    );
    assert.deepEqual(dump.entries[0]!.reg.range, r(2, 1, 20));
    assert.deepEqual(dump.entries[0]!.valueRange, r(2, 22, 38));
    assert.deepEqual(dump.entries[2]!.reg.enc, { op0: 3, op1: 0, crn: 0, crm: 4, op2: 3 });
  });

  it('reports bad lines, unknown names, wide values and duplicates', () => {
    const text = 'garbage\nFOO_EL9:\t0\nID_AA64PFR0_EL1:\t11010100211111120\nID_AA64PFR0_EL1:\txyz\nID_AA64PFR0_EL1:\t1\nID_AA64PFR0_EL1:\t2\nID_AA64PFR1_EL1:\n# features: pmu_v3,warp_drive';
    const res = parseIddump(text);
    assert.deepEqual(
      res.findings.map((f) => [f.range.start.line, f.code]),
      [[0, 'IDR001'], [1, 'IDR002'], [2, 'IDR004'], [3, 'IDR004'], [5, 'IDR001'], [6, 'IDR001'], [7, 'IDR001']],
    );
    assert.deepEqual(res.findings[4]!.related.map((x) => x.range.start.line), [4]);
    assert.deepEqual(res.stats, { lines: 8, understood: 3, skipped: 5 });
    assert.deepEqual(res.dump!.features, ['pmu_v3']);
    const last = res.findings[6]!;
    assert.deepEqual(last.range, rangeOf(text, 7, 'warp_drive'));
  });
});

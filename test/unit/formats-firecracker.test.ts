// Firecracker fingerprints, template dumps, custom templates and error logs (formats.md §1), and the
// tolerant JSON reader they rely on.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseBitmap, parseFirecrackerJson, parseFirecrackerLog, sniffFirecrackerJson, sniffFirecrackerLog } from '../../src/formats/firecracker.ts';
import { LineIndex } from '../../src/formats/json-scan.ts';
import { scanJson, member } from '../helpers/json-reference.ts';
import { judgeAgainstHost, parseAny } from '../../src/formats/detect.ts';

const DIR = join(__dirname, '../fixtures/formats/firecracker');
const read = (name: string): string => readFileSync(join(DIR, name), 'utf8');

describe('json-scan', () => {
  it('reads JSON with positions', () => {
    const s = scanJson('{\n  "a": [1, "x\\"y", true, null],\n  "b": {"c": -2.5e3}\n}');
    assert.deepEqual(s.errors, []);
    const a = member(s.values[0], 'a');
    assert.equal(a?.kind, 'array');
    const str = a!.kind === 'array' ? a!.items[1]! : undefined;
    assert.equal(str?.kind === 'string' ? str.value : undefined, 'x"y');
    assert.equal(member(member(s.values[0], 'b'), 'c')?.kind, 'number');
  });

  it('names what it expected and recovers from a missing comma, a trailing comma and a truncated file', () => {
    const missing = scanJson('{"a": 1\n "b": 2}');
    assert.equal(missing.errors.length, 1);
    assert.match(missing.errors[0]!.message, /expected ',' between members \(missing comma after "a"\)/);
    assert.equal(member(missing.values[0], 'b')?.kind, 'number');
    assert.match(scanJson('[1, 2,]').errors[0]!.message, /trailing comma/);
    const cut = scanJson('{"a": [1, 2');
    assert.match(cut.errors.at(-1)!.message, /file ends here/);
    assert.match(scanJson('').errors[0]!.message, /empty/);
    assert.match(scanJson('{"a": 0x10}').errors[0]!.message, /malformed number '0x10'/);
    assert.match(scanJson('{"a": "x\n"}').errors[0]!.message, /unterminated string/);
    assert.match(scanJson("{'a': 1}").errors[0]!.message, /double quotes/);
  });

  it('reads a sequence of values when asked (QMP transcripts)', () => {
    assert.equal(scanJson('{}\n{}', { multiple: true }).values.length, 2);
    assert.match(scanJson('{}\n{}').errors[0]!.message, /after the end/);
  });

  it('never throws and terminates on hostile input', () => {
    for (const t of ['{{{{', ']]]]', '{"a":', '[' .repeat(1000), '"\\u12', '{"a" 1 "b" 2}', '/* x', '{,}', ':::']) scanJson(t);
  });

  it('maps offsets to 0-based lines and characters', () => {
    const idx = new LineIndex('ab\r\ncd\nef');
    assert.deepEqual(idx.positionAt(5), { line: 1, character: 1 });
    assert.equal(idx.lineCount, 3);
    assert.equal(idx.lineEnd(0), 2);
    assert.equal(new LineIndex('x\n').lineCount, 1);
  });
});

describe('Firecracker bitmaps', () => {
  it('reads 0/1/x right-aligned, with _ separators and an optional 0b', () => {
    assert.deepEqual(parseBitmap('0b1x0'), { value: 4n, mask: 5n, digits: 3 });
    assert.deepEqual(parseBitmap('1_0'), { value: 2n, mask: 3n, digits: 2 });
    const full = parseBitmap('0b' + '1'.repeat(128));
    assert.equal(typeof full === 'object' && full.value, (1n << 128n) - 1n);
  });

  it('refuses other digits, empty bitmaps and more than 128 digits', () => {
    assert.match(parseBitmap('0b12') as string, /'2' is not a bitmap digit/);
    assert.match(parseBitmap('0b') as string, /no digits/);
    assert.match(parseBitmap('0b' + '0'.repeat(129)) as string, /129 digits/);
    assert.match(parseBitmap('0b' + '0'.repeat(33), 32) as string, /at most 32/);
  });
});

describe('Firecracker fingerprint', () => {
  const r = parseFirecrackerJson(read('host-a.fingerprint.json'));

  it('is a host dump with the host kernel', () => {
    assert.equal(r.format, 'firecracker-fingerprint');
    assert.deepEqual(r.findings, []);
    assert.equal(r.dump?.isTemplate, undefined);
    assert.equal(r.dump?.kernel, '6.15.2-test.aarch64');
    assert.equal(r.stats.skipped, 0);
  });

  it('decodes every one-reg group, keeping the register width from the id', () => {
    const byName = new Map(r.dump!.entries.map((e) => [e.reg.name, e]));
    const midr = byName.get('MIDR_EL1')!;
    assert.equal(midr.value, 0x410fd4f1n);
    assert.equal(midr.oneRegId, 0x603000000013c000n);
    assert.deepEqual(midr.reg.enc, { op0: 3, op1: 0, crn: 0, crm: 0, op2: 0 });
    assert.equal(midr.mask, undefined);
    assert.equal(byName.get('fp_regs.fpsr')!.width, 32);
    assert.equal(byName.get('CCSIDR[0]')!.value, 0x701fe01an);
    assert.equal(byName.get('fp_regs.vregs[0]')!.width, 128);
    assert.equal(byName.get('KVM_REG_ARM_VENDOR_HYP_BMAP')!.value, 3n);
    assert.equal(byName.get('fp_regs.fpsr')!.reg.enc, undefined);
  });

  it('places the value range on the bitmap text', () => {
    const midr = r.dump!.entries.find((e) => e.reg.name === 'MIDR_EL1')!;
    const line = read('host-a.fingerprint.json').split('\n')[midr.valueRange.start.line]!;
    assert.equal(line.slice(midr.valueRange.start.character, midr.valueRange.start.character + 2), '0b');
    assert.equal(midr.valueRange.end.character - midr.valueRange.start.character, 130);
  });
});

describe('Firecracker template dump and custom templates', () => {
  it('reads a template dump (every bit fixed) as a host dump', () => {
    const r = parseFirecrackerJson(read('template-dump.json'));
    assert.equal(r.format, 'firecracker-template');
    assert.equal(r.dump?.isTemplate, undefined);
    assert.deepEqual(r.findings, []);
    assert.equal(parseAny(read('template-dump.json'), 'cpu_config.json').format, 'firecracker-template');
  });

  it('reads a custom template: x/_ bitmaps of any length, 0x/0b/decimal addresses, vCPU feature edits', () => {
    const r = parseFirecrackerJson(read('custom-template.json'));
    assert.deepEqual(r.findings, []);
    assert.equal(r.dump?.isTemplate, true);
    const [isar0, pfr0, mmfr0] = r.dump!.entries;
    assert.equal(isar0!.reg.name, 'ID_AA64ISAR0_EL1');
    assert.equal(isar0!.mask, 0x00ff000f00000000n);
    assert.equal(isar0!.value, 0n);
    assert.equal(pfr0!.reg.name, 'ID_AA64PFR0_EL1');
    assert.equal(pfr0!.oneRegId, 0x603000000013c020n);
    assert.equal(pfr0!.mask, 0xf0n);
    assert.equal(mmfr0!.reg.name, 'ID_AA64MMFR0_EL1');
    assert.equal(mmfr0!.mask, 0xf0000n);
    assert.equal(mmfr0!.value, 0x10000n);
    assert.deepEqual(r.featureEdits?.set, ['sve']);
  });

  it('judges a template applied to a host: new = (old & ~mask) | value, refused fields named (IDR030)', () => {
    const t = parseFirecrackerJson(read('custom-template.json'));
    const host = parseFirecrackerJson(read('host-a.fingerprint.json')).dump!;
    // Under the host's own kernel (6.15) EL1 = 0 passes; the newest kernels refuse it in a pre-step.
    assert.deepEqual(
      judgeAgainstHost(t, host).filter((x) => x.severity === 'error').map((x) => x.register),
      ['ID_AA64MMFR0_EL1'],
    );
    const f = judgeAgainstHost(t, host, { kernel: 'newest' });
    const errors = f.filter((x) => x.severity === 'error');
    assert.deepEqual(
      errors.map((x) => [x.code, x.register, x.field]),
      [
        ['IDR030', 'ID_AA64PFR0_EL1', 'EL1'],
        ['IDR030', 'ID_AA64MMFR0_EL1', 'BIGENDEL0'],
      ],
    );
    assert.match(errors[0]!.message, /EL1/);
    assert.match(errors[1]!.message, /BIGENDEL0 \[19:16\] = 1, host 0 \(unsigned, lower is safe\)/);
    assert.equal(errors[1]!.errno, '-EINVAL');
  });

  it('reports the missing comma of the published example (IDR001) and still reads the template', () => {
    const r = parseFirecrackerJson(read('missing-comma.json'));
    const e = r.findings.filter((x) => x.code === 'IDR001');
    assert.equal(e.length, 1);
    assert.equal(e[0]!.range.start.line, 3);
    assert.match(e[0]!.message, /missing comma after "vcpu_features"/);
    assert.equal(r.dump!.entries.length, 1);
    assert.equal(r.stats.skipped, 1);
  });

  it('reports a truncated file (IDR001) and keeps the complete entries', () => {
    const r = parseFirecrackerJson(read('truncated.json'));
    assert.ok(r.findings.some((x) => x.code === 'IDR001' && /truncated|file ends/.test(x.message)));
    assert.equal(r.dump!.entries.length, 1);
  });

  it('reports bad bitmaps (IDR004), bad ids (IDR004/IDR002) and missing members (IDR001)', () => {
    const r = parseFirecrackerJson(read('bad-bitmap.json'));
    const got = r.findings.map((x) => [x.code, x.range.start.line]);
    assert.deepEqual(got, [
      ['IDR004', 2],
      ['IDR004', 3],
      ['IDR004', 4],
      ['IDR004', 5],
      ['IDR002', 6],
      ['IDR001', 7],
      ['IDR001', 8],
    ]);
    assert.match(r.findings[1]!.message, /130 digits/);
    assert.match(r.findings[2]!.message, /above bit 31/);
  });
});

describe('Firecracker error log', () => {
  it('names the refused register and KVM answer (IDR030), and explains it against a host', () => {
    const r = parseFirecrackerLog(read('error.log'));
    assert.equal(r.format, 'firecracker-log');
    assert.equal(r.findings.length, 1);
    const f = r.findings[0]!;
    assert.equal(f.code, 'IDR030');
    assert.equal(f.register, 'MIDR_EL1');
    assert.equal(f.errno, '-EINVAL');
    assert.match(f.message, /0x00000000410fd0c0 to MIDR_EL1 .*Invalid argument/);
    assert.equal(r.stats.understood, 3);
    const host = parseFirecrackerJson(read('host-a.fingerprint.json')).dump!;
    const why = judgeAgainstHost(r, host);
    assert.equal(why.length, 1);
    assert.equal(why[0]!.severity, 'information');
    assert.match(why[0]!.message, /MIDR_EL1 is writable only after KVM_ENABLE_CAP/);
    // With the capability the write would pass: the recorded refusal came from elsewhere.
    const ok = judgeAgainstHost(r, host, { capWritableImp: true });
    assert.equal(ok[0]!.code, 'IDR015');
  });

  it('reads the line when a mail or issue wrapped and quoted it', () => {
    const r = parseFirecrackerLog(read('error-wrapped.log'));
    assert.equal(r.findings.length, 1);
    assert.equal(r.findings[0]!.register, 'ID_AA64ISAR0_EL1');
    assert.equal(r.findings[0]!.range.start.line, 1);
    assert.equal(r.findings[0]!.range.end.line, 2);
  });
});

describe('Firecracker detection', () => {
  it('tells fingerprints, templates and logs apart by content', () => {
    assert.deepEqual(sniffFirecrackerJson(read('host-a.fingerprint.json')), { fingerprint: 0.95, template: 0 });
    assert.deepEqual(sniffFirecrackerJson(read('custom-template.json')), { fingerprint: 0, template: 0.95 });
    assert.deepEqual(sniffFirecrackerJson('{}', 'x-fingerprint.json'), { fingerprint: 0.4, template: 0 });
    assert.equal(sniffFirecrackerLog(read('error.log')), 0.9);
    assert.equal(parseAny(read('missing-comma.json'), 'a.json').format, 'firecracker-template');
    assert.equal(parseAny(read('error.log'), 'x.log').format, 'firecracker-log');
  });
});

describe('applyTemplate', () => {
  it('gives the values Firecracker writes: new = (old & ~mask) | value', async () => {
    const { applyTemplate } = await import('../../src/formats/firecracker.ts');
    const t = parseFirecrackerJson(read('custom-template.json')).dump!;
    const host = parseFirecrackerJson(read('host-a.fingerprint.json')).dump!;
    const { dump, missing } = applyTemplate(t, host);
    assert.deepEqual(missing, []);
    const isar0 = dump.entries.find((e) => e.reg.name === 'ID_AA64ISAR0_EL1')!;
    assert.equal(isar0.value, 0x0221100110212120n & ~0x00ff000f00000000n);
    assert.equal(isar0.mask, undefined);
    const pfr0 = dump.entries.find((e) => e.reg.name === 'ID_AA64PFR0_EL1')!;
    assert.equal(pfr0.value, 0x1101001121111101n);
  });
});

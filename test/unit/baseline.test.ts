// `idreg baseline`: the richest configuration every host accepts, checked against each host.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { computeBaseline, formatFirecrackerTemplate, formatIddump, templateBitmap } from '../../src/baseline.ts';
import { parseFirecrackerJson } from '../../src/formats/firecracker.ts';
import { judgeAgainstHost, parseAny } from '../../src/formats/detect.ts';
import { runBaseline } from '../../src/cli/baseline.ts';
import { captureIO } from '../helpers/cli-io.ts';
import type { RegisterDump } from '../../src/model/events.ts';

const DIR = join(__dirname, '../fixtures/formats/firecracker');
const load = (name: string): RegisterDump => parseFirecrackerJson(readFileSync(join(DIR, name), 'utf8')).dump!;

const io = () => captureIO(DIR);

describe('computeBaseline', () => {
  const a = load('host-a.fingerprint.json');
  const b = load('host-b.fingerprint.json');
  const r = computeBaseline([
    { name: 'a', dump: a },
    { name: 'b', dump: b },
  ]);

  it('takes the per-policy safest common value of every writable field', () => {
    assert.equal(r.kernel.from, 'dumps');
    const isar0 = r.registers.find((x) => x.name === 'ID_AA64ISAR0_EL1')!;
    // Lower-safe fields take the minimum of the two hosts.
    assert.equal(isar0.value, 0x0000100010211120n & isar0.mask);
    const pfr0 = r.registers.find((x) => x.name === 'ID_AA64PFR0_EL1')!;
    assert.equal((pfr0.value >> 48n) & 0xfn, 0n, 'DIT: a has it, b does not');
    assert.equal((pfr0.value >> 28n) & 0xfn, 1n, 'RAS: min(2, 1)');
    assert.equal(pfr0.mask & (0xfn << 32n), 0n, 'SVE is not writable: left to each host');
  });

  it('leaves CPU identification and per-vCPU registers to each host', () => {
    assert.ok(r.skipped.some((s) => s.name === 'MIDR_EL1'));
    assert.ok(!r.registers.some((x) => x.name === 'MIDR_EL1' || x.name === 'REVIDR_EL1'));
  });

  it('gives a template every host accepts (no IDR030 against either host)', () => {
    const template = formatFirecrackerTemplate(r);
    const parsed = parseAny(template, 'baseline.json');
    assert.equal(parsed.format, 'firecracker-template');
    assert.equal(parsed.dump?.isTemplate, true);
    assert.deepEqual(parsed.findings, []);
    for (const host of [a, b]) assert.deepEqual(judgeAgainstHost(parsed, host).filter((f) => f.severity === 'error'), []);
  });

  it('writes x for bits left to the host, MSB first', () => {
    assert.equal(templateBitmap(0b010n, 0b110n, 4), '0bx01x');
  });

  it('writes an .iddump that reads back', () => {
    const text = formatIddump(r);
    const parsed = parseAny(text, 'baseline.iddump');
    assert.equal(parsed.format, 'iddump');
    assert.equal(parsed.findings.filter((f) => f.severity === 'error').length, 0);
    assert.equal(parsed.dump!.entries.length, r.registers.length);
  });

  it('fixes nothing under invariant (pre-6.5) rules', () => {
    const old = computeBaseline([{ name: 'a', dump: a }, { name: 'b', dump: b }], { kernel: '6.1' });
    assert.equal(old.registers.length, 0);
  });
});

describe('idreg baseline', () => {
  it('prints a Firecracker template on stdout and the summary on stderr', async () => {
    const o = io();
    assert.equal(await runBaseline(['host-a.fingerprint.json', 'host-b.fingerprint.json'], o), 0);
    assert.match(o.out, /"reg_modifiers"/);
    assert.match(o.err, /baseline of 2 hosts/);
    const parsed = parseAny(o.out, 'b.json');
    assert.deepEqual(judgeAgainstHost(parsed, load('host-b.fingerprint.json')).filter((f) => f.severity === 'error'), []);
  });

  it('prints an .iddump with --format iddump', async () => {
    const o = io();
    assert.equal(await runBaseline(['--format', 'iddump', 'host-a.fingerprint.json', 'host-b.fingerprint.json'], o), 0);
    assert.match(o.out, /^# idreg baseline of/);
    assert.match(o.out, /ID_AA64ISAR0_EL1:\t0000100010211120/);
  });

  it('exits 2 for usage errors and unreadable inputs', async () => {
    for (const args of [[], ['--format', 'yaml', 'host-a.fingerprint.json'], ['missing.json'], ['custom-template.json']]) {
      const o = io();
      assert.equal(await runBaseline(args, o), 2, args.join(' '));
    }
  });
});

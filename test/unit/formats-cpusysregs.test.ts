// arm-cpusysregs dumps and feature lists (formats.md §5.3).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseCpusysregs, sniffCpusysregs } from '../../src/formats/cpusysregs.ts';

const DIR = join(__dirname, '../fixtures/formats/cpusysregs');
const read = (name: string): string => readFileSync(join(DIR, name), 'utf8');

describe('arm-cpusysregs', () => {
  it('reads registers from their nibbles; 128-bit keys are read but kept out of the dump', () => {
    const r = parseCpusysregs(read('registers.txt'));
    assert.deepEqual(r.findings, []);
    assert.equal(r.stats.skipped, 0);
    assert.deepEqual(
      r.dump!.entries.map((e) => [e.reg.name, e.value]),
      [
        ['CTR_EL0', 0x8444c004n],
        ['ID_AA64ISAR0_EL1', 0x10211120n],
        ['ID_AA64PFR0_EL1', 0x1101000011001112n],
        ['MIDR_EL1', 0x413fd0c1n],
      ],
    );
  });

  it('reads a feature list (no values)', () => {
    const r = parseCpusysregs(read('features.txt'));
    assert.deepEqual(r.findings, []);
    assert.equal(r.dump, undefined);
    assert.equal(r.stats.understood, 4);
  });

  it('reports a Value line that disagrees with the bits (IDR003) and other lines (IDR001)', () => {
    const r = parseCpusysregs(read('bad.txt'));
    assert.deepEqual(r.findings.map((f) => [f.code, f.range.start.line]), [
      ['IDR003', 2],
      ['IDR001', 3],
    ]);
  });

  it('is detected by its nibble lines or FEAT lines', () => {
    assert.equal(sniffCpusysregs(read('registers.txt')), 0.9);
    assert.equal(sniffCpusysregs(read('features.txt')), 0.9);
  });
});

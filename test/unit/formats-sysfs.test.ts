// sysfs regs/identification (formats.md §5.2).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseSysfs, sniffSysfs } from '../../src/formats/sysfs.ts';
import { parseAny } from '../../src/formats/detect.ts';

const DIR = join(__dirname, '../fixtures/formats/sysfs');
const read = (name: string): string => readFileSync(join(DIR, name), 'utf8');

describe('sysfs identification registers', () => {
  it('reads `grep .` output; the lowest CPU stands for the host, other core types are information', () => {
    const r = parseSysfs(read('grep.txt'));
    assert.deepEqual(
      r.dump!.entries.map((e) => [e.reg.name, e.value]),
      [
        ['MIDR_EL1', 0x410fd871n],
        ['REVIDR_EL1', 0n],
        ['AIDR_EL1', 0n],
      ],
    );
    assert.equal(r.findings.length, 1);
    assert.match(r.findings[0]!.message, /cpu10 has MIDR_EL1 0x00000000410fd851/);
    assert.equal(r.stats.skipped, 0);
  });

  it('reads `head` output and a single file by its path', () => {
    assert.deepEqual(
      parseSysfs(read('head.txt')).dump!.entries.map((e) => [e.reg.name, e.value]),
      [
        ['MIDR_EL1', 0x410fd4f1n],
        ['REVIDR_EL1', 0x17n],
      ],
    );
    const path = join(DIR, 'cpu0/regs/identification/midr_el1');
    const one = parseAny(readFileSync(path, 'utf8'), path);
    assert.equal(one.format, 'sysfs-identification');
    assert.equal(one.dump!.entries[0]!.value, 0x410fd0c1n);
  });

  it('reports malformed values (IDR004), unknown registers (IDR002) and other lines (IDR001)', () => {
    const r = parseSysfs(read('bad.txt'));
    assert.deepEqual(r.findings.map((f) => f.code), ['IDR004', 'IDR002', 'IDR001']);
  });

  it('is detected by its paths', () => {
    assert.equal(sniffSysfs(read('grep.txt')), 0.9);
    assert.equal(sniffSysfs('0x1\n', '/x/midr_el1'), 0.9);
    assert.equal(sniffSysfs('0x1\n', '/x/other'), 0);
  });
});

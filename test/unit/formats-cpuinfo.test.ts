// /proc/cpuinfo (formats.md §5.1) on fixtures written from the kernel's cpuinfo layout.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { midrOf, parseCpuinfo, sniffCpuinfo } from '../../src/formats/cpuinfo.ts';

const DIR = join(__dirname, '../fixtures/formats/cpuinfo');
const read = (name: string): string => readFileSync(join(DIR, name), 'utf8');

describe('/proc/cpuinfo', () => {
  it('builds MIDR_EL1 from the five CPU lines (Architecture is 0xF on arm64)', () => {
    assert.equal(midrOf({ implementer: 0x41, variant: 0, part: 0xd4f, revision: 1 }), 0x410fd4f1n);
    const r = parseCpuinfo(read('server.txt'));
    assert.deepEqual(r.findings, []);
    assert.equal(r.dump!.entries.length, 1);
    const e = r.dump!.entries[0]!;
    assert.equal(e.reg.name, 'MIDR_EL1');
    assert.equal(e.value, 0x410fd4f1n);
    assert.deepEqual([e.valueRange.start.line, e.valueRange.end.line], [3, 7]);
  });

  it('reads old Android kernels (a Processor header, one block of CPU fields)', () => {
    const r = parseCpuinfo(read('android-old.txt'));
    assert.deepEqual(r.findings, []);
    assert.equal(r.dump!.entries[0]!.value, 0x410fd034n);
  });

  it('reports the other core types of a heterogeneous system, with spaces instead of tabs and a pasted prompt', () => {
    const r = parseCpuinfo(read('big-little.txt'));
    assert.equal(r.stats.skipped, 0);
    assert.equal(r.dump!.entries[0]!.value, 0x412fd050n);
    assert.equal(r.findings.length, 1);
    assert.equal(r.findings[0]!.severity, 'information');
    assert.match(r.findings[0]!.message, /CPU 4 is another core type: MIDR_EL1 0x411fd0d0/);
  });

  it('reports malformed fields (IDR004) and lines (IDR001)', () => {
    const r = parseCpuinfo(read('bad.txt'));
    assert.deepEqual(
      r.findings.map((f) => [f.code, f.range.start.line]),
      [
        ['IDR004', 3],
        ['IDR004', 4],
        ['IDR001', 6],
        ['IDR001', 1],
      ],
    );
    assert.equal(r.stats.skipped, 1);
  });

  it('is detected by its CPU lines', () => {
    assert.equal(sniffCpuinfo(read('server.txt')), 0.9);
    assert.equal(sniffCpuinfo('', '/proc/cpuinfo'), 0.4);
  });
});

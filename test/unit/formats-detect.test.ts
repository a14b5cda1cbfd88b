// Format detection over every fixture: content first, the file name only as a fallback.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { detectFormat, parseAny } from '../../src/formats/detect.ts';
import { registeredFormats } from '../../src/check.ts';

const DIR = join(__dirname, '../fixtures/formats');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

const EXPECTED: Record<string, string> = {
  ftrace: 'ftrace',
  'get-reg-list': 'get-reg-list',
  cpuinfo: 'proc-cpuinfo',
  sysfs: 'sysfs-identification',
  cpusysregs: 'cpusysregs',
  reglist: 'register-list',
};

function expectedFormat(rel: string): string {
  const [dir, name] = [rel.split('/')[0]!, rel.split('/').at(-1)!];
  if (dir === 'firecracker') return name.endsWith('.log') ? 'firecracker-log' : name.includes('fingerprint') ? 'firecracker-fingerprint' : 'firecracker-template';
  if (dir === 'qemu') return name === 'qmp.txt' ? 'qemu-qmp' : name === 'trace.txt' ? 'qemu-trace' : 'qemu-log';
  return EXPECTED[dir]!;
}

describe('format detection', () => {
  it('registers every real-world format with the check pipeline', () => {
    for (const id of ['ftrace', 'firecracker-fingerprint', 'firecracker-template', 'firecracker-log', 'get-reg-list', 'proc-cpuinfo', 'sysfs-identification', 'cpusysregs', 'qemu-log', 'qemu-trace', 'qemu-qmp', 'register-list', 'idtrace', 'iddump']) {
      assert.ok(registeredFormats().includes(id as never), id);
    }
  });

  for (const file of files(DIR)) {
    const rel = relative(DIR, file);
    it(`detects ${rel} by content, under any name`, () => {
      const text = readFileSync(file, 'utf8');
      const want = expectedFormat(rel);
      // The sysfs single-value file is the one format whose content needs its path.
      const anon = rel.startsWith('sysfs/cpu0') ? file : 'input.txt';
      assert.equal(detectFormat(text, anon), want);
      const r = parseAny(text, anon);
      assert.equal(r.format, want);
      assert.equal(r.stats.understood + r.stats.skipped, r.stats.lines);
    });
  }

  it('falls back to the file name when the content says nothing', () => {
    assert.equal(detectFormat('', '/proc/cpuinfo'), 'proc-cpuinfo');
    assert.equal(detectFormat('{}', 'graviton-fingerprint.json'), 'firecracker-fingerprint');
    assert.equal(detectFormat('', 'a.idtrace'), 'idtrace');
  });

  it('reports an unknown format once (IDR001) and counts its lines as skipped', () => {
    const r = parseAny('hello\nworld\n', 'notes.txt');
    assert.equal(r.format, 'unknown');
    assert.equal(r.findings.length, 1);
    assert.equal(r.findings[0]!.code, 'IDR001');
    assert.equal(r.stats.skipped, 2);
  });
});

describe('parsers never throw', () => {
  // A small deterministic PRNG keeps failures reproducible.
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const FORMATS = ['ftrace', 'firecracker-fingerprint', 'firecracker-template', 'firecracker-log', 'get-reg-list', 'proc-cpuinfo', 'sysfs-identification', 'cpusysregs', 'qemu-log', 'qemu-trace', 'qemu-qmp', 'register-list'] as const;
  const sources = files(DIR).map((f) => readFileSync(f, 'utf8'));
  const alphabet = ' \t\n\r{}[]():,."\'0x1fFb_-=|>#$/\\SYSREG_ID_AA64PFR0_EL1kvm_sys_access: PC: (3,0,0,4,0) read\u2026';

  it('on truncated, spliced and random input, every line still counted', () => {
    for (let round = 0; round < 300; round++) {
      const base = sources[rnd(sources.length)]!;
      let text: string;
      switch (round % 3) {
        case 0:
          text = base.slice(0, rnd(base.length + 1));
          break;
        case 1: {
          const at = rnd(base.length + 1);
          text = base.slice(0, at) + alphabet[rnd(alphabet.length)]!.repeat(1 + rnd(4)) + base.slice(at + rnd(20));
          break;
        }
        default:
          text = Array.from({ length: rnd(400) }, () => alphabet[rnd(alphabet.length)]).join('');
      }
      for (const format of FORMATS) {
        const r = parseAny(text, 'fuzz.txt', format);
        assert.equal(r.stats.understood + r.stats.skipped, r.stats.lines, `${format} round ${round}`);
        assert.ok(!r.findings.some((f) => /internal error/.test(f.message)), `${format} round ${round}: ${r.findings.map((f) => f.message).join('; ')}`);
      }
    }
  });
});

// The real samples in ../shared/samples (never copied into the project): every file is detected as its
// format and parses without IDR001, except the published Firecracker example that misses a comma.
// The Graviton fingerprints are diffed both ways and given a baseline that every host accepts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { detectFormat, judgeAgainstHost, parseAny } from '../../src/formats/detect.ts';
import { diffDumps } from '../../src/diff.ts';
import { computeBaseline, formatFirecrackerTemplate } from '../../src/baseline.ts';
import type { RegisterDump } from '../../src/model/events.ts';

const repoRoot = resolve(__dirname, '../..');
const SAMPLES = resolve(repoRoot, '../shared/samples');
const present = existsSync(SAMPLES);
const skip = present ? false : `no samples at ${SAMPLES} (they live beside the project in CI)`;

/** Sample folder → the format its files are. */
const FOLDER_FORMAT: Record<string, RegExp> = {
  'firecracker-fingerprint': /^firecracker-fingerprint$/,
  'firecracker-template-dump': /^firecracker-template$/,
  'firecracker-custom-template': /^firecracker-template$/,
  'firecracker-error-log': /^firecracker-log$/,
  'ftrace-kvm': /^ftrace$/,
  qemu: /^qemu-(log|trace|qmp)$/,
  'kvm-selftest-get-reg-list': /^get-reg-list$/,
  'proc-cpuinfo': /^proc-cpuinfo$/,
  'sysfs-identification': /^sysfs-identification$/,
  'arm-cpusysregs': /^cpusysregs$/,
  'bootloader-id-dump': /^register-list$/,
};

const MALFORMED = new Set(['docs-cpu-templates-md_arm-example__missing-comma.json']);

function sampleFiles(): { folder: string; path: string }[] {
  if (!present) return [];
  return readdirSync(SAMPLES)
    .filter((d) => statSync(join(SAMPLES, d)).isDirectory())
    .flatMap((d) => readdirSync(join(SAMPLES, d)).map((f) => ({ folder: d, path: join(SAMPLES, d, f) })))
    .filter((f) => statSync(f.path).isFile());
}

describe('real samples', { skip }, () => {
  for (const { folder, path } of sampleFiles()) {
    const name = basename(path);
    it(`${folder}/${name} is detected and parsed`, () => {
      const text = readFileSync(path, 'utf8');
      const format = detectFormat(text, path);
      const want = FOLDER_FORMAT[folder];
      if (want) assert.match(format, want);
      else assert.notEqual(format, 'unknown');
      const r = parseAny(text, path);
      assert.equal(r.stats.understood + r.stats.skipped, r.stats.lines);
      const syntax = r.findings.filter((f) => f.code === 'IDR001');
      if (MALFORMED.has(name)) assert.ok(syntax.length > 0, 'the published example misses a comma');
      else assert.deepEqual(syntax.map((f) => `${f.range.start.line + 1}: ${f.message}`), []);
    });
  }
});

function graviton(): Map<string, RegisterDump> {
  const out = new Map<string, RegisterDump>();
  const dir = join(SAMPLES, 'firecracker-fingerprint');
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir)) {
    const m = /ARM_NEOVERSE_(N1|V1|V2)/.exec(f);
    if (!m) continue;
    const gen = { N1: 'graviton2', V1: 'graviton3', V2: 'graviton4' }[m[1] as 'N1' | 'V1' | 'V2'];
    if (!out.has(gen)) out.set(gen, parseAny(readFileSync(join(dir, f), 'utf8'), f).dump!);
  }
  return out;
}

describe('Graviton 2/3/4 fingerprints', { skip }, () => {
  const g = graviton();
  const has = g.size === 3;
  const field = (r: ReturnType<typeof diffDumps>): string[] => r.refusals.map((x) => `${x.register}${x.field ? '.' + x.field : ''}`);

  it('are incompatible both ways under their own 6.1 kernel: KVM keeps ID registers invariant there', { skip: !has }, () => {
    for (const [s, d] of [['graviton2', 'graviton3'], ['graviton3', 'graviton2'], ['graviton3', 'graviton4'], ['graviton4', 'graviton3'], ['graviton2', 'graviton4'], ['graviton4', 'graviton2']]) {
      const r = diffDumps(g.get(s!)!, g.get(d!)!);
      assert.equal(r.kernel.era, '6.4', `${s} -> ${d}`);
      assert.equal(r.compatible, false);
      assert.ok(field(r).includes('MIDR_EL1'));
    }
  });

  it('under the newest rules, a newer core refuses less than an older one', { skip: !has }, () => {
    const opts = { kernel: 'newest', capWritableImp: true };
    const up = diffDumps(g.get('graviton2')!, g.get('graviton3')!, opts);
    const down = diffDumps(g.get('graviton3')!, g.get('graviton2')!, opts);
    assert.ok(up.refusals.length < down.refusals.length);
    // Graviton3 (Neoverse V1) has SHA3 and SM3/SM4, Graviton2 (N1) does not.
    assert.ok(field(down).includes('ID_AA64ISAR0_EL1.SHA3'));
    assert.ok(!field(up).includes('ID_AA64ISAR0_EL1.SHA3'));
    // Graviton4 (Neoverse V2) runs no AArch32 at EL0: a Graviton2/3 VM's PFR0.EL0 = 2 is refused there.
    assert.ok(field(diffDumps(g.get('graviton2')!, g.get('graviton4')!, opts)).includes('ID_AA64PFR0_EL1.EL0'));
    assert.ok(field(diffDumps(g.get('graviton3')!, g.get('graviton4')!, opts)).includes('ID_AA64PFR0_EL1.EL0'));
    // … and its SB/SPECRES/FRINTTS are more than Graviton3 offers.
    assert.ok(field(diffDumps(g.get('graviton4')!, g.get('graviton3')!, opts)).includes('ID_AA64ISAR1_EL1.SB'));
  });

  it('get a baseline every one of them accepts', { skip: !has }, () => {
    const hosts = [...g].map(([name, dump]) => ({ name, dump }));
    const r = computeBaseline(hosts, { kernel: 'newest' });
    assert.ok(r.registers.length > 10);
    const template = parseAny(formatFirecrackerTemplate(r), 'baseline.json');
    assert.deepEqual(template.findings, []);
    for (const h of hosts) {
      const refused = judgeAgainstHost(template, h.dump, { kernel: 'newest' }).filter((f) => f.severity === 'error');
      assert.deepEqual(refused.map((f) => f.message), [], h.name);
    }
    // Under their own 6.1 kernels nothing can be changed.
    assert.equal(computeBaseline(hosts).registers.length, 0);
  });
});

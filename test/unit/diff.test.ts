// `idreg diff`: register values of one host judged against another's limits (IDR031).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { diffDumps, diffFindings, judgeWrites } from '../../src/diff.ts';
import { parseFirecrackerJson } from '../../src/formats/firecracker.ts';
import { runDiff } from '../../src/cli/diff.ts';
import { captureIO } from '../helpers/cli-io.ts';

const DIR = join(__dirname, '../fixtures/formats/firecracker');
const load = (name: string) => parseFirecrackerJson(readFileSync(join(DIR, name), 'utf8')).dump!;

const io = () => captureIO(DIR);

describe('diffDumps', () => {
  const a = load('host-a.fingerprint.json');
  const b = load('host-b.fingerprint.json');

  it('lists every field and register the destination refuses (A -> B)', () => {
    const r = diffDumps(a, b);
    assert.equal(r.compatible, false);
    assert.equal(r.kernel.from, 'destination');
    assert.equal(r.kernel.era, '6.15');
    assert.deepEqual(
      r.refusals.map((x) => [x.register, x.field ?? '', x.errno]),
      [
        ['MIDR_EL1', '', '-EINVAL'],
        ['REVIDR_EL1', '', '-EINVAL'],
        ['ID_AA64PFR0_EL1', 'DIT', '-EINVAL'],
        ['ID_AA64PFR0_EL1', 'SEL2', '-EINVAL'],
        ['ID_AA64PFR0_EL1', 'RAS', '-EINVAL'],
        ['ID_AA64PFR0_EL1', 'SVE', '-EINVAL'],
        ['ID_AA64ISAR0_EL1', 'TLB', '-EINVAL'],
        ['ID_AA64ISAR0_EL1', 'TS', '-EINVAL'],
        ['ID_AA64ISAR0_EL1', 'FHM', '-EINVAL'],
        ['ID_AA64ISAR0_EL1', 'SHA3', '-EINVAL'],
        ['ID_AA64ISAR0_EL1', 'SHA2', '-EINVAL'],
        ['KVM_REG_ARM_VENDOR_HYP_BMAP', '', '-EINVAL'],
        ['KVM_REG_ARM_VENDOR_HYP_BMAP_2', '', '-ENOENT'],
      ],
    );
    const sha2 = r.refusals.find((x) => x.field === 'SHA2')!;
    assert.equal(sha2.source, 2n);
    assert.equal(sha2.destination, 1n);
    assert.match(sha2.rule, /lower is safe/);
    assert.deepEqual(r.notJudged, []);
  });

  it('is more permissive the other way (B -> A): only what A lacks or cannot lower', () => {
    const r = diffDumps(b, a);
    assert.deepEqual(
      r.refusals.map((x) => [x.register, x.field ?? '']),
      [
        ['MIDR_EL1', ''],
        ['REVIDR_EL1', ''],
        ['ID_AA64PFR0_EL1', 'EL0'],
        // SVE is not writable: it follows the vCPU's sve feature, so it must equal A's limit.
        ['ID_AA64PFR0_EL1', 'SVE'],
      ],
    );
    assert.deepEqual(r.onlyOnDestination, ['KVM_REG_ARM_VENDOR_HYP_BMAP_2']);
  });

  it('lets MIDR/REVIDR differ with KVM_CAP_ARM_WRITABLE_IMP_ID_REGS (6.15+), not before', () => {
    const withCap = diffDumps(b, a, { capWritableImp: true });
    assert.deepEqual(withCap.refusals.map((x) => x.register), ['ID_AA64PFR0_EL1', 'ID_AA64PFR0_EL1']);
    const old = diffDumps(b, a, { capWritableImp: true, kernel: '6.7' });
    assert.ok(old.refusals.some((x) => x.register === 'MIDR_EL1'));
  });

  it('keeps ID registers invariant under a pre-6.5 kernel: any difference is refused', () => {
    const r = diffDumps(b, a, { kernel: '6.1' });
    assert.equal(r.kernel.era, '6.4');
    assert.ok(r.refusals.some((x) => x.register === 'ID_AA64ISAR0_EL1' && /invariant/.test(x.rule)));
  });

  it('a host is compatible with itself', () => {
    assert.equal(diffDumps(a, a).compatible, true);
  });

  it('locates IDR031 findings at the source value, with the destination value as evidence', () => {
    const r = diffDumps(a, b);
    const f = diffFindings(r, 'host-b', '/x/host-b.json');
    assert.equal(f.length, r.refusals.length);
    assert.ok(f.every((x) => x.code === 'IDR031'));
    const sha3 = f.find((x) => x.field === 'SHA3')!;
    assert.equal(sha3.related[0]!.path, '/x/host-b.json');
  });

  it('judges firmware bitmaps as subsets and workaround levels as at most the host level', () => {
    const v = judgeWrites(
      [
        { reg: { text: 'x', range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } }, oneRegId: 0x6030000000140001n, value: 2n, valueRange: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } },
      ],
      { entries: [{ reg: { text: 'y', range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } }, oneRegId: 0x6030000000140001n, value: 1n, valueRange: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } }] },
    );
    assert.equal(v[0]!.status, 'refused');
  });
});

describe('idreg diff', () => {
  it('prints compiler-style refusals and exits 1 when not compatible', async () => {
    const o = io();
    const code = await runDiff(['host-a.fingerprint.json', 'host-b.fingerprint.json'], o);
    assert.equal(code, 1);
    assert.match(o.out, /^host-a\.fingerprint\.json -> host-b\.fingerprint\.json: NOT compatible \(13 refusals\)/);
    assert.match(o.out, /host-a\.fingerprint\.json:\d+:\d+: error IDR031: ID_AA64ISAR0_EL1\.SHA3 \[35:32\] = 1, host 0/);
    assert.match(o.out, /--cap-writable-imp/);
  });

  it('exits 0 when compatible', async () => {
    const o = io();
    assert.equal(await runDiff(['host-a.fingerprint.json', 'host-a.fingerprint.json'], o), 0);
    assert.match(o.out, /compatible/);
  });

  it('prints JSON with --json', async () => {
    const o = io();
    assert.equal(await runDiff(['--json', '--cap-writable-imp', 'host-b.fingerprint.json', 'host-a.fingerprint.json'], o), 1);
    const j = JSON.parse(o.out);
    assert.equal(j.compatible, false);
    assert.equal(j.capWritableImp, true);
    assert.deepEqual(j.refusals.map((x: { register: string; field: string }) => `${x.register}.${x.field}`), ['ID_AA64PFR0_EL1.EL0', 'ID_AA64PFR0_EL1.SVE']);
    assert.equal(j.refusals[0].source, '0x2');
    assert.equal(j.findings[0].code, 'IDR031');
  });

  it('exits 2 for usage errors, unreadable files and files without values', async () => {
    for (const args of [[], ['host-a.fingerprint.json'], ['--bogus', 'a', 'b'], ['nope.json', 'host-a.fingerprint.json'], ['custom-template.json', 'host-a.fingerprint.json'], ['error.log', 'host-a.fingerprint.json']]) {
      const o = io();
      assert.equal(await runDiff(args, o), 2, args.join(' '));
      assert.ok(o.err.length > 0);
    }
  });
});

// The language server checks a big .idtrace again after an edit from the last checkpoint before the edit
// (IdtraceTextCheck.resume). Whatever the edit, the result must be the one a check of the whole edited
// text gives: the same findings, counts, VM state and registers seen. Checkpoints here come every few
// lines (the server's are 64k lines apart) so that every edit has some before it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import fc from 'fast-check';
import '../../src/formats/detect.ts';
import { checkDocument, type FileReport } from '../../src/check.ts';
import { IdtraceTextCheck } from '../../src/stream.ts';
import { encodingKey } from '../../src/model/events.ts';
import { generateIdtrace } from '../../bench/gen.ts';
import { idtraceFixtures } from '../helpers/fixtures.ts';

function run(check: IdtraceTextCheck): FileReport | undefined {
  while (!check.step(1 + Math.floor(Math.random() * 3000)));
  return check.result();
}

function same(got: FileReport | undefined, path: string, text: string, what: string): void {
  const want = checkDocument({ path, text });
  if (!got) return; // a kernel or host line after the first access: the caller checks it whole
  assert.deepEqual(got.findings, want.findings, what);
  assert.deepEqual(got.stats, want.stats, what);
  assert.deepEqual(got.vm, want.vm, what);
  const touched = new Set(want.parse.events.flatMap((e) => ('reg' in e && e.reg.enc ? [encodingKey(e.reg.enc)] : [])));
  if (got.touched) assert.deepEqual(got.touched, touched, what);
}

/** Lines people add while editing a trace, good and bad. */
const LINES = [
  'vcpu 0 get ID_AA64PFR0_EL1 = 0x1101000021111112',
  'vcpu 1 set ID_AA64ISAR0_EL1 0x0000100010211120 = 0',
  'vcpu 2 set ID_AA64PFR0_EL1 0x1101000021111113',
  'vcpu 3 mrs ID_AA64MMFR2_EL1 = 0x0220011102001011',
  'vcpu 0 msr ID_AA64ISAR1_EL1 0x0',
  'vcpu 4 run',
  'vcpu 9 init psci_0_2',
  'cap ARM_WRITABLE_IMP_ID_REGS',
  '# a comment',
  '',
  'vcpu 0 gte ID_AA64ISAR0_EL1',
  'kernel 6.1',
  'host other.iddump',
];

const editArb = fc.array(
  fc.record({
    at: fc.nat(),
    remove: fc.integer({ min: 0, max: 3 }),
    insert: fc.array(fc.constantFrom(...LINES), { maxLength: 3 }),
  }),
  { minLength: 1, maxLength: 4 },
);

describe('IdtraceTextCheck.resume', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idreg-resume-'));
  const generated = join(dir, 'gen.idtrace');
  generateIdtrace(generated, { events: 1500, seed: 9, hostFile: 'missing.iddump' });
  const docs = [generated, ...idtraceFixtures()].map((path) => ({ path, text: readFileSync(path, 'utf8') }));

  it('a chain of random line edits, each resumed from the check before it, equals a check of the whole text', () => {
    fc.assert(
      fc.property(fc.nat({ max: docs.length - 1 }), editArb, fc.integer({ min: 3, max: 200 }), fc.integer({ min: 1, max: 400 }), (d, edits, every, piece) => {
        const { path } = docs[d]!;
        let lines = docs[d]!.text.split('\n');
        let prev = new IdtraceTextCheck(path, lines.join('\n'), {}, piece, every);
        same(run(prev), path, lines.join('\n'), 'the first check');
        for (const e of edits) {
          const at = e.at % (lines.length + 1);
          lines = [...lines.slice(0, at), ...e.insert, ...lines.slice(at + e.remove)];
          const text = lines.join('\n');
          const next = IdtraceTextCheck.resume(prev, text, at);
          same(run(next), path, text, `edit at line ${at} (resumed at ${next.resumedAt})`);
          prev = next;
        }
      }),
      { seed: 17, numRuns: 150 },
    );
  });

  it('starts again from a checkpoint, not from the start, when the edit is far down', () => {
    const text = docs[0]!.text;
    const first = new IdtraceTextCheck(generated, text, {}, 200, 100);
    run(first);
    const lines = text.split('\n');
    const at = lines.length - 20;
    lines[at] = 'vcpu 0 get ID_AA64PFR0_EL1 = 0x0';
    const next = IdtraceTextCheck.resume(first, lines.join('\n'), at);
    assert.ok(next.resumedAt > lines.length - 200, `resumed at line ${next.resumedAt} of ${lines.length}`);
    same(run(next), generated, lines.join('\n'), 'the edited line');
  });

  it('cleans up', () => rmSync(dir, { recursive: true, force: true }));
});

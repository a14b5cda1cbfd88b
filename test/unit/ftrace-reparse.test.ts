// The language server re-parses an ftrace document from the segment before an edit and reuses the rest
// once the parser's state meets the old one again (src/formats/ftrace.ts reparseFtrace). Whatever the
// edit, the result must be exactly what a parse of the whole new text gives: events, findings, counts,
// vCPUs and the access index. Documents: the ftrace fixtures (wrapped records, trace-cmd, perf, values)
// with tiny segments, and a generated 12k-line trace with the real segment size.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import fc from 'fast-check';
import { FtraceStream, parseFtrace, reparseFtrace, type FtraceOptions, type FtraceParseResult } from '../../src/formats/ftrace.ts';
import type { LineSource } from '../../src/formats/types.ts';
import { generateFtrace } from '../../bench/gen.ts';

const FIXTURES = join(__dirname, '..', 'fixtures', 'formats', 'ftrace');

/** Lines with their terminators, the way the server's document store keeps them (no lone CR here). */
function linesOf(text: string): string[] {
  const out = text.split(/(?<=\n)/);
  if (text.length === 0 || text.endsWith('\n')) out.push('');
  return out;
}

function source(lines: string[]): LineSource {
  return { lineCount: lines.length, text: (from, to) => lines.slice(from, to).join('') };
}

function comparable(r: FtraceParseResult): unknown {
  const a = r.accesses;
  return {
    events: r.events,
    findings: r.findings,
    stats: r.stats,
    vcpus: r.vcpus,
    accesses: [Array.from(a.line), Array.from(a.key), Array.from(a.vcpu), Array.from(a.flags)],
  };
}

interface Edit {
  /** Line to edit (taken modulo the line count). */
  at: number;
  /** Lines replaced (0 = insert before `at`). */
  remove: number;
  /** Lines put in their place (each without terminator). */
  insert: string[];
}

/** Applies an edit to the lines; returns the new lines and the change as the server would describe it. */
function applyEdit(lines: string[], e: Edit): { lines: string[]; first: number; endNew: number; delta: number } {
  const n = lines.length;
  const at = e.at % n;
  const remove = Math.min(e.remove, n - 1 - at); // never the last (possibly unterminated) line: keeps the model simple
  const inserted = e.insert.map((l) => l + '\n');
  const next = lines.slice(0, at).concat(inserted, lines.slice(at + remove));
  if (next.length === 0) next.push('');
  // The server marks at least the line the edit touched as changed.
  return { lines: next, first: at, endNew: at + Math.max(1, inserted.length), delta: inserted.length - remove };
}

function checkEdits(text: string, options: FtraceOptions, edits: Edit[]): void {
  let lines = linesOf(text);
  let prev = parseFtrace(text, undefined, options);
  for (const e of edits) {
    const next = applyEdit(lines, e);
    const re = reparseFtrace(prev, source(next.lines), { first: next.first, endNew: next.endNew, delta: next.delta });
    assert.ok(re, 'a parse result of parseFtrace can always be resumed');
    const full = parseFtrace(next.lines.join(''), undefined, options);
    assert.deepEqual(comparable(re), comparable(full), `after editing line ${next.first} (${next.delta >= 0 ? '+' : ''}${next.delta} lines)`);
    lines = next.lines;
    prev = re;
  }
}

const fixtureTexts = readdirSync(FIXTURES).map((f) => ({ name: f, text: readFileSync(join(FIXTURES, f), 'utf8') }));
const sampleLines = fixtureTexts.flatMap((f) => f.text.split('\n')).filter((l) => l.length > 0);

function editArb(maxLine: number): fc.Arbitrary<Edit> {
  const line = fc.oneof(
    fc.constantFrom(...sampleLines),
    fc.constantFrom(...sampleLines).map((l) => l.replace(' read', ' write')),
    fc.constantFrom(...sampleLines).map((l) => l.slice(0, Math.floor(l.length / 2))), // a wrapped record's head
    fc.constantFrom('', '# comment', '   ', 'continued text', 'cpus=4', '80528a6c'),
    fc.string({ maxLength: 30 }).map((s) => s.replace(/[\r\n]/g, ' ')),
  );
  return fc.record({ at: fc.nat(maxLine), remove: fc.nat(3), insert: fc.array(line, { maxLength: 3 }) });
}

describe('ftrace re-parse after an edit equals a full parse', () => {
  for (const f of fixtureTexts) {
    it(`${f.name}: random edits, 3-line segments`, () => {
      fc.assert(
        fc.property(fc.array(editArb(200), { minLength: 1, maxLength: 6 }), (edits) => checkEdits(f.text, { segmentLines: 3 }, edits)),
        { seed: 20261128, numRuns: 60 },
      );
    });
  }

  it('a generated 12k-line trace: one-line edits and line inserts/deletes with the real segment size', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idreg-reparse-'));
    try {
      const path = join(dir, 'trace.txt');
      generateFtrace(path, { style: 'raw', lines: 12000, seed: 11 });
      const text = readFileSync(path, 'utf8');
      fc.assert(fc.property(fc.array(editArb(12000), { minLength: 1, maxLength: 4 }), (edits) => checkEdits(text, {}, edits)), {
        seed: 7,
        numRuns: 25,
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('stops early: an edit in the middle re-parses a few segments, not the rest of the document', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idreg-reparse-'));
    try {
      const path = join(dir, 'trace.txt');
      generateFtrace(path, { style: 'raw', lines: 40000, seed: 3 });
      const lines = linesOf(readFileSync(path, 'utf8'));
      const prev = parseFtrace(lines.join(''));
      const at = lines.findIndex((l, i) => i > 20000 && l.endsWith(' read\n'));
      const edited = lines.slice();
      edited[at] = edited[at]!.replace(/ read\n$/, ' write\n');
      let asked = 0;
      const src: LineSource = {
        lineCount: edited.length,
        text: (from, to) => {
          asked += to - from;
          return edited.slice(from, to).join('');
        },
      };
      const re = reparseFtrace(prev, src, { first: at, endNew: at + 1, delta: 0 });
      assert.ok(re);
      assert.ok(asked <= 4 * 2048, `re-parse read ${asked} lines`);
      assert.deepEqual(comparable(re), comparable(parseFtrace(edited.join(''))));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('FtraceStream: a document fed in blocks parses as a whole', () => {
  for (const f of fixtureTexts) {
    it(`${f.name}: random block boundaries`, () => {
      const whole = comparable(parseFtrace(f.text, undefined, { segmentLines: 5 }));
      fc.assert(
        fc.property(fc.array(fc.nat(f.text.length), { maxLength: 8 }), (cuts) => {
          const stream = new FtraceStream({ segmentLines: 5 });
          let carry = '';
          let line = 0;
          let last = 0;
          for (const c of [...new Set(cuts)].sort((a, b) => a - b)) {
            // Blocks end at a line end, as the CLI's reader cuts them.
            const nl = f.text.lastIndexOf('\n', c);
            if (nl < last) continue;
            const block = carry + f.text.slice(last, nl + 1);
            last = nl + 1;
            const r = stream.feed(block, line, false);
            const rest = block.slice(r.consumed);
            line = r.nextLine;
            carry = rest;
          }
          stream.feed(carry + f.text.slice(last), line, true);
          assert.deepEqual(comparable(stream.finish()), whole);
        }),
        { seed: 42, numRuns: 50 },
      );
    });
  }
});

describe('recheckDocument (the server typing path) equals checkDocument', () => {
  it('reuses the replay when an edit changes no event, and replays again when it does', async () => {
    const { checkDocument, recheckDocument } = await import('../../src/check.ts');
    await import('../../src/formats/detect.ts');
    const dir = mkdtempSync(join(tmpdir(), 'idreg-recheck-'));
    try {
      const path = join(dir, 'trace.txt');
      generateFtrace(path, { style: 'raw', lines: 6000, seed: 5 });
      let lines = linesOf(readFileSync(path, 'utf8'));
      let prev = checkDocument({ path, text: lines.join('') });
      const entry = lines.findIndex((l, i) => i > 3000 && l.includes('kvm_entry: PC: 0x'));
      const read = lines.findIndex((l, i) => i > 3000 && / (SYS_)?ID_AA64\w+ \(3,0,0,\d,\d\) read\n$/.test(l));
      for (const [at, edit, reused] of [
        [entry, (l: string) => l.replace(/PC: 0x(\w)/, 'PC: 0x0'), true], // a resume PC: findings may change, events do not
        [read, (l: string) => l.replace(/ read\n$/, ' write\n'), false], // a guest write: a new event
      ] as const) {
        lines = lines.slice();
        lines[at] = edit(lines[at]!);
        const re = recheckDocument(prev, source(lines), { first: at, endNew: at + 1, delta: 0 });
        assert.ok(re);
        const full = checkDocument({ path, text: lines.join('') });
        assert.equal(re.replay === prev.replay, reused);
        assert.deepEqual(re.findings, full.findings);
        assert.deepEqual(re.vm, full.vm);
        prev = re;
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('does not read the host again, and finds what a full check with that host finds', async () => {
    const { checkDocument, recheckDocument } = await import('../../src/check.ts');
    const dir = mkdtempSync(join(tmpdir(), 'idreg-recheck-host-'));
    try {
      const path = join(dir, 'trace.txt');
      generateFtrace(path, { style: 'raw', lines: 3000, seed: 8 });
      const host = join(__dirname, '..', '..', 'examples', 'graviton3.iddump');
      let reads = 0;
      const options = { host, readFile: (p: string) => (reads++, readFileSync(p, 'utf8')) };
      let lines = linesOf(readFileSync(path, 'utf8'));
      let prev = checkDocument({ path, text: lines.join('') }, options);
      assert.equal(reads, 1);
      assert.ok(prev.host?.dump);
      for (const at of [1500, 2500]) {
        lines = lines.slice();
        lines.splice(at, 1, lines[at]!.replace(/ read\n$/, ' write\n'), 'junk\n');
        const re = recheckDocument(prev, source(lines), { first: at, endNew: at + 2, delta: 1 }, options);
        assert.ok(re);
        const full = checkDocument({ path, text: lines.join('') }, { host });
        assert.deepEqual(re.findings, full.findings);
        assert.deepEqual(re.host, full.host);
        prev = re;
      }
      assert.equal(reads, 1, 'the host was read once');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

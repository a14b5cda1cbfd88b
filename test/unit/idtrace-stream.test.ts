// The CLI streams a big .idtrace in blocks (IdtraceStream); the editor parses the whole text (parseIdtrace).
// Whatever the cut points, the stream must give exactly what a parse of the whole text gives: the same events
// in order, findings, stats and ranges. Documents: every .idtrace fixture and example (real files, with
// their CRLF, lone CR, BOM and missing final newline cases) and generated idtrace-ish text.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { IdtraceStream, parseIdtrace } from '../../src/formats/idtrace.ts';
import type { ParseResult } from '../../src/formats/types.ts';
import type { TraceEvent } from '../../src/model/events.ts';
import { idtraceFixtures } from '../helpers/fixtures.ts';


const FILES = idtraceFixtures();

/** Offsets just after each '\n': the places a line-aligned piece may end. */
function lineEnds(text: string): number[] {
  const out: number[] = [];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) out.push(i + 1);
  return out;
}

/** Feeds line-aligned pieces ending at `cuts` (sorted offsets after '\n'), then the rest as the final piece. */
function streamLineAligned(text: string, cuts: number[]): ParseResult {
  const s = new IdtraceStream('x.idtrace');
  const events: TraceEvent[] = [];
  let from = 0;
  let line = 0;
  for (const cut of cuts) {
    if (cut <= from) continue;
    const piece = text.slice(from, cut);
    assert.equal(s.feed(piece, line, false), piece.length, 'a line-aligned piece is consumed whole');
    line += piece.split('\n').length - 1;
    assert.equal(s.nextLine, line);
    events.push(...s.drain());
    from = cut;
  }
  assert.equal(s.feed(text.slice(from), line, true), text.length - from, 'the final piece is consumed whole');
  events.push(...s.drain());
  assert.deepEqual(s.drain(), [], 'drain hands events over once');
  const r = s.finish();
  assert.deepEqual(r.events, []);
  return { ...r, events };
}

/**
 * The driver's protocol with blocks cut anywhere (mid-line, between CR and LF): each feed gets the unconsumed
 * rest plus the next block, and the final feed gets what remains.
 */
function streamAnyCuts(text: string, cuts: number[]): ParseResult {
  const s = new IdtraceStream();
  const events: TraceEvent[] = [];
  let rest = '';
  let from = 0;
  for (const cut of [...cuts, text.length]) {
    if (cut < from) continue;
    const t = rest + text.slice(from, cut);
    const used = s.feed(t, s.nextLine, false);
    assert.ok(used === 0 || t.charCodeAt(used - 1) === 10, 'a non-final feed consumes whole lines only');
    rest = t.slice(used);
    events.push(...s.drain());
    from = cut;
  }
  assert.equal(s.feed(rest, s.nextLine, true), rest.length);
  events.push(...s.drain());
  return { ...s.finish(), events };
}

function sameAsWhole(text: string, streamed: ParseResult): void {
  const whole = parseIdtrace(text);
  assert.deepStrictEqual(streamed, whole);
}

const cutsArb = (text: string): fc.Arbitrary<number[]> => {
  const ends = lineEnds(text);
  if (ends.length === 0) return fc.constant([]);
  return fc.uniqueArray(fc.constantFrom(...ends), { maxLength: Math.min(ends.length, 12) }).map((a) => a.sort((x, y) => x - y));
};

const anyCutsArb = (text: string): fc.Arbitrary<number[]> =>
  fc.uniqueArray(fc.nat(text.length), { maxLength: 12 }).map((a) => a.sort((x, y) => x - y));

// Lines as people and tools write them: every event kind, results, comments, bad tokens and the line
// terminators the parser distinguishes (LF, CRLF, a lone CR inside a line, no final newline).
const WORDS = [
  'vcpu', 'kernel', 'host', 'cap', 'init', 'get', 'set', 'run', 'mrs', 'msr', '=', '0', '1', '7', '-22', '-EINVAL', '-enoent', 'undef', '0x0',
  '0x1101001021111112', '0x0000000000000011', '0xFFFF_FFFF', '0x10000000000000000', '18446744073709551615', '0b101', '012', '12ab', '6.15', 'v6.4',
  'ID_AA64PFR0_EL1', 'id_aa64isar0_el1', 'MIDR_EL1', 'S3_0_C0_C4_0', '(3,0,0,4,0)', 'ID_AA64PFR0_EL1@0x603000000013c020', 'ID_AA64PFR1_EL1(3,0,0,4,0)',
  'op0:3', 'op1:0', 'crn:0', 'crm:4', 'op2:0', 'ID_NOPE_EL1', 'pmu_v3,psci_0_2', 'PTRAUTH_ADDRESS,ptrauth_generic,sve2', 'ARM_WRITABLE_IMP_ID_REGS',
  'KVM_CAP_ARM_MTE', 'graviton3.iddump', '"my host.iddump"', '#', '# comment', '\t', '\uFEFF', 'é', '\r',
];
const lineArb = fc.oneof(
  { weight: 4, arbitrary: fc.array(fc.constantFrom(...WORDS), { maxLength: 7 }).map((w) => w.join(' ')) },
  {
    weight: 4,
    arbitrary: fc
      .tuple(fc.nat(9), fc.constantFrom('get', 'mrs', 'set', 'msr'), fc.constantFrom(...WORDS.slice(29, 37)), fc.constantFrom('', ' 0x11', ' = 0x11', ' = -EINVAL', ' = undef', ' 0 = 0'))
      .map(([v, a, r, tail]) => `vcpu ${v} ${a} ${r}${tail}`),
  },
  { weight: 1, arbitrary: fc.string({ maxLength: 12 }) },
);
const docArb = fc
  .tuple(fc.array(fc.tuple(lineArb, fc.constantFrom('\n', '\n', '\n', '\r\n', '\r')), { maxLength: 40 }), fc.boolean())
  .map(([lines, trailing]) => {
    const text = lines.map(([l, t]) => l + t).join('');
    return trailing ? text : text.replace(/\r?\n$/, '');
  });

describe('IdtraceStream fed in pieces equals parseIdtrace of the whole text', () => {
  it('fixtures and examples: random line-aligned pieces', () => {
    assert.ok(FILES.length >= 20, `found ${FILES.length} .idtrace files`);
    for (const file of FILES) {
      const text = readFileSync(file, 'utf8');
      fc.assert(
        fc.property(cutsArb(text), (cuts) => sameAsWhole(text, streamLineAligned(text, cuts))),
        { seed: 20261128, numRuns: 25, examples: [[[]], [lineEnds(text)]] },
      );
    }
  });

  it('fixtures and examples: blocks cut anywhere, the unconsumed rest passed again', () => {
    for (const file of FILES) {
      const text = readFileSync(file, 'latin1');
      fc.assert(fc.property(anyCutsArb(text), (cuts) => sameAsWhole(text, streamAnyCuts(text, cuts))), { seed: 20261129, numRuns: 15 });
    }
  });

  it('generated idtrace-ish text: line-aligned pieces', () => {
    fc.assert(
      fc.property(docArb.chain((text) => fc.tuple(fc.constant(text), cutsArb(text))), ([text, cuts]) => sameAsWhole(text, streamLineAligned(text, cuts))),
      { seed: 0x1d7e6, numRuns: 300 },
    );
  });

  it('generated idtrace-ish text: blocks cut anywhere', () => {
    fc.assert(
      fc.property(docArb.chain((text) => fc.tuple(fc.constant(text), anyCutsArb(text))), ([text, cuts]) => sameAsWhole(text, streamAnyCuts(text, cuts))),
      { seed: 0x1d7e7, numRuns: 300 },
    );
  });

  it('line counts: empty document, trailing newline, CRLF, lone CR', () => {
    const cases: [string, number][] = [['', 0], ['\n', 1], ['vcpu 0 run', 1], ['vcpu 0 run\n', 1], ['vcpu 0 run\n\n', 2], ['a\r\nb\r\n', 2], ['a\rb\r', 1], ['\r', 1]];
    for (const [text, lines] of cases) {
      assert.equal(parseIdtrace(text).stats.lines, lines, JSON.stringify(text));
      sameAsWhole(text, streamLineAligned(text, lineEnds(text)));
      sameAsWhole(text, streamAnyCuts(text, [...Array(text.length + 1).keys()]));
    }
  });

  it('a non-final text without a newline consumes nothing; one line per newline', () => {
    const s = new IdtraceStream();
    assert.equal(s.feed('vcpu 0 ru', 0, false), 0);
    assert.deepEqual(s.drain(), []);
    assert.equal(s.feed('vcpu 0 run\r\nvcpu 1', 0, false), 'vcpu 0 run\r\n'.length);
    assert.equal(s.nextLine, 1);
    assert.equal(s.feed('vcpu 1 run', 1, true), 10);
    assert.deepEqual(s.drain().map((e) => [e.kind, e.range.start.line]), [['run', 0], ['run', 1]]);
    assert.deepEqual(s.finish().stats, { lines: 2, understood: 2, skipped: 0 });
  });

  it('strings kept from a piece do not share its characters', () => {
    // A fed block must be collectable once parsed: event texts and messages are copies (checked by value here;
    // that they are flat copies is V8's business and shows in the CLI's peak memory).
    const pad = '# ' + 'x'.repeat(200) + '\n';
    const text = `${pad}kernel 6.15-rc1-custom-build\nhost "some/long/path/host-v1.iddump"\ncap ARM_WRITABLE_IMP_ID_REGS = 0\nvcpu 0 init ptrauth_address,ptrauth_generic,not_a_feature_name\nvcpu 0 frobnicate_the_register now\n`;
    sameAsWhole(text, streamLineAligned(text, lineEnds(text)));
  });
});

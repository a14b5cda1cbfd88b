// The server's chunked document store against the obvious reference: apply the same LSP edits to a
// plain string and compare text, lines and line count.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChunkedDocument, mergeChanges, splitLines } from '../../server/documents.ts';
import type { LineChange } from '../../src/formats/types.ts';

/** Reference: LSP position → offset in a string (lines end at \n, \r\n or \r). */
function offsetAt(text: string, line: number, character: number): number {
  const lines = splitLines(text);
  if (line >= lines.length) return text.length;
  let off = 0;
  for (let i = 0; i < line; i++) off += lines[i]!.length;
  const content = lines[line]!.replace(/(\r\n|\r|\n)$/, '');
  return off + Math.min(character, content.length);
}

function refLines(text: string): string[] {
  return text.split(/\r\n|\r|\n/);
}

test('splitLines keeps terminators and counts a trailing empty line', () => {
  assert.deepEqual(splitLines(''), ['']);
  assert.deepEqual(splitLines('a'), ['a']);
  assert.deepEqual(splitLines('a\n'), ['a\n', '']);
  assert.deepEqual(splitLines('a\r\nb\rc\nd'), ['a\r\n', 'b\r', 'c\n', 'd']);
});

test('one-line edits, inserts and deletes across chunk boundaries match a plain string', () => {
  const lines = Array.from({ length: 10000 }, (_, i) => `vcpu ${i % 4} get ID_AA64PFR0_EL1 = 0x${i.toString(16)}`);
  let ref = lines.join('\n');
  const doc = new ChunkedDocument('file:///x', 'idtrace', 1, ref);
  const edits: [number, number, number, number, string][] = [
    [5000, 7, 5000, 10, 'set'],
    [4095, 3, 4097, 2, 'X\nY'],
    [0, 0, 0, 0, '# head\n'],
    [9000, 0, 9500, 0, ''],
    [100, 5, 100, 5, 'a\nb\nc\nd'],
    [8191, 0, 8193, 0, Array.from({ length: 9000 }, (_, i) => `new ${i}\n`).join('')],
  ];
  let v = 1;
  for (const [sl, sc, el, ec, text] of edits) {
    const s = offsetAt(ref, sl, sc);
    const e = offsetAt(ref, el, ec);
    ref = ref.slice(0, s) + text + ref.slice(e);
    doc.update([{ range: { start: { line: sl, character: sc }, end: { line: el, character: ec } }, text }], ++v);
    assert.equal(doc.lineCount, refLines(ref).length);
  }
  assert.equal(doc.getText(), ref);
  const rl = refLines(ref);
  for (const l of [0, 1, 100, 4095, 4096, 8191, 8192, rl.length - 1]) assert.equal(doc.lineAt(l), rl[l]);
  assert.equal(doc.version, v);
});

test('random edits (property): text, line count and every line agree with a plain string', () => {
  const piece = fc.stringMatching(/^[ab\n\r#0x]{0,12}$/);
  fc.assert(
    fc.property(
      fc.stringMatching(/^[ab\n\r]{0,40}$/),
      fc.array(fc.tuple(fc.nat(30), fc.nat(8), fc.nat(30), fc.nat(8), piece), { maxLength: 12 }),
      (initial, edits) => {
        let ref = initial;
        const doc = new ChunkedDocument('file:///p', 'idtrace', 0, initial);
        edits.forEach(([a, b, c, d, text], i) => {
          const n = refLines(ref).length;
          let [sl, sc, el, ec] = [a % n, b, c % n, d];
          if (el < sl || (el === sl && ec < sc)) [sl, sc, el, ec] = [el, ec, sl, sc];
          const s = offsetAt(ref, sl, sc);
          const e = Math.max(s, offsetAt(ref, el, ec));
          ref = ref.slice(0, s) + text + ref.slice(e);
          doc.update([{ range: { start: { line: sl, character: sc }, end: { line: el, character: ec } }, text }], i + 1);
        });
        assert.equal(doc.getText(), ref);
        const rl = refLines(ref);
        assert.equal(doc.lineCount, rl.length);
        rl.forEach((l, i) => assert.equal(doc.lineAt(i), l));
      },
    ),
    { numRuns: 2000 },
  );
});

test('the line change update() returns describes the edits (property): lines outside it are the old lines, moved', () => {
  // The typing path re-parses [first, endNew) and reuses old results for the rest, moved by delta: every
  // line outside the region must be an old line. Several changes per notification and several notifications.
  const piece = fc.stringMatching(/^[ab\n\r#]{0,12}$/);
  fc.assert(
    fc.property(
      fc.stringMatching(/^(ab|\r\n|\n|b)*$/),
      fc.array(fc.array(fc.tuple(fc.nat(30), fc.nat(8), fc.nat(30), fc.nat(8), piece), { minLength: 1, maxLength: 4 }), { maxLength: 4 }),
      (initial, notifications) => {
        let ref = initial;
        const doc = new ChunkedDocument('file:///p', 'kvm-ftrace', 0, initial);
        const oldLines = refLines(initial);
        let summary: LineChange | undefined;
        let full = false;
        notifications.forEach((edits, k) => {
          const changes = edits.map(([a, b, c, d, text]) => {
            const n = refLines(ref).length;
            let [sl, sc, el, ec] = [a % n, b, c % n, d];
            if (el < sl || (el === sl && ec < sc)) [sl, sc, el, ec] = [el, ec, sl, sc];
            const s0 = offsetAt(ref, sl, sc);
            const e0 = Math.max(s0, offsetAt(ref, el, ec));
            ref = ref.slice(0, s0) + text + ref.slice(e0);
            return { range: { start: { line: sl, character: sc }, end: { line: el, character: ec } }, text };
          });
          const c = doc.update(changes, k + 1);
          if (c === 'full') full = true;
          else if (c) summary = summary ? mergeChanges(summary, c) : c;
        });
        assert.equal(full, false);
        // With a lone CR somewhere the server checks in full; otherwise lines are \n-terminated as the parsers see them.
        if (doc.maybeLoneCr) return;
        assert.doesNotMatch(ref, /\r(?!\n)/);
        const newLines = refLines(ref);
        if (!summary) {
          assert.deepEqual(newLines, oldLines);
          return;
        }
        const { first, endNew, delta } = summary;
        assert.equal(newLines.length, oldLines.length + delta);
        assert.ok(first >= 0 && first < endNew && endNew <= newLines.length);
        for (let i = 0; i < first; i++) assert.equal(newLines[i], oldLines[i], `line ${i} before the change`);
        for (let i = endNew; i < newLines.length; i++) assert.equal(newLines[i], oldLines[i - delta], `line ${i} after the change`);
      },
    ),
    { numRuns: 2000, seed: 11 },
  );
});

test('a one-line edit costs the same in a 40 MB document as in a 400 KB one (no full copy)', () => {
  // A ratio measured in one run, not a time limit: these machines are shared and noisy. Copying the
  // whole text per edit (what TextDocument.update does) makes the 40 MB edits about 100× dearer.
  const line = 'qemu-system-aar-4243  [001] d..1.  1234.000020: kvm_sys_access: PC: ffff800058f3ea74 ID_AA64MMFR1_EL1 (3,0,0,7,1) read\n';
  const editAll = (megabytes: number): number => {
    const doc = new ChunkedDocument('file:///big', 'kvm-ftrace', 1, line.repeat(Math.ceil((megabytes * 1024 * 1024) / line.length)));
    const n = doc.lineCount;
    const t0 = performance.now();
    for (let i = 0; i < 400; i++) {
      const l = Math.floor((i * 7919) % (n - 1));
      doc.update([{ range: { start: { line: l, character: 10 }, end: { line: l, character: 11 } }, text: 'Q' }], i + 2);
      doc.lineAt(l);
    }
    const ms = performance.now() - t0;
    assert.equal(doc.lineCount, n);
    return ms;
  };
  editAll(0.4); // warm up the JIT so the small run is not charged for it
  const small = editAll(0.4);
  const big = editAll(40);
  assert.ok(big / Math.max(small, 0.5) < 20, `400 edits: 40 MB ${big.toFixed(1)} ms, 400 KB ${small.toFixed(1)} ms`);
});

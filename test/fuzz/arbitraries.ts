// fast-check generators shared by the property tests (test/unit/property-*.test.ts) and the fuzz runner.
import fc from 'fast-check';
import type { Encoding } from '../../src/model/events.ts';
import { SEEDS, seedVocabulary, type Seed } from './seeds.ts';

export const U64_MAX = (1n << 64n) - 1n;

export const encArb: fc.Arbitrary<Encoding> = fc.record({
  op0: fc.integer({ min: 0, max: 3 }),
  op1: fc.integer({ min: 0, max: 7 }),
  crn: fc.integer({ min: 0, max: 15 }),
  crm: fc.integer({ min: 0, max: 15 }),
  op2: fc.integer({ min: 0, max: 7 }),
}).map((e) => ({ op0: e.op0, op1: e.op1, crn: e.crn, crm: e.crm, op2: e.op2 }));

/** Mostly the ID space (op0=3, op1 0/1/3, CRn 0), where the interesting registers are. */
export const idEncArb: fc.Arbitrary<Encoding> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ op0: fc.constant(3), op1: fc.constantFrom(0, 1, 3), crn: fc.constant(0), crm: fc.integer({ min: 0, max: 7 }), op2: fc.integer({ min: 0, max: 7 }) }).map((e) => ({ op0: e.op0, op1: e.op1, crn: e.crn, crm: e.crm, op2: e.op2 })) },
  { weight: 1, arbitrary: encArb },
);

export const u64Arb: fc.Arbitrary<bigint> = fc.oneof(
  fc.bigInt({ min: 0n, max: U64_MAX }),
  fc.bigInt({ min: 0n, max: 0xffffn }),
  fc.constantFrom(0n, 1n, U64_MAX, 1n << 63n, 0x1101001021111111n, 0xfn << 60n),
);

export const u32Arb: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.integer({ min: 0, max: 0x1fffff }),
  fc.integer({ min: 0x60000000, max: 0x63ffffff }),
  fc.integer({ min: 0xd5000000, max: 0xd53fffff }),
);

/** Any bigint, negative and wider than 64 bits included. */
export const anyBigArb: fc.Arbitrary<bigint> = fc.oneof(u64Arb, fc.bigInt({ min: -(1n << 200n), max: 1n << 200n }));

// ---------------------------------------------------------------------------------------------
// Text

/** Characters that break parsers: NUL, BOM, lone surrogates, CR, replacement char, wide chars. */
export const NASTY = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'prototype', '\0', '\uFEFF', '\uD800', '\uDC00', '\r', '\r\n', '\n', '\t', '\uFFFD', 'é', '😀', '\u2028', '\u00A0', '\x1b[31m', '\\', '"', "'", '`', '#', '=', '(', ')', '{', '}', '[', ']', ',', ':', '@', '|', '/', '*', '-', '_', '0x', '0b', ' '];

/** Numbers in every shape, with a few monsters (1000 digits, 300 hex digits, 2^64, negative). */
export const NUMBERS = [
  '0', '1', '-1', '-0', '0x', '0b', '0x0', '0xffffffffffffffff', '0x10000000000000000', '18446744073709551615', '18446744073709551616',
  '9'.repeat(1000), '0x' + 'f'.repeat(300), '0b' + '1'.repeat(200), '1e400', 'NaN', 'Infinity', '0x1_2', '1__2', '_1', '0x_', '00000000000000000000001',
  '1.5', '-22', '-0x16', '4294967296', '9007199254740993', '0o17',
];

const VOCABULARY = [...new Set([...seedVocabulary(), ...NASTY, ...NUMBERS])];

/** A document built from format words, numbers and separators: gets deeper than random characters. */
export const tokenSoupArb: fc.Arbitrary<string> = fc
  .array(fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...VOCABULARY) }, { weight: 2, arbitrary: fc.constantFrom(' ', ' ', '\t', '\n', '\n') }, { weight: 1, arbitrary: fc.string({ maxLength: 4 }) }), { maxLength: 80 })
  .map((parts) => parts.join(''));

/** Bytes read as UTF-8 (invalid sequences become U+FFFD), Latin-1 or UTF-16LE, as a reader of a wrong file would. */
export const bytesAsTextArb: fc.Arbitrary<string> = fc
  .tuple(fc.uint8Array({ maxLength: 200 }), fc.constantFrom<BufferEncoding>('utf8', 'latin1', 'utf16le'))
  .map(([bytes, enc]) => Buffer.from(bytes).toString(enc));

export const anyTextArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 2, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 60 }) },
  { weight: 4, arbitrary: tokenSoupArb },
  { weight: 2, arbitrary: bytesAsTextArb },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...NASTY), { maxLength: 40 }).map((a) => a.join('')) },
);

// ---------------------------------------------------------------------------------------------
// Mutations of valid documents

export type MutationKind =
  | 'delChars' | 'dupChars' | 'swapChars' | 'delLine' | 'dupLine' | 'swapLines' | 'truncate'
  | 'insert' | 'crlf' | 'cr' | 'badUtf8' | 'hugeNumber' | 'replaceWord' | 'insertLine';

export interface Mutation {
  kind: MutationKind;
  a: number;
  b: number;
  s: string;
}

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  kind: fc.constantFrom<MutationKind>('delChars', 'dupChars', 'swapChars', 'delLine', 'dupLine', 'swapLines', 'truncate', 'insert', 'insert', 'crlf', 'cr', 'badUtf8', 'hugeNumber', 'replaceWord', 'replaceWord', 'insertLine'),
  a: fc.nat(),
  b: fc.nat(),
  s: fc.oneof(fc.constantFrom(...VOCABULARY), fc.string({ maxLength: 6, unit: 'binary' })),
});

function lineStarts(text: string): number[] {
  const out = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) out.push(i + 1);
  return out;
}

/** Applies one mutation; positions are taken modulo the text length so every mutation applies. */
export function mutate(text: string, m: Mutation): string {
  const len = text.length;
  const at = len === 0 ? 0 : m.a % (len + 1);
  const span = 1 + (m.b % 24);
  switch (m.kind) {
    case 'delChars':
      return text.slice(0, at) + text.slice(at + span);
    case 'dupChars':
      return text.slice(0, at + span) + text.slice(at, at + span) + text.slice(at + span);
    case 'swapChars': {
      if (len < 2) return text;
      const i = m.a % len;
      const j = m.b % len;
      const [x, y] = i < j ? [i, j] : [j, i];
      if (x === y) return text;
      return text.slice(0, x) + text[y] + text.slice(x + 1, y) + text[x] + text.slice(y + 1);
    }
    case 'delLine':
    case 'dupLine':
    case 'swapLines':
    case 'insertLine': {
      const lines = text.split('\n');
      const i = m.a % lines.length;
      const j = m.b % lines.length;
      if (m.kind === 'delLine') lines.splice(i, 1);
      else if (m.kind === 'dupLine') lines.splice(i, 0, lines[i]!);
      else if (m.kind === 'insertLine') lines.splice(i, 0, m.s);
      else [lines[i], lines[j]] = [lines[j]!, lines[i]!];
      return lines.join('\n');
    }
    case 'truncate':
      return text.slice(0, at);
    case 'insert':
      return text.slice(0, at) + m.s + text.slice(at);
    case 'crlf':
      return text.replace(/\r?\n/g, '\r\n');
    case 'cr':
      return text.replace(/\r?\n/g, '\r');
    case 'badUtf8': {
      // Encode a slice, corrupt one byte, decode again: invalid sequences come back as U+FFFD.
      const bytes = Buffer.from(text.slice(at, at + span), 'utf8');
      if (bytes.length === 0) return text.slice(0, at) + Buffer.from([0xc3 ^ (m.b & 0xff), 0x28]).toString('utf8') + text.slice(at);
      bytes[m.b % bytes.length] = (bytes[m.b % bytes.length]! ^ (0x80 | (m.b & 0x7f))) & 0xff;
      return text.slice(0, at) + bytes.toString('utf8') + text.slice(at + span);
    }
    case 'hugeNumber': {
      // Replace the number at or after `at` by a monster.
      const re = /(0x[0-9a-fA-F]+|0b[01]+|\d+)/g;
      re.lastIndex = at;
      const found = re.exec(text) ?? /(0x[0-9a-fA-F]+|0b[01]+|\d+)/.exec(text);
      if (!found) return text + NUMBERS[m.b % NUMBERS.length];
      const monster = [NUMBERS[11]!, NUMBERS[12]!, NUMBERS[13]!, '18446744073709551616', '0x10000000000000000', '-1', '0x' + 'f'.repeat(33)][m.b % 7]!;
      return text.slice(0, found.index) + monster + text.slice(found.index + found[0].length);
    }
    case 'replaceWord': {
      const re = /[A-Za-z0-9_]+/g;
      re.lastIndex = at;
      const found = re.exec(text);
      if (!found) return text + m.s;
      return text.slice(0, found.index) + m.s + text.slice(found.index + found[0].length);
    }
  }
}

export interface MutatedDoc {
  seed: Seed;
  text: string;
}

/** A seed with 1..6 mutations applied (the seed index and the operations shrink, the text follows). */
export function mutatedArb(seeds: readonly Seed[] = SEEDS, maxOps = 6): fc.Arbitrary<string> {
  return fc
    .tuple(fc.nat({ max: seeds.length - 1 }), fc.array(mutationArb, { minLength: 1, maxLength: maxOps }))
    .map(([i, ops]) => ops.reduce((t, op) => mutate(t, op), seeds[i]!.text));
}

/** Arbitrary text, or a mutated seed of the parser's own format (2:1 for the mutations). */
export function parserInputArb(seeds: readonly Seed[]): fc.Arbitrary<string> {
  return fc.oneof({ weight: 2, arbitrary: mutatedArb(seeds) }, { weight: 1, arbitrary: mutatedArb(SEEDS, 3) }, { weight: 2, arbitrary: anyTextArb });
}

export { lineStarts };

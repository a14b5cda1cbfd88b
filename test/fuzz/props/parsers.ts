// Every parser, sniffer and detector on arbitrary text and on mutated valid files: results and findings,
// never a throw; every line accounted for; ranges inside the document; CRLF changes nothing; a junk line
// loses no other record; the same input gives the same result.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { anyTextArb, mutatedArb, parserInputArb } from '../arbitraries.ts';
import { assertParseResult, countLines, short, stableJson, type ParseShape } from '../invariants.ts';
import { SEEDS, seedsFor } from '../seeds.ts';
import { discoverFormats, type ParserRef } from './discover.ts';
import type { PropertyDef, PropertyGroup } from './types.ts';

/** Parsers whose contract (their header comment) promises a finding on every line they skip. */
const STRICT_SKIPS = new Set(['idtrace.parseIdtrace', 'iddump.parseIddump']);

const PATHS = ['a.idtrace', 'a.iddump', 'idregs', 'trace.txt', 'x.ftrace', 'fingerprint.json', 'template.json', 'x.json', 'firecracker.log', 'cpuinfo', 'get-reg-list.txt', 'qemu.log', 'noext', '', 'dir/weird name ü.txt'];

function id(p: ParserRef): string {
  return `${p.module}.${p.name}`;
}

export function callParser(p: ParserRef, text: string, path?: string): ParseShape {
  return p.fn(text, path) as ParseShape;
}

function textProperty(p: ParserRef): PropertyDef<[string, number]> {
  const seeds = seedsFor(p.module);
  return {
    name: `parse.${id(p)}.text`,
    runs: 1500,
    arb: fc.tuple(parserInputArb(seeds), fc.nat()),
    check: ([text, pathIdx]) => {
      const path = PATHS[pathIdx % PATHS.length];
      const res = callParser(p, text, path);
      assertParseResult(text, res, `${id(p)}(${short(text)})`, { skippedHaveFindings: STRICT_SKIPS.has(id(p)) });
      const again = callParser(p, text, path);
      assert.equal(stableJson(again), stableJson(res), `${id(p)}: a second parse of the same text gives a different result`);
    },
  };
}

/** The result without positions' dependence on line ends: CRLF and LF files must read the same. */
function crlfProperty(p: ParserRef): PropertyDef<string> {
  const seeds = seedsFor(p.module);
  return {
    name: `parse.${id(p)}.crlf`,
    runs: 400,
    arb: fc.oneof(mutatedArb(seeds, 3), fc.constantFrom(...seeds.map((s) => s.text)), anyTextArb).map((t) => t.replace(/\r/g, '')),
    check: (lf) => {
      const crlf = lf.replace(/\n/g, '\r\n');
      const a = callParser(p, lf);
      const b = callParser(p, crlf);
      assertParseResult(crlf, b, `${id(p)} CRLF`, { skippedHaveFindings: STRICT_SKIPS.has(id(p)) });
      assert.equal(b.stats.lines, a.stats.lines, `${id(p)}: CRLF changes the line count`);
      // Name the first difference, so that a known issue can be told from a new one.
      for (let i = 0; i < Math.max(a.findings.length, b.findings.length); i++) {
        const fa = a.findings[i];
        const fb = b.findings[i];
        if (stableJson(fa) !== stableJson(fb)) {
          assert.fail(`${id(p)}: finding ${i} differs in the CRLF file: LF ${fa ? `${fa.code} ${JSON.stringify(fa.range)} ${fa.message}` : 'none'} / CRLF ${fb ? `${fb.code} ${JSON.stringify(fb.range)} ${fb.message}` : 'none'}`);
        }
      }
      const strip = (r: ParseShape): string => stableJson({ format: r.format, events: r.events, dump: r.dump, stats: r.stats });
      assert.equal(strip(b), strip(a), `${id(p)}: the CRLF file reads differently from the LF file`);
    },
  };
}

const JUNK = ['@@ junk line @@', '%%%', '\u0000\u0000', '}{][', 'lorem ipsum dolor 0x1 = 2'];

/** Line-based formats: a junk line between records loses none of the others and is itself counted. */
function junkLineProperty(p: ParserRef): PropertyDef<[number, number, number]> | undefined {
  const seeds = seedsFor(p.module).filter((s) => s.lineBased && s.format === p.module);
  if (seeds.length === 0) return undefined;
  return {
    name: `parse.${id(p)}.junkLine`,
    runs: 300,
    weight: 30, // a small input space: no use repeating it in the long run
    arb: fc.tuple(fc.nat({ max: seeds.length - 1 }), fc.nat(), fc.nat({ max: JUNK.length - 1 })),
    check: ([si, at, ji]) => {
      const seed = seeds[si]!;
      const lines = seed.text.split('\n');
      const where = at % lines.length;
      lines.splice(where, 0, JUNK[ji]!);
      const text = lines.join('\n');
      const before = callParser(p, seed.text, seed.path);
      const after = callParser(p, text, seed.path);
      assertParseResult(text, after, `${id(p)} junk line at ${where}`);
      assert.equal(after.stats.lines, before.stats.lines + (countLines(text) - countLines(seed.text)), `${id(p)}: the junk line is not counted`);
      const count = (r: ParseShape): number => r.events.length + (r.dump?.entries.length ?? 0);
      assert.ok(
        count(after) >= count(before),
        `${id(p)}: a junk line at line ${where} of ${seed.path} loses records: ${count(before)} events/values before, ${count(after)} after`,
      );
    },
  };
}

/** The empty file: no lines, nothing understood, nothing skipped. */
function emptyProperty(p: ParserRef): PropertyDef<string> {
  return {
    name: `parse.${id(p)}.empty`,
    runs: 1,
    exhaustive: 1,
    weight: 0,
    arb: fc.constant(''),
    check: (text) => assertParseResult(text, callParser(p, text, 'empty.txt'), `${id(p)}("")`, { emptyIsZero: true }),
  };
}

function snifferProperty(module: string, name: string, fn: (t: string, p?: string) => unknown, kind: 'sniff' | 'detect'): PropertyDef<[string, number]> {
  return {
    name: `${kind}.${module}.${name}`,
    runs: 800,
    arb: fc.tuple(fc.oneof(anyTextArb, mutatedArb(SEEDS, 2)), fc.nat()),
    check: ([text, pathIdx]) => {
      const path = PATHS[pathIdx % PATHS.length];
      const r = fn(text, path);
      if (kind === 'detect') {
        const format = typeof r === 'string' ? r : (r as { format?: unknown } | undefined)?.format;
        assert.equal(typeof format, 'string', `${name} returned ${stableJson(r)}`);
        return;
      }
      const scores = typeof r === 'number' ? [r] : Object.values(r as object);
      for (const s of scores) assert.ok(typeof s === 'number' && s >= 0 && s <= 1 && !Number.isNaN(s), `${name}(${short(text)}) = ${stableJson(r)}: not a confidence in [0, 1]`);
    },
  };
}

export async function parserGroup(filter?: (p: ParserRef) => boolean): Promise<PropertyGroup> {
  const found = await discoverFormats();
  const props: PropertyDef<any>[] = [];
  for (const p of found.parsers) {
    if (filter && !filter(p)) continue;
    props.push(emptyProperty(p), textProperty(p), crlfProperty(p));
    const junk = junkLineProperty(p);
    if (junk) props.push(junk);
  }
  if (!filter) {
    for (const s of found.sniffers) props.push(snifferProperty(s.module, s.name, s.fn, 'sniff'));
    for (const d of found.detectors) props.push(snifferProperty(d.module, d.name, d.fn, 'detect'));
  }
  const broken = found.broken.map((b) => `src/formats/${b.module}.ts (does not load: ${b.error})`);
  return { group: 'parsers', properties: props, missing: [...found.missing, ...broken] };
}

// The Firecracker JSON reader fed in pieces (FirecrackerJsonStream, the CLI's block reader) must give what
// a whole-text parse gives, and both what the tree-based reader gave before (kept below as the oracle): the
// same format, findings (in order), stats, entries and feature edits, for the fixtures and for generated
// documents, valid and broken (truncated, characters deleted or inserted, duplicated lines and keys, bad
// bitmaps and ids, comments, CRLF, one minified line). JsonStream itself must report scanJson's tree and errors.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import '../../src/formats/detect.ts';
import { checkDocument } from '../../src/check.ts';
import { checkStreamed } from '../../src/stream.ts';
import { memoryFile } from '../helpers/block-file.ts';
import { decodeText } from '../../src/text.ts';
import { FIRECRACKER_VALUE_BITS, FirecrackerJsonStream, parseBitmap, parseFirecrackerJson } from '../../src/formats/firecracker.ts';
import { JsonStream, LineIndex } from '../../src/formats/json-scan.ts';
import { member, memberEntry, scanJson, type JsonObject, type JsonValue } from '../helpers/json-reference.ts';
import { makeFinding, type Finding, type Range } from '../../src/findings.ts';
import { decodeOneRegId, parseNumber, type OneRegInfo } from '../../src/encoding/forms.ts';
import { VCPU_FEATURES } from '../../src/data/kvm-policy.ts';
import type { DumpEntry, RegRef, RegisterDump } from '../../src/model/events.ts';
import type { FeatureEdits, FormatParseResult } from '../../src/formats/detect.ts';

// ---------------------------------------------------------------------------------------------
// The oracle: parseFirecrackerJson as it was, over scanJson's tree.

function hex(v: bigint, digits = 16): string {
  return '0x' + v.toString(16).padStart(digits, '0');
}

function oneRegRef(text: string, range: Range, info: OneRegInfo): RegRef {
  const ref: RegRef = { text, range, name: info.name };
  if (info.enc) ref.enc = info.enc;
  return ref;
}

interface Ctx {
  text: string;
  lines: LineIndex;
  findings: Finding[];
  /** Lines that carry a syntax finding, for the stats. */
  badLines: Set<number>;
  /**
   * `addr` text → its parsed id and decode (undefined when not a 64-bit number). A template repeats a few
   * dozen addresses over up to hundreds of thousands of entries, and each decode costs microseconds of BigInt
   * work; the findings are still made per entry, since their ranges differ.
   */
  addrs?: Map<string, { id: bigint; info: OneRegInfo } | undefined>;
}

function range(ctx: Ctx, start: number, end: number): Range {
  return ctx.lines.range(start, end);
}

function flag(ctx: Ctx, finding: Finding): void {
  ctx.findings.push(finding);
  if (finding.code !== 'IDR001') return;
  const { start, end } = finding.range;
  // A range that ends at the start of a line (after a line end) does not touch that line.
  const last = end.line > start.line && end.character === 0 ? end.line - 1 : end.line;
  for (let l = start.line; l <= last; l++) ctx.badLines.add(l);
}

function contentRange(ctx: Ctx, v: JsonValue): Range {
  return v.kind === 'string' ? range(ctx, v.contentStart, v.contentEnd) : range(ctx, v.start, v.end);
}

/** `addr` as Firecracker's templates_serde accepts it: a string in 0x/0b/decimal, or (leniently) a JSON number. */
function readAddr(ctx: Ctx, v: JsonValue | undefined, where: Range): { id: bigint; info: OneRegInfo; text: string; range: Range } | undefined {
  if (!v) {
    flag(ctx, makeFinding('IDR001', 'expected "addr": the KVM one-reg id of the register, e.g. "0x603000000013c020"', where));
    return undefined;
  }
  let text: string;
  if (v.kind === 'string') text = v.value;
  else if (v.kind === 'number') text = v.raw;
  else {
    flag(ctx, makeFinding('IDR001', 'expected "addr" to be a string holding a KVM one-reg id (0x…, 0b… or decimal)', contentRange(ctx, v)));
    return undefined;
  }
  const r = contentRange(ctx, v);
  const addrs = (ctx.addrs ??= new Map());
  let known = addrs.get(text);
  if (known === undefined && !addrs.has(text)) {
    const parsed = parseNumber(text);
    known = parsed === undefined || parsed > 0xffffffffffffffffn ? undefined : { id: parsed, info: decodeOneRegId(parsed) };
    addrs.set(text, known);
  }
  if (known === undefined) {
    flag(ctx, makeFinding('IDR004', `'${text}' is not a 64-bit KVM one-reg id (write 0x…, 0b… or decimal)`, r));
    return undefined;
  }
  const { id, info } = known;
  if (!info.valid) {
    flag(ctx, makeFinding('IDR002', `${hex(id)} is not a register KVM would accept: ${info.problem ?? 'unknown id'}`, r));
  }
  return { id, info, text, range: r };
}

/** width → (1n << width) - 1n; the few widths a template uses (8 << size code, at most 128) are made once. */
const WIDTH_MASKS = new Map<number, bigint>();
function widthMaskOf(width: number): bigint {
  let m = WIDTH_MASKS.get(width);
  if (m === undefined) {
    m = (1n << BigInt(width)) - 1n;
    WIDTH_MASKS.set(width, m);
  }
  return m;
}

function readRegModifiers(ctx: Ctx, arr: JsonValue | undefined, entries: DumpEntry[]): void {
  if (arr === undefined) return;
  if (arr.kind !== 'array') {
    flag(ctx, makeFinding('IDR001', 'expected "reg_modifiers" to be an array of { "addr", "bitmap" } objects', range(ctx, arr.start, arr.end)));
    return;
  }
  for (const item of arr.items) {
    const where = range(ctx, item.start, Math.min(item.end, item.start + 1));
    if (item.kind !== 'object') {
      flag(ctx, makeFinding('IDR001', 'expected a { "addr": …, "bitmap": … } object in "reg_modifiers"', range(ctx, item.start, item.end)));
      continue;
    }
    const addr = readAddr(ctx, member(item, 'addr'), where);
    const bm = member(item, 'bitmap');
    if (!bm || bm.kind !== 'string') {
      flag(ctx, makeFinding('IDR001', 'expected "bitmap": a string of 0, 1 and x digits (e.g. "0bxxxx0000xxxx")', bm ? contentRange(ctx, bm) : where));
      continue;
    }
    if (!addr) continue;
    const valueRange = contentRange(ctx, bm);
    const bitmap = parseBitmap(bm.value);
    if (typeof bitmap === 'string') {
      flag(ctx, makeFinding('IDR004', `bitmap of ${addr.info.name}: ${bitmap}`, valueRange));
      continue;
    }
    const width = Math.min(addr.info.sizeBits, FIRECRACKER_VALUE_BITS);
    const widthMask = widthMaskOf(width);
    if ((bitmap.value & ~widthMask) !== 0n) {
      flag(
        ctx,
        makeFinding('IDR004', `bitmap of ${addr.info.name} sets bits above bit ${width - 1}, but the register is ${width} bits wide`, valueRange, {
          register: addr.info.name,
        }),
      );
    }
    const entry: DumpEntry = {
      reg: oneRegRef(addr.text, addr.range, addr.info),
      value: bitmap.value & widthMask,
      valueRange,
      width,
      oneRegId: addr.id,
    };
    // Digits above the register's width fix bits that do not exist; only the register's own bits count.
    const mask = bitmap.mask & widthMask;
    if (mask !== widthMask) entry.mask = mask;
    entries.push(entry);
  }
}

function readCapabilities(ctx: Ctx, v: JsonValue | undefined): string[] {
  const caps: string[] = [];
  if (v === undefined) return caps;
  if (v.kind !== 'array') {
    flag(ctx, makeFinding('IDR001', 'expected "kvm_capabilities" to be an array of strings such as "171" or "!172"', range(ctx, v.start, v.end)));
    return caps;
  }
  for (const item of v.items) {
    if (item.kind !== 'string' || !/^!?\d+$/.test(item.value)) {
      flag(ctx, makeFinding('IDR001', 'expected a KVM capability number as a string ("171"), or "!171" to remove a check', contentRange(ctx, item)));
      continue;
    }
    caps.push(item.value);
  }
  return caps;
}

function readVcpuFeatures(ctx: Ctx, v: JsonValue | undefined): FeatureEdits | undefined {
  if (v === undefined) return undefined;
  if (v.kind !== 'array') {
    flag(ctx, makeFinding('IDR001', 'expected "vcpu_features" to be an array of { "index", "bitmap" } objects', range(ctx, v.start, v.end)));
    return undefined;
  }
  if (v.items.length === 0) return undefined;
  const edits: FeatureEdits = { set: [], clear: [], range: range(ctx, v.start, v.end) };
  for (const item of v.items) {
    if (item.kind !== 'object') {
      flag(ctx, makeFinding('IDR001', 'expected a { "index": 0, "bitmap": "0b…" } object in "vcpu_features"', range(ctx, item.start, item.end)));
      continue;
    }
    const index = member(item, 'index');
    const bm = member(item, 'bitmap');
    if (!index || index.kind !== 'number' || !/^\d+$/.test(index.raw)) {
      flag(ctx, makeFinding('IDR001', 'expected "index": the word of kvm_vcpu_init.features to modify (0..6)', index ? contentRange(ctx, index) : range(ctx, item.start, item.start + 1)));
      continue;
    }
    if (!bm || bm.kind !== 'string') {
      flag(ctx, makeFinding('IDR001', 'expected "bitmap": a string of at most 32 0, 1 and x digits', bm ? contentRange(ctx, bm) : range(ctx, item.start, item.start + 1)));
      continue;
    }
    const parsed = parseBitmap(bm.value, 32);
    if (typeof parsed === 'string') {
      flag(ctx, makeFinding('IDR004', `vcpu_features bitmap: ${parsed}`, contentRange(ctx, bm)));
      continue;
    }
    // The digits are checked as text: Number() of a 400-digit index is Infinity.
    const digits = index.raw.replace(/^0+(?=\d)/, '');
    const word = digits.length <= 2 ? Number(digits) : Infinity;
    if (word > 6) {
      flag(ctx, makeFinding('IDR004', `kvm_vcpu_init has 7 feature words (index 0..6), not '${index.raw}'`, contentRange(ctx, index)));
      continue;
    }
    for (let bit = 0; bit < 32; bit++) {
      const b = 1n << BigInt(bit);
      if ((parsed.mask & b) === 0n) continue;
      const name = word === 0 ? VCPU_FEATURES[bit] : undefined;
      const label = name ?? `feature bit ${word * 32 + bit}`;
      if ((parsed.value & b) !== 0n) edits.set.push(label);
      else edits.clear.push(label);
    }
  }
  return edits;
}

/** Errors whose line already carries an IDR001 are counted once in the stats. */
function stats(ctx: Ctx): { lines: number; understood: number; skipped: number } {
  const lines = ctx.lines.lineCount;
  const skipped = Math.min(lines, ctx.badLines.size);
  return { lines, understood: lines - skipped, skipped };
}

function syntaxFindings(ctx: Ctx, errors: { start: number; end: number; message: string }[]): void {
  for (const e of errors) flag(ctx, makeFinding('IDR001', e.message, range(ctx, e.start, Math.max(e.end, e.start))));
}

const FINGERPRINT_KEYS = new Set(['firecracker_version', 'kernel_version', 'microcode_version', 'bios_version', 'bios_revision', 'guest_cpu_config']);
const TEMPLATE_KEYS = new Set(['kvm_capabilities', 'vcpu_features', 'reg_modifiers', 'cpuid_modifiers', 'msr_modifiers']);

/**
 * Parses any of Firecracker's aarch64 CPU-configuration JSON files. A fingerprint or a `template dump`
 * (every bit fixed) is a host dump; anything with `x` digits, short bitmaps, capabilities or vCPU feature
 * edits is a custom template (dump.isTemplate, entries carry their mask).
 */
function legacyParseFirecrackerJson(text: string, _path?: string): FormatParseResult {
  const ctx: Ctx = { text, lines: new LineIndex(text), findings: [], badLines: new Set() };
  const scan = scanJson(text);
  syntaxFindings(ctx, scan.errors);
  const root = scan.values[0];
  const entries: DumpEntry[] = [];
  const dump: RegisterDump = { entries };
  const result: FormatParseResult = { format: 'firecracker-template', events: [], dump, findings: ctx.findings, stats: { lines: 0, understood: 0, skipped: 0 } };
  if (!root || root.kind !== 'object') {
    if (root) flag(ctx, makeFinding('IDR001', 'expected a JSON object with "reg_modifiers" (a template) or "guest_cpu_config" (a fingerprint)', range(ctx, root.start, root.end)));
    result.stats = stats(ctx);
    return result;
  }
  let config: JsonValue = root;
  const gcc = memberEntry(root, 'guest_cpu_config');
  if (gcc || member(root, 'firecracker_version') !== undefined) {
    result.format = 'firecracker-fingerprint';
    const kv = member(root, 'kernel_version');
    if (kv?.kind === 'string' && kv.value.length > 0) dump.kernel = kv.value;
    for (const m of root.members) {
      if (!FINGERPRINT_KEYS.has(m.key)) continue;
      if (m.key !== 'guest_cpu_config' && m.value && m.value.kind !== 'string') {
        flag(ctx, makeFinding('IDR001', `expected "${m.key}" to be a string`, contentRange(ctx, m.value)));
      }
    }
    if (!gcc?.value || gcc.value.kind !== 'object') {
      flag(ctx, makeFinding('IDR001', 'expected "guest_cpu_config": { "kvm_capabilities", "vcpu_features", "reg_modifiers" }', range(ctx, root.start, root.start + 1)));
      result.stats = stats(ctx);
      return result;
    }
    config = gcc.value;
  }
  const cfg = config as JsonObject;
  const caps = readCapabilities(ctx, member(cfg, 'kvm_capabilities'));
  const edits = readVcpuFeatures(ctx, member(cfg, 'vcpu_features'));
  if (cfg === root && !root.members.some((m) => TEMPLATE_KEYS.has(m.key))) {
    flag(ctx, makeFinding('IDR001', 'expected a Firecracker CPU template ("reg_modifiers", "vcpu_features", "kvm_capabilities") or a fingerprint ("guest_cpu_config")', range(ctx, root.start, root.start + 1)));
  }
  readRegModifiers(ctx, member(cfg, 'reg_modifiers'), entries);
  if (edits) result.featureEdits = edits;
  // A dump fixes all 128 bits of every register; anything less is a modification of some host.
  const partial = entries.some((e) => e.mask !== undefined) || caps.length > 0 || edits !== undefined;
  if (result.format === 'firecracker-template' && partial) dump.isTemplate = true;
  if (result.format === 'firecracker-fingerprint' && partial) {
    flag(ctx, makeFinding('IDR001', 'a fingerprint fixes every bit of every register, but this one has kept (x) bits or capability/feature edits', range(ctx, cfg.start, cfg.start + 1), { severity: 'warning' }));
  }
  result.stats = stats(ctx);
  return result;
}


// ---------------------------------------------------------------------------------------------

/** A result as plain data: entries read by property (the parser's entries keep their ranges in getters). */
function plain(r: FormatParseResult): unknown {
  const entry = (e: DumpEntry) => ({
    reg: { ...e.reg },
    value: e.value,
    valueRange: e.valueRange,
    mask: e.mask,
    width: e.width,
    oneRegId: e.oneRegId,
  });
  return {
    format: r.format,
    events: r.events,
    findings: r.findings,
    stats: r.stats,
    featureEdits: r.featureEdits,
    dump: r.dump && { kernel: r.dump.kernel, isTemplate: r.dump.isTemplate, features: r.dump.features, entries: r.dump.entries.map(entry) },
  };
}

/** Feeds `text` cut at the given line ends (as the CLI cuts blocks: every piece but the last ends with '\n'). */
function streamed(text: string, cuts: number[]): FormatParseResult {
  const ends: number[] = [];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) ends.push(i + 1);
  const at = [...new Set(cuts.map((c) => ends[c % Math.max(1, ends.length)]).filter((x): x is number => x !== undefined && x < text.length))].sort((a, b) => a - b);
  const s = new FirecrackerJsonStream();
  let from = 0;
  let line = 0;
  for (const to of at) {
    const r = s.feed(text.slice(from, to), line, false);
    assert.equal(r.consumed, to - from);
    line = r.nextLine;
    from = to;
  }
  s.feed(text.slice(from), line, true);
  return s.finish();
}

function same(text: string, cuts: number[], label = ''): void {
  const whole = plain(parseFirecrackerJson(text));
  assert.deepEqual(whole, plain(legacyParseFirecrackerJson(text)), `whole text differs from the tree reader ${label}`);
  assert.deepEqual(plain(streamed(text, cuts)), whole, `pieces differ from the whole text ${label}`);
}

const FIXTURES = join(__dirname, '..', 'fixtures', 'formats', 'firecracker');
const SAMPLES = join(__dirname, '..', '..', '..', 'shared', 'samples');

function jsonFiles(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) return jsonFiles(p);
    return n.endsWith('.json') ? [p] : [];
  });
}

const fixtureFiles = jsonFiles(FIXTURES);
/** The real samples, when ../shared/samples is there (they are not shipped with the project). */
const sampleFiles = ['firecracker-fingerprint', 'firecracker-template-dump', 'firecracker-custom-template'].flatMap((d) => jsonFiles(join(SAMPLES, d)));
const corpus = [...fixtureFiles, ...sampleFiles].map((p) => ({ name: p, text: readFileSync(p, 'utf8') }));

// ---------------------------------------------------------------------------------------------
// Generated documents

const ADDRS = ['0x603000000013c020', '0x603000000013c030', '0x6030000000138010', '0x603000000013c008', '0x6020000000100000', '0x6040000000100000', '0x603000000013c7ff', '0xzz', '0x1ffffffffffffffff', '6931039826524487736', '0b0110000000110000000000000000000000000000000100111100000000100000'];

const bitmapArb = fc.oneof(
  fc.array(fc.constantFrom('0', '1', 'x', '_'), { minLength: 1, maxLength: 140 }).map((d) => '0b' + d.join('')),
  fc.array(fc.constantFrom('0', '1'), { minLength: 128, maxLength: 128 }).map((d) => '0b' + d.join('')),
  fc.constantFrom('0b', '0b12', 'xx', '0bxxxx0000', '0b' + '1'.repeat(129), 'a\\u0030b', '0b1\\q'),
);

const addrArb = fc.oneof(
  fc.constantFrom(...ADDRS).map((a) => JSON.stringify(a)),
  fc.constantFrom('6931039826524487736', '12', '{}', '[]', 'null', '"0x60300000001\\u0033c020"'),
);

const itemArb = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(addrArb, bitmapArb).map(([a, b]) => `{ "addr": ${a}, "bitmap": ${JSON.stringify(b)} }`) },
  { weight: 1, arbitrary: fc.tuple(addrArb, bitmapArb).map(([a, b]) => `{ "bitmap": ${JSON.stringify(b)}, "addr": ${a}, "addr": "0x603000000013c020" }`) },
  { weight: 1, arbitrary: fc.constantFrom('{ "addr": "0x603000000013c020" }', '{ "bitmap": "0b1" }', '"text"', '17', '[1, 2]', '{}') },
);

const vcpuArb = fc.array(
  fc.oneof(
    fc.tuple(fc.constantFrom('0', '1', '6', '7', '00', '123', '-1', '"0"'), fc.constantFrom('"0b1xxxx"', '"0bx1x0"', '"0b2"', '3', '"0b' + '1'.repeat(33) + '"')).map(([i, b]) => `{ "index": ${i}, "bitmap": ${b} }`),
    fc.constantFrom('{ "bitmap": "0b1" }', '{ "index": 0 }', '5', '"x"'),
  ),
  { maxLength: 3 },
);

const capsArb = fc.array(fc.constantFrom('"170"', '"!172"', '"abc"', '171', '{}'), { maxLength: 3 });

const docArb = fc
  .record({
    fingerprint: fc.constantFrom(0, 1, 2),
    items: fc.array(itemArb, { maxLength: 12 }),
    vcpu: vcpuArb,
    caps: capsArb,
    indent: fc.constantFrom(0, 1, 2, 4),
    extra: fc.constantFrom('', '"cpuid_modifiers": [],', '"other": { "reg_modifiers": [ { "addr": "0x1", "bitmap": "0b1" } ] },', '"kernel_version": 5,'),
  })
  .map(({ fingerprint, items, vcpu, caps, indent, extra }) => {
    const nl = indent === 0 ? '' : '\n';
    const pad = (n: number) => (indent === 0 ? '' : ' '.repeat(indent * n));
    const cfg = (d: number) =>
      `{${nl}${pad(d + 1)}${extra}${nl}${pad(d + 1)}"kvm_capabilities": [${caps.join(', ')}],${nl}${pad(d + 1)}"vcpu_features": [${vcpu.join(', ')}],${nl}${pad(d + 1)}"reg_modifiers": [${nl}${items.map((i) => pad(d + 2) + i).join(',' + (nl || ' '))}${nl}${pad(d + 1)}]${nl}${pad(d)}}`;
    if (fingerprint === 0) return cfg(0) + '\n';
    const head = `"firecracker_version": "1.8.0",${nl}${pad(1)}"kernel_version": "6.1.0",${nl}${pad(1)}"microcode_version": "0x0",${nl}${pad(1)}`;
    return fingerprint === 1 ? `{${nl}${pad(1)}${head}"guest_cpu_config": ${cfg(1)}${nl}}\n` : `{${nl}${pad(1)}"reg_modifiers": [],${nl}${pad(1)}"guest_cpu_config": ${cfg(1)},${nl}${pad(1)}${head.replace(/,\s*$/, '')}${nl}}\n`;
  });

/** Breaks a document the ways people and tools do. */
const mutationArb = fc.array(
  fc.record({
    kind: fc.constantFrom('truncate', 'delete', 'insert', 'dupline', 'crlf', 'nonl'),
    at: fc.nat(),
    n: fc.integer({ min: 1, max: 4 }),
    ch: fc.constantFrom(',', ':', '{', '}', '[', ']', '"', '/*', '*/', '//', '\n', '\r', ' ', 'x', "'", '\\', '\ufeff', '\t', '0', '-', 'true'),
  }),
  { maxLength: 4 },
);

function mutate(text: string, muts: { kind: string; at: number; n: number; ch: string }[]): string {
  let t = text;
  for (const m of muts) {
    const at = t.length === 0 ? 0 : m.at % (t.length + 1);
    switch (m.kind) {
      case 'truncate':
        t = t.slice(0, at);
        break;
      case 'delete':
        t = t.slice(0, at) + t.slice(at + m.n);
        break;
      case 'insert':
        t = t.slice(0, at) + m.ch.repeat(m.n) + t.slice(at);
        break;
      case 'dupline': {
        const lines = t.split('\n');
        const i = m.at % lines.length;
        lines.splice(i, 0, lines[i]!);
        t = lines.join('\n');
        break;
      }
      case 'crlf':
        t = t.replace(/\n/g, '\r\n');
        break;
      case 'nonl':
        t = t.replace(/\n+$/, '');
        break;
    }
  }
  return t;
}

const cutsArb = fc.array(fc.nat({ max: 400 }), { maxLength: 8 });

describe('FirecrackerJsonStream equals the whole-text parse and the tree reader', () => {
  it(`fixtures and samples (${corpus.length} files), LF and CRLF, random line-aligned pieces`, () => {
    assert.ok(fixtureFiles.length >= 6);
    for (const f of corpus) {
      for (const text of [f.text, f.text.replace(/\n/g, '\r\n'), f.text.replace(/\n$/, '')]) {
        same(text, [], f.name);
        fc.assert(
          fc.property(cutsArb, (cuts) => same(text, cuts, f.name)),
          { seed: 11, numRuns: 15 },
        );
      }
    }
  });

  it('fixtures and samples, mutated', () => {
    fc.assert(
      fc.property(fc.nat({ max: corpus.length - 1 }), mutationArb, cutsArb, (i, muts, cuts) => same(mutate(corpus[i]!.text, muts), cuts, corpus[i]!.name)),
      { seed: 12, numRuns: 400 },
    );
  });

  it('generated templates and fingerprints, valid and mutated', () => {
    fc.assert(
      fc.property(docArb, mutationArb, cutsArb, (doc, muts, cuts) => same(mutate(doc, muts), cuts)),
      { seed: 13, numRuns: 600 },
    );
  });

  it('odd documents: empty, blank, not an object, trailing text, deep nesting, comments across pieces', () => {
    const deep = '{"reg_modifiers": ' + '['.repeat(300) + '\n' + ']'.repeat(300) + '}\n';
    const docs = [
      '',
      '\n\n',
      '[1, 2]\n',
      '"x"',
      '{"reg_modifiers": []}\n{"x": 1}\n',
      '{"reg_modifiers": []} trailing\nmore\n',
      deep,
      '{\n/* a comment\nover\nlines */ "reg_modifiers": [\n// line\n{"addr": "0x603000000013c020", "bitmap": "0b1"},\n]\n}',
      '{\n"reg_modifiers": [\n{"addr": "0x603000000013c020",\n"bitmap": "0b1"}\n,\n]\n,\n}\n',
      '{"firecracker_version": null, "guest_cpu_config": []}',
      '{"guest_cpu_config": {"reg_modifiers": [{"addr": "0x603000000013c020", "bitmap": "0b1x"}]}, "guest_cpu_config": 1}',
      '{"firecracker_version": {"a": [1,\n2]},\n"guest_cpu_config": {}}\n',
      '{"reg_modifiers": [{"addr": "0x603000000013c020", "bitmap": "0b1"}], "reg_modifiers": [{"addr": "0x603000000013c030", "bitmap": "0b1"}]}',
      '{"vcpu_features": []}\n',
      '{"vcpu_features": {}\n,"kvm_capabilities": "1"}\n',
      '{"reg_modifiers": [\n/* unterminated\n\n',
      '{"reg_modifiers" [\n{"addr" "0x603000000013c020" "bitmap": "0b1"}\n]}',
      "{'reg_modifiers': [{addr: 0x603000000013c020, 'bitmap': '0b1'}]}",
    ];
    for (const d of docs) {
      for (const t of [d, d.replace(/\n/g, '\r\n')]) {
        same(t, []);
        for (let k = 1; k < 12; k++) same(t, Array.from({ length: k }, (_, i) => i * 7 + k));
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------
// JsonStream against scanJson

/** Rebuilds scanJson's tree from JsonStream's events. */
function streamTree(text: string, cuts: number[]): { values: JsonValue[]; errors: { range: Range; message: string }[] } {
  const values: JsonValue[] = [];
  const errors: { range: Range; message: string }[] = [];
  const stack: (JsonValue & { kind: 'object' | 'array' })[] = [];
  const add = (v: JsonValue) => {
    const top = stack[stack.length - 1];
    if (!top) values.push(v);
    else if (top.kind === 'array') top.items.push(v);
    else top.members[top.members.length - 1]!.value = v;
  };
  const s = new JsonStream({
    begin(isObject, start) {
      stack.push(isObject ? { kind: 'object', members: [], start, end: start } : { kind: 'array', items: [], start, end: start });
    },
    key(key) {
      (stack[stack.length - 1] as JsonObject).members.push({ key, keyStart: 0, keyEnd: 0 });
    },
    leaf(kind, start, end, value, contentStart, contentEnd) {
      if (kind === 'string') add({ kind, value: value as string, start, end, contentStart, contentEnd });
      else if (kind === 'number') add({ kind, raw: value as string, start, end });
      else add({ kind, value: value as boolean | null, start, end });
    },
    end(end) {
      const v = stack.pop()!;
      v.end = end;
      add(v);
    },
    error(range, message) {
      errors.push({ range, message });
    },
  });
  const ends: number[] = [];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) ends.push(i + 1);
  const at = [...new Set(cuts.map((c) => ends[c % Math.max(1, ends.length)]).filter((x): x is number => x !== undefined && x < text.length))].sort((a, b) => a - b);
  let from = 0;
  for (const to of at) {
    s.feed(text.slice(from, to), false);
    from = to;
  }
  s.feed(text.slice(from), true);
  return { values, errors };
}

function scanTree(text: string): { values: JsonValue[]; errors: { range: Range; message: string }[] } {
  const scan = scanJson(text);
  const lines = new LineIndex(text);
  const strip = (v: JsonValue): JsonValue =>
    v.kind === 'object' ? { ...v, members: v.members.map((m) => ({ key: m.key, keyStart: 0, keyEnd: 0, ...(m.value ? { value: strip(m.value) } : {}) })) } : v.kind === 'array' ? { ...v, items: v.items.map(strip) } : v;
  return { values: scan.values.map(strip), errors: scan.errors.map((e) => ({ range: lines.range(e.start, Math.max(e.end, e.start)), message: e.message })) };
}

describe('JsonStream reports scanJson tree and errors', () => {
  const jsonChars = fc.constantFrom('{', '}', '[', ']', ',', ':', '"', '"a"', '"k": ', '1', '-2.5e3', '0x1f', 'true', 'nul', "'s'", '\\', '\\u00', '/*', '*/', '//', '\n', '\r\n', ' ', '\t', 'x', '\ufeff', '\u0001');
  it('random token soup, random line-aligned pieces', () => {
    fc.assert(
      fc.property(fc.array(jsonChars, { maxLength: 60 }), cutsArb, (parts, cuts) => {
        const text = parts.join('');
        assert.deepEqual(streamTree(text, cuts), scanTree(text));
      }),
      { seed: 21, numRuns: 3000 },
    );
  });
  it('mutated documents', () => {
    fc.assert(
      fc.property(docArb, mutationArb, cutsArb, (doc, muts, cuts) => {
        const text = mutate(doc, muts);
        assert.deepEqual(streamTree(text, cuts), scanTree(text));
      }),
      { seed: 22, numRuns: 500 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The CLI's block reader


function sameChecked(bytes: Buffer, path: string, blockBytes: number, readSizes: number[], withHost?: string): void {
  const options = withHost ? { host: withHost } : {};
  const whole = checkDocument({ path, text: decodeText(bytes) }, options);
  if (!whole.format.startsWith('firecracker-')) return; // an empty or broken file detected as something else
  const s = checkStreamed(path, memoryFile(bytes, readSizes), options, { blockBytes, format: whole.format });
  assert.ok(s, `${path}: a Firecracker JSON file is streamed`);
  assert.equal(s.format, whole.format);
  assert.deepEqual(s.stats, whole.stats);
  assert.deepEqual(s.findings, whole.findings);
  assert.deepEqual(plain(s.parse as FormatParseResult), plain(whole.parse as FormatParseResult));
}

describe('checkStreamed of Firecracker JSON equals checkDocument', () => {
  it('fixtures and samples: small blocks, short reads, CRLF, a BOM, one minified line', () => {
    for (const f of corpus) {
      const variants = [f.text, f.text.replace(/\n/g, '\r\n'), '\ufeff' + f.text, f.text.replace(/\n\s*/g, '')];
      for (const v of variants) {
        const bytes = Buffer.from(v);
        for (const block of [16, 100, 4096]) sameChecked(bytes, f.name, block, block === 100 ? [7, 300] : []);
      }
    }
  });

  it('generated documents, mutated, random block sizes', () => {
    fc.assert(
      fc.property(docArb, mutationArb, fc.integer({ min: 16, max: 700 }), fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 4 }), (doc, muts, block, reads) => {
        sameChecked(Buffer.from(mutate(doc, muts)), 'gen.json', block, reads);
      }),
      { seed: 31, numRuns: 200 },
    );
  });

  it('judged against a host: the same IDR030 findings', () => {
    const host = join(FIXTURES, 'host-a.fingerprint.json');
    for (const name of ['custom-template.json', 'template-dump.json', 'host-b.fingerprint.json']) {
      sameChecked(readFileSync(join(FIXTURES, name)), join(FIXTURES, name), 64, [], host);
    }
  });

  it('for the CLI (findings only): no entries kept without a host, the same findings; a host keeps them', () => {
    const host = join(FIXTURES, 'host-a.fingerprint.json');
    for (const f of corpus) {
      const bytes = Buffer.from(f.text);
      const path = join(FIXTURES, f.name);
      for (const options of [{}, { host }]) {
        const whole = checkDocument({ path, text: f.text }, options);
        if (!whole.format.startsWith('firecracker-')) continue;
        const s = checkStreamed(path, memoryFile(bytes, []), options, { findingsOnly: true, format: whole.format });
        assert.ok(s, f.name);
        assert.deepEqual(s.findings, whole.findings, f.name);
        assert.deepEqual(s.stats, whole.stats, f.name);
        const kept = s.parse.dump?.entries.length ?? 0;
        assert.equal(kept, 'host' in options ? (whole.parse.dump?.entries.length ?? 0) : 0, `${f.name}: entries kept`);
      }
    }
  });

  it('detection from the first block streams both kinds', () => {
    for (const name of ['custom-template.json', 'host-a.fingerprint.json']) {
      const bytes = readFileSync(join(FIXTURES, name));
      const s = checkStreamed(name, memoryFile(bytes, []), {});
      assert.ok(s);
      assert.equal(s.format, checkDocument({ path: name, text: decodeText(bytes) }).format);
    }
  });
});

// parseBitmap and FIRECRACKER_VALUE_BITS are the oracle's too.
void FIRECRACKER_VALUE_BITS;

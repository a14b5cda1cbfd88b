// Performance: every parser, sniffer and detector, and checkDocument, must stay linear on pathological
// input — long runs of one unit (blank lines, CRs, brackets, quotes, dashes and digits ...). A regex with
// `^\s*` under the m flag, say, rescans the rest of the text from every line start: quadratic.
import fc from 'fast-check';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { knownSlow } from '../known.ts';
import { discoverFormats } from './discover.ts';
import { SRC } from './discover.ts';
import type { PropertyDef, PropertyGroup } from './types.ts';

/** Repeated units that break naive scanners. */
export const UNITS = ['\n', '\r', '\r\n', ' \n', '\t\n', '\u2028', ' ', 'a', '(', ')', '[', '{', '"', '\\', '#', '=', ',', ':', '-1 ', '0', '0x', 'x', 'vcpu ', ': ', '[000] ', 'a-1 [000] 1.0: ', '{"a":', '"\\u', '/*', 'S3_0_C0_C4_0 ', 'ARM64_SYS_REG(', '0b', 'processor\t: 0\n', 'ID_X = 0x1\n', 'SYS_ID_AA64PFR0_EL1:\t', '\u0000'];

/** Units per call in the normal run (at most ~300 KB of text); the fuzz run goes to 65536. */
const UNIT_COUNT = 16384;
/** Characters of one long token for the helper functions. */
const LONG_TOKEN = 1 << 21;
/** A linear scan of that is a few ms; a quadratic one seconds. */
const LIMIT_MS = 1000;

type Fn = (text: string, path?: string) => unknown;

function timeOne(label: string, fn: Fn, unit: string, count: number, path: string, limitMs: number): void {
  if (knownSlow(label, unit)) return;
  const text = unit.repeat(count);
  const t0 = performance.now();
  fn(text, path);
  const ms = performance.now() - t0;
  if (ms > limitMs) throw new Error(`slow: ${label} took ${ms.toFixed(0)} ms on ${count} × ${JSON.stringify(unit)} (${text.length} chars; limit ${limitMs} ms)`);
}

function perfProps(label: string, fn: Fn, path: string): PropertyDef<any>[] {
  return [
    {
      name: `perf.${label}.units`,
      runs: 1,
      exhaustive: UNITS.length,
      weight: 0,
      arb: fc.constant(null),
      check: () => {
        for (const unit of UNITS) timeOne(label, fn, unit, UNIT_COUNT, path, LIMIT_MS);
      },
    },
    {
      name: `perf.${label}.random`,
      runs: 0,
      maxCaseMs: 60_000, // the property times the call itself
      weight: 5,
      arb: fc.noShrink(fc.tuple(fc.oneof(fc.constantFrom(...UNITS), fc.array(fc.constantFrom(...UNITS), { minLength: 2, maxLength: 4 }).map((a) => a.join('')), fc.string({ minLength: 1, maxLength: 6 })), fc.integer({ min: 1024, max: 65536 }))),
      check: ([unit, count]: [string, number]) => timeOne(label, fn, unit, count, path, LIMIT_MS * 3),
    },
  ];
}

const PATH_OF: Record<string, string> = { idtrace: 'p.idtrace', iddump: 'p.iddump', firecracker: 'p.json', ftrace: 'p.ftrace' };

export async function perfGroup(): Promise<PropertyGroup> {
  const found = await discoverFormats();
  const props: PropertyDef<any>[] = [];
  for (const p of found.parsers) props.push(...perfProps(`${p.module}.${p.name}`, p.fn, PATH_OF[p.module] ?? 'p.txt'));
  for (const s of found.sniffers) props.push(...perfProps(`${s.module}.${s.name}`, s.fn, 'p.txt'));
  for (const d of found.detectors) props.push(...perfProps(`${d.module}.${d.name}`, d.fn, 'p.txt'));
  // Helpers that see one long token: a bitmap string, a number, a JSON text (2 Mi characters, 1 s).
  const helpers: [string, Fn, string[]][] = [];
  try {
    const fcm = (await import('../../../src/formats/firecracker.ts')) as { parseBitmap: (t: string, max?: number) => unknown };
    helpers.push(['firecracker.parseBitmap', (t) => fcm.parseBitmap(t), ['0', '1', 'x', '01x_']]);
  } catch {
    /* reported as missing by the parser group */
  }
  try {
    const js = (await import('../../../src/formats/json-scan.ts')) as typeof import('../../../src/formats/json-scan.ts');
    const ignore = { begin() {}, key() {}, leaf() {}, end() {}, error() {} };
    helpers.push(['json-scan.JsonStream', (t) => new js.JsonStream(ignore).feed(t, true), ['[', '{"a":', '"', '0', ' ', '[1,', '"\\', '{']]);
  } catch {
    /* idem */
  }
  const idt = (await import('../../../src/formats/idtrace.ts')) as { parseNumberText: (t: string, o?: { bareHex?: boolean }) => unknown };
  const forms = (await import('../../../src/encoding/forms.ts')) as typeof import('../../../src/encoding/forms.ts');
  helpers.push(['idtrace.parseNumberText', (t) => idt.parseNumberText(t, { bareHex: true }), ['9', 'f', '1_']]);
  helpers.push(['forms.parseRegisterToken', (t) => forms.parseRegisterToken(t), ['9', 'f', '(']]);
  for (const [label, fn, units] of helpers) {
    props.push({
      name: `perf.${label}.longToken`,
      runs: 1,
      exhaustive: units.length,
      weight: 0,
      arb: fc.constant(null),
      check: () => {
        for (const unit of units) timeOne(label, fn, unit, Math.ceil(LONG_TOKEN / unit.length), 'p.txt', LIMIT_MS);
      },
    });
    props.push({
      name: `perf.${label}.random`,
      runs: 0,
      maxCaseMs: 60_000, // the property times the call itself
      weight: 2,
      arb: fc.noShrink(fc.tuple(fc.constantFrom(...units), fc.integer({ min: 1 << 16, max: LONG_TOKEN }))),
      check: ([unit, count]: [string, number]) => timeOne(label, fn, unit, count, 'p.txt', LIMIT_MS * 3),
    });
  }
  const missing = [...found.missing];
  if (existsSync(join(SRC, 'check.ts'))) {
    const { checkDocument } = (await import('../../../src/check.ts')) as typeof import('../../../src/check.ts');
    for (const path of ['/p.idtrace', '/p.txt']) {
      props.push(...perfProps(`check.checkDocument(${path.slice(3)})`, (text) => checkDocument({ path, text }, { readFile: () => new Error('no host in perf tests') }), path));
    }
  } else missing.push('src/check.ts');
  return { group: 'perf', properties: props, missing };
}

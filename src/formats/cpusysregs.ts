// arm-cpusysregs (https://github.com/lelegard/arm-cpusysregs) dumps (formats.md §5.3). The register dump
// prints each register as 64 bits in nibbles, ` - ` between the words, a second line for 128-bit keys,
// then indented field lines:
//
//   ID_AA64ISAR0_EL1: 0001 0000 0001 0001 0001 0001 0001 0001 - 0001 0000 0010 0001 0010 0001 0010 0000
//
//     RNDR:   0x1 (RNG)
//     Value:  00000000-00000000
//     Arch. Ref. Manual section D17.2.59
//
// The companion feature list prints `FEAT_AES ................. yes`. Both are format 'cpusysregs'; only
// register dumps carry values.
import { makeFinding, type Finding, type Range } from '../findings.ts';
import { resolveRegister } from '../encoding/forms.ts';
import type { DumpEntry, RegisterDump } from '../model/events.ts';
import { contentLines, newCounts } from './lines.ts';
import type { FormatParseResult } from './detect.ts';

const REG_LINE = /^([A-Za-z][A-Za-z0-9_.]*):\s+([01]{4}(?:\s+(?:-\s+)?[01]{4})*)\s*$/;
const BITS_LINE = /^\s+([01]{4}(?:\s+(?:-\s+)?[01]{4})*)\s*$/;
/** Indented `Field: value (meaning)` lines; their wording varies between tool versions, so any value is read. */
const FIELD_LINE = /^\s+[A-Za-z][^:]*:\s+\S/;
const VALUE_LINE = /^\s+Value:\s+([0-9A-Fa-f]{8}(?:-[0-9A-Fa-f]{8})*)\s*$/;
const MANUAL_LINE = /^\s+Arch\. Ref\. Manual/;
const FEATURE_LINE = /^(FEAT_\w+|\w+)\s+\.+\s+\S/;

function bitsOf(text: string): { value: bigint; bits: number } {
  const digits = text.replace(/[^01]/g, '');
  return { value: digits.length ? BigInt('0b' + digits) : 0n, bits: digits.length };
}

/** Parses an arm-cpusysregs register dump or feature list. Never throws. */
export function parseCpusysregs(text: string, _path?: string): FormatParseResult {
  const findings: Finding[] = [];
  const entries: DumpEntry[] = [];
  const counts = newCounts();
  let last: { entry?: DumpEntry; name: string; value: bigint; bits: number; line: number; range: Range; lines: number } | undefined;
  for (const { raw, line, at: r } of contentLines(text, counts)) {
    let m = REG_LINE.exec(raw);
    if (m) {
      counts.understood++;
      const name = m[1]!;
      const { value, bits } = bitsOf(m[2]!);
      const valueAt = raw.indexOf(m[2]!, name.length);
      const valueRange = r(valueAt, valueAt + m[2]!.length);
      last = { name, value, bits, line, range: valueRange, lines: 1 };
      const res = resolveRegister(name);
      // Keys (APIAKEY_EL1 = APIAKeyHi:Lo) and tool pseudo-registers have no single encoding: read, not kept.
      if (res && bits <= 64) {
        const entry: DumpEntry = { reg: { text: name, range: r(0, name.length), enc: res.enc, ...(res.name ? { name: res.name } : {}) }, value, valueRange };
        entries.push(entry);
        last.entry = entry;
      }
      continue;
    }
    m = BITS_LINE.exec(raw);
    if (m && last && last.line === line - last.lines) {
      // The low half of a 128-bit register.
      counts.understood++;
      const more = bitsOf(m[1]!);
      last.value = (last.value << BigInt(more.bits)) | more.value;
      last.bits += more.bits;
      last.lines++;
      if (last.entry) {
        // A 128-bit value under a 64-bit register name does not fit the register.
        findings.push(makeFinding('IDR004', `${last.name} is printed with ${last.bits} bits, but the register is 64 bits wide`, r(0, raw.length)));
        entries.splice(entries.indexOf(last.entry), 1);
        last.entry = undefined;
      }
      continue;
    }
    m = VALUE_LINE.exec(raw);
    if (m) {
      counts.understood++;
      if (last) {
        const printed = BigInt('0x' + m[1]!.replace(/-/g, ''));
        if (printed !== last.value) {
          const at = raw.indexOf(m[1]!);
          findings.push(
            makeFinding('IDR003', `${last.name}: the Value line says 0x${printed.toString(16)}, but the bits above say 0x${last.value.toString(16)}`, r(at, at + m[1]!.length), {
              severity: 'warning',
              related: [{ range: last.range, message: 'the bits of the register line' }],
            }),
          );
        }
      }
      continue;
    }
    if (FIELD_LINE.test(raw) || MANUAL_LINE.test(raw) || FEATURE_LINE.test(raw)) {
      counts.understood++;
      continue;
    }
    const at = raw.length - raw.trimStart().length;
    findings.push(makeFinding('IDR001', 'expected `NAME: <64 bits in nibbles>`, an indented `Field: 0x… (meaning)` line, or `FEAT_X ...... yes|no`', r(at, raw.length)));
    counts.skipped++;
  }
  const dump: RegisterDump | undefined = entries.length > 0 ? { entries } : undefined;
  return { format: 'cpusysregs', events: [], ...(dump ? { dump } : {}), findings, stats: { ...counts } };
}

export function sniffCpusysregs(text: string, _path?: string): number {
  const head = text.length > 65536 ? text.slice(0, 65536) : text;
  if (/^[A-Za-z][A-Za-z0-9_]*: [01]{4}( [01]{4}){7} - [01]{4}/m.test(head)) return 0.9;
  if (/^FEAT_\w+ \.{3,} (yes|no)\s*$/m.test(head)) return 0.9;
  return 0;
}

// `NAME = value` register lists (formats.md §5.3): ArmCpuInfo.efi (`ID_AA64ISAR0_EL1 = 0x0000100010211120`,
// then a `MMFR0 | ECV | 63:60 |  0000 | …` table) and lk2nd's `fastboot oem dump-cpuid`
// (`(bootloader) ID_ISAR0 = 0x2101110`: AArch32 names without `_EL1`, unpadded hex).
import { makeFinding, type Finding } from '../findings.ts';
import { parseNumber, resolveRegister } from '../encoding/forms.ts';
import type { DumpEntry, RegisterDump } from '../model/events.ts';
import { contentLines, newCounts } from './lines.ts';
import type { FormatParseResult } from './detect.ts';

const ASSIGN = /^(\s*(?:\(bootloader\)\s+)?)([A-Za-z][A-Za-z0-9_]*)(\s*=\s*)(\S+)\s*$/;
/** Tool banners, table rows and fastboot's own chatter around the values. */
const CONTEXT =
  /^(ArmCpuInfo\b|\(bootloader\)|OKAY\b|FAILED\b|finished\.|Finished\.|< waiting for|Sending|Writing|[-=+|]{3,}|[^|\n\r\u2028\u2029]*\|[^|\n\r\u2028\u2029]*\||[$#>]\s)/;

/** Parses a NAME = value register list. Never throws. */
export function parseRegisterList(text: string, _path?: string): FormatParseResult {
  const findings: Finding[] = [];
  const entries: DumpEntry[] = [];
  const counts = newCounts();
  for (const { raw, at: r } of contentLines(text, counts)) {
    const m = ASSIGN.exec(raw);
    if (m) {
      const nameAt = m[1]!.length;
      const name = m[2]!;
      const valueAt = nameAt + name.length + m[3]!.length;
      const valueText = m[4]!;
      const nameRange = r(nameAt, nameAt + name.length);
      const valueRange = r(valueAt, valueAt + valueText.length);
      counts.understood++;
      const res = resolveRegister(name);
      if (!res) {
        findings.push(makeFinding('IDR002', `${name} is not a register name this tool knows (an AArch64 name, with or without _EL1)`, nameRange, { severity: 'warning' }));
        continue;
      }
      const value = parseNumber(valueText);
      if (value === undefined) {
        findings.push(makeFinding('IDR004', `'${valueText}' is not a number: expected 0x… hex (or decimal)`, valueRange));
        continue;
      }
      if (value > 0xffffffffffffffffn) {
        findings.push(makeFinding('IDR004', `${valueText} is wider than 64 bits`, valueRange));
        continue;
      }
      entries.push({ reg: { text: name, range: nameRange, enc: res.enc, ...(res.name ? { name: res.name } : {}) }, value, valueRange });
      continue;
    }
    // Tested on the line without its indentation: a leading `\s*` in front of the `.*\|.*\|` alternative
    // made a long blank-led line quadratic.
    if (CONTEXT.test(raw.trimStart())) {
      counts.understood++;
      continue;
    }
    const at = raw.length - raw.trimStart().length;
    findings.push(makeFinding('IDR001', 'expected `NAME = 0x…` (a register and its value)', r(at, raw.length)));
    counts.skipped++;
  }
  const dump: RegisterDump = { entries };
  return { format: 'register-list', events: [], dump, findings, stats: { ...counts } };
}

export function sniffRegisterList(text: string, path?: string): number {
  const head = text.length > 65536 ? text.slice(0, 65536) : text;
  if (/^ArmCpuInfo v\d/m.test(head)) return 0.9;
  if (/^\(bootloader\) [A-Z][A-Z0-9_]* = (0x)?[0-9a-fA-F]+\s*$/m.test(head)) return 0.9;
  let hits = 0;
  const re = /^[ \t]*([A-Za-z][A-Za-z0-9_]*)[ \t]*=[ \t]*0x[0-9a-fA-F]+[ \t]*\r?$/gm;
  for (let m = re.exec(head); m && hits < 3; m = re.exec(head)) if (resolveRegister(m[1]!)) hits++;
  if (hits >= 2) return 0.7;
  if (hits === 1) return 0.5;
  if (path !== undefined && /(cpuid|armcpuinfo|reglist)/i.test(path)) return 0.35;
  return 0;
}

// sysfs /sys/devices/system/cpu/cpuN/regs/identification/{midr_el1,revidr_el1,aidr_el1} (formats.md §5.2):
// one file per register holding `0x%016llx`. Seen as `grep . …/identification/*` output (`<path>:<value>`),
// as `head` output (`==> <path> <==` then the value), or as one file's bare value (register from its path).
import { makeFinding, type Finding, type Range } from '../findings.ts';
import { resolveRegister } from '../encoding/forms.ts';
import type { DumpEntry, RegisterDump } from '../model/events.ts';
import { LineIndex } from './json-scan.ts';
import type { FormatParseResult } from './detect.ts';

const PATH_RE = /(?:^|\/)cpu(\d+)\/regs\/identification\/([a-z0-9_]+)\s*$/;

/** Linux numbers CPUs with an int; a larger cpuN is not a CPU (and Number() of 400 digits is Infinity). */
const MAX_CPU = 0x7fffffff;

function cpuNumber(digits: string): number | undefined {
  const d = digits.replace(/^0+(?=\d)/, '');
  const n = d.length <= 10 ? Number(d) : Infinity;
  return n <= MAX_CPU ? n : undefined;
}

interface Seen {
  cpu: number;
  value: bigint;
  valueRange: Range;
  nameRange: Range;
  name: string;
}

/** Parses sysfs identification register text. Never throws. */
export function parseSysfs(text: string, path?: string): FormatParseResult {
  const idx = new LineIndex(text);
  const findings: Finding[] = [];
  let understood = 0;
  let skipped = 0;
  const perReg = new Map<string, Seen[]>();
  // The register of bare values: from a `==> path <==` header, else from the file's own path.
  const own = path ? PATH_RE.exec(path.replace(/\\/g, '/')) ?? /(?:^|\/)(midr_el1|revidr_el1|aidr_el1|smidr_el1)$/.exec(path) : null;
  // A file path naming an impossible CPU number gives no register for bare values (they are reported as not understood).
  const ownCpu = own ? (own.length === 3 ? cpuNumber(own[1]!) : 0) : undefined;
  let current: { cpu: number; reg: string; range: Range } | undefined = own && ownCpu !== undefined
    ? { cpu: ownCpu, reg: own[own.length - 1]!, range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } } }
    : undefined;
  const record = (cpu: number, reg: string, nameRange: Range, valueText: string, valueRange: Range): void => {
    const res = resolveRegister(reg);
    if (!res) {
      findings.push(makeFinding('IDR002', `${reg} is not a register name (expected midr_el1, revidr_el1 or aidr_el1)`, nameRange));
      return;
    }
    if (!/^0x[0-9a-fA-F]{1,16}$/.test(valueText)) {
      findings.push(makeFinding('IDR004', `expected a 64-bit hex value such as 0x00000000410fd4f1, not '${valueText}'`, valueRange));
      return;
    }
    const name = res.name ?? reg.toUpperCase();
    const list = perReg.get(name) ?? [];
    list.push({ cpu, value: BigInt(valueText), valueRange, nameRange, name });
    perReg.set(name, list);
  };
  const lines = idx.lineCount;
  for (let line = 0; line < lines; line++) {
    const raw = text.slice(idx.lineStart(line), idx.lineEnd(line));
    const trimmed = raw.trim();
    const at = raw.indexOf(trimmed);
    const r = (a: number, b: number): Range => ({ start: { line, character: a }, end: { line, character: b } });
    if (trimmed === '' || /^[$#]\s/.test(trimmed)) {
      understood++;
      continue;
    }
    const head = /^==> (.+) <==$/.exec(trimmed);
    if (head) {
      const m = PATH_RE.exec(head[1]!);
      const cpu = m ? cpuNumber(m[1]!) : undefined;
      if (m && cpu === undefined) {
        const cpuAt = at + 4 + m.index + m[0].indexOf('cpu') + 3;
        findings.push(makeFinding('IDR004', `'cpu${m[1]}' is not a CPU number (0 to ${MAX_CPU})`, r(cpuAt, cpuAt + m[1]!.length)));
        // The values under this header belong to no CPU: they are reported, not read as another CPU's.
        current = undefined;
        understood++;
      } else if (m) {
        current = { cpu: cpu!, reg: m[2]!, range: r(at + 4 + head[1]!.lastIndexOf('/') + 1, at + 4 + head[1]!.length) };
        understood++;
      } else {
        findings.push(makeFinding('IDR001', 'expected a header naming …/cpuN/regs/identification/<register>', r(at, raw.length)));
        skipped++;
      }
      continue;
    }
    // `grep . …` output: `<path>:<value>`.
    const colon = trimmed.lastIndexOf(':');
    if (colon > 0) {
      const p = trimmed.slice(0, colon);
      const m = PATH_RE.exec(p);
      if (m) {
        const v = trimmed.slice(colon + 1).trim();
        const vAt = at + colon + 1 + (trimmed.slice(colon + 1).length - trimmed.slice(colon + 1).trimStart().length);
        const regAt = at + p.lastIndexOf('/') + 1;
        const cpu = cpuNumber(m[1]!);
        if (cpu === undefined) {
          const cpuAt = at + m.index + m[0].indexOf('cpu') + 3;
          findings.push(makeFinding('IDR004', `'cpu${m[1]}' is not a CPU number (0 to ${MAX_CPU})`, r(cpuAt, cpuAt + m[1]!.length)));
        } else record(cpu, m[2]!, r(regAt, regAt + m[2]!.length), v, r(vAt, vAt + v.length));
        understood++;
        continue;
      }
    }
    if (/^0x[0-9a-fA-F]+$/.test(trimmed) && current) {
      record(current.cpu, current.reg, current.range, trimmed, r(at, at + trimmed.length));
      understood++;
      continue;
    }
    findings.push(
      makeFinding('IDR001', 'expected `/sys/devices/system/cpu/cpuN/regs/identification/<register>:0x…` (grep output) or a value under a `==> path <==` header', r(at, raw.length)),
    );
    skipped++;
  }
  const entries: DumpEntry[] = [];
  for (const [name, list] of perReg) {
    // The lowest-numbered CPU stands for the host, as KVM's default is the boot CPU's value.
    const sorted = [...list].sort((a, b) => a.cpu - b.cpu);
    const first = sorted[0]!;
    const res = resolveRegister(name);
    entries.push({ reg: { text: name.toLowerCase(), range: first.nameRange, ...(res ? { enc: res.enc, name } : {}) }, value: first.value, valueRange: first.valueRange });
    const reported = new Set<bigint>([first.value]);
    for (const s of sorted) {
      if (reported.has(s.value)) continue;
      reported.add(s.value);
      findings.push(
        makeFinding('IDR022', `cpu${s.cpu} has ${name} 0x${s.value.toString(16).padStart(16, '0')}, cpu${first.cpu} has 0x${first.value.toString(16).padStart(16, '0')}: the host mixes core types`, s.valueRange, {
          severity: 'information',
          register: name,
          related: [{ range: first.valueRange, message: `cpu${first.cpu}'s value` }],
        }),
      );
    }
  }
  const dump: RegisterDump = { entries };
  return { format: 'sysfs-identification', events: [], dump, findings, stats: { lines, understood, skipped } };
}

export function sniffSysfs(text: string, path?: string): number {
  const head = text.length > 65536 ? text.slice(0, 65536) : text;
  if (/\/regs\/identification\/(midr|revidr|aidr|smidr)_el1/.test(head)) return 0.9;
  if (path !== undefined && /(^|[\\/])(midr|revidr|aidr|smidr)_el1$/.test(path) && /^\s*0x[0-9a-fA-F]+\s*$/.test(head)) return 0.9;
  return 0;
}

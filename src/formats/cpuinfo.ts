// /proc/cpuinfo on arm64 (formats.md §5.1): blank-line separated blocks of `Key<TAB>: value`. The five
// `CPU …` lines are the fields of MIDR_EL1; the first CPU's MIDR is the value KVM gives a VM by default
// (the boot CPU's), and other core types of a heterogeneous system are reported as information.
import { makeFinding, type Finding, type Range } from '../findings.ts';
import { resolveRegister } from '../encoding/forms.ts';
import { midrImplementerName, midrPartName } from '../data/registers.ts';
import type { DumpEntry, RegisterDump } from '../model/events.ts';
import { LineIndex } from './json-scan.ts';
import type { FormatParseResult } from './detect.ts';

interface MidrParts {
  implementer?: number;
  variant?: number;
  part?: number;
  revision?: number;
  /** Where the block's MIDR lines are. */
  first?: Range;
  last?: Range;
  processor?: number;
}

/**
 * Limits of the MIDR_EL1 fields (Implementer[31:24], Variant[23:20], PartNum[15:4], Revision[3:0]). A Map:
 * the keys come from the input, and a plain object would answer `__proto__` or `constructor` too.
 */
const FIELDS: ReadonlyMap<string, { key: 'implementer' | 'variant' | 'part' | 'revision'; max: number }> = new Map([
  ['cpu implementer', { key: 'implementer', max: 0xff }],
  ['cpu variant', { key: 'variant', max: 0xf }],
  ['cpu part', { key: 'part', max: 0xfff }],
  ['cpu revision', { key: 'revision', max: 0xf }],
] as const);

/** Linux numbers CPUs with an int (NR_CPUS is far below this); a larger `processor` is not a CPU number. */
const MAX_CPU = 0x7fffffff;

export function midrOf(p: { implementer: number; variant?: number; part: number; revision?: number }): bigint {
  // Architecture [19:16] is 0xF ("defined by the ID registers") on every arm64 CPU.
  return BigInt(((p.implementer << 24) | ((p.variant ?? 0) << 20) | (0xf << 16) | (p.part << 4) | (p.revision ?? 0)) >>> 0);
}

export function describeMidr(midr: bigint): string {
  const impl = Number((midr >> 24n) & 0xffn);
  const part = Number((midr >> 4n) & 0xfffn);
  const name = midrPartName(impl, part);
  const vendor = midrImplementerName(impl);
  return name ? `${vendor ? vendor + ' ' : ''}${name} r${Number((midr >> 20n) & 0xfn)}p${Number(midr & 0xfn)}` : `implementer 0x${impl.toString(16)} part 0x${part.toString(16)}`;
}

/** Parses /proc/cpuinfo text. Never throws. */
export function parseCpuinfo(text: string, _path?: string): FormatParseResult {
  const idx = new LineIndex(text);
  const findings: Finding[] = [];
  const entries: DumpEntry[] = [];
  const dump: RegisterDump = { entries };
  let understood = 0;
  let skipped = 0;
  const blocks: MidrParts[] = [];
  let cur: MidrParts = {};
  const close = (): void => {
    if (cur.implementer !== undefined || cur.part !== undefined) blocks.push(cur);
    cur = {};
  };
  const lines = idx.lineCount;
  for (let line = 0; line < lines; line++) {
    const raw = text.slice(idx.lineStart(line), idx.lineEnd(line));
    const trimmed = raw.trim();
    if (trimmed === '') {
      understood++;
      continue;
    }
    const colon = raw.indexOf(':');
    if (colon < 0) {
      // A pasted shell prompt or a heading above the dump.
      if (/^([$#>]\s|```)|cpuinfo/.test(trimmed)) understood++;
      else {
        findings.push(makeFinding('IDR001', 'expected `Key<TAB>: value` (a /proc/cpuinfo line)', { start: { line, character: raw.indexOf(trimmed) }, end: { line, character: raw.length } }));
        skipped++;
      }
      continue;
    }
    const key = raw.slice(0, colon).trim().toLowerCase();
    const valueStart = colon + 1 + (raw.slice(colon + 1).length - raw.slice(colon + 1).trimStart().length);
    const value = raw.slice(valueStart).trimEnd();
    const vr: Range = { start: { line, character: valueStart }, end: { line, character: valueStart + value.length } };
    understood++;
    if (key === 'processor' && /^\d+$/.test(value)) {
      // Old kernels print all `processor : N` lines first and one block of CPU fields after them.
      if (cur.implementer !== undefined || cur.part !== undefined) close();
      const digits = value.replace(/^0+(?=\d)/, '');
      const n = digits.length <= 10 ? Number(digits) : Infinity;
      if (n > MAX_CPU) {
        findings.push(makeFinding('IDR004', `processor must be a CPU number from 0 to ${MAX_CPU}, not '${value}'`, vr));
        continue;
      }
      if (cur.processor === undefined) cur.processor = n;
      continue;
    }
    const field = FIELDS.get(key);
    if (field) {
      const n = /^(0x[0-9a-fA-F]+|\d+)$/.test(value) ? Number(value) : NaN;
      if (!Number.isInteger(n) || n > field.max) {
        findings.push(makeFinding('IDR004', `${raw.slice(0, colon).trim()} must be a number from 0 to 0x${field.max.toString(16)} (a MIDR_EL1 field), not '${value}'`, vr));
        continue;
      }
      cur[field.key] = n;
      cur.first ??= vr;
      cur.last = vr;
    }
  }
  close();
  const seen = new Set<bigint>();
  let firstMidr: bigint | undefined;
  for (const b of blocks) {
    if (b.implementer === undefined || b.part === undefined) {
      findings.push(makeFinding('IDR001', 'a CPU block needs both `CPU implementer` and `CPU part` to give MIDR_EL1', b.first!, { severity: 'warning' }));
      continue;
    }
    const midr = midrOf({ implementer: b.implementer, part: b.part, ...(b.variant !== undefined ? { variant: b.variant } : {}), ...(b.revision !== undefined ? { revision: b.revision } : {}) });
    const where: Range = { start: b.first!.start, end: b.last!.end };
    if (firstMidr === undefined) {
      firstMidr = midr;
      const res = resolveRegister('MIDR_EL1');
      entries.push({ reg: { text: 'CPU implementer', range: b.first!, ...(res ? { enc: res.enc, name: 'MIDR_EL1' } : {}) }, value: midr, valueRange: where });
    } else if (!seen.has(midr) && midr !== firstMidr) {
      findings.push(
        makeFinding(
          'IDR022',
          `CPU ${b.processor ?? '?'} is another core type: MIDR_EL1 0x${midr.toString(16)} (${describeMidr(midr)}) versus 0x${firstMidr.toString(16)} (${describeMidr(firstMidr)}); a vCPU sees the MIDR of the physical CPU it runs on unless the VMM sets one`,
          where,
          { severity: 'information', register: 'MIDR_EL1' },
        ),
      );
    }
    seen.add(midr);
  }
  return { format: 'proc-cpuinfo', events: [], dump, findings, stats: { lines, understood, skipped } };
}

export function sniffCpuinfo(text: string, path?: string): number {
  const head = text.length > 65536 ? text.slice(0, 65536) : text;
  if (/^CPU implementer\s*:/m.test(head) || /^CPU part\s*:/m.test(head)) return 0.9;
  if (/^processor\s*:\s*\d+/m.test(head) && /^(Features|BogoMIPS)\s*:/m.test(head)) return 0.8;
  if (path !== undefined && /cpuinfo/i.test(path)) return 0.4;
  return 0;
}

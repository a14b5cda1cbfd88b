// The native dump format (.iddump): the kernel's debugfs file /sys/kernel/debug/kvm/<pid>-<fd>/idregs
// (kvm-model.md §4.14), printed as "%20s:\t%016llx" per VM ID register:
//
//      SYS_ID_AA64PFR0_EL1:	1101010021111112
//
// The name may be any register spelling resolveRegister accepts (SYS_ prefix optional, KVM's
// S3_0_0_4_3 for unallocated slots); the separator after the colon is any run of tabs or spaces; the
// value is hex, with or without 0x, at most 64 bits. `#` starts a comment. Two comment lines are read
// as metadata because a dump is the limit only for the vCPU features it was taken with (design.md):
//
//   # kernel: 6.15
//   # features: psci_0_2,pmu_v3
//
// The kernel's own file has no such lines; a dump without them has unknown features and kernel.
// A third, `# host: PATH` (relative to the dump), names a host to check the values against (IDR030),
// as a `host` line does in a trace; it becomes a HostEvent, the only event a dump yields.
import { leadingLineScore } from './sniff.ts';
import { makeFinding, type Finding, type Range } from '../findings.ts';
import { resolveRegister } from '../encoding/forms.ts';
import { encodingKey, type DumpEntry, type RegisterDump, type TraceEvent } from '../model/events.ts';
import { normaliseFeature, parseNumberText, VCPU_FEATURES } from './idtrace.ts';
import type { ParseResult } from './types.ts';

function isSpace(c: number): boolean {
  return c === 32 || c === 9 || c === 0xfeff;
}

/** Parses an .iddump document. Never throws; every line is understood or has a finding. */
export function parseIddump(text: string, _path?: string): ParseResult {
  const findings: Finding[] = [];
  const entries: DumpEntry[] = [];
  const firstLine = new Map<number, number>();
  const dump: RegisterDump = { entries };
  const events: TraceEvent[] = [];
  let lines = 0;
  let understood = 0;
  let skipped = 0;
  const len = text.length;
  let pos = 0;
  let nextHash = -1; // the next '#' at or after pos (-2: none left), so no line rescans the rest of the file
  while (pos < len) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = len;
    let end = nl;
    if (end > pos && text.charCodeAt(end - 1) === 13) end--;
    const line = lines++;
    const ls = pos;
    pos = nl + 1;
    const range = (s: number, e: number): Range => ({ start: { line, character: s - ls }, end: { line, character: e - ls } });
    let i = ls;
    while (i < end && isSpace(text.charCodeAt(i))) i++;
    // trailing comment and whitespace
    if (nextHash !== -2 && nextHash < i) {
      nextHash = text.indexOf('#', i);
      if (nextHash < 0) nextHash = -2;
    }
    const ce = nextHash >= 0 && nextHash < end ? nextHash : end;
    if (i === ce) {
      if (ce < end) readMetadata(text.slice(ce + 1, end), dump, events, findings, range(ce, end), ce + 1 - ls, line);
      understood++;
      continue;
    }
    let e = ce;
    while (e > i && isSpace(text.charCodeAt(e - 1))) e--;
    const colon = text.indexOf(':', i);
    if (colon < 0 || colon >= e) {
      findings.push(makeFinding('IDR001', `expected NAME:<tab>VALUE (the debugfs idregs format, e.g. "SYS_ID_AA64PFR0_EL1:\\t1101010021111112")`, range(i, e)));
      skipped++;
      continue;
    }
    let ne = colon;
    while (ne > i && isSpace(text.charCodeAt(ne - 1))) ne--;
    const name = text.slice(i, ne);
    let vs = colon + 1;
    while (vs < e && isSpace(text.charCodeAt(vs))) vs++;
    let ve = vs;
    while (ve < e && !isSpace(text.charCodeAt(ve))) ve++;
    if (vs === ve) {
      findings.push(makeFinding('IDR001', `expected a hex value after '${name}:'`, range(i, e)));
      skipped++;
      continue;
    }
    const valueText = text.slice(vs, ve);
    const num = parseNumberText(valueText, { bareHex: true });
    if (!num.ok) {
      findings.push(makeFinding('IDR004', num.message, range(vs, ve)));
      skipped++;
      continue;
    }
    if (ve < e) findings.push(makeFinding('IDR001', `unexpected '${text.slice(ve, e)}' after the value`, range(ve, e)));
    const res = name.length > 0 ? resolveRegister(name) : undefined;
    if (!res) {
      findings.push(makeFinding('IDR002', name.length === 0 ? 'expected a register name before the colon' : `unknown register '${name}'`, range(i, Math.max(ne, i + 1))));
      skipped++;
      continue;
    }
    const key = encodingKey(res.enc);
    const prev = firstLine.get(key);
    if (prev !== undefined) {
      findings.push(
        makeFinding('IDR001', `${res.name ?? name} appears twice in this dump; this later value is used`, range(i, ne), {
          related: [{ range: { start: { line: prev, character: 0 }, end: { line: prev, character: 0 } }, message: 'first value' }],
        }),
      );
    } else firstLine.set(key, line);
    entries.push({
      reg: { text: name, range: range(i, ne), enc: res.enc, ...(res.name ? { name: res.name } : {}) },
      value: num.value,
      valueRange: range(vs, ve),
    });
    understood++;
  }
  return { format: 'iddump', events, dump, findings, stats: { lines, understood, skipped } };
}

function readMetadata(comment: string, dump: RegisterDump, events: TraceEvent[], findings: Finding[], lineRange: Range, offset: number, line: number): void {
  const hash = comment.indexOf('#');
  if (hash >= 0) comment = comment.slice(0, hash); // `# features: sve  # note`: the second # starts a comment
  // The rest of the comment, then trimEnd: a lazy `(.*?)\s*$` (or `.*$` failing at a stray '\r') rescans
  // a long run of blanks from every character before it.
  const m = /^\s*(kernel|features|host)\s*:\s*([^]*)/i.exec(comment);
  if (!m) return;
  const key = m[1]!.toLowerCase();
  const value = m[2]!.trimEnd();
  const valueStart = offset + comment.indexOf(value, m[0].indexOf(':'));
  if (key === 'kernel') {
    if (value.length > 0) dump.kernel = value.replace(/^v/i, '');
    return;
  }
  if (key === 'host') {
    if (value.length > 0) {
      const pathRange: Range = { start: { line, character: valueStart }, end: { line, character: valueStart + value.length } };
      events.push({ kind: 'host', path: value, pathRange, range: lineRange });
    }
    return;
  }
  const features: string[] = [];
  let p = 0;
  for (const part of value.split(/[,\s]+/)) {
    const at = value.indexOf(part, p);
    p = at + part.length;
    if (part.length === 0 || part === 'none') continue;
    const f = normaliseFeature(part);
    if (f === undefined) {
      findings.push(
        makeFinding('IDR001', `unknown vCPU feature '${part}': expected ${VCPU_FEATURES.join(' ')}`, {
          start: { line, character: valueStart + at },
          end: { line, character: valueStart + at + part.length },
        }),
      );
    } else if (!features.includes(f)) features.push(f);
  }
  dump.features = features;
}

/** Confidence 0..1 that the text is a debugfs idregs dump. */
export function sniffIddump(text: string, path?: string): number {
  if (path && /\.iddump$/i.test(path)) return 1;
  if (path && /(^|[\\/])idregs$/.test(path)) return 1;
  return leadingLineScore(text, (line) => /^[A-Za-z][A-Za-z0-9_]*:\s+(0x)?[0-9a-fA-F]{1,16}$/.test(line));
}

// idregLens/registerTable: the VM's final state per register and field (value, host limit, verdict),
// or a dump's values against its host. Verdicts come from the findings that name the register/field.
import type { Finding } from '../../src/findings.ts';
import { encodingKey, type Encoding } from '../../src/model/events.ts';
import { decodeValue, describePolicy, fieldValue, genericName, registerName, type FileReport } from '../core.ts';
import type { FieldRow, RegisterRow, RegisterTable, Verdict } from '../protocol.ts';
import { hex } from './context.ts';
import { hostLimit } from './hover.ts';

function worst(a: Verdict, b: Verdict): Verdict {
  const order: Verdict[] = ['ok', 'unknown', 'warning', 'error'];
  return order.indexOf(a) >= order.indexOf(b) ? a : b;
}

function verdictOf(findings: Finding[]): Verdict {
  if (findings.some((f) => f.severity === 'error')) return 'error';
  if (findings.length > 0) return 'warning';
  return 'ok';
}

function row(report: FileReport, enc: Encoding, value: bigint | undefined, limit: bigint | undefined, findings: Finding[], setAtLine?: number): RegisterRow {
  const name = registerName(enc);
  const fields: FieldRow[] = [];
  const decoded = value !== undefined ? decodeValue(enc, value) : undefined;
  const limitDecoded = limit !== undefined ? decodeValue(enc, limit) : undefined;
  const layout = decoded?.fields ?? limitDecoded?.fields ?? [];
  let regVerdict: Verdict = findings.length ? verdictOf(findings) : value === undefined ? 'unknown' : 'ok';
  for (const f of layout) {
    const mine = findings.filter((x) => x.field === f.name);
    const lf = limitDecoded?.fields.find((x) => x.name === f.name);
    let verdict: Verdict = mine.length ? verdictOf(mine) : value === undefined ? 'unknown' : 'ok';
    if (verdict === 'ok' && limit === undefined) verdict = 'unknown';
    regVerdict = worst(regVerdict, verdict === 'unknown' ? 'ok' : verdict);
    const policy = describePolicy(enc, f.name);
    fields.push({
      name: f.name,
      msb: f.msb,
      lsb: f.lsb,
      ...(decoded ? { value: `0x${fieldValue(decoded.value, f).toString(16)}` } : {}),
      ...(decoded?.fields.find((x) => x.name === f.name)?.meaning ? { meaning: decoded.fields.find((x) => x.name === f.name)!.meaning } : {}),
      ...(lf ? { limit: `0x${lf.value.toString(16)}`, ...(lf.meaning ? { limitMeaning: lf.meaning } : {}) } : {}),
      ...(policy ? { policy } : {}),
      verdict,
      ...(mine.length ? { note: mine.map((x) => `${x.code}: ${x.message}`).join('\n') } : {}),
    });
  }
  void report;
  return {
    name,
    generic: genericName(enc),
    ...(value !== undefined ? { value: hex(value) } : {}),
    ...(limit !== undefined ? { limit: hex(limit) } : {}),
    ...(setAtLine !== undefined ? { setAtLine } : {}),
    verdict: regVerdict,
    findings: findings.length,
    fields,
  };
}

export function buildRegisterTable(uri: string, report: FileReport): RegisterTable {
  const byReg = new Map<string, Finding[]>();
  for (const f of report.findings) {
    if (!f.register) continue;
    const list = byReg.get(f.register) ?? [];
    list.push(f);
    byReg.set(f.register, list);
  }
  const registers: RegisterRow[] = [];
  const vm = report.replay?.vm;
  if (vm && vm.registers.length > 0) {
    let touched = report.touched;
    if (!touched) {
      const keys = new Set<number>();
      for (const e of report.parse.events) if ('reg' in e && e.reg.enc) keys.add(encodingKey(e.reg.enc));
      touched = keys;
    }
    for (const r of vm.registers) {
      const findings = byReg.get(r.name) ?? byReg.get(registerName(r.enc)) ?? [];
      // RAZ slots and registers nothing is known about are noise in the table.
      const known = r.value !== undefined || r.limit !== undefined;
      const interesting = touched.has(encodingKey(r.enc)) || findings.length > 0 || (known && r.setBy !== 'default');
      if (!interesting) continue;
      registers.push(row(report, r.enc, r.value, r.limit, byReg.get(r.name) ?? byReg.get(registerName(r.enc)) ?? [], r.setAt?.start.line));
    }
  } else if (report.parse.dump) {
    const seen = new Set<number>();
    for (const d of report.parse.dump.entries) {
      if (!d.reg.enc) continue;
      const key = encodingKey(d.reg.enc);
      if (seen.has(key)) continue;
      seen.add(key);
      const name = registerName(d.reg.enc);
      registers.push(row(report, d.reg.enc, d.value, hostLimit(report, d.reg.enc), byReg.get(name) ?? [], d.valueRange.start.line));
    }
  }
  return {
    uri,
    format: report.format,
    ...(vm?.kernel ? { kernel: vm.kernel } : {}),
    ...(vm ? { hasRun: vm.hasRun, vcpus: vm.vcpus.map((v) => ({ id: v.id, initialised: v.initialised, ran: v.ran })) } : {}),
    ...(report.host?.path ? { hostPath: report.host.path } : {}),
    ...(report.host?.error ? { hostError: report.host.error } : {}),
    registers,
  };
}

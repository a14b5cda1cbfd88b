// `idreg diff SOURCE DEST [--json] [--kernel VER] [--cap-writable-imp]`: can a VM configured as SOURCE
// run on (be restored or migrated to) host DEST. Exit 0 compatible, 1 not, 2 usage or unreadable input.
import { isAbsolute, relative, resolve } from 'node:path';
import type { RegisterDump } from '../model/events.ts';
import { describeProblem, diffDumps, diffFindings, type DiffResult } from '../diff.ts';
import { parseAny } from '../formats/detect.ts';
import type { FormatId } from '../formats/types.ts';
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, parseArgs, UsageError, type CliIO } from './io.ts';

export const DIFF_USAGE = `usage: idreg diff SOURCE DEST [--json] [--kernel VER] [--cap-writable-imp]
  SOURCE, DEST: host dumps (Firecracker fingerprint or template dump, .iddump, sysfs, cpusysregs, ...)
  --kernel VER          judge under this kernel's KVM rules (default: DEST's kernel when the dump names it, else the newest)
  --cap-writable-imp    the VM enables KVM_CAP_ARM_WRITABLE_IMP_ID_REGS (6.15+): MIDR/REVIDR/AIDR may differ
exit status: 0 compatible, 1 not compatible, 2 usage or unreadable input`;

export interface LoadedDump {
  path: string;
  shown: string;
  format: FormatId;
  dump: RegisterDump;
  /** Syntax problems found while reading (the values that could be read are used). */
  problems: string[];
}

function shownPath(io: CliIO, abs: string): string {
  const rel = relative(io.cwd, abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : abs;
}

/** Reads and parses a dump for diff/baseline; a UsageError explains why a file cannot serve. */
export function loadDump(io: CliIO, file: string, role: string): LoadedDump {
  const abs = isAbsolute(file) ? file : resolve(io.cwd, file);
  let text: string;
  try {
    text = io.readFile(abs).toString('utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read ${role} '${file}': ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message}`);
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const parse = parseAny(text, abs);
  if (parse.format === 'unknown') throw new UsageError(`${role} '${file}' is not in a format idreg knows (expected a register dump)`);
  if (!parse.dump || parse.dump.entries.length === 0) throw new UsageError(`${role} '${file}' is a ${parse.format} file without register values; expected a host dump`);
  if (parse.dump.isTemplate) throw new UsageError(`${role} '${file}' is a CPU template (it modifies a host); expected a host dump such as a fingerprint`);
  const shown = shownPath(io, abs);
  const problems = parse.findings
    .filter((f) => f.severity === 'error' && (f.code === 'IDR001' || f.code === 'IDR004'))
    .map((f) => `${shown}:${f.range.start.line + 1}:${f.range.start.character + 1}: ${f.code}: ${f.message}`);
  return { path: abs, shown, format: parse.format, dump: parse.dump, problems };
}

function hexId(id: bigint | undefined): string | undefined {
  return id === undefined ? undefined : '0x' + id.toString(16).padStart(16, '0');
}

function kernelLine(r: DiffResult, dest: string): string {
  const from = r.kernel.from === 'option' ? '--kernel' : r.kernel.from === 'destination' ? `${dest}'s kernel` : 'no kernel given: newest rules';
  return `rules: kernel ${r.kernel.text ?? 'newest'} (${from}; era ${r.kernel.era}: ${r.kernel.note}); KVM_CAP_ARM_WRITABLE_IMP_ID_REGS ${r.capWritableImp ? 'enabled' : 'not enabled'}`;
}

function jsonResult(r: DiffResult, source: LoadedDump, dest: LoadedDump): unknown {
  const findings = diffFindings(r, dest.shown, dest.path);
  return {
    source: source.shown,
    destination: dest.shown,
    compatible: r.compatible,
    kernel: { ...(r.kernel.text !== undefined ? { text: r.kernel.text } : {}), from: r.kernel.from, era: r.kernel.era, note: r.kernel.note },
    capWritableImp: r.capWritableImp,
    refusals: r.refusals.map((x) => ({
      code: 'IDR031',
      register: x.register,
      ...(x.oneRegId !== undefined ? { oneRegId: hexId(x.oneRegId) } : {}),
      ...(x.field !== undefined ? { field: x.field } : {}),
      ...(x.msb !== undefined ? { msb: x.msb, lsb: x.lsb } : {}),
      ...(x.source !== undefined ? { source: '0x' + x.source.toString(16) } : {}),
      ...(x.destination !== undefined ? { destination: '0x' + x.destination.toString(16) } : {}),
      rule: x.rule,
      errno: x.errno,
      range: x.sourceRange,
      ...(x.destinationRange ? { destinationRange: x.destinationRange } : {}),
    })),
    compared: r.compared,
    onlyOnDestination: r.onlyOnDestination,
    ignoredOnDestination: r.ignored,
    notJudged: r.notJudged,
    findings: findings.map((f) => ({ code: f.code, severity: f.severity, message: f.message, range: f.range, related: f.related, ...(f.errno ? { errno: f.errno } : {}), ...(f.register ? { register: f.register } : {}), ...(f.field ? { field: f.field } : {}) })),
    problems: [...source.problems, ...dest.problems],
  };
}

function textResult(r: DiffResult, source: LoadedDump, dest: LoadedDump): string {
  const out: string[] = [];
  const n = r.refusals.length;
  out.push(`${source.shown} -> ${dest.shown}: ${r.compatible ? 'compatible' : `NOT compatible (${n} refusal${n === 1 ? '' : 's'})`}`);
  out.push(kernelLine(r, dest.shown));
  for (const v of r.verdicts) {
    const loc = `${source.shown}:${v.write.valueRange.start.line + 1}:${v.write.valueRange.start.character + 1}`;
    if (v.status === 'missing') {
      out.push(`${loc}: error IDR031: ${v.name}${v.write.oneRegId !== undefined ? ` (${hexId(v.write.oneRegId)})` : ''}: ${dest.shown} does not list this register (-ENOENT)`);
      continue;
    }
    if (v.status !== 'refused') continue;
    for (const p of v.problems) out.push(`${loc}: error IDR031: ${describeProblem(v.name, p)}: refused (${v.errno})`);
  }
  if (r.ignored.length > 0) {
    out.push(`note: ${dest.shown} has no 32-bit EL0: it accepts but ignores ${r.ignored.join(', ')} (the guest sees zeros there)`);
  }
  if (r.notJudged.length > 0) out.push(`note: ${r.notJudged.join(', ')} differ but are vCPU state (cache geometry, timers), not judged`);
  if (r.onlyOnDestination.length > 0) out.push(`note: only ${dest.shown} lists ${r.onlyOnDestination.join(', ')} (the VM keeps its defaults there)`);
  if (!r.capWritableImp && r.refusals.some((x) => /^(MIDR|REVIDR|AIDR)_EL1$/.test(x.register))) {
    out.push('note: MIDR/REVIDR/AIDR differ; with kernel 6.15+ and --cap-writable-imp (KVM_CAP_ARM_WRITABLE_IMP_ID_REGS) a VM may keep its own');
  }
  return out.join('\n') + '\n';
}

export async function runDiff(args: string[], io: CliIO): Promise<number> {
  let opts: ReturnType<typeof parseArgs>;
  try {
    opts = parseArgs(args, { values: ['kernel'], flags: ['json', 'cap-writable-imp', 'help'] });
  } catch (err) {
    io.stderr(`idreg diff: ${(err as Error).message}\n${DIFF_USAGE}\n`);
    return EXIT_USAGE;
  }
  if (opts.flags.has('help')) {
    io.stdout(DIFF_USAGE + '\n');
    return EXIT_OK;
  }
  if (opts.positional.length !== 2) {
    io.stderr(`idreg diff: expected SOURCE and DEST, got ${opts.positional.length} file${opts.positional.length === 1 ? '' : 's'}\n${DIFF_USAGE}\n`);
    return EXIT_USAGE;
  }
  let source: LoadedDump;
  let dest: LoadedDump;
  try {
    source = loadDump(io, opts.positional[0]!, 'SOURCE');
    dest = loadDump(io, opts.positional[1]!, 'DEST');
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`idreg diff: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  for (const p of [...source.problems, ...dest.problems]) io.stderr(`warning: ${p}\n`);
  const kernel = opts.values.get('kernel')?.at(-1);
  const result = diffDumps(source.dump, dest.dump, { ...(kernel !== undefined ? { kernel } : {}), ...(opts.flags.has('cap-writable-imp') ? { capWritableImp: true } : {}) });
  if (opts.flags.has('json')) io.stdout(JSON.stringify(jsonResult(result, source, dest), null, 2) + '\n');
  else io.stdout(textResult(result, source, dest));
  return result.compatible ? EXIT_OK : EXIT_FINDINGS;
}

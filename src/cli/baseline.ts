// `idreg baseline DUMP... [--format firecracker|iddump] [--kernel VER]`: the richest configuration every
// listed host accepts, as a Firecracker custom CPU template (default) or an .iddump, on stdout; what was
// lowered and what is left to each host goes to stderr. Exit 0, or 2 for usage or unreadable input.
import { computeBaseline, describeBaseline, formatFirecrackerTemplate, formatIddump } from '../baseline.ts';
import { loadDump, type LoadedDump } from './diff.ts';
import { EXIT_OK, EXIT_USAGE, parseArgs, UsageError, type CliIO } from './io.ts';

export const BASELINE_USAGE = `usage: idreg baseline DUMP... [--format firecracker|iddump] [--kernel VER]
  DUMP: host dumps (Firecracker fingerprints or template dumps, .iddump, ...), one per host kind
  --format    firecracker (a custom CPU template, x = left to the host) or iddump
  --kernel    judge under this kernel's KVM rules (default: the oldest kernel the dumps name, else the newest)`;

export async function runBaseline(args: string[], io: CliIO): Promise<number> {
  let opts: ReturnType<typeof parseArgs>;
  try {
    opts = parseArgs(args, { values: ['format', 'kernel'], flags: ['help'] });
  } catch (err) {
    io.stderr(`idreg baseline: ${(err as Error).message}\n${BASELINE_USAGE}\n`);
    return EXIT_USAGE;
  }
  if (opts.flags.has('help')) {
    io.stdout(BASELINE_USAGE + '\n');
    return EXIT_OK;
  }
  const format = opts.values.get('format')?.at(-1) ?? 'firecracker';
  if (format !== 'firecracker' && format !== 'iddump') {
    io.stderr(`idreg baseline: --format must be firecracker or iddump, not '${format}'\n${BASELINE_USAGE}\n`);
    return EXIT_USAGE;
  }
  if (opts.positional.length === 0) {
    io.stderr(`idreg baseline: expected at least one host dump\n${BASELINE_USAGE}\n`);
    return EXIT_USAGE;
  }
  const dumps: LoadedDump[] = [];
  try {
    for (const f of opts.positional) dumps.push(loadDump(io, f, 'DUMP'));
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`idreg baseline: ${err.message}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }
  for (const d of dumps) for (const p of d.problems) io.stderr(`warning: ${p}\n`);
  const kernel = opts.values.get('kernel')?.at(-1);
  const result = computeBaseline(
    dumps.map((d) => ({ name: d.shown, dump: d.dump })),
    kernel !== undefined ? { kernel } : {},
  );
  io.stderr(describeBaseline(result));
  if (result.registers.length === 0) {
    io.stderr(`note: no ID register field can be fixed under kernel ${result.kernel.text ?? result.kernel.era} rules${result.kernel.era === '6.4' ? ' (KVM keeps ID registers invariant before 6.5); pass --kernel with the kernel the hosts will run to plan for it' : ''}\n`);
  }
  io.stdout(format === 'iddump' ? formatIddump(result) : formatFirecrackerTemplate(result));
  return EXIT_OK;
}

// The idreg command: a thin front over the same core as the language server.
import { existsSync, readFileSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { openBlockFile } from './stream.ts';
import { join } from 'node:path';
import { EXIT_USAGE, UsageError, type CliIO } from './cli/io.ts';
import { runBaseline } from './cli/baseline.ts';
import { runCheck } from './cli/check.ts';
import { runDecode } from './cli/decode.ts';
import { runDiff } from './cli/diff.ts';

const USAGE = `usage:
  idreg check FILE... [--host DUMP] [--kernel VER] [--format text|json|sarif]
  idreg decode TOKEN [VALUE] [--json]
  idreg diff SOURCE DEST [--json] [--kernel VER]
  idreg baseline DUMP... [--format firecracker|iddump]
  idreg lsp --stdio
`;

type Command = (args: string[], io: CliIO) => Promise<number>;

/**
 * The language server lives in server/ and the core never imports it: the CLI loads the server's own
 * bundle (dist/lsp.js, built beside dist/cli.js) when `idreg lsp` runs.
 */
async function loadLsp(): Promise<Command> {
  const candidates = [join(__dirname, 'lsp.js'), join(__dirname, '..', 'dist', 'lsp.js')];
  const bundle = candidates.find((p) => existsSync(p));
  if (!bundle) throw new UsageError('the language server bundle (dist/lsp.js) is missing: run `npm run build`');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require(bundle) as { runLsp(args: string[]): Promise<number> };
  return (args) => mod.runLsp(args);
}

const commands: Record<string, () => Promise<Command>> = {
  check: async () => runCheck,
  decode: async () => runDecode,
  diff: async () => runDiff,
  baseline: async () => runBaseline,
  lsp: loadLsp,
};

export function registerCommand(name: string, load: () => Promise<Command>): void {
  commands[name] = load;
}

export async function main(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    (name === undefined ? io.stderr : io.stdout)(USAGE);
    return name === undefined ? EXIT_USAGE : 0;
  }
  if (name === '--version') {
    io.stdout(`${VERSION}\n`);
    return 0;
  }
  const load = commands[name];
  if (!load) {
    io.stderr(`idreg: unknown command '${name}'\n${USAGE}`);
    return EXIT_USAGE;
  }
  try {
    return await (await load())(rest, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`idreg ${name}: ${err.message}\n`);
      return EXIT_USAGE;
    }
    // A bug must not surface as a stack trace; say what failed in one line and keep the exit code contract.
    io.stderr(`idreg ${name}: internal error: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT_USAGE;
  }
}

declare const __VERSION__: string | undefined;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.1.0';

export const nodeIO: CliIO = {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  readFile: (p) => readFileSync(p),
  openFile: openBlockFile,
  cwd: process.cwd(),
  isTTY: Boolean(process.stdout.isTTY),
};

/** Entry point of bin/idreg.js and of `node dist/cli.js`. */
export function runFromProcess(): void {
  // Peak RSS of `idreg check` (a batch process; not for `idreg lsp`), two V8 settings V8 reads when it needs
  // them, so setting them now still works (--max-semi-space-size and thread counts are read at start-up: no
  // effect from here). Big files are read in 64 KiB pieces whose garbage dies young, yet V8 grows the young
  // generation to 2 × 16 MiB as allocation goes on: kept at its first size, the .idtrace of 1M events peaked
  // at 65–66 MB instead of 82–83 (1.11–1.24 s against 1.06–1.13). A smaller inlining budget (default 920
  // bytes of bytecode; less inlining, smaller optimised functions): the 200k-entry Firecracker template
  // 55.2–55.6 MB instead of 56.6–58.3, the 1M-line ftrace 63.1–63.7 instead of 66.3–66.6 (/usr/bin/time).
  // In six interleaved runs each, ftrace and Firecracker times did not move; the .idtrace median went
  // 1.45 → 1.48 s, within this machine's noise.
  if (process.argv[2] === 'check') setFlagsFromString('--semi-space-growth-factor=1 --max-inlined-bytecode-size-cumulative=200');
  // `idreg check … | head` closes the pipe early; that is not an error worth a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  main(process.argv.slice(2), nodeIO).then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`idreg: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = EXIT_USAGE;
    },
  );
}

if (require.main === module) runFromProcess();

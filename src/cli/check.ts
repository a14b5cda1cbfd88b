// `idreg check FILE... [--host DUMP] [--kernel VER] [--format text|json|sarif]`
//
// Exit codes (design.md): 0 when no finding has error severity, 1 when one does, 2 for bad usage or an
// input that cannot be read (a one-line message on stderr, never a stack trace). A directory given as
// FILE is checked file by file, not recursively; files in it whose format is not recognised are
// skipped with a note on stderr (a file named explicitly is always checked and reported).
import { resolveKernel } from '../model/kvm.ts';
import { decodeText } from '../text.ts';
import { readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkDocument, detectDocumentFormat, type CheckOptions, type FileReport } from '../check.ts';
// Registers the real-world formats (ftrace, Firecracker JSON, QEMU, ...) with check.ts's registry.
import '../formats/detect.ts';
import { hasErrors, writeJson, writeSarif, writeText } from '../report.ts';
import packageJson from '../../package.json';
import { EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, parseArgs, UsageError, type CliIO } from './io.ts';
import { checkStreamed, STREAM_MIN_BYTES, type BlockFile } from '../stream.ts';

export const CHECK_USAGE = 'usage: idreg check FILE... [--host DUMP] [--kernel VER] [--format text|json|sarif]';

type OutputFormat = 'text' | 'json' | 'sarif';
const FORMATS: readonly OutputFormat[] = ['text', 'json', 'sarif'];

/** The tool version SARIF reports. */
export const TOOL_VERSION: string = (packageJson as { version?: string }).version ?? '0.0.0';

function reason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return err instanceof Error ? err.message.split('\n')[0]! : String(err);
}

const decode = decodeText;

function single(values: Map<string, string[]>, name: string): string | undefined {
  const list = values.get(name);
  if (!list) return undefined;
  if (list.length > 1) throw new UsageError(`--${name} given more than once`);
  return list[0];
}

interface Input {
  /** Absolute path. */
  path: string;
  text?: string;
  /** A big file, opened to be read in blocks (checkStreamed) instead of whole. */
  file?: BlockFile;
  /** From a directory listing: skip when the format is not recognised. */
  fromDirectory: boolean;
}

export async function runCheck(args: string[], io: CliIO): Promise<number> {
  let positional: string[];
  let host: string | undefined;
  let kernel: string | undefined;
  let format: OutputFormat = 'text';
  try {
    const parsed = parseArgs(args, { values: ['host', 'kernel', 'format'], flags: ['help'] });
    if (parsed.flags.has('help')) {
      io.stdout(CHECK_USAGE + '\n');
      return EXIT_OK;
    }
    positional = parsed.positional;
    host = single(parsed.values, 'host');
    kernel = single(parsed.values, 'kernel');
    const f = single(parsed.values, 'format');
    if (f !== undefined) {
      if (!(FORMATS as readonly string[]).includes(f)) throw new UsageError(`--format must be text, json or sarif, not '${f}'`);
      format = f as OutputFormat;
    }
    if (kernel !== undefined && !resolveKernel(kernel).recognised) {
      throw new UsageError(`--kernel expects a kernel version such as 6.15 (or newest), not '${kernel}'`);
    }
    if (host === '') throw new UsageError('--host needs a path');
    if (positional.length === 0) throw new UsageError('no FILE to check');
  } catch (err) {
    if (err instanceof UsageError) {
      io.stderr(`idreg check: ${err.message}\n${CHECK_USAGE}\n`);
      return EXIT_USAGE;
    }
    throw err;
  }

  let unreadable = false;
  const fail = (message: string): void => {
    io.stderr(`idreg check: ${message}\n`);
    unreadable = true;
  };

  // One read per host file, however many inputs name it (and the --host probe below).
  const hostTexts = new Map<string, string | Error>();
  const readFile = (abs: string): string | Error => {
    let text = hostTexts.get(abs);
    if (text === undefined) {
      try {
        text = decode(io.readFile(abs));
      } catch (err) {
        text = new Error(reason(err));
      }
      hostTexts.set(abs, text);
    }
    return text;
  };

  let hostAbs: string | undefined;
  if (host !== undefined) {
    hostAbs = resolve(io.cwd, host);
    const probe = readFile(hostAbs);
    if (probe instanceof Error) {
      io.stderr(`idreg check: cannot read host dump ${host}: ${probe.message}\n`);
      return EXIT_USAGE;
    }
  }

  /** A regular file big enough to be read in blocks, opened; undefined for anything else (read whole, or reported). */
  const openBig = (abs: string): BlockFile | undefined => {
    if (!io.openFile) return undefined;
    try {
      const f = io.openFile(abs);
      if (f.size >= STREAM_MIN_BYTES) return f;
      f.close();
    } catch {
      // reported by the whole-file read below
    }
    return undefined;
  };

  // Read (or open) every input first, so an unreadable one is reported before any output.
  const inputs: Input[] = [];
  for (const arg of positional) {
    const abs = resolve(io.cwd, arg);
    const big = openBig(abs);
    if (big) {
      inputs.push({ path: abs, file: big, fromDirectory: false });
      continue;
    }
    let buf: Buffer | undefined;
    let error: unknown;
    try {
      buf = io.readFile(abs);
    } catch (err) {
      error = err;
    }
    if (buf) {
      inputs.push({ path: abs, text: decode(buf), fromDirectory: false });
      continue;
    }
    if ((error as NodeJS.ErrnoException | undefined)?.code !== 'EISDIR') {
      fail(`cannot read ${arg}: ${reason(error)}`);
      continue;
    }
    let names: string[];
    try {
      names = readdirSync(abs).sort();
    } catch (err) {
      fail(`cannot list ${arg}: ${reason(err)}`);
      continue;
    }
    for (const name of names) {
      const file = join(abs, name);
      try {
        if (!statSync(file).isFile()) continue;
        const bigFile = openBig(file);
        inputs.push(bigFile ? { path: file, file: bigFile, fromDirectory: true } : { path: file, text: decode(io.readFile(file)), fromDirectory: true });
      } catch (err) {
        fail(`cannot read ${join(arg, name)}: ${reason(err)}`);
      }
    }
  }

  const options: CheckOptions = { readFile, ...(hostAbs !== undefined ? { host: hostAbs } : {}), ...(kernel !== undefined ? { kernel } : {}) };
  const reports: FileReport[] = [];
  const skipped: string[] = [];
  for (const input of inputs) {
    let text = input.text;
    if (input.file) {
      try {
        const streamed = checkStreamed(input.path, input.file, options, { findingsOnly: true });
        if (streamed) {
          reports.push(streamed);
          continue;
        }
        text = decode(io.readFile(input.path)); // a format without a block parser: read whole
      } catch (err) {
        fail(`cannot read ${input.path}: ${reason(err)}`);
        continue;
      } finally {
        input.file.close();
      }
    }
    if (text === undefined) continue;
    if (input.fromDirectory && detectDocumentFormat(text, input.path) === 'unknown') {
      skipped.push(input.path);
      continue;
    }
    reports.push(checkDocument({ path: input.path, text }, options));
  }
  if (skipped.length > 0) {
    io.stderr(`idreg check: skipped ${skipped.length} file${skipped.length === 1 ? '' : 's'} of unknown format: ${skipped.map((p) => p.slice(p.lastIndexOf('/') + 1)).join(', ')}\n`);
  }

  const renderOpts = { cwd: io.cwd };
  const write = (t: string): void => io.stdout(t);
  if (format === 'json') writeJson(reports, renderOpts, write);
  else if (format === 'sarif') writeSarif(reports, { ...renderOpts, toolVersion: TOOL_VERSION }, write);
  else writeText(reports, renderOpts, write);

  if (unreadable) return EXIT_USAGE;
  return hasErrors(reports) ? EXIT_FINDINGS : EXIT_OK;
}

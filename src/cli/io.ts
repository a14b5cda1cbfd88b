import type { BlockFile } from '../stream.ts';
// The CLI's only contact with the outside world, so commands can be tested in-process.
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
  readFile(path: string): Buffer;
  /** Opens a regular file to read it in blocks (big traces); throws like readFile. Optional: without it every file is read whole. */
  openFile?(path: string): BlockFile;
  cwd: string;
  /** Whether stdout is a terminal (colours, widths). */
  isTTY: boolean;
}

/** Exit codes of design.md: 0 clean, 1 findings of error severity (or incompatible), 2 usage or unreadable input. */
export const EXIT_OK = 0;
export const EXIT_FINDINGS = 1;
export const EXIT_USAGE = 2;

export class UsageError extends Error {}

/** Splits `--flag value` / `--flag=value` options from positional arguments. */
export function parseArgs(
  args: string[],
  spec: { values?: string[]; flags?: string[] },
): { positional: string[]; values: Map<string, string[]>; flags: Set<string> } {
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  const positional: string[] = [];
  const valueNames = new Set(spec.values ?? []);
  const flagNames = new Set(spec.flags ?? []);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      positional.push(...args.slice(i + 1));
      break;
    }
    if (arg.startsWith('--') && arg.length > 2) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      if (valueNames.has(name)) {
        let value: string | undefined;
        if (eq >= 0) value = arg.slice(eq + 1);
        else value = args[++i];
        if (value === undefined) throw new UsageError(`--${name} needs a value`);
        const list = values.get(name) ?? [];
        list.push(value);
        values.set(name, list);
      } else if (flagNames.has(name) && eq < 0) {
        flags.add(name);
      } else {
        throw new UsageError(`unknown option --${name}`);
      }
    } else {
      positional.push(arg);
    }
  }
  return { positional, values, flags };
}

// Finds the parsers, sniffers and detectors that exist in src/formats (other engineers add them while
// these tests are written): every exported parse*/sniff*/detect* function of every module.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const SRC = resolve(__dirname, '../../../src');
export const FORMATS_DIR = join(SRC, 'formats');

/** The modules the brief names; reported as missing (skipped) until they exist. */
export const EXPECTED_FORMAT_MODULES = ['idtrace', 'iddump', 'detect', 'ftrace', 'firecracker', 'getreglist', 'cpuinfo', 'sysfs', 'cpusysregs', 'qemu', 'reglist'];

const NOT_PARSERS = new Set(['types', 'json-scan']);

export type ParseFn = (text: string, path?: string) => unknown;
export type SniffFn = (text: string, path?: string) => unknown;

export interface ParserRef {
  module: string;
  name: string;
  fn: ParseFn;
}

export interface SnifferRef {
  module: string;
  name: string;
  fn: SniffFn;
}

export interface Discovered {
  parsers: ParserRef[];
  sniffers: SnifferRef[];
  detectors: SnifferRef[];
  missing: string[];
  /** Modules that failed to load (a syntax error while someone edits them): reported, not fatal. */
  broken: { module: string; error: string }[];
}

function looksLikeParseResult(r: unknown): boolean {
  return typeof r === 'object' && r !== null && 'stats' in r && 'findings' in r && 'format' in r;
}

let cached: Promise<Discovered> | undefined;

export function discoverFormats(): Promise<Discovered> {
  return (cached ??= discover());
}

async function discover(): Promise<Discovered> {
  const out: Discovered = { parsers: [], sniffers: [], detectors: [], missing: [], broken: [] };
  const files = existsSync(FORMATS_DIR) ? readdirSync(FORMATS_DIR).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts')) : [];
  const present = new Set(files.map((f) => f.slice(0, -3)));
  for (const m of EXPECTED_FORMAT_MODULES) if (!present.has(m)) out.missing.push(`src/formats/${m}.ts`);
  for (const file of files.sort()) {
    const module = file.slice(0, -3);
    if (NOT_PARSERS.has(module)) continue;
    let mod: Record<string, unknown>;
    try {
      mod = (await import(join(FORMATS_DIR, file))) as Record<string, unknown>;
    } catch (err) {
      out.broken.push({ module, error: (err as Error).message.split('\n')[0]! });
      continue;
    }
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value !== 'function') continue;
      if (/^parse[A-Z]/.test(name)) {
        let include = false;
        try {
          include = looksLikeParseResult((value as ParseFn)('', 'probe.txt'));
        } catch {
          include = true; // throwing on '' is itself a finding: keep it so the property reports it
        }
        if (include) out.parsers.push({ module, name, fn: value as ParseFn });
      } else if (/^sniff[A-Z]/.test(name)) out.sniffers.push({ module, name, fn: value as SniffFn });
      else if (/^detect[A-Z]/.test(name)) out.detectors.push({ module, name, fn: value as SniffFn });
    }
  }
  return out;
}

// The check pipeline (src/check.ts) and the CLI commands in-process (src/cli/*.ts) on arbitrary input:
// never a throw; findings inside the document, sorted, capped as asked; host files outside the workspace
// never read; exit codes 0/1/2 as documented, no stack trace, JSON and SARIF output that parses; what
// `idreg baseline` writes, the parsers read back without a syntax finding.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { existsSync } from 'node:fs';
import { join, resolve as resolvePath, relative, isAbsolute } from 'node:path';
import { anyTextArb, mutatedArb, u64Arb } from '../arbitraries.ts';
import { assertFinding, countLines, lineLengths, short } from '../invariants.ts';
import { SEEDS } from '../seeds.ts';
import { SRC } from './discover.ts';
import type { PropertyDef, PropertyGroup } from './types.ts';

const ROOT = '/ws';
const PATHS = ['/ws/a.idtrace', '/ws/a.iddump', '/ws/idregs', '/ws/trace.txt', '/ws/fingerprint.json', '/ws/t.json', '/ws/cpuinfo', '/ws/x.log', '/ws/noext', '/ws/sub dir/ü.idtrace', '/elsewhere/a.idtrace'];
const HOSTS = ['host.iddump', '../outside.iddump', '/etc/passwd', 'missing.iddump', 'dir', 'throws.iddump', 'garbage.iddump', 'a.idtrace', '', 'fingerprint.json'];

type ReadMode = 'dump' | 'missing' | 'throws' | 'garbage' | 'fingerprint';

interface CheckCase {
  text: string;
  path: number;
  host: number | null;
  kernel: string | null;
  readMode: ReadMode;
  garbage: string;
  maxFindings: number | null;
  workspace: boolean;
}

const checkCaseArb: fc.Arbitrary<CheckCase> = fc.record({
  text: fc.oneof({ weight: 3, arbitrary: mutatedArb(SEEDS, 4) }, { weight: 2, arbitrary: anyTextArb }, { weight: 1, arbitrary: fc.constantFrom(...SEEDS.map((s) => s.text)) }),
  path: fc.nat({ max: PATHS.length - 1 }),
  host: fc.option(fc.nat({ max: HOSTS.length - 1 }), { freq: 2 }),
  kernel: fc.option(fc.constantFrom('6.15', '6.4', 'v6.1.2-amzn', '99', 'x', '')),
  readMode: fc.constantFrom<ReadMode>('dump', 'missing', 'throws', 'garbage', 'fingerprint'),
  garbage: anyTextArb,
  maxFindings: fc.option(fc.integer({ min: 0, max: 5 })),
  workspace: fc.boolean(),
});

function inside(root: string, p: string): boolean {
  const rel = relative(resolvePath(root), resolvePath(p));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

type CheckDocument = typeof import('../../../src/check.ts').checkDocument;

function checkDocumentCheck(checkDocument: CheckDocument): (c: CheckCase) => void {
  return (c) => {
    const path = PATHS[c.path]!;
    const reads: string[] = [];
    const readFile = (abs: string): string | Error => {
      reads.push(abs);
      if (abs.endsWith('/dir')) return new Error('is a directory');
      switch (c.readMode) {
        case 'dump':
          return SEEDS.find((s) => s.format === 'iddump')!.text;
        case 'fingerprint':
          return SEEDS.find((s) => s.path === 'fingerprint.json')!.text;
        case 'missing':
          return new Error('no such file');
        case 'throws':
          throw new Error('EIO: i/o error, read');
        case 'garbage':
          return c.garbage;
      }
    };
    const options = {
      readFile,
      ...(c.host !== null ? { host: HOSTS[c.host]! } : {}),
      ...(c.kernel !== null ? { kernel: c.kernel } : {}),
      ...(c.maxFindings !== null ? { maxFindings: c.maxFindings } : {}),
      ...(c.workspace ? { workspaceRoot: ROOT } : {}),
    };
    const report = checkDocument({ path, text: c.text }, options);
    const text = c.text.charCodeAt(0) === 0xfeff ? c.text.slice(1) : c.text;
    const what = `checkDocument(${path}, ${short(c.text)})`;
    assert.equal(typeof report.format, 'string', `${what}: format`);
    const lengths = lineLengths(text);
    report.findings.forEach((f, i) => assertFinding(f, text, lengths, `${what} finding ${i}`));
    for (let i = 1; i < report.findings.length; i++) {
      const a = report.findings[i - 1]!.range.start;
      const b = report.findings[i]!.range.start;
      assert.ok(a.line < b.line || (a.line === b.line && a.character <= b.character), `${what}: findings not sorted by position`);
    }
    if (c.maxFindings !== null) assert.ok(report.findings.length <= c.maxFindings, `${what}: ${report.findings.length} findings kept, maxFindings ${c.maxFindings}`);
    const { lines, understood, skipped } = report.stats;
    assert.equal(understood + skipped, lines, `${what}: stats do not add up`);
    if (report.format !== 'unknown' && text.length > 0) assert.ok(lines >= 1 && lines <= countLines(text) + 1, `${what}: stats.lines ${lines}`);
    if (c.workspace) for (const r of reads) assert.ok(inside(ROOT, r), `${what}: read ${r}, outside the workspace ${ROOT}`);
    for (const d of report.dependencies) assert.ok(isAbsolute(d), `${what}: dependency ${d} is not absolute`);
  };
}

// ---------------------------------------------------------------------------------------------
// The CLI in-process

interface Io {
  stdout: string;
  stderr: string;
}

function memoryIo(files: Map<string, Buffer | 'dir' | 'eacces'>, out: Io) {
  return {
    stdout: (t: string) => {
      out.stdout += t;
    },
    stderr: (t: string) => {
      out.stderr += t;
    },
    readFile: (p: string): Buffer => {
      const f = files.get(p);
      const fail = (code: string, msg: string): never => {
        const e = new Error(`${code}: ${msg}, open '${p}'`) as NodeJS.ErrnoException;
        e.code = code;
        throw e;
      };
      if (f === undefined) return fail('ENOENT', 'no such file or directory');
      if (f === 'dir') return fail('EISDIR', 'illegal operation on a directory, read');
      if (f === 'eacces') return fail('EACCES', 'permission denied');
      return f;
    },
    cwd: '/virtual-cwd-that-does-not-exist',
    isTTY: false,
  };
}

type Runner = (args: string[], io: ReturnType<typeof memoryIo>) => Promise<number>;

interface Cli {
  main?: Runner;
  commands: Map<string, Runner>;
  UsageError: new (...a: never[]) => Error;
}

/** Runs a command as `idreg` would: through main() when it knows the command, else the command itself with main's error handling. */
async function invoke(cli: Cli, cmd: string, args: string[], io: ReturnType<typeof memoryIo>, out: Io): Promise<number> {
  if (cli.main) {
    const code = await cli.main([cmd, ...args], io);
    if (!out.stderr.includes(`unknown command '${cmd}'`)) return code;
    out.stderr = '';
  }
  const run = cli.commands.get(cmd)!;
  try {
    return await run(args, io);
  } catch (err) {
    if (err instanceof cli.UsageError) return 2;
    throw err;
  }
}

function assertCliOutcome(code: number, out: Io, inputs: string, what: string): void {
  assert.ok(code === 0 || code === 1 || code === 2, `${what}: exit code ${code}`);
  assert.ok(!/internal error/i.test(out.stderr), `${what}: a swallowed exception: ${out.stderr.slice(0, 500)}`);
  assert.ok(!/\n\s+at .*:\d+:\d+\)?/.test(out.stderr), `${what}: a stack trace on stderr: ${out.stderr.slice(0, 500)}`);
  for (const [word, re] of [['undefined', /\bundefined\b/], ['NaN', /\bNaN\b/], ['[object Object]', /\[object Object\]/]] as const) {
    if (re.test(out.stdout + out.stderr) && !inputs.includes(word)) assert.fail(`${what}: output contains '${word}': ${short(out.stdout + out.stderr, 400)}`);
  }
}

const fileArb = fc.oneof(
  { weight: 3, arbitrary: mutatedArb(SEEDS, 3).map((t) => Buffer.from(t)) },
  { weight: 2, arbitrary: fc.constantFrom(...SEEDS.map((s) => Buffer.from(s.text))) },
  { weight: 1, arbitrary: anyTextArb.map((t) => Buffer.from(t)) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)) },
  { weight: 1, arbitrary: fc.constantFrom<'dir' | 'eacces'>('dir', 'eacces') },
);

function buildCliProps(cli: Cli): PropertyDef<any>[] {
  const props: PropertyDef<any>[] = [];
  const names = ['t.idtrace', 'h.iddump', 'fingerprint.json', 'x.txt', 'cpuinfo'];
  const cwd = '/virtual-cwd-that-does-not-exist';
  if (cli.commands.has('check')) {
    props.push({
      name: 'cli.check.inProcess',
      runs: 500,
      arb: fc.tuple(fileArb, fileArb, fc.nat({ max: names.length - 1 }), fc.option(fc.constantFrom('text', 'json', 'sarif', 'xml')), fc.constantFrom('none', 'file', 'missing'), fc.option(fc.constantFrom('6.15', '6.4', 'bad kernel'))),
      async: true,
      check: async (input: [Buffer | 'dir' | 'eacces', Buffer | 'dir' | 'eacces', number, string | null, string, string | null]) => {
        const [file, host, ni, format, hostMode, kernel] = input;
        const files = new Map<string, Buffer | 'dir' | 'eacces'>([[join(cwd, names[ni]!), file], [join(cwd, 'host.iddump'), host]]);
        const args = [names[ni]!];
        if (format) args.push('--format', format);
        if (hostMode === 'file') args.push('--host', 'host.iddump');
        if (hostMode === 'missing') args.push('--host', 'nope.iddump');
        if (kernel) args.push('--kernel', kernel);
        const out: Io = { stdout: '', stderr: '' };
        const code = await invoke(cli, 'check', args, memoryIo(files, out), out);
        const inputs = [file, host].map((b) => (typeof b === 'string' ? b : b.toString('utf8'))).join('\n') + args.join(' ');
        assertCliOutcome(code, out, inputs, `idreg check ${args.join(' ')}`);
        if (code !== 2 && (format === 'json' || format === 'sarif')) {
          const j = JSON.parse(out.stdout) as { files?: { findings: { severity: string }[] }[]; version?: string; runs?: unknown[] };
          if (format === 'json') {
            assert.ok(Array.isArray(j.files), 'json: no files');
            const errors = j.files!.some((f) => f.findings.some((x) => x.severity === 'error'));
            assert.equal(code, errors ? 1 : 0, `exit code ${code} but ${errors ? 'there are' : 'there are no'} error findings`);
          } else assert.equal(j.version, '2.1.0');
        }
        if (code === 2) assert.ok(out.stderr.length > 0, 'exit 2 without a message on stderr');
      },
    });
  }
  if (cli.commands.has('decode')) {
    const tokenArb = fc.oneof(anyTextArb, mutatedArb([{ format: 't', path: 't', lineBased: true, text: 'ID_AA64PFR0_EL1' }, { format: 't', path: 't', lineBased: true, text: '0x603000000013c020' }, { format: 't', path: 't', lineBased: true, text: '(3,0,0,4,0)' }, { format: 't', path: 't', lineBased: true, text: 'esr:0x62300009' }], 2));
    props.push({
      name: 'cli.decode.inProcess',
      runs: 1500,
      arb: fc.tuple(tokenArb, fc.option(fc.oneof(u64Arb.map((v) => '0x' + v.toString(16)), anyTextArb)), fc.boolean()),
      async: true,
      check: async (input: [string, string | null, boolean]) => {
        const [token, value, json] = input;
        const args = [token, ...(value !== null ? [value] : []), ...(json ? ['--json'] : [])];
        const out: Io = { stdout: '', stderr: '' };
        const code = await invoke(cli, 'decode', args, memoryIo(new Map(), out), out);
        assertCliOutcome(code, out, args.join(' '), `idreg decode ${JSON.stringify(args)}`);
        if (code === 0 && json) {
          const j = JSON.parse(out.stdout) as { name?: unknown; forms?: unknown };
          assert.equal(typeof j.name, 'string', 'decode --json: name');
        }
      },
    });
  }
  for (const cmd of ['diff', 'baseline']) {
    if (!cli.commands.has(cmd)) continue;
    props.push({
      name: `cli.${cmd}.inProcess`,
      runs: 400,
      arb: fc.tuple(fc.array(fileArb, { minLength: 1, maxLength: 3 }), fc.array(fc.constantFrom('--json', '--kernel', '6.15', '--format', 'iddump', 'firecracker', '--cap-writable-imp', '--bogus'), { maxLength: 3 })),
      async: true,
      check: async (input: [(Buffer | 'dir' | 'eacces')[], string[]]) => {
        const [bufs, flags] = input;
        const files = new Map<string, Buffer | 'dir' | 'eacces'>();
        const args: string[] = [];
        bufs.forEach((b, i) => {
          const n = `${i}-${names[i % names.length]}`;
          files.set(join(cwd, n), b);
          args.push(n);
        });
        args.push(...flags);
        const out: Io = { stdout: '', stderr: '' };
        const code = await invoke(cli, cmd, args, memoryIo(files, out), out);
        const inputs = bufs.map((b) => (typeof b === 'string' ? b : b.toString('utf8'))).join('\n') + args.join(' ');
        assertCliOutcome(code, out, inputs, `idreg ${cmd} ${args.join(' ')}`);
        if (cmd === 'diff' && code !== 2 && flags.includes('--json')) JSON.parse(out.stdout);
        if (cmd === 'baseline' && code === 0) checkBaselineOutput(out.stdout, flags.includes('iddump') && flags.indexOf('iddump') === flags.indexOf('--format') + 1 ? 'iddump' : flags.includes('--format') ? 'unknown' : 'firecracker');
      },
    });
  }
  return props;
}

let readBack: { iddump?: (t: string) => { findings: { code: string; message: string; severity: string }[] }; firecracker?: (t: string) => { findings: { code: string; message: string; severity: string }[] } } = {};

/** What `idreg baseline` writes is a valid file of its format: no syntax finding when read back. */
function checkBaselineOutput(stdout: string, format: string): void {
  const parse = format === 'iddump' ? readBack.iddump : format === 'firecracker' ? readBack.firecracker : undefined;
  if (!parse) return;
  const res = parse(stdout);
  const bad = res.findings.filter((f) => f.code === 'IDR001' || f.code === 'IDR004' || f.code === 'IDR002');
  assert.equal(bad.length, 0, `baseline --format ${format} output does not read back: ${bad.map((f) => `${f.code} ${f.message}`).join('; ')}\n${short(stdout, 600)}`);
}

export async function checkGroup(): Promise<PropertyGroup> {
  const props: PropertyDef<any>[] = [];
  const missing: string[] = [];
  try {
    if (existsSync(join(SRC, 'formats/detect.ts'))) await import('../../../src/formats/detect.ts');
    const { checkDocument } = (await import('../../../src/check.ts')) as typeof import('../../../src/check.ts');
    props.push({ name: 'check.document.anyInput', runs: 1200, arb: checkCaseArb, check: checkDocumentCheck(checkDocument) });
  } catch (err) {
    missing.push(`src/check.ts (${(err as Error).message.split('\n')[0]})`);
  }
  return { group: 'check', properties: props, missing };
}

export async function cliGroup(): Promise<PropertyGroup> {
  const missing: string[] = [];
  const cli: Cli = { commands: new Map(), UsageError: Error as never };
  try {
    const io = (await import('../../../src/cli/io.ts')) as { UsageError: Cli['UsageError'] };
    cli.UsageError = io.UsageError;
  } catch {
    missing.push('src/cli/io.ts');
  }
  try {
    cli.main = ((await import('../../../src/cli.ts')) as { main: Runner }).main;
  } catch (err) {
    missing.push(`src/cli.ts (${(err as Error).message.split('\n')[0]})`);
  }
  for (const cmd of ['check', 'decode', 'diff', 'baseline']) {
    const file = join(SRC, 'cli', `${cmd}.ts`);
    if (!existsSync(file)) {
      missing.push(`src/cli/${cmd}.ts`);
      continue;
    }
    try {
      const mod = (await import(file)) as Record<string, unknown>;
      const run = mod[`run${cmd[0]!.toUpperCase()}${cmd.slice(1)}`];
      if (typeof run === 'function') cli.commands.set(cmd, run as Runner);
      else missing.push(`src/cli/${cmd}.ts run${cmd} export`);
    } catch (err) {
      missing.push(`src/cli/${cmd}.ts (${(err as Error).message.split('\n')[0]})`);
    }
  }
  try {
    readBack = {
      iddump: ((await import('../../../src/formats/iddump.ts')) as { parseIddump: NonNullable<typeof readBack.iddump> }).parseIddump,
      firecracker: ((await import('../../../src/formats/firecracker.ts')) as { parseFirecrackerJson: NonNullable<typeof readBack.firecracker> }).parseFirecrackerJson,
    };
  } catch {
    /* read-back checks are skipped */
  }
  return { group: 'cli', properties: buildCliProps(cli), missing };
}

// Hostile inputs through the real CLI (a child process, as a user runs it): random bytes, a 20 MiB line,
// JSON nested 200k deep, a 200k-entry Firecracker file, 1000-digit numbers in every numeric slot, host
// lines that point nowhere good, empty and binary files, CR-only and UTF-16 text. Each must end within
// seconds, in bounded memory, with findings or a one-line error, exit 0/1/2 as documented and no stack trace.
//
// The CLI is dist/cli.js (bin/idreg.js) when it is newer than every source file, else src/cli.ts through
// tsx. Big inputs are generated into a temp dir; the small ones are committed in test/fixtures/hostile/.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SEEDS } from '../fuzz/seeds.ts';

const ROOT = resolve(__dirname, '../..');
const FIXTURES = join(ROOT, 'test/fixtures/hostile');
const PROBE = join(ROOT, 'test/fuzz/hostile/rss-probe.cjs');
const HEAP_MB = 1024;
/** Wall-clock limits (2 cores, other test files running at the same time, tsx start-up included). */
const QUICK_S = 10;
const BIG_S = 25;
const RSS_LIMIT_MB = 1536;

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestMtime(p));
    else if (e.name.endsWith('.ts') || e.name.endsWith('.json')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** `--import tsx` resolves from the working directory, and the CLI runs in a temp dir: give the loader's path. */
const TSX = pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href;

/** node arguments that start the CLI: the bundle when it is up to date, else the sources through tsx. */
function cliEntry(): { args: string[]; label: string } {
  // IDREG_CLI=path/to/entry.ts runs another entry point (through tsx), e.g. while src/cli.ts is being wired.
  if (process.env.IDREG_CLI) return { args: ['--import', TSX, resolve(process.env.IDREG_CLI)], label: `${process.env.IDREG_CLI} via tsx (IDREG_CLI)` };
  const dist = join(ROOT, 'dist/cli.js');
  if (existsSync(dist) && statSync(dist).mtimeMs > newestMtime(join(ROOT, 'src'))) return { args: [join(ROOT, 'bin/idreg.js')], label: 'bin/idreg.js (dist up to date)' };
  return { args: ['--import', TSX, join(ROOT, 'src/cli.ts')], label: 'src/cli.ts via tsx (dist missing or stale)' };
}

interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  rssMB: number | undefined;
  stdoutBytes: number;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

let entry: { args: string[]; label: string };
let dir: string;
let rssCounter = 0;

function runCli(args: string[], timeoutS: number, cwd = dir): Promise<CliRun> {
  return new Promise((resolvePromise) => {
    const rssFile = join(dir, `.rss-${process.pid}-${rssCounter++}`);
    const t0 = performance.now();
    const child = spawn(process.execPath, [`--max-old-space-size=${HEAP_MB}`, '--require', PROBE, ...entry.args, ...args], {
      cwd,
      env: { ...process.env, IDREG_RSS_FILE: rssFile, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdoutBytes = 0;
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdoutBytes += d.length;
      if (stdout.length < 64_000_000) stdout += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      if (stderr.length < 1_000_000) stderr += d.toString('utf8');
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutS * 2000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      let rssMB: number | undefined;
      try {
        rssMB = Number(readFileSync(rssFile, 'utf8')) / 1024;
      } catch {
        rssMB = undefined;
      }
      resolvePromise({ code, signal, ms: performance.now() - t0, rssMB, stdoutBytes, stdout, stderr, timedOut });
    });
  });
}

interface Row {
  input: string;
  code: string;
  seconds: string;
  rss: string;
  out: string;
  result: string;
}

const table: Row[] = [];

function firstFinding(r: CliRun): string {
  if (r.stdout.startsWith('{')) {
    try {
      const j = JSON.parse(r.stdout) as { files?: { findings: { code: string; message: string }[] }[]; runs?: { results: { ruleId: string; message: { text: string } }[] }[] };
      const f = j.files?.flatMap((x) => x.findings)[0];
      if (f) return `${f.code} ${f.message}`.slice(0, 110);
      const s = j.runs?.[0]?.results[0];
      if (s) return `${s.ruleId} ${s.message.text}`.slice(0, 110);
    } catch {
      /* not JSON */
    }
  }
  const m = /\b(IDR\d{3})\b[^\n]*/.exec(r.stdout);
  if (m) return m[0].replace(/^.*?(IDR\d{3})/, '$1').slice(0, 110);
  const e = r.stderr.split('\n').find((l) => l.trim().length > 0);
  if (e) return `stderr: ${e.slice(0, 110)}`;
  return r.stdout.split('\n').find((l) => l.trim())?.slice(0, 110) ?? '(no output)';
}

/** The contract every run must keep. */
function assertSane(input: string, r: CliRun, opts: { codes: number[]; seconds: number; maxStdoutMB?: number }): void {
  table.push({
    input,
    code: r.timedOut ? 'killed' : String(r.code),
    seconds: (r.ms / 1000).toFixed(2),
    rss: r.rssMB === undefined ? '?' : r.rssMB.toFixed(0),
    out: r.stdoutBytes > 1e6 ? `${(r.stdoutBytes / 1e6).toFixed(1)} MB` : `${r.stdoutBytes} B`,
    result: firstFinding(r),
  });
  assert.ok(!r.timedOut, `${input}: killed after ${(r.ms / 1000).toFixed(1)} s`);
  assert.equal(r.signal, null, `${input}: ended by ${r.signal}`);
  assert.ok(opts.codes.includes(r.code!), `${input}: exit ${r.code}, expected ${opts.codes.join('/')}; stderr: ${r.stderr.slice(0, 400)}`);
  if (/\n\s+at [^\n]{0,300}:\d+:\d+\)?/.test('\n' + r.stderr.slice(0, 200_000))) assert.fail(`${input}: a stack trace on stderr:\n${r.stderr.slice(0, 1200)}`);
  // (Messages are built only on failure: a regex over a 20 MB line in an eager template literal is quadratic.)
  const both = r.stderr + r.stdout.slice(0, 200_000);
  const internal = both.search(/internal error/i);
  if (internal >= 0) assert.fail(`${input}: an internal error: ${both.slice(Math.max(0, internal - 100), internal + 200)}`);
  assert.ok(!/heap out of memory|Maximum call stack/i.test(r.stderr), `${input}: ${r.stderr.slice(0, 300)}`);
  assert.ok(r.stdoutBytes > 0 || r.stderr.trim().length > 0, `${input}: no output at all`);
  if (r.code === 2) assert.ok(r.stderr.trim().length > 0, `${input}: exit 2 without a message`);
  assert.ok(r.ms < opts.seconds * 1000, `${input}: took ${(r.ms / 1000).toFixed(1)} s (limit ${opts.seconds} s)`);
  if (r.rssMB !== undefined) assert.ok(r.rssMB < RSS_LIMIT_MB, `${input}: peak RSS ${r.rssMB.toFixed(0)} MB`);
  if (opts.maxStdoutMB !== undefined) assert.ok(r.stdoutBytes < opts.maxStdoutMB * 1e6, `${input}: ${(r.stdoutBytes / 1e6).toFixed(1)} MB of output`);
}

/** Deterministic bytes (xorshift32). */
function randomBytes(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}


let cliKnowsCheck = true;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'idreg-hostile-'));
  entry = cliEntry();
  const probe = await runCli(['check', '--help'], 30, ROOT);
  cliKnowsCheck = !/unknown command/.test(probe.stderr);
});

after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (table.length === 0) return;
  const cols: (keyof Row)[] = ['input', 'code', 'seconds', 'rss', 'out', 'result'];
  const head: Row = { input: 'input', code: 'exit', seconds: 'time s', rss: 'RSS MB', out: 'stdout', result: 'first finding / error' };
  const w = Object.fromEntries(cols.map((c) => [c, Math.max(...[head, ...table].map((r) => r[c].length))])) as Record<keyof Row, number>;
  const line = (r: Row): string => cols.map((c) => r[c].padEnd(w[c])).join(' | ');
  process.stdout.write(`\nhostile corpus via ${entry.label}:\n${line(head)}\n${cols.map((c) => '-'.repeat(w[c])).join('-|-')}\n${table.map(line).join('\n')}\n`);
});

/** One hostile input: the files it needs (generated lazily, in the temp dir), the command, what may come out. */
interface Case {
  name: string;
  files?: () => [string, string | Buffer][];
  args: string[];
  codes: number[];
  seconds?: number;
  maxStdoutMB?: number;
  /** Set while an open bug makes the case fail (the test runs and reports, but does not fail the suite). */
  todo?: string;
  check?: (r: CliRun) => void;
}

/** A symlink to itself (existsSync follows links, so lstat decides whether it is there). */
function ensureLoop(): void {
  try {
    lstatSync(join(dir, 'loop'));
  } catch {
    symlinkSync('loop', join(dir, 'loop'));
  }
}

const N200K = 200_000;
const MIB20 = 20 << 20;

function fingerprint200k(): string {
  const mods: string[] = [];
  for (let i = 0; i < N200K; i++) {
    const id = (0x603000000013c000n + BigInt(i % 0x4000)).toString(16);
    mods.push(`{"addr":"0x${id}","bitmap":"0b${(i % 7 === 0 ? '1' : '0').padStart(128, '0')}"}`);
  }
  return `{"firecracker_version":"1.16.0","kernel_version":"6.1.0","microcode_version":"0x0","bios_version":"1.0","bios_revision":"1.0","guest_cpu_config":{"kvm_capabilities":[],"vcpu_features":[],"reg_modifiers":[${mods.join(',\n')}]}}\n`;
}

function hugeDigits(text: string): string {
  const huge = '9'.repeat(1000);
  return text.replace(/0x[0-9a-fA-F]+|0b[01]+|\d+/g, (m) => (m.startsWith('0x') ? '0x' + 'f'.repeat(1000) : m.startsWith('0b') ? '0b' + '1'.repeat(1000) : huge));
}

const jsonOut = (r: CliRun): void => {
  JSON.parse(r.stdout);
};

const CASES: Case[] = [
  ...['random.bin', 'random.idtrace', 'random.json'].map((name): Case => ({
    name: `4 MiB of random bytes (${name})`,
    files: () => [[name, randomBytes(4 << 20, 0x5eed)]],
    args: ['check', name, '--format', 'json'],
    codes: [1],
    seconds: BIG_S,
    check: jsonOut,
  })),
  ...([
    ['line.txt', () => 'x'.repeat(MIB20), undefined],
    ['line.idtrace', () => 'vcpu 0 set ID_AA64PFR0_EL1 ' + 'A'.repeat(MIB20), undefined],
    ['token.idtrace', () => 'B'.repeat(MIB20), undefined],
    ['line.iddump', () => 'SYS_ID_AA64PFR0_EL1:\t' + 'f'.repeat(MIB20), undefined],
    ['fingerprint.json', () => '{"reg_modifiers":[{"addr":"0x603000000013c020","bitmap":"0b' + '0'.repeat(MIB20) + '"}]}', undefined],
    // An unknown name beside a valid tuple is not checked (offline tools print pointers there): no error.
    ['trace.txt', () => ' CPU 0/KVM-1 [000] d..1. 1.000000: kvm_sys_access: PC: 0 ' + 'C'.repeat(MIB20) + ' (3,0,0,4,0) read', undefined],
  ] as [string, () => string, string | undefined][]).map(([name, make, todo]): Case => ({
    name: `a single 20 MiB line (${name})`,
    files: () => [[name, make()]],
    args: ['check', name],
    codes: name === 'trace.txt' ? [0, 1] : [1],
    seconds: BIG_S,
    maxStdoutMB: 2,
    ...(todo ? { todo } : {}),
  })),
  ...([
    ['cpu-template.json', () => '['.repeat(N200K) + ']'.repeat(N200K)],
    ['nested.json', () => '{"reg_modifiers":' + '['.repeat(N200K) + ']'.repeat(N200K) + '}'],
    ['objects.json', () => '{"a":'.repeat(N200K) + '1' + '}'.repeat(N200K)],
    ['fingerprint.json', () => '{"guest_cpu_config":' + '{"x":'.repeat(N200K) + 'null' + '}'.repeat(N200K) + '}'],
    ['unclosed.json', () => '{"reg_modifiers":' + '['.repeat(N200K)],
    ['qmp.json', () => '{"return": {"model": {"name": "host", "props": ' + '{"a":'.repeat(N200K)],
  ] as [string, () => string][]).map(([name, make]): Case => ({
    name: `JSON nested 200k deep (${name})`,
    files: () => [[name, make()]],
    args: ['check', name],
    // QMP excerpts are read leniently (authors cut them short): the SYSREG_ props that are there count.
    codes: name === 'qmp.json' ? [0, 1] : [1],
    maxStdoutMB: 1,
  })),
  {
    name: 'a Firecracker fingerprint with 200k entries (35 MB)',
    files: () => [['big-fingerprint.json', fingerprint200k()]],
    args: ['check', 'big-fingerprint.json', '--format', 'json'],
    codes: [0, 1],
    seconds: BIG_S,
    check: jsonOut,
  },
  {
    name: 'a trace whose host is the 200k-entry fingerprint',
    files: () => [
      ['big-host.json', fingerprint200k()],
      ['with-big-host.idtrace', 'host big-host.json\nvcpu 0 init psci_0_2\nvcpu 0 set ID_AA64PFR0_EL1 0x1101001021111111\nvcpu 0 run\n'],
    ],
    args: ['check', 'with-big-host.idtrace'],
    codes: [0, 1],
    seconds: BIG_S,
  },
  ...SEEDS.map((seed): Case => {
    const name = `digits-${seed.path.replace(/[^A-Za-z0-9.-]/g, '_')}`;
    return { name: `1000-digit numbers in every numeric slot (${seed.format}: ${seed.path})`, files: () => [[name, hugeDigits(seed.text)]], args: ['check', name], codes: [0, 1] };
  }),
  ...([
    ['host-missing.idtrace', 'a host line naming a missing file'],
    ['host-dir.idtrace', 'a host line naming a directory'],
    ['host-self.idtrace', 'a host line naming the trace itself'],
    ['host-loop.idtrace', 'a host line naming a symlink loop'],
    ['host-devnull.idtrace', 'a host line naming /dev/null'],
  ] as [string, string][]).map(([file, what]): Case => ({
    name: what,
    files: () => {
      if (file === 'host-loop.idtrace') {
        ensureLoop();
        return [[file, 'host loop\nvcpu 0 init psci_0_2\nvcpu 0 set ID_AA64PFR0_EL1 0x1101001021111111\n']];
      }
      if (file === 'host-devnull.idtrace') return [[file, 'host /dev/null\nvcpu 0 init psci_0_2\n']];
      return [[file, readFileSync(join(FIXTURES, file))]];
    },
    args: ['check', file],
    codes: [1],
    check: (r) => assert.match(r.stdout, /IDR001[^\n]*host/i, 'no finding about the host'),
  })),
  ...([
    ['--host naming a directory', ['check', 'host-missing.idtrace', '--host', '.']],
    ['--host naming a missing file', ['check', 'host-missing.idtrace', '--host', 'nope.iddump']],
    ['--host naming a symlink loop', ['check', 'host-missing.idtrace', '--host', 'loop']],
    ['FILE is a symlink loop', ['check', 'loop']],
    ['FILE does not exist', ['check', 'nope.idtrace']],
  ] as [string, string[]][]).map(([what, args]): Case => ({
    name: what,
    files: () => {
      ensureLoop();
      return [['host-missing.idtrace', readFileSync(join(FIXTURES, 'host-missing.idtrace'))]];
    },
    args,
    codes: [2],
    check: (r) => assert.ok(r.stderr.split('\n').filter(Boolean).length <= 3, `a short message, not ${r.stderr}`),
  })),
  ...readdirSync(FIXTURES)
    .filter((x) => x !== 'README.md' && !x.startsWith('host-'))
    .sort()
    .map((f): Case => ({ name: `test/fixtures/hostile/${f}`, args: ['check', join(FIXTURES, f)], codes: [0, 1] })),
  { name: '8 MiB of carriage returns (.idtrace)', files: () => [['cr-big.idtrace', '\r'.repeat(8 << 20)]], args: ['check', 'cr-big.idtrace'], codes: [0, 1] },
  { name: '64k blank lines (.txt)', files: () => [['blank.txt', '\n'.repeat(65536)]], args: ['check', 'blank.txt'], codes: [0, 1] },
  { name: '64 KiB line of digits (.txt)', files: () => [['digits.txt', '7'.repeat(65536)]], args: ['check', 'digits.txt'], codes: [0, 1] },
  ...['text', 'json', 'sarif'].map((format): Case => ({
    name: `a directory of hostile files (--format ${format})`,
    files: () => {
      const out: [string, string | Buffer][] = readdirSync(FIXTURES).map((f) => [join('mixed', f), readFileSync(join(FIXTURES, f))]);
      out.push([join('mixed', 'random.idtrace'), randomBytes(64 << 10, 7)]);
      return out;
    },
    args: ['check', 'mixed', '--format', format],
    codes: [1],
    ...(format === 'text' ? {} : { check: jsonOut }),
  })),
];

describe('hostile inputs through `idreg check`', () => {
  for (const c of CASES) {
    const seconds = c.seconds ?? QUICK_S;
    it(c.name, { timeout: seconds * 4000, ...(c.todo ? { todo: c.todo } : {}) }, async (t) => {
      if (!cliKnowsCheck) {
        t.skip('the CLI has no check command yet (src/cli.ts does not register it)');
        return;
      }
      for (const [name, data] of c.files?.() ?? []) {
        mkdirSync(join(dir, name, '..'), { recursive: true });
        writeFileSync(join(dir, name), data);
      }
      const r = await runCli(c.args, seconds);
      assertSane(c.name + (c.todo ? ' [todo]' : ''), r, { codes: c.codes, seconds, ...(c.maxStdoutMB !== undefined ? { maxStdoutMB: c.maxStdoutMB } : {}) });
      c.check?.(r);
    });
  }
});

describe('host files outside the workspace (checkDocument with workspaceRoot)', () => {
  it('never reads a host outside the workspace, and says so', async () => {
    const { checkDocument } = await import('../../src/check.ts');
    const root = mkdtempSync(join(tmpdir(), 'idreg-ws-'));
    try {
      mkdirSync(join(root, 'ws'));
      writeFileSync(join(root, 'outside.iddump'), SEEDS.find((s) => s.format === 'iddump')!.text);
      for (const host of ['../outside.iddump', join(root, 'outside.iddump'), '/etc/passwd', '../ws/../outside.iddump']) {
        const read: string[] = [];
        const report = checkDocument(
          { path: join(root, 'ws', 't.idtrace'), text: `host ${host}\nvcpu 0 init psci_0_2\nvcpu 0 set ID_AA64PFR0_EL1 0x1101001021111111\n` },
          { workspaceRoot: join(root, 'ws'), readFile: (p) => (read.push(p), readFileSync(p, 'utf8')) },
        );
        assert.deepEqual(read, [], `host ${host}: read ${read.join(', ')}`);
        const f = report.findings.find((x) => /outside/i.test(x.message));
        assert.ok(f, `host ${host}: no finding says the host is outside the workspace: ${report.findings.map((x) => x.message).join('; ')}`);
        assert.equal(f.range.start.line, 0);
        table.push({ input: `API: host ${host} outside workspaceRoot`, code: '-', seconds: '-', rss: '-', out: '-', result: `${f.code} ${f.message.slice(0, 100)}` });
      }
      // --host given as an option is treated the same way.
      const read: string[] = [];
      const report = checkDocument({ path: join(root, 'ws', 't.idtrace'), text: 'vcpu 0 init\n' }, { host: join(root, 'outside.iddump'), workspaceRoot: join(root, 'ws'), readFile: (p) => (read.push(p), '') });
      assert.deepEqual(read, []);
      assert.ok(report.findings.some((x) => /outside/i.test(x.message)));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

// The measured scenarios. Every measurement runs in a fresh child process; the harness process only
// spawns, times and (for the LSP scenarios) plays the client.
import { spawn } from 'node:child_process';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LspClient } from './lsp-client.ts';
import { Rng } from './prng.ts';
import { median, percentile } from './stats.ts';

// The package is CommonJS (no "type": "module"), so tsx runs this file as CJS and __dirname is defined.
export const BENCH_DIR = __dirname;
export const ROOT = resolve(BENCH_DIR, '..');
export const FLOOR_SCRIPT = join(BENCH_DIR, 'floor.mjs');
export const RSS_HOOK = join(BENCH_DIR, 'rss-hook.cjs');

export interface ProcResult {
  /** Spawn to exit, measured by the harness. */
  wallMs: number;
  /** Time measured inside the child (floor: its own loop; hooked: process uptime at exit). */
  inMs?: number;
  /** Peak RSS of the child, KiB (process.resourceUsage().maxRSS). */
  maxRssKiB?: number;
  code: number | null;
  stderr: string;
  stdout: string;
}

export function runProcess(
  args: string[],
  opts: { captureStdout?: boolean; rssHook?: boolean; cwd?: string } = {},
): Promise<ProcResult> {
  return new Promise((resolvePromise, reject) => {
    const devnull = opts.captureStdout ? undefined : openSync('/dev/null', 'w');
    const nodeArgs = opts.rssHook ? ['--require', RSS_HOOK, ...args] : args;
    const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', devnull ?? 'pipe', 'pipe'];
    if (opts.rssHook) stdio.push('pipe');
    let stdout = '';
    let stderr = '';
    let fd3 = '';
    const t0 = performance.now();
    const child = spawn(process.execPath, nodeArgs, { cwd: opts.cwd ?? ROOT, stdio });
    let wallMs = 0;
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString('utf8');
    });
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 20000) stderr += d.toString('utf8');
    });
    (child.stdio[3] as NodeJS.ReadableStream | null | undefined)?.on('data', (d: Buffer) => {
      fd3 += d.toString('utf8');
    });
    child.on('exit', () => {
      wallMs = performance.now() - t0;
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (devnull !== undefined) closeSync(devnull);
      const r: ProcResult = { wallMs, code, stderr, stdout };
      if (opts.rssHook && fd3) {
        try {
          const j = JSON.parse(fd3) as { maxRSS: number; ms: number };
          r.maxRssKiB = j.maxRSS;
          r.inMs = j.ms;
        } catch {
          // leave undefined
        }
      }
      resolvePromise(r);
    });
  });
}

export async function runFloor(path: string): Promise<ProcResult> {
  const r = await runProcess([FLOOR_SCRIPT, path], { captureStdout: true });
  try {
    const j = JSON.parse(r.stdout) as { ms: number; maxRSS: number; lines: number };
    r.inMs = j.ms;
    r.maxRssKiB = j.maxRSS;
  } catch {
    // leave undefined
  }
  return r;
}

let distDir = join(ROOT, 'dist');

/**
 * Copies the bundles (dist/*.js and their maps) into the cache directory and runs
 * them from there, so that a rebuild of dist/ by someone else during a long run cannot change the code
 * under test halfway. The bundles are self-contained (esbuild, platform node).
 */
export function snapshotDist(cacheDir: string): string {
  const dest = join(cacheDir, 'dist-snapshot');
  mkdirSync(dest, { recursive: true });
  // cli.js loads the server bundle (lsp.js) from its own directory for `idreg lsp`: copy every bundle.
  const dist = join(ROOT, 'dist');
  for (const f of existsSync(dist) ? readdirSync(dist) : []) {
    if (/\.js(\.map)?$/.test(f)) copyFileSync(join(dist, f), join(dest, f));
  }
  distDir = dest;
  return dest;
}

export function cliPath(): string {
  return join(distDir, 'cli.js');
}

export function serverPath(): string {
  return join(distDir, 'server.js');
}

export function runCliCheck(path: string, nodeFlags: string[] = []): Promise<ProcResult> {
  return runProcess([...nodeFlags, cliPath(), 'check', path, '--format', 'json'], { rssHook: true });
}

// ---------------------------------------------------------------------------------------------
// LSP

export interface ServerCommand {
  label: string;
  args: string[]; // node arguments after any profiler flags
}

export const SETTINGS = {
  maxProblems: 1000,
  kernel: '',
  host: '',
  largeFile: { autoCheck: true },
  trace: { server: 'off' },
};

export interface Started {
  client: LspClient;
  readyMs: number;
  capabilities: any;
}

export async function startServer(cmd: ServerCommand, workspace: string, nodeFlags: string[] = []): Promise<Started> {
  const t0 = performance.now();
  const client = new LspClient(process.execPath, [...nodeFlags, ...cmd.args], ROOT);
  client.configuration = SETTINGS;
  const rootUri = pathToFileURL(workspace).href;
  const init = await client.request('initialize', {
    processId: process.pid,
    clientInfo: { name: 'idreg-bench', version: '1' },
    rootUri,
    workspaceFolders: [{ uri: rootUri, name: 'bench' }],
    initializationOptions: { trusted: true, clientVersion: 'bench' },
    capabilities: {
      workspace: { configuration: true, workspaceFolders: true, didChangeConfiguration: { dynamicRegistration: false } },
      window: { workDoneProgress: true },
      textDocument: {
        synchronization: { dynamicRegistration: false, didSave: true },
        publishDiagnostics: { relatedInformation: true, versionSupport: true, codeDescriptionSupport: true },
        hover: { dynamicRegistration: false, contentFormat: ['markdown', 'plaintext'] },
      },
    },
  }, 30_000);
  if (init.error) throw new Error(`initialize failed: ${init.error.message}`);
  const readyMs = performance.now() - t0;
  client.notify('initialized', {});
  return { client, readyMs, capabilities: (init.result as { capabilities?: unknown } | undefined)?.capabilities ?? {} };
}

/** Finds a command that starts the server: `idreg lsp --stdio`, else dist/server.js. */
export async function findServerCommand(workspace: string): Promise<ServerCommand | { error: string }> {
  const candidates: ServerCommand[] = [
    { label: 'node dist/cli.js lsp --stdio', args: [cliPath(), 'lsp', '--stdio'] },
    { label: 'node dist/server.js --stdio', args: [serverPath(), '--stdio'] },
  ];
  const errors: string[] = [];
  for (const c of candidates) {
    if (!existsSync(c.args[0]!)) {
      errors.push(`${c.label}: ${c.args[0]} missing`);
      continue;
    }
    try {
      const s = await startServer(c, workspace);
      await s.client.shutdown();
      return c;
    } catch (e) {
      errors.push(`${c.label}: ${(e as Error).message.split('\n')[0]}`);
    }
  }
  return { error: errors.join('; ') };
}

export function syncKind(caps: any): number {
  const s = caps?.textDocumentSync;
  if (typeof s === 'number') return s;
  if (s && typeof s === 'object' && typeof s.change === 'number') return s.change;
  return 0;
}

/** The language id VS Code would give a file (from package.json contributes.languages), else plaintext. */
export function languageIdFor(path: string): string {
  try {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
      contributes?: { languages?: { id: string; extensions?: string[]; filenamePatterns?: string[]; firstLine?: string }[] };
    };
    const langs = pkg.contributes?.languages ?? [];
    const first = readFileSync(path, { encoding: 'latin1' }).slice(0, 200).split('\n')[0] ?? '';
    for (const l of langs) if (l.extensions?.some((e) => path.endsWith(e))) return l.id;
    for (const l of langs) if (l.firstLine && new RegExp(l.firstLine).test(first)) return l.id;
  } catch {
    // fall through
  }
  return 'plaintext';
}

export interface DocText {
  path: string;
  uri: string;
  text: string;
  lineStarts: number[];
  languageId: string;
}

export function loadDoc(path: string): DocText {
  const text = readFileSync(path, 'utf8');
  const lineStarts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) lineStarts.push(i + 1);
  return { path, uri: pathToFileURL(path).href, text, lineStarts, languageId: languageIdFor(path) };
}

function lineText(d: DocText, line: number): string {
  const s = d.lineStarts[line]!;
  const e = line + 1 < d.lineStarts.length ? d.lineStarts[line + 1]! - 1 : d.text.length;
  return d.text.slice(s, e);
}

/** 200 (or n) hover positions on encodings and values a user would point at, seeded. */
export function hoverPositions(d: DocText, n: number): { line: number; character: number }[] {
  const rng = new Rng(42);
  const out: { line: number; character: number }[] = [];
  const lines = d.lineStarts.length - 1;
  let guard = 0;
  while (out.length < n && guard++ < n * 100) {
    const line = 12 + rng.int(Math.max(1, lines - 12));
    const t = lineText(d, line);
    let col = -1;
    const k = rng.int(3);
    if (t.includes('kvm_sys_access: PC: ')) {
      if (k === 0) col = t.indexOf(' SYS_') + 3;
      else if (k === 1) col = t.indexOf(' (') + 3;
      else col = t.indexOf('PC: ') + 6;
    } else if (t.includes('kvm_handle_sys_reg: HSR 0x')) {
      col = t.indexOf('HSR 0x') + 7;
    } else if (t.includes('kvm_exit: ') && k !== 0) {
      col = t.indexOf('HSR_EC: ') + 10;
    }
    if (col < 3) continue;
    out.push({ line, character: col });
  }
  return out;
}

/** kvm_sys_access lines ending in " read", spread over the document, seeded. */
export function editLines(d: DocText, n: number): { line: number; character: number }[] {
  const rng = new Rng(7);
  const out: { line: number; character: number }[] = [];
  const used = new Set<number>();
  const lines = d.lineStarts.length - 1;
  let guard = 0;
  while (out.length < n && guard++ < n * 1000) {
    const line = 12 + rng.int(Math.max(1, lines - 12));
    if (used.has(line)) continue;
    const t = lineText(d, line);
    if (!t.includes('kvm_sys_access: PC: ') || !t.endsWith(' read')) continue;
    used.add(line);
    out.push({ line, character: t.length - 4 });
  }
  return out;
}

export interface LspDocResult {
  readyMs: number;
  syncKind: number;
  firstDiagMs: number;
  firstDiagCount: number;
  /** The server's own duration of that first check (idregLens/status 'done'). */
  serverCheckMs?: number;
  hoverFirstMs: number;
  hoverMs: number[];
  hoverNonEmpty: number;
  editMs: number[];
  editTimeouts: number;
  peakRssKiB?: number;
  notes: string[];
}

function diagCount(p: any): number {
  return Array.isArray(p?.diagnostics) ? p.diagnostics.length : 0;
}

export async function lspDocScenario(
  cmd: ServerCommand,
  d: DocText,
  opts: { hovers: number; edits: number; nodeFlags?: string[]; workspace: string },
): Promise<LspDocResult> {
  const notes: string[] = [];
  const { client, readyMs, capabilities } = await startServer(cmd, opts.workspace, opts.nodeFlags);
  try {
    const kind = syncKind(capabilities);
    let version = 1;
    // First diagnostics: the first non-empty publish for the URI (the inputs always have problems).
    const firstDiag = client.waitFor('textDocument/publishDiagnostics', (p) => p?.uri === d.uri && diagCount(p) > 0, 120_000);
    // The server's idregLens/status 'done' carries its own check duration: the rest of the first-diagnostics
    // time is transport, JSON decoding, the document store and waiting.
    const statusDone = client.waitFor('idregLens/status', (p) => p?.uri === d.uri && p?.state === 'done', 120_000);
    statusDone.catch(() => undefined);
    const t0 = performance.now();
    client.notify('textDocument/didOpen', { textDocument: { uri: d.uri, languageId: d.languageId, version, text: d.text } });
    const fd = await firstDiag;
    const firstDiagMs = fd.at - t0;
    const firstDiagCount = diagCount(fd.params);
    let serverCheckMs: number | undefined;
    try {
      const done = await Promise.race([statusDone, new Promise<undefined>((r) => setTimeout(() => r(undefined), 3000))]);
      if (done && typeof done.params?.durationMs === 'number') serverCheckMs = done.params.durationMs;
    } catch {
      // no status notifications from this server
    }

    const hoverMs: number[] = [];
    let hoverNonEmpty = 0;
    if (capabilities?.hoverProvider) {
      for (const pos of hoverPositions(d, opts.hovers)) {
        const h0 = performance.now();
        const res = await client.request('textDocument/hover', { textDocument: { uri: d.uri }, position: pos }, 30_000);
        hoverMs.push(performance.now() - h0);
        if (res.result) hoverNonEmpty++;
      }
    } else {
      notes.push('server advertises no hoverProvider');
    }

    const editMs: number[] = [];
    let editTimeouts = 0;
    if (kind === 0) notes.push('server advertises no textDocumentSync change kind: edits skipped');
    else {
      let text = d.text;
      const targets = editLines(d, Math.ceil(opts.edits / 2));
      let consecutiveTimeouts = 0;
      for (let i = 0; i < opts.edits && consecutiveTimeouts < 3; i++) {
        const tgt = targets[(i >> 1) % targets.length]!;
        const toWrite = i % 2 === 0; // even: read -> write (a guest write: new finding); odd: revert
        const oldLen = toWrite ? 4 : 5;
        const newText = toWrite ? 'write' : 'read';
        version++;
        const v = version;
        let change: unknown;
        if (kind === 2) {
          change = {
            range: { start: { line: tgt.line, character: tgt.character }, end: { line: tgt.line, character: tgt.character + oldLen } },
            text: newText,
          };
        } else {
          const off = d.lineStarts[tgt.line]! + tgt.character;
          text = text.slice(0, off) + newText + text.slice(off + oldLen);
          change = { text };
        }
        const wait = client.waitFor(
          'textDocument/publishDiagnostics',
          (p) => p?.uri === d.uri && (p.version === undefined || p.version === null || p.version === v),
          5_000,
        );
        const e0 = performance.now();
        client.notify('textDocument/didChange', { textDocument: { uri: d.uri, version: v }, contentChanges: [change] });
        try {
          const r = await wait;
          editMs.push(r.at - e0);
          consecutiveTimeouts = 0;
        } catch {
          editTimeouts++;
          consecutiveTimeouts++;
        }
        await new Promise((r) => setTimeout(r, 25)); // typing cadence; not measured
      }
      if (consecutiveTimeouts >= 3) notes.push('edits stopped after 3 consecutive timeouts (no publishDiagnostics within 5 s)');
    }
    const peakRssKiB = client.peakRssKiB();
    return {
      readyMs, syncKind: kind, firstDiagMs, firstDiagCount, serverCheckMs,
      hoverFirstMs: hoverMs[0] ?? NaN, hoverMs, hoverNonEmpty, editMs, editTimeouts, peakRssKiB, notes,
    };
  } finally {
    await client.shutdown();
  }
}

export interface LspDiskResult {
  readyMs: number;
  firstDiagMs: number;
  firstDiagCount: number;
  responseMs: number;
  summary: any;
  peakRssKiB?: number;
}

export const CHECK_FILE_METHOD = 'idregLens/checkFileOnDisk';

export async function lspDiskScenario(
  cmd: ServerCommand,
  path: string,
  opts: { nodeFlags?: string[]; workspace: string },
): Promise<LspDiskResult> {
  const { client, readyMs } = await startServer(cmd, opts.workspace, opts.nodeFlags);
  try {
    const uri = pathToFileURL(path).href;
    const firstDiag = client.waitFor('textDocument/publishDiagnostics', (p) => p?.uri === uri && diagCount(p) > 0, 120_000);
    firstDiag.catch(() => undefined);
    const t0 = performance.now();
    const res = await client.request(CHECK_FILE_METHOD, { uri }, 120_000);
    const responseMs = performance.now() - t0;
    if (res.error) throw new Error(`${CHECK_FILE_METHOD}: ${res.error.message}`);
    const fd = await firstDiag;
    const peakRssKiB = client.peakRssKiB();
    return {
      readyMs, firstDiagMs: fd.at - t0, firstDiagCount: diagCount(fd.params), responseMs, summary: res.result, peakRssKiB,
    };
  } finally {
    await client.shutdown();
  }
}

export function summarize(xs: number[]): { min: number; median: number; p95: number } {
  return { min: Math.min(...xs), median: median(xs), p95: percentile(xs, 95) };
}

export interface LspTraceResult {
  firstDiagMs: number;
  serverCheckMs?: number;
  hoverFirstMs: number;
  hoverMs: number[];
  editMs: number[];
  peakRssKiB?: number;
}

/**
 * A big .idtrace opened in the editor: didOpen → first diagnostics, hovers on register names and values
 * spread over the document, and edits that comment a line in the middle out and back in (each → the
 * publishDiagnostics of its version; an .idtrace is checked whole after the debounce).
 */
export async function lspIdtraceScenario(cmd: ServerCommand, d: DocText, opts: { hovers: number; edits: number; workspace: string }): Promise<LspTraceResult> {
  const { client } = await startServer(cmd, opts.workspace);
  try {
    const statusDone = client.waitFor('idregLens/status', (p) => p?.uri === d.uri && p?.state === 'done', 120_000);
    statusDone.catch(() => undefined);
    const first = client.waitFor('textDocument/publishDiagnostics', (p) => p?.uri === d.uri && diagCount(p) > 0, 120_000);
    const t0 = performance.now();
    client.notify('textDocument/didOpen', { textDocument: { uri: d.uri, languageId: d.languageId, version: 1, text: d.text } });
    const firstDiagMs = (await first).at - t0;
    const done = await Promise.race([statusDone, new Promise<undefined>((r) => setTimeout(() => r(undefined), 3000))]).catch(() => undefined);
    const serverCheckMs = typeof done?.params?.durationMs === 'number' ? (done.params.durationMs as number) : undefined;
    const rng = new Rng(11);
    const lines = d.lineStarts.length - 1;
    const hoverMs: number[] = [];
    for (let k = 0; k < opts.hovers; k++) {
      const line = rng.int(lines);
      const t = lineText(d, line);
      const eq = t.indexOf('= 0x');
      const character = eq >= 0 && rng.int(2) === 0 ? eq + 5 : Math.min(t.length, 12);
      const h0 = performance.now();
      await client.request('textDocument/hover', { textDocument: { uri: d.uri }, position: { line, character } }, 30_000);
      hoverMs.push(performance.now() - h0);
    }
    const editMs: number[] = [];
    const mid = Math.floor(lines / 2);
    for (let k = 0; k < opts.edits; k++) {
      const v = k + 2;
      const comment = k % 2 === 0;
      const range = { start: { line: mid, character: 0 }, end: { line: mid, character: comment ? 0 : 2 } };
      const wait = client.waitFor('textDocument/publishDiagnostics', (p) => p?.uri === d.uri && p.version === v, 60_000);
      const e0 = performance.now();
      client.notify('textDocument/didChange', { textDocument: { uri: d.uri, version: v }, contentChanges: [{ range, text: comment ? '# ' : '' }] });
      editMs.push((await wait).at - e0);
    }
    return { firstDiagMs, ...(serverCheckMs !== undefined ? { serverCheckMs } : {}), hoverFirstMs: hoverMs[0] ?? NaN, hoverMs, editMs, peakRssKiB: client.peakRssKiB() };
  } finally {
    await client.shutdown();
  }
}

// In-process tests of the language server: the real server (startServer) on one end of a stream pair,
// a JSON-RPC client on the other. Every LSP capability and custom request is exercised here; the real
// editors (test/vscode, test/nvim) only check that the wiring works there too.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { existsSync, mkdtempSync, writeFileSync, rmSync, mkdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { CancellationTokenSource } from 'vscode-jsonrpc';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createConnection } from 'vscode-languageserver/node';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type {
  CodeAction,
  Diagnostic,
  DocumentSymbol,
  FoldingRange,
  Hover,
  InlayHint,
  Location,
  Position,
  PublishDiagnosticsParams,
} from 'vscode-languageserver';
import { startServer, type ServerOptions } from '../../server/server.ts';
import {
  CheckFileOnDiskRequest,
  DecodeRequest,
  FileStatusNotification,
  RegisterTableRequest,
  ServerInfoRequest,
  type CheckSummary,
  type DecodeResult,
  type FileStatus,
  type RegisterTable,
} from '../../server/protocol.ts';

// ---------------------------------------------------------------------------------------------
// Harness

interface Client {
  rpc: MessageConnection;
  diagnostics: Map<string, PublishDiagnosticsParams>;
  statuses: FileStatus[];
  progress: unknown[];
  logs: string[];
  settings: Record<string, unknown>;
  configRequests: number;
  waitDiagnostics(uri: string, pred?: (d: Diagnostic[]) => boolean, timeoutMs?: number): Promise<Diagnostic[]>;
  request<R>(method: string, params?: unknown): Promise<R>;
  open(uri: string, text: string, languageId?: string, version?: number): void;
  close(): Promise<void>;
}

async function startClient(opts: { settings?: Record<string, unknown>; trusted?: boolean; folders?: string[]; capabilities?: Record<string, unknown>; server?: ServerOptions } = {}): Promise<Client> {
  const toServer = new PassThrough();
  const toClient = new PassThrough();
  const serverConn = createConnection(new StreamMessageReader(toServer), new StreamMessageWriter(toClient));
  startServer(serverConn, { debounceMs: 20, ...(opts.server ?? {}) });
  serverConn.listen();
  const rpc = createMessageConnection(new StreamMessageReader(toClient), new StreamMessageWriter(toServer));
  const diagnostics = new Map<string, PublishDiagnosticsParams>();
  const waiters: (() => void)[] = [];
  const c: Client = {
    rpc,
    diagnostics,
    statuses: [],
    progress: [],
    logs: [],
    settings: { maxProblems: 1000, kernel: '', host: '', largeFile: { autoCheck: true }, trace: { server: 'off' }, ...(opts.settings ?? {}) },
    configRequests: 0,
    async waitDiagnostics(uri, pred = () => true, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const d = diagnostics.get(uri);
        if (d && pred(d.diagnostics)) return d.diagnostics;
        if (Date.now() > deadline) throw new Error(`no matching diagnostics for ${uri}; last: ${JSON.stringify(d?.diagnostics.map((x) => x.code))}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
    },
    request: (method, params) => rpc.sendRequest(method, params),
    open(uri, text, languageId = 'idtrace', version = 1) {
      void rpc.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId, version, text } });
    },
    async close() {
      await rpc.sendRequest('shutdown');
      rpc.dispose();
      serverConn.dispose();
    },
  };
  rpc.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
    diagnostics.set(p.uri, p);
    waiters.splice(0).forEach((w) => w());
  });
  rpc.onNotification(FileStatusNotification.type, (s: FileStatus) => {
    c.statuses.push(s);
  });
  rpc.onNotification('$/progress', (p: unknown) => {
    c.progress.push(p);
  });
  rpc.onNotification('window/logMessage', (p: { message: string }) => {
    c.logs.push(p.message);
  });
  rpc.onRequest('workspace/configuration', (p: { items: { section?: string }[] }) => {
    c.configRequests++;
    return p.items.map(() => c.settings);
  });
  rpc.onRequest('window/workDoneProgress/create', () => null);
  rpc.onRequest('client/registerCapability', () => null);
  rpc.listen();
  await rpc.sendRequest('initialize', {
    processId: null,
    rootUri: null,
    workspaceFolders: (opts.folders ?? []).map((f) => ({ uri: pathToFileURL(f).href, name: 'ws' })),
    initializationOptions: { trusted: opts.trusted ?? true },
    capabilities: opts.capabilities ?? {
      workspace: { configuration: true, didChangeConfiguration: { dynamicRegistration: true } },
      window: { workDoneProgress: true },
      textDocument: {
        publishDiagnostics: { relatedInformation: true, codeDescriptionSupport: true },
        documentSymbol: { hierarchicalDocumentSymbolSupport: true },
      },
    },
  });
  void rpc.sendNotification('initialized', {});
  return c;
}

const HOST = `# debugfs idregs of a Graviton3-like host (fresh vCPU)
SYS_ID_AA64PFR0_EL1:\t1101001021111111
SYS_ID_AA64ISAR0_EL1:\t0000100010211120
SYS_ID_AA64MMFR0_EL1:\t0000000000001125
SYS_ID_AA64DFR0_EL1:\t0000000110305408
`;

// Line numbers (0-based) are referred to by the tests below.
const TRACE = `# a small VM: two vCPUs, one bad write, one read
kernel 6.15
host host.iddump
vcpu 0 init pmu_v3,psci_0_2
vcpu 1 init pmu_v3,psci_0_2
vcpu 0 get ID_AA64PFR0_EL1 = 0x1101001021111111
vcpu 0 set ID_AA64ISAR0_EL1 0x0000100010211110 = 0
vcpu 1 set ID_AA64PFR0_EL1 0x1101001021111112
vcpu 0 run
vcpu 1 mrs ID_AA64ISAR0_EL1 = 0x0000100010211110
vcpu 1 msr ID_AA64ISAR0_EL1 0x0 = undef
vcpu 1 get ID_AA64MMFR0_EL1(3,0,0,7,1)
vcpu 0 get 0x603000000013c020
`;

let dir: string;
let traceUri: string;
let hostUri: string;

before(() => {
  dir = mkdtempSync(join(tmpdir(), 'idreg-server-test-'));
  writeFileSync(join(dir, 'host.iddump'), HOST);
  writeFileSync(join(dir, 'vm.idtrace'), TRACE);
  traceUri = pathToFileURL(join(dir, 'vm.idtrace')).href;
  hostUri = pathToFileURL(join(dir, 'host.iddump')).href;
});

after(() => rmSync(dir, { recursive: true, force: true }));

const pos = (line: number, character: number) => ({ line, character });
const msg = (d: Diagnostic): string => (typeof d.message === 'string' ? d.message : d.message.value);
const hoverValue = (h: Hover | null): string => (h && typeof h.contents === 'object' && 'value' in h.contents ? h.contents.value : '');

async function waitFor<T>(fn: () => T | undefined | false, what: string, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
const doc = (uri: string) => ({ textDocument: { uri } });

// ---------------------------------------------------------------------------------------------

describe('language server', () => {
  let c: Client;
  before(async () => {
    c = await startClient({ folders: [dir] });
    c.open(traceUri, TRACE);
  });
  after(() => c.close());

  test('initialize advertises every capability', async () => {
    const c2 = await startClient();
    try {
      // startClient already initialised; ask again through a fresh connection's result shape.
      const info = await c2.request<{ pid: number; core: string }>(ServerInfoRequest.method);
      assert.equal(info.pid, process.pid);
      assert.equal(info.core, 'src/check.ts');
    } finally {
      await c2.close();
    }
  });

  test('diagnostics: codes, docs link, severity, source and related information', async () => {
    const diags = await c.waitDiagnostics(traceUri, (d) => d.some((x) => x.code === 'IDR010'));
    const d10 = diags.find((x) => x.code === 'IDR010')!;
    assert.equal(d10.source, 'idreg');
    assert.equal(d10.severity, 1);
    assert.equal(d10.range.start.line, 7);
    assert.equal(d10.codeDescription?.href, 'https://github.com/idreg-lens/idreg-lens#idr010');
    assert.ok(d10.relatedInformation && d10.relatedInformation.length > 0);
    assert.equal(d10.relatedInformation![0]!.location.uri, hostUri);
    assert.match(d10.relatedInformation![0]!.message, /host limit/);
    assert.ok(diags.some((x) => x.code === 'IDR003' && x.range.start.line === 11));
    const st = await waitFor(() => c.statuses.filter((s) => s.uri === traceUri && s.state === 'done').pop(), 'status');
    assert.ok(st.format === 'idtrace' && st.errors > 0);
  });

  test('hover on a register name lists every encoding form', async () => {
    const h = await c.request<Hover>('textDocument/hover', { ...doc(traceUri), position: pos(5, 14) });
    const text = hoverValue(h);
    assert.match(text, /ID_AA64PFR0_EL1/);
    assert.match(text, /S3_0_C0_C4_0/);
    assert.match(text, /0x603000000013c020/);
    assert.match(text, /\(3,0,0,4,0\)/);
  });

  test('hover on a written value: field table, host limit, policy and KVM verdict', async () => {
    const h = await c.request<Hover>('textDocument/hover', { ...doc(traceUri), position: pos(7, 33) });
    const text = hoverValue(h);
    assert.match(text, /\| field \| bits \| value \| meaning \| host limit \| policy \|/);
    assert.match(text, /\| EL0 \| 3:0 \| 0x2 \|/);
    assert.match(text, /-EINVAL/);
    assert.match(text, /IDR010/);
  });

  test('hover on an accepted write says KVM accepts it', async () => {
    const h = await c.request<Hover>('textDocument/hover', { ...doc(traceUri), position: pos(6, 35) });
    assert.match(hoverValue(h), /accept/);
  });

  test('hover on a bare one-reg ID decodes it', async () => {
    const h = await c.request<Hover>('textDocument/hover', { ...doc(traceUri), position: pos(12, 16) });
    assert.match(hoverValue(h), /ID_AA64PFR0_EL1/);
  });

  test('hover on a comment gives nothing', async () => {
    const h = await c.request<Hover | null>('textDocument/hover', { ...doc(traceUri), position: pos(0, 30) });
    assert.equal(h, null);
  });

  test('inlay hints name raw encodings', async () => {
    const hints = await c.request<InlayHint[]>('textDocument/inlayHint', { ...doc(traceUri), range: { start: pos(0, 0), end: pos(20, 0) } });
    const labels = hints.map((h) => `${h.position.line}:${String(h.label)}`);
    assert.ok(labels.includes('12:: ID_AA64PFR0_EL1'), labels.join(' '));
    assert.ok(!labels.some((l) => l.startsWith('5:')), 'no hint after a name');
  });

  test('document symbols: VM → vCPUs → phases', async () => {
    const syms = await c.request<DocumentSymbol[]>('textDocument/documentSymbol', doc(traceUri));
    const vm = syms.find((s) => s.name === 'VM')!;
    assert.ok(vm);
    const vcpus = vm.children!.filter((s) => s.name.startsWith('vCPU'));
    assert.deepEqual(vcpus.map((v) => v.name), ['vCPU 0', 'vCPU 1']);
    assert.deepEqual(vcpus[0]!.children!.map((p) => p.name), ['configure', 'run']);
    assert.ok(vcpus[1]!.children!.find((p) => p.name === 'run')!.children!.some((e) => e.name === 'mrs ID_AA64ISAR0_EL1'));
  });

  test('folding ranges by vCPU block, phase and comment', async () => {
    const ranges = await c.request<FoldingRange[]>('textDocument/foldingRange', doc(traceUri));
    assert.ok(ranges.some((r) => r.kind === 'region' && r.startLine === 8), JSON.stringify(ranges));
    assert.ok(ranges.every((r) => r.endLine > r.startLine));
  });

  test('definition: from a guest read to the set that established its value', async () => {
    const locs = await c.request<Location[]>('textDocument/definition', { ...doc(traceUri), position: pos(9, 14) });
    assert.equal(locs.length, 1);
    assert.equal(locs[0]!.uri, traceUri);
    assert.equal(locs[0]!.range.start.line, 6);
  });

  test('definition: a read nobody set goes to the host dump line', async () => {
    const locs = await c.request<Location[]>('textDocument/definition', { ...doc(traceUri), position: pos(5, 14) });
    assert.equal(locs[0]!.uri, hostUri);
    assert.equal(locs[0]!.range.start.line, 1);
  });

  test('references: every access of the register, in any form', async () => {
    const locs = await c.request<Location[]>('textDocument/references', { ...doc(traceUri), position: pos(5, 14), context: { includeDeclaration: false } });
    assert.deepEqual(locs.map((l) => l.range.start.line).sort((a, b) => a - b), [5, 7, 12]);
  });

  test('quick fix: clamp to the host limit (edit applied gives the limit)', async () => {
    const diags = await c.waitDiagnostics(traceUri, (d) => d.some((x) => x.code === 'IDR010'));
    const d10 = diags.find((x) => x.code === 'IDR010')!;
    const actions = await c.request<CodeAction[]>('textDocument/codeAction', { ...doc(traceUri), range: d10.range, context: { diagnostics: [d10] } });
    assert.ok(actions.length >= 1);
    const edit = actions[0]!.edit!.changes![traceUri]![0]!;
    const line = TRACE.split('\n')[edit.range.start.line]!;
    const fixed = line.slice(0, edit.range.start.character) + edit.newText + line.slice(edit.range.end.character);
    assert.equal(fixed, 'vcpu 1 set ID_AA64PFR0_EL1 0x1101001021111111');
  });

  test('quick fix: IDR003 offers both the name and the encoding', async () => {
    const diags = await c.waitDiagnostics(traceUri, (d) => d.some((x) => x.code === 'IDR003'));
    const d3 = diags.find((x) => x.code === 'IDR003')!;
    const actions = await c.request<CodeAction[]>('textDocument/codeAction', { ...doc(traceUri), range: d3.range, context: { diagnostics: [d3] } });
    const texts = actions.map((a) => a.edit!.changes![traceUri]![0]!.newText);
    assert.ok(texts.includes('ID_AA64MMFR1_EL1'), texts.join());
    assert.ok(texts.includes('(3,0,0,7,0)'), texts.join());
  });

  test('register table: final VM state per register and field', async () => {
    const t = await c.request<RegisterTable>(RegisterTableRequest.method, { uri: traceUri });
    assert.equal(t.format, 'idtrace');
    assert.equal(t.hasRun, true);
    const isar0 = t.registers.find((r) => r.name === 'ID_AA64ISAR0_EL1')!;
    assert.equal(isar0.value, '0x0000100010211110');
    assert.equal(isar0.limit, '0x0000100010211120');
    assert.equal(isar0.setAtLine, 6);
    const aes = isar0.fields.find((f) => f.name === 'AES')!;
    assert.equal(aes.value, '0x1');
    assert.equal(aes.limit, '0x2');
    assert.ok(aes.policy);
  });

  test('decode request: token and value', async () => {
    const r = await c.request<DecodeResult>(DecodeRequest.method, { text: 'ID_AA64PFR0_EL1 0x1101001021111111' });
    assert.equal(r.ok, true);
    assert.equal(r.name, 'ID_AA64PFR0_EL1');
    assert.ok(r.fields!.some((f) => f.name === 'EL0' && f.value === '0x1'));
    assert.match(r.markdown, /\| field \|/);
    const t = await c.request<DecodeResult>(DecodeRequest.method, { text: '(3,0,0,4,0)' });
    assert.equal(t.forms!.oneReg, '0x603000000013c020');
    const bad = await c.request<DecodeResult>(DecodeRequest.method, { text: 'NOT_A_REGISTER' });
    assert.equal(bad.ok, false);
  });

  test('a failing request is answered with an error and the server goes on', async () => {
    await assert.rejects(c.request(RegisterTableRequest.method, {}), /registerTable/);
    await assert.rejects(c.request(DecodeRequest.method, null), /decode/);
    const h = await c.request<Hover>('textDocument/hover', { ...doc(traceUri), position: pos(5, 14) });
    assert.ok(h);
  });

  test('requests on unknown documents answer empty', async () => {
    const uri = 'file:///nonexistent.idtrace';
    assert.equal(await c.request('textDocument/hover', { ...doc(uri), position: pos(0, 0) }), null);
    assert.deepEqual(await c.request('textDocument/documentSymbol', doc(uri)), []);
    assert.equal(await c.request(RegisterTableRequest.method, { uri }), null);
  });
});

// ---------------------------------------------------------------------------------------------

describe('language server: editing, settings, trust, big files', () => {
  test('incremental edits re-check; a comment-only edit does not', async () => {
    const c = await startClient({ folders: [dir] });
    try {
      const uri = pathToFileURL(join(dir, 'edit.idtrace')).href;
      c.open(uri, TRACE);
      await c.waitDiagnostics(uri, (d) => d.some((x) => x.code === 'IDR010'));
      const checks = () => c.statuses.filter((s) => s.uri === uri && s.state === 'done').length;
      const before = checks();
      // Edit inside the comment of line 0: no re-check.
      void c.rpc.sendNotification('textDocument/didChange', {
        textDocument: { uri, version: 2 },
        contentChanges: [{ range: { start: pos(0, 10), end: pos(0, 15) }, text: 'tiny' }],
      });
      // Fix the refused write (line 7: ...0x1101001021111112 → ...11): one re-check, IDR010 gone.
      void c.rpc.sendNotification('textDocument/didChange', {
        textDocument: { uri, version: 3 },
        contentChanges: [{ range: { start: pos(7, 44), end: pos(7, 45) }, text: '1' }],
      });
      await c.waitDiagnostics(uri, (d) => !d.some((x) => x.code === 'IDR010'));
      assert.equal(checks(), before + 1, 'one check for the two edits (debounced; the comment edit needs none)');
      // Insert lines at the top: later findings move down.
      void c.rpc.sendNotification('textDocument/didChange', {
        textDocument: { uri, version: 4 },
        contentChanges: [{ range: { start: pos(0, 0), end: pos(0, 0) }, text: '# one\n# two\n' }],
      });
      const d = await c.waitDiagnostics(uri, (x) => x.some((y) => y.code === 'IDR003' && y.range.start.line === 13));
      assert.ok(d.length > 0);
      const h = await c.request<Hover>('textDocument/hover', { ...doc(uri), position: pos(7, 14) });
      assert.match(hoverValue(h), /ID_AA64PFR0_EL1/);
    } finally {
      await c.close();
    }
  });

  test('typing in a big ftrace trace: diagnostics from a re-parse around the edit equal a fresh check', async () => {
    // 6000 lines: several re-parse segments. Each edit (in place, line inserts, deletes) must publish exactly
    // what a server that never saw the earlier versions publishes for the same text.
    const rec = (i: number, event: string) => `       CPU ${i % 3}/KVM-${4000 + (i % 3)}  [00${i % 3}] d..1.  ${1000 + i}.000001: ${event}`;
    const lines = ['# tracer: nop', '#'];
    for (let i = 0; lines.length < 6000; i++) {
      const reg = i % 7 === 0 ? 'ID_AA64ISAR0_EL1 (3,0,0,6,0)' : 'ID_AA64PFR0_EL1 (3,0,0,4,0)';
      lines.push(rec(i, `kvm_exit: TRAP: HSR_EC: 0x0018 (SYS64), PC: 0xffff800080a1b2c4`));
      lines.push(rec(i, `kvm_sys_access: PC: ffff800080a1b2c4 ${reg} read`));
      lines.push(rec(i, `kvm_entry: PC: 0xffff800080a1b2c8`));
    }
    const uri = pathToFileURL(join(dir, 'typing.txt')).href;
    const c = await startClient({ folders: [dir] });
    try {
      c.open(uri, lines.join('\n') + '\n', 'kvm-ftrace');
      await c.waitDiagnostics(uri);
      const edits: { start: Position; end: Position; text: string; apply: (l: string[]) => void }[] = [
        { start: pos(3001, 91), end: pos(3001, 95), text: 'write', apply: (l) => (l[3001] = l[3001]!.slice(0, 91) + 'write') },
        { start: pos(4000, 0), end: pos(4000, 0), text: 'garbage line\n', apply: (l) => l.splice(4000, 0, 'garbage line') },
        { start: pos(10, 0), end: pos(13, 0), text: '', apply: (l) => l.splice(10, 3) },
        { start: pos(5000, 40), end: pos(5000, 40), text: '\n', apply: (l) => l.splice(5000, 1, l[5000]!.slice(0, 40), l[5000]!.slice(40)) },
      ];
      let version = 1;
      for (const e of edits) {
        version++;
        e.apply(lines);
        const statusCount = c.statuses.length;
        void c.rpc.sendNotification('textDocument/didChange', { textDocument: { uri, version }, contentChanges: [{ range: { start: e.start, end: e.end }, text: e.text }] });
        await c.waitDiagnostics(uri, () => c.diagnostics.get(uri)?.version === version);
        assert.equal(c.statuses.slice(statusCount).filter((s) => s.state === 'checking').length, 0, 'the typing path runs no full check');
        const fresh = await startClient({ folders: [dir] });
        try {
          const freshUri = pathToFileURL(join(dir, `typing-fresh-${version}.txt`)).href;
          fresh.open(freshUri, lines.join('\n') + '\n', 'kvm-ftrace');
          const want = await fresh.waitDiagnostics(freshUri);
          const got = c.diagnostics.get(uri)!.diagnostics;
          const norm = (d: Diagnostic[]) => JSON.stringify(d).split(freshUri).join('URI').split(uri).join('URI');
          assert.equal(norm(got), norm(want), `after edit ${version - 1}`);
        } finally {
          await fresh.close();
        }
      }
    } finally {
      await c.close();
    }
  });

  test('an edit that makes a trace another format is checked as that format', async () => {
    const uri = pathToFileURL(join(dir, 'becomes-idtrace.txt')).href;
    const c = await startClient({ folders: [dir] });
    try {
      const ftrace = '       CPU 0/KVM-4000  [000] d..1.  1000.000001: kvm_sys_access: PC: ffff800080a1b2c4 ID_AA64PFR0_EL1 (3,0,0,4,0) write\n';
      c.open(uri, ftrace, 'plaintext');
      await c.waitDiagnostics(uri, (d) => d.some((x) => x.code === 'IDR021'));
      const status = () => c.statuses.filter((x) => x.uri === uri && x.state === 'done').at(-1)?.format;
      const until = async (want: string) => {
        for (let i = 0; i < 250 && status() !== want; i++) await new Promise((r) => setTimeout(r, 20));
        assert.equal(status(), want);
      };
      await until('ftrace');
      void c.rpc.sendNotification('textDocument/didChange', {
        textDocument: { uri, version: 2 },
        contentChanges: [{ range: { start: pos(0, 0), end: pos(1, 0) }, text: 'vcpu 0 set ID_AA64PFR0_EL1 0x1\nvcpu 0 get ID_AA64PFR0_EL1 = 0x2\n' }],
      });
      await c.waitDiagnostics(uri, () => c.diagnostics.get(uri)?.version === 2, 10000);
      await until('idtrace');
    } finally {
      await c.close();
    }
  });

  test('a request inside the debounce sees the edited text', async () => {
    const c = await startClient({ folders: [dir] });
    try {
      const uri = pathToFileURL(join(dir, 'fresh.idtrace')).href;
      c.open(uri, TRACE);
      await c.waitDiagnostics(uri);
      void c.rpc.sendNotification('textDocument/didChange', {
        textDocument: { uri, version: 2 },
        contentChanges: [{ range: { start: pos(5, 11), end: pos(5, 26) }, text: 'ID_AA64ISAR0_EL1' }],
      });
      const h = await c.request<Hover>('textDocument/hover', { ...doc(uri), position: pos(5, 14) });
      assert.match(hoverValue(h), /ID_AA64ISAR0_EL1/);
    } finally {
      await c.close();
    }
  });

  test('idregLens.maxProblems caps published diagnostics, errors first, plus a summary', async () => {
    const c = await startClient({ folders: [dir], settings: { maxProblems: 1 } });
    try {
      c.open(traceUri, TRACE);
      const d = await c.waitDiagnostics(traceUri);
      assert.equal(d.length, 2);
      assert.ok(d[0]!.severity === 1 && d[0]!.code);
      assert.match(msg(d[1]!), /more problems? not shown \(idregLens\.maxProblems is 1\)/);
      assert.equal(d[1]!.code, undefined);
      const st = await waitFor(() => c.statuses.filter((s) => s.uri === traceUri && s.state === 'done').pop(), 'status');
      assert.ok(st.hidden > 0);
      // didChangeConfiguration drops the cache, re-reads the settings per resource and re-checks.
      c.settings.maxProblems = 1000;
      const reads = c.configRequests;
      void c.rpc.sendNotification('workspace/didChangeConfiguration', { settings: null });
      const all = await c.waitDiagnostics(traceUri, (x) => x.length >= 2 && !x.some((y) => /not shown/.test(msg(y))));
      assert.ok(!all.some((x) => /not shown/.test(msg(x))));
      assert.ok(c.configRequests > reads);
    } finally {
      await c.close();
    }
  });

  test('settings: idregLens.host gives the limit when the trace names none; idregLens.kernel is passed', async () => {
    const c = await startClient({ folders: [dir], settings: { host: 'host.iddump' } });
    try {
      const uri = pathToFileURL(join(dir, 'nohost.idtrace')).href;
      const text = TRACE.replace('host host.iddump\n', '# no host line\n');
      c.open(uri, text);
      const d = await c.waitDiagnostics(uri, (x) => x.some((y) => y.code === 'IDR010'));
      assert.ok(d.some((x) => x.code === 'IDR010'));
    } finally {
      await c.close();
    }
  });

  test('clients without configuration or related-information support still work', async () => {
    const c = await startClient({ folders: [dir], capabilities: {} });
    try {
      c.open(traceUri, TRACE);
      const d = await c.waitDiagnostics(traceUri, (x) => x.some((y) => y.code === 'IDR010'));
      const d10 = d.find((x) => x.code === 'IDR010')!;
      assert.equal(d10.relatedInformation, undefined);
      assert.equal(d10.codeDescription, undefined);
      assert.match(msg(d10), /host limit/, 'the evidence moves into the message');
      assert.equal(c.configRequests, 0);
    } finally {
      await c.close();
    }
  });

  test('untrusted workspace: a host outside the workspace folders is not read', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'idreg-outside-'));
    const ws = mkdtempSync(join(tmpdir(), 'idreg-ws-'));
    try {
      writeFileSync(join(outside, 'host.iddump'), HOST);
      const text = TRACE.replace('host host.iddump', `host ${join(outside, 'host.iddump')}`);
      const uri = pathToFileURL(join(ws, 't.idtrace')).href;
      const untrusted = await startClient({ folders: [ws], trusted: false });
      try {
        untrusted.open(uri, text);
        const hostRefs = (x: Diagnostic[]) => x.flatMap((y) => y.relatedInformation ?? []).filter((r) => r.location.uri.startsWith(pathToFileURL(outside).href));
        const d = await untrusted.waitDiagnostics(uri);
        assert.equal(hostRefs(d).length, 0, 'the host dump was not read');
        assert.ok(d.some((x) => /outside the workspace/.test(msg(x))), d.map((x) => msg(x)).join('\n'));
        // The user trusts the workspace: re-check with the host.
        void untrusted.rpc.sendNotification('idregLens/trustChanged', { trusted: true });
        await untrusted.waitDiagnostics(uri, (x) => hostRefs(x).length > 0 && !x.some((y) => /outside the workspace/.test(msg(y))));
        // checkFileOnDisk outside the folders is refused while untrusted.
        void untrusted.rpc.sendNotification('idregLens/trustChanged', { trusted: false });
        const s = await untrusted.request<CheckSummary>(CheckFileOnDiskRequest.method, { uri: pathToFileURL(join(outside, 'host.iddump')).href });
        assert.match(s.error ?? '', /not trusted/);
      } finally {
        await untrusted.close();
      }
    } finally {
      rmSync(outside, { recursive: true, force: true });
      rmSync(ws, { recursive: true, force: true });
    }
  });

  test('check file on disk: diagnostics by URI, work-done progress, register table', async () => {
    const c = await startClient({ folders: [dir] });
    try {
      const big = join(dir, 'sub', 'disk.idtrace');
      mkdirSync(join(dir, 'sub'), { recursive: true });
      writeFileSync(join(dir, 'sub', 'host.iddump'), HOST);
      writeFileSync(big, TRACE);
      const uri = pathToFileURL(big).href;
      const s = await c.request<CheckSummary>(CheckFileOnDiskRequest.method, { uri });
      assert.equal(s.error, undefined);
      assert.equal(s.format, 'idtrace');
      assert.ok(s.errors > 0 && s.published > 0 && s.lines >= 13 && s.bytes === Buffer.byteLength(TRACE));
      const d = await c.waitDiagnostics(uri, (x) => x.some((y) => y.code === 'IDR010'));
      assert.ok(d.length > 0);
      const kinds = c.progress.map((p) => (p as { value: { kind: string } }).value.kind);
      assert.ok(kinds.includes('begin') && kinds.includes('end'), kinds.join());
      const t = await c.request<RegisterTable>(RegisterTableRequest.method, { uri });
      assert.ok(t.registers.some((r) => r.name === 'ID_AA64ISAR0_EL1'));
      const missing = await c.request<CheckSummary>(CheckFileOnDiskRequest.method, { uri: pathToFileURL(join(dir, 'nope.idtrace')).href });
      assert.match(missing.error ?? '', /cannot check .*ENOENT/);
    } finally {
      await c.close();
    }
  });

  test('Firecracker JSON: content check, one-reg ID hints, hover on a bitmap value', async () => {
    const c = await startClient({ folders: [dir] });
    try {
      const uri = pathToFileURL(join(dir, 'x-fingerprint.json')).href;
      const json = JSON.stringify(
        { kernel_version: '6.1', guest_cpu_config: { kvm_capabilities: [], vcpu_features: [], reg_modifiers: [{ addr: '0x603000000013c020', bitmap: '0b' + (0x1101001021111111n).toString(2).padStart(128, '0') }] } },
        null,
        2,
      );
      c.open(uri, json, 'json');
      await c.waitDiagnostics(uri, () => true).catch(() => []);
      const lines = json.split('\n');
      const addrLine = lines.findIndex((l) => l.includes('0x603000000013c020'));
      const hints = await c.request<InlayHint[]>('textDocument/inlayHint', { ...doc(uri), range: { start: pos(0, 0), end: pos(lines.length, 0) } });
      assert.ok(hints.some((h) => h.position.line === addrLine && String(h.label) === ': ID_AA64PFR0_EL1'), JSON.stringify(hints));
      const bitmapLine = lines.findIndex((l) => l.includes('"bitmap"'));
      const h = await c.request<Hover>('textDocument/hover', { ...doc(uri), position: pos(bitmapLine, lines[bitmapLine]!.indexOf('0b') + 5) });
      assert.match(hoverValue(h), /\| EL0 \| 3:0 \| 0x1 \|/);
      const syms = await c.request<DocumentSymbol[]>('textDocument/documentSymbol', doc(uri));
      assert.ok(syms[0]!.children!.some((s) => s.name === 'ID_AA64PFR0_EL1'));
      // Plain JSON that is not a Firecracker file is left alone.
      const other = pathToFileURL(join(dir, 'package-fingerprint.json')).href;
      c.open(other, '{"name": "x", "version": "1.0.0"}', 'json');
      const hv = await c.request('textDocument/hover', { ...doc(other), position: pos(0, 3) });
      assert.equal(hv, null);
    } finally {
      await c.close();
    }
  });

  test('closing a document clears its diagnostics', async () => {
    const c = await startClient({ folders: [dir] });
    try {
      c.open(traceUri, TRACE);
      await c.waitDiagnostics(traceUri, (d) => d.length > 0);
      void c.rpc.sendNotification('textDocument/didClose', doc(traceUri));
      await c.waitDiagnostics(traceUri, (d) => d.length === 0);
    } finally {
      await c.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// Over real stdio: `idreg lsp --stdio` (server/lsp-entry.ts) and the bundled dist/server.js with its
// disk-check worker thread.

async function stdioClient(command: string, args: string[]): Promise<{ rpc: MessageConnection; diagnostics: Map<string, PublishDiagnosticsParams>; kill(): void; exited: Promise<number | null> }> {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const rpc = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
  const diagnostics = new Map<string, PublishDiagnosticsParams>();
  rpc.onNotification('textDocument/publishDiagnostics', (p: PublishDiagnosticsParams) => {
    diagnostics.set(p.uri, p);
  });
  rpc.onRequest('window/workDoneProgress/create', () => null);
  rpc.onRequest('workspace/configuration', (p: { items: unknown[] }) => p.items.map(() => ({})));
  rpc.listen();
  await rpc.sendRequest('initialize', { processId: null, rootUri: null, capabilities: { window: { workDoneProgress: true }, workspace: { configuration: true } } });
  void rpc.sendNotification('initialized', {});
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { rpc, diagnostics, kill: () => child.kill('SIGKILL'), exited };
}

describe('language server over stdio', () => {
  test('idreg lsp --stdio (runLsp): diagnostics, hover, shutdown and exit code 0', async () => {
    const entry = `import('${pathToFileURL(join(process.cwd(), 'server/lsp-entry.ts')).href}').then((m) => (m.runLsp ?? m.default.runLsp)(['--stdio'])).then((c) => process.exit(c))`;
    const c = await stdioClient(process.execPath, ['--import', 'tsx', '-e', entry]);
    try {
      void c.rpc.sendNotification('textDocument/didOpen', { textDocument: { uri: traceUri, languageId: 'idtrace', version: 1, text: TRACE } });
      await waitFor(() => c.diagnostics.get(traceUri)?.diagnostics.some((d) => d.code === 'IDR010'), 'diagnostics over stdio');
      const h = await c.rpc.sendRequest<Hover>('textDocument/hover', { ...doc(traceUri), position: pos(7, 33) });
      assert.match(hoverValue(h), /host limit/);
      await c.rpc.sendRequest('shutdown');
      void c.rpc.sendNotification('exit');
      assert.equal(await c.exited, 0);
    } finally {
      c.kill();
    }
  });

  test('runLsp refuses other transports with exit code 2', async () => {
    const { runLsp } = await import('../../server/lsp-entry.ts');
    const write = process.stderr.write;
    process.stderr.write = () => true;
    try {
      assert.equal(await runLsp([]), 2);
      assert.equal(await runLsp(['--socket=1']), 2);
    } finally {
      process.stderr.write = write;
    }
  });

  const bundle = join(process.cwd(), 'dist/server.js');
  test('dist/server.js: a disk check runs in a worker, can be cancelled, and the server keeps answering', { skip: !existsSync(bundle) && 'run npm run build first' }, async () => {
    const c = await stdioClient(process.execPath, [bundle, '--stdio']);
    try {
      // Small file: the worker's result comes back as diagnostics and a register table.
      const small = pathToFileURL(join(dir, 'vm.idtrace')).href;
      const s = await c.rpc.sendRequest<CheckSummary>(CheckFileOnDiskRequest.method, { uri: small });
      assert.equal(s.format, 'idtrace');
      assert.ok(s.errors > 0);
      assert.ok(c.diagnostics.get(small)?.diagnostics.some((d) => d.code === 'IDR010'));
      const t = await c.rpc.sendRequest<RegisterTable>(RegisterTableRequest.method, { uri: small });
      assert.ok(t.registers.some((r) => r.name === 'ID_AA64ISAR0_EL1'));
      // Big file: cancel while the worker runs; the server answers other requests meanwhile.
      const bigPath = join(dir, 'big.idtrace');
      const lines = ['kernel 6.15', 'vcpu 0 init pmu_v3', 'vcpu 0 run'];
      // An .idtrace is replayed as it is read (~1 µs a line): 600k lines keep the worker busy well past the cancel.
      for (let i = 0; i < 600000; i++) lines.push(`vcpu 0 mrs ID_AA64ISAR0_EL1 = 0x${(i % 7).toString(16).padStart(16, '0')}`);
      writeFileSync(bigPath, lines.join('\n'));
      const cts = new CancellationTokenSource();
      const t0 = performance.now();
      const pending = c.rpc.sendRequest(CheckFileOnDiskRequest.method, { uri: pathToFileURL(bigPath).href }, cts.token);
      await new Promise((r) => setTimeout(r, 100));
      const info = await c.rpc.sendRequest<{ pid: number }>(ServerInfoRequest.method);
      assert.ok(info.pid > 0, 'answers while the worker checks');
      cts.cancel();
      await assert.rejects(pending, (err: { code?: number }) => err.code === -32800);
      assert.ok(performance.now() - t0 < 2500, `cancelled promptly (${Math.round(performance.now() - t0)} ms)`);
      assert.ok((await c.rpc.sendRequest<{ pid: number }>(ServerInfoRequest.method)).pid > 0);
    } finally {
      c.kill();
    }
  });
});

describe('language server: ftrace', () => {
  const FTRACE = `# tracer: nop
#
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
 qemu-system-aar-4243    [001] d..1.  1234.000020: kvm_sys_access: PC: ffff800058f3ea74 ID_AA64MMFR1_EL1 (3,0,0,7,1) read
 qemu-system-aar-4243    [001] d..1.  1234.000031: kvm_sys_access: PC: ffff800058f3ea78 ID_AA64PFR0_EL1 (3,0,0,4,1) read
 qemu-system-aar-4243    [001] d..1.  1234.000040: kvm_handle_sys_reg: HSR 0x62300009
`;
  test('ESR hints, hover on a tuple and an ESR, IDR003 quick fixes', async () => {
    const c = await startClient({ folders: [dir] });
    try {
      const uri = pathToFileURL(join(dir, 'capture.trace.txt')).href;
      c.open(uri, FTRACE, 'kvm-ftrace');
      const d = await c.waitDiagnostics(uri, (x) => x.some((y) => y.code === 'IDR003'));
      const lines = FTRACE.split('\n');
      const hints = await c.request<InlayHint[]>('textDocument/inlayHint', { ...doc(uri), range: { start: pos(0, 0), end: pos(7, 0) } });
      const labels = hints.map((h) => `${h.position.line}:${String(h.label)}`);
      assert.ok(labels.includes('6:: MRS ID_AA64PFR0_EL1'), labels.join(' | '));
      assert.ok(labels.includes('5:: ID_AA64PFR1_EL1'), labels.join(' | '));
      assert.ok(!labels.some((l) => l.startsWith('4:')), 'the name already says it');
      const tupleHover = await c.request<Hover>('textDocument/hover', { ...doc(uri), position: pos(5, lines[5]!.indexOf('(3,0,0,4,1)') + 3) });
      assert.match(hoverValue(tupleHover), /ID_AA64PFR1_EL1/);
      const esrHover = await c.request<Hover>('textDocument/hover', { ...doc(uri), position: pos(6, lines[6]!.indexOf('0x6230') + 4) });
      assert.match(hoverValue(esrHover), /ID_AA64PFR0_EL1/);
      const d3 = d.find((x) => x.code === 'IDR003')!;
      const actions = await c.request<CodeAction[]>('textDocument/codeAction', { ...doc(uri), range: d3.range, context: { diagnostics: [d3] } });
      const texts = actions.map((a) => a.edit!.changes![uri]![0]!.newText);
      assert.ok(texts.includes('ID_AA64PFR1_EL1') && texts.includes('(3,0,0,4,0)'), texts.join());
    } finally {
      await c.close();
    }
  });
});

describe('language server: hostile input', () => {
  test('a 5 MB single-line token: diagnostics stay small, hover and symbols answer', async () => {
    const c = await startClient({ folders: [dir] });
    try {
      const uri = pathToFileURL(join(dir, 'huge-line.idtrace')).href;
      const text = `vcpu 0 get ${'A'.repeat(5 * 1024 * 1024)}\nvcpu 0 init pmu_v3\n`;
      c.open(uri, text);
      const d = await c.waitDiagnostics(uri, (x) => x.length > 0, 20000);
      assert.ok(JSON.stringify(d).length < 100000, `published ${JSON.stringify(d).length} bytes`);
      await c.request('textDocument/hover', { ...doc(uri), position: pos(0, 2000000) });
      await c.request('textDocument/documentSymbol', doc(uri));
      await c.request('textDocument/foldingRange', doc(uri));
    } finally {
      await c.close();
    }
  });
});

describe('a big .idtrace (more lines than bigIdtraceLines)', () => {
  test('is replayed as it is parsed: the same diagnostics; hovers, hints and definitions parse the lines they need', async () => {
    const big = await startClient({ folders: [dir], server: { bigIdtraceLines: 5 } });
    const whole = await startClient({ folders: [dir] });
    try {
      big.open(traceUri, TRACE);
      whole.open(traceUri, TRACE);
      const want = await whole.waitDiagnostics(traceUri, (d) => d.some((x) => x.code === 'IDR010'));
      const got = await big.waitDiagnostics(traceUri, (d) => d.length > 0);
      assert.deepEqual(got, want);
      // Decoding, the host limit and the line's findings stay; KVM's predicted answer needs the events.
      const written = hoverValue(await big.request<Hover>('textDocument/hover', { ...doc(traceUri), position: pos(7, 33) }));
      assert.match(written, /\| field \| bits \| value \| meaning \| host limit \| policy \|/);
      assert.match(written, /\| EL0 \| 3:0 \| 0x2 \|/);
      assert.match(written, /IDR010/);
      const read = { ...doc(traceUri), position: pos(9, 35) };
      assert.match(hoverValue(await whole.request<Hover>('textDocument/hover', read)), /KVM would return/);
      const readBig = hoverValue(await big.request<Hover>('textDocument/hover', read));
      assert.match(readBig, /\*\*ID_AA64ISAR0_EL1\*\* = `0x0000100010211110` \(read\)/);
      assert.doesNotMatch(readBig, /KVM would return/);
      assert.match(hoverValue(await big.request<Hover>('textDocument/hover', { ...doc(traceUri), position: pos(5, 14) })), /S3_0_C0_C4_0/);
      const hints = await big.request<InlayHint[]>('textDocument/inlayHint', { ...doc(traceUri), range: { start: pos(0, 0), end: pos(20, 0) } });
      assert.ok(hints.some((h) => h.position.line === 12 && String(h.label) === ': ID_AA64PFR0_EL1'));
      // No per-event records: a read goes to the host line that gave its value, not to the set.
      const locs = await big.request<Location[]>('textDocument/definition', { ...doc(traceUri), position: pos(9, 14) });
      assert.equal(locs[0]!.uri, hostUri);
      const done = await waitFor(() => big.statuses.filter((st) => st.uri === traceUri && st.state === 'done').pop(), 'status');
      assert.match(done.message ?? '', /events not kept/);
      assert.equal(whole.statuses.filter((st) => st.uri === traceUri && st.state === 'done').pop()?.message, undefined);
      const table = await big.request<RegisterTable>(RegisterTableRequest.method, { uri: traceUri });
      assert.deepEqual(table, await whole.request<RegisterTable>(RegisterTableRequest.method, { uri: traceUri }));
    } finally {
      await big.close();
      await whole.close();
    }
  });

  test('is checked in steps between which an edit arrives: the edited text is what gets published', async () => {
    const big = await startClient({ folders: [dir], server: { bigIdtraceLines: 5, bigIdtraceStepChars: 40 } });
    const whole = await startClient({ folders: [dir] });
    try {
      const edited = TRACE.replace('vcpu 1 set ID_AA64PFR0_EL1 0x1101001021111112', 'vcpu 1 set ID_AA64PFR0_EL1 0x1101001021111111');
      big.open(traceUri, TRACE);
      void big.rpc.sendNotification('textDocument/didChange', { textDocument: { uri: traceUri, version: 2 }, contentChanges: [{ text: edited }] });
      whole.open(traceUri, edited, 'idtrace', 2);
      const want = await whole.waitDiagnostics(traceUri, (d) => d.length > 0);
      assert.ok(!want.some((d) => d.code === 'IDR010'), 'the edit removed the refused write');
      await waitFor(() => big.diagnostics.get(traceUri)?.version === 2, 'diagnostics of version 2');
      assert.deepEqual(big.diagnostics.get(traceUri)!.diagnostics, want);
    } finally {
      await big.close();
      await whole.close();
    }
  });

  test('a hover that arrives while it is being checked waits for that check instead of starting another', async () => {
    const big = await startClient({ folders: [dir], server: { bigIdtraceLines: 5, bigIdtraceStepChars: 1000 } });
    try {
      // Long enough that the check takes hundreds of steps.
      big.open(traceUri, TRACE + 'vcpu 1 mrs ID_AA64ISAR0_EL1 = 0x0000100010211110\n'.repeat(50000));
      await waitFor(() => big.statuses.some((st) => st.uri === traceUri && st.state === 'checking'), 'the check to start');
      const h = await big.request<Hover>('textDocument/hover', { ...doc(traceUri), position: pos(7, 33) });
      assert.match(hoverValue(h), /IDR010/);
      assert.equal(big.statuses.filter((st) => st.uri === traceUri && st.state === 'checking').length, 1);
    } finally {
      await big.close();
    }
  });

  test('an edit is checked again from the checkpoint before it: the diagnostics of a whole check', async () => {
    const big = await startClient({ folders: [dir], server: { bigIdtraceLines: 5, bigIdtraceCheckpointLines: 3 } });
    const whole = await startClient({ folders: [dir] });
    try {
      // Checkpoints fall between pieces of 2 KiB: a few hundred lines make several.
      const text = TRACE + 'vcpu 1 mrs ID_AA64ISAR0_EL1 = 0x0000100010211110\n'.repeat(300);
      big.open(traceUri, text);
      await big.waitDiagnostics(traceUri, (d) => d.some((x) => x.code === 'IDR010'));
      const line = 250;
      const lines = text.split('\n');
      const old = lines[line]!;
      lines[line] = 'vcpu 1 mrs ID_AA64ISAR0_EL1 = 0x0';
      void big.rpc.sendNotification('textDocument/didChange', {
        textDocument: { uri: traceUri, version: 2 },
        contentChanges: [{ range: { start: pos(line, 0), end: pos(line, old.length) }, text: lines[line] }],
      });
      whole.open(traceUri, lines.join('\n'), 'idtrace', 2);
      const want = await whole.waitDiagnostics(traceUri, (d) => d.length > 0);
      await waitFor(() => big.diagnostics.get(traceUri)?.version === 2, 'diagnostics of version 2');
      assert.deepEqual(big.diagnostics.get(traceUri)!.diagnostics, want);
      assert.ok(want.some((d) => d.code === 'IDR020' && d.range.start.line === line), 'the read of 0x0 is a finding');
      assert.ok(want.some((d) => d.code === 'IDR010' && d.range.start.line === 7), 'the refused write before the checkpoint is still reported');
    } finally {
      await big.close();
      await whole.close();
    }
  });
});


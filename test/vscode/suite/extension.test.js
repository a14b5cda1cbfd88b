// The extension in a real VS Code extension host: languages, diagnostics, every LSP feature through VS
// Code's own command API, the commands and views, and recovery from a killed server.
// Fixture: test/vscode/fixtures/ws/vm.idtrace (line numbers below are 0-based lines of it).
'use strict';
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vscode = require('vscode');
const { waitFor, wsUri, open, api, diagnosticsWith, codeOf, hoverText } = require('./helpers');

suite('ID Register Lens in VS Code', () => {
  suiteSetup(async function () {
    this.timeout(120000);
    const a = await api();
    await a.whenReady();
  });

  test('VS Code version and languages by extension, file name and first line', async () => {
    console.log(`VS Code ${vscode.version} (${vscode.env.appName}, uiKind ${vscode.env.uiKind}, remote ${vscode.env.remoteName})`);
    assert.equal((await open('vm.idtrace')).languageId, 'idtrace');
    assert.equal((await open('host.iddump')).languageId, 'iddump');
    assert.equal((await open('idregs')).languageId, 'iddump');
    assert.equal((await open('kvm-capture')).languageId, 'kvm-ftrace', 'detected by its first line');
    assert.equal((await open('sys.trace.txt')).languageId, 'kvm-ftrace', 'detected by its file name pattern');
  });

  test('diagnostics with codes, docs links, source and related information', async () => {
    const doc = await open('vm.idtrace');
    const diags = await diagnosticsWith(doc.uri, 'IDR010');
    const d10 = diags.find((d) => codeOf(d) === 'IDR010');
    assert.equal(d10.source, 'idreg');
    assert.equal(d10.severity, vscode.DiagnosticSeverity.Error);
    assert.equal(d10.range.start.line, 7);
    assert.equal(d10.code.target.toString(), 'https://github.com/idreg-lens/idreg-lens#idr010');
    assert.ok(d10.relatedInformation.length > 0);
    assert.equal(path.basename(d10.relatedInformation[0].location.uri.fsPath), 'host.iddump');
    assert.ok(diags.some((d) => codeOf(d) === 'IDR003'));
  });

  test('hover on a value shows the field table with the host limit and the verdict', async () => {
    const doc = await open('vm.idtrace');
    await diagnosticsWith(doc.uri, 'IDR010');
    const hovers = await vscode.commands.executeCommand('vscode.executeHoverProvider', doc.uri, new vscode.Position(7, 33));
    const text = hoverText(hovers);
    assert.match(text, /\| field \| bits \| value \| meaning \| host limit \| policy \|/);
    assert.match(text, /\| EL0 \| 3:0 \| 0x2 \|/);
    assert.match(text, /-EINVAL/);
  });

  test('hover on a register lists its encodings', async () => {
    const doc = await open('vm.idtrace');
    const hovers = await waitFor(async () => {
      const h = await vscode.commands.executeCommand('vscode.executeHoverProvider', doc.uri, new vscode.Position(5, 14));
      return h.length ? h : undefined;
    }, { what: 'hover' });
    const text = hoverText(hovers);
    assert.match(text, /S3_0_C0_C4_0/);
    assert.match(text, /0x603000000013c020/);
  });

  test('inlay hints name a raw one-reg ID', async () => {
    const doc = await open('vm.idtrace');
    const hints = await waitFor(async () => {
      const h = await vscode.commands.executeCommand('vscode.executeInlayHintProvider', doc.uri, new vscode.Range(0, 0, doc.lineCount, 0));
      return h.length ? h : undefined;
    }, { what: 'inlay hints' });
    const labels = hints.map((h) => `${h.position.line}:${typeof h.label === 'string' ? h.label : h.label.map((p) => p.value).join('')}`);
    assert.ok(labels.includes('12:: ID_AA64PFR0_EL1'), labels.join(' '));
  });

  test('Firecracker fingerprint JSON: served by the server (hints name one-reg IDs, hover decodes bitmaps)', async () => {
    const doc = await open('graviton3-fingerprint.json');
    assert.equal(doc.languageId, 'json');
    const line = [...Array(doc.lineCount).keys()].find((l) => doc.lineAt(l).text.includes('"0x603000000013c020"'));
    const hints = await waitFor(async () => {
      const h = await vscode.commands.executeCommand('vscode.executeInlayHintProvider', doc.uri, new vscode.Range(line, 0, line + 1, 0));
      return h.length ? h : undefined;
    }, { what: 'inlay hints in the fingerprint' });
    assert.match(typeof hints[0].label === 'string' ? hints[0].label : hints[0].label.map((p) => p.value).join(''), /ID_AA64PFR0_EL1/);
    const bitmap = doc.lineAt(line + 1).text;
    const hovers = await vscode.commands.executeCommand('vscode.executeHoverProvider', doc.uri, new vscode.Position(line + 1, bitmap.indexOf('0b') + 40));
    assert.match(hoverText(hovers), /\| field \| bits \| value \|/);
  });

  test('language status shows the file format and counts', async () => {
    const a = await api();
    const doc = await open('vm.idtrace');
    await diagnosticsWith(doc.uri, 'IDR010');
    await waitFor(() => /idreg: idtrace · \d+ errors?/.test(a.statusText()), { what: `status text (is: ${a.statusText()})` });
    assert.equal(a.fileStatus(doc.uri).format, 'idtrace');
  });

  test('document symbols: VM → vCPUs → phases', async () => {
    const doc = await open('vm.idtrace');
    const syms = await waitFor(() => vscode.commands.executeCommand('vscode.executeDocumentSymbolProvider', doc.uri).then((s) => (s && s.length ? s : undefined)), { what: 'symbols' });
    const vm = syms.find((s) => s.name === 'VM');
    assert.ok(vm);
    assert.deepEqual(vm.children.filter((s) => s.name.startsWith('vCPU')).map((s) => s.name), ['vCPU 0', 'vCPU 1']);
    assert.deepEqual(vm.children.find((s) => s.name === 'vCPU 0').children.map((s) => s.name), ['configure', 'run']);
  });

  test('go to definition from a guest read to the write that set the value', async () => {
    const doc = await open('vm.idtrace');
    const locs = await vscode.commands.executeCommand('vscode.executeDefinitionProvider', doc.uri, new vscode.Position(9, 14));
    assert.equal(locs.length, 1);
    const loc = locs[0];
    const range = loc.range ?? loc.targetRange;
    assert.equal(range.start.line, 6);
  });

  test('references: every access of the register', async () => {
    const doc = await open('vm.idtrace');
    const locs = await vscode.commands.executeCommand('vscode.executeReferenceProvider', doc.uri, new vscode.Position(5, 14));
    assert.deepEqual(locs.filter((l) => l.uri.toString() === doc.uri.toString()).map((l) => l.range.start.line).sort((a, b) => a - b), [5, 7, 12]);
  });

  test('folding ranges', async () => {
    const doc = await open('vm.idtrace');
    const ranges = await vscode.commands.executeCommand('vscode.executeFoldingRangeProvider', doc.uri);
    assert.ok(ranges.some((r) => r.start === 8), JSON.stringify(ranges));
  });

  test('quick fix: clamp to the host limit, applied to the document', async () => {
    const doc = await open('fix.idtrace');
    const diags = await diagnosticsWith(doc.uri, 'IDR010');
    const d = diags.find((x) => codeOf(x) === 'IDR010');
    const actions = await vscode.commands.executeCommand('vscode.executeCodeActionProvider', doc.uri, d.range, vscode.CodeActionKind.QuickFix.value);
    const fix = actions.find((a) => /host limit/i.test(a.title)) ?? actions[0];
    assert.ok(fix && fix.edit, `a quick fix with an edit: ${actions.map((a) => a.title).join(' | ')}`);
    assert.ok(await vscode.workspace.applyEdit(fix.edit));
    assert.equal(doc.lineAt(d.range.start.line).text, 'vcpu 0 set ID_AA64PFR0_EL1 0x1101001021111111');
    // The re-check after the edit clears the finding.
    await waitFor(() => !vscode.languages.getDiagnostics(doc.uri).some((x) => codeOf(x) === 'IDR010'), { what: 'IDR010 to go away' });
    await vscode.commands.executeCommand('workbench.action.files.revert');
  });

  test('quick fix: IDR003 makes the name agree with the encoding', async () => {
    const doc = await open('vm.idtrace');
    const diags = await diagnosticsWith(doc.uri, 'IDR003');
    const d = diags.find((x) => codeOf(x) === 'IDR003');
    const actions = await vscode.commands.executeCommand('vscode.executeCodeActionProvider', doc.uri, d.range, vscode.CodeActionKind.QuickFix.value);
    const titles = actions.map((a) => a.title);
    assert.ok(titles.some((t) => /ID_AA64MMFR1_EL1/.test(t)), titles.join(' | '));
    assert.ok(titles.some((t) => /\(3,0,0,7,0\)/.test(t)), titles.join(' | '));
  });

  test('register table command returns the table and opens the view', async () => {
    const doc = await open('vm.idtrace');
    await diagnosticsWith(doc.uri, 'IDR010');
    const table = await vscode.commands.executeCommand('idregLens.showRegisterTable', doc.uri);
    assert.equal(table.format, 'idtrace');
    const isar0 = table.registers.find((r) => r.name === 'ID_AA64ISAR0_EL1');
    assert.equal(isar0.value, '0x0000100010211110');
    assert.ok(isar0.fields.some((f) => f.name === 'AES' && f.limit === '0x2'));
    await waitFor(
      () => vscode.window.tabGroups.all.some((g) => g.tabs.some((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.includes('idregLens.registerTable'))),
      { what: 'the register table tab' },
    );
  });

  test('decode command', async () => {
    const r = await vscode.commands.executeCommand('idregLens.decode', 'ID_AA64ISAR0_EL1 0x0000100010211120');
    assert.equal(r.ok, true);
    assert.ok(r.fields.some((f) => f.name === 'AES' && f.value === '0x2'));
  });

  test('check file on disk publishes diagnostics for a file that is not open', async () => {
    const uri = wsUri('disk.idtrace');
    fs.copyFileSync(wsUri('vm.idtrace').fsPath, uri.fsPath);
    const summary = await vscode.commands.executeCommand('idregLens.checkFileOnDisk', uri);
    assert.equal(summary.format, 'idtrace');
    assert.ok(summary.errors > 0);
    await diagnosticsWith(uri, 'IDR010');
    const table = await vscode.commands.executeCommand('idregLens.showRegisterTable', uri);
    assert.ok(table.registers.length > 0);
  });

  test('a trace over 50 MB (never synced to extensions) is checked from disk when its tab opens', async function () {
    this.timeout(180000);
    const uri = wsUri('huge.idtrace');
    const head = 'host host.iddump\nvcpu 0 init pmu_v3,psci_0_2\nvcpu 0 set ID_AA64PFR0_EL1 0x1101001021111112\nvcpu 0 run\n';
    const line = 'vcpu 0 mrs ID_AA64ISAR0_EL1 = 0x0000100010211120   # a guest read, repeated to pass the sync limit\n';
    const fd = fs.openSync(uri.fsPath, 'w');
    fs.writeSync(fd, head);
    const block = line.repeat(10000);
    let size = head.length;
    while (size < 56 * 1024 * 1024) size += fs.writeSync(fd, block);
    fs.closeSync(fd);
    const t0 = Date.now();
    await vscode.commands.executeCommand('vscode.open', uri);
    assert.ok(!vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString()), 'VS Code does not sync it');
    const diags = await diagnosticsWith(uri, 'IDR010');
    console.log(`    ${(size / 1048576).toFixed(0)} MB checked from disk in ${Date.now() - t0} ms; ${diags.length} diagnostics`);
    const table = await vscode.commands.executeCommand('idregLens.showRegisterTable', uri);
    assert.ok(table.registers.some((r) => r.name === 'ID_AA64ISAR0_EL1'));
    await vscode.commands.executeCommand('workbench.action.closeAllEditors');
    fs.rmSync(uri.fsPath, { force: true });
  });

  test('idregLens.maxProblems caps the diagnostics and adds a summary', async () => {
    const doc = await open('vm.idtrace');
    await diagnosticsWith(doc.uri, 'IDR010');
    const config = vscode.workspace.getConfiguration('idregLens', doc.uri);
    await config.update('maxProblems', 1, vscode.ConfigurationTarget.Workspace);
    try {
      const diags = await waitFor(() => {
        const d = vscode.languages.getDiagnostics(doc.uri);
        return d.length === 2 && d.some((x) => /not shown/.test(x.message)) ? d : undefined;
      }, { what: 'capped diagnostics' });
      assert.equal(diags.filter((x) => codeOf(x)).length, 1);
    } finally {
      await config.update('maxProblems', undefined, vscode.ConfigurationTarget.Workspace);
    }
    await waitFor(() => {
      const d = vscode.languages.getDiagnostics(doc.uri);
      return d.length >= 2 && !d.some((x) => /not shown/.test(x.message));
    }, { what: 'all diagnostics back' });
  });

  test('the client restarts a killed server and says so in the language status', async function () {
    this.timeout(90000);
    const a = await api();
    const doc = await open('vm.idtrace');
    await diagnosticsWith(doc.uri, 'IDR010');
    const before = await a.serverInfo();
    const restartsBefore = a.restarts();
    process.kill(before.pid, 'SIGKILL');
    await waitFor(() => a.restarts() > restartsBefore, { what: 'a restart', timeoutMs: 60000 });
    await waitFor(() => a.client.isRunning(), { what: 'the client running again', timeoutMs: 60000 });
    const after = await a.serverInfo();
    assert.notEqual(after.pid, before.pid);
    assert.match(a.statusText(), /restarted \d+×/);
    // Diagnostics and hovers come back from the new server.
    const hovers = await waitFor(async () => {
      const h = await vscode.commands.executeCommand('vscode.executeHoverProvider', doc.uri, new vscode.Position(7, 33));
      return h.length ? h : undefined;
    }, { what: 'hover from the new server' });
    assert.match(hoverText(hovers), /host limit/);
    await diagnosticsWith(doc.uri, 'IDR010');
  });

  test('restart server command', async function () {
    this.timeout(60000);
    const a = await api();
    const before = await a.serverInfo();
    await vscode.commands.executeCommand('idregLens.restartServer');
    const after = await a.serverInfo();
    assert.notEqual(after.pid, before.pid);
  });
});

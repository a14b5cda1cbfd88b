// Shared helpers of the extension-host tests: poll for a condition (never sleep a fixed time).
'use strict';
const vscode = require('vscode');
const path = require('node:path');

async function waitFor(fn, { timeoutMs = 30000, intervalMs = 50, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function wsUri(name) {
  const folder = vscode.workspace.workspaceFolders[0].uri;
  return vscode.Uri.joinPath(folder, name);
}

async function open(name) {
  const doc = await vscode.workspace.openTextDocument(wsUri(name));
  await vscode.window.showTextDocument(doc, { preview: false });
  return doc;
}

async function api() {
  const ext = vscode.extensions.getExtension('idreg-lens.idreg-lens');
  if (!ext) throw new Error('extension idreg-lens.idreg-lens not found');
  return ext.activate();
}

function diagnosticsWith(uri, code) {
  return waitFor(() => {
    const d = vscode.languages.getDiagnostics(uri);
    return d.some((x) => (x.code && typeof x.code === 'object' ? x.code.value : x.code) === code) ? d : undefined;
  }, { what: `diagnostic ${code} on ${path.basename(uri.fsPath)}` });
}

function codeOf(d) {
  return d.code && typeof d.code === 'object' ? d.code.value : d.code;
}

function hoverText(hovers) {
  return hovers.map((h) => h.contents.map((c) => (typeof c === 'string' ? c : c.value)).join('\n')).join('\n');
}

module.exports = { waitFor, wsUri, open, api, diagnosticsWith, codeOf, hoverText };

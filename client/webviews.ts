// The register table and decode views: plain HTML styled only with the theme's CSS variables, so they
// read the same in dark, light and high-contrast themes. No remote content; a nonce-bound script only
// filters rows and asks the extension to reveal a line.
import * as vscode from 'vscode';
import type { DecodeResult, RegisterRow, RegisterTable } from '../server/protocol.ts';

function esc(s: string | number | undefined): string {
  return String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

function nonce(): string {
  let s = '';
  const chars = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  for (let i = 0; i < 32; i++) s += chars[Math.floor(Math.random() * chars.length)];
  return s;
}

const STYLE = `
  body { font-family: var(--vscode-font-family); font-size: var(--vscode-font-size); color: var(--vscode-foreground);
         background: var(--vscode-editor-background); padding: 0 12px 12px; }
  h1 { font-size: 1.2em; font-weight: 600; margin: 12px 0 4px; }
  .meta { color: var(--vscode-descriptionForeground); margin-bottom: 8px; }
  table { border-collapse: collapse; width: 100%; margin-bottom: 4px; }
  th, td { text-align: left; padding: 2px 8px; border-bottom: 1px solid var(--vscode-panel-border, var(--vscode-widget-border, transparent)); vertical-align: top; white-space: nowrap; }
  td.wrap { white-space: normal; min-width: 16em; }
  .policy, .sub { color: var(--vscode-descriptionForeground); font-size: 0.9em; font-weight: normal; }
  th { color: var(--vscode-descriptionForeground); font-weight: 600; position: sticky; top: 0; background: var(--vscode-editor-background); }
  code, .mono { font-family: var(--vscode-editor-font-family); font-size: var(--vscode-editor-font-size); }
  tr.reg > td { font-weight: 600; background: var(--vscode-editor-inactiveSelectionBackground, transparent); cursor: pointer; }
  tr.field td:first-child { padding-left: 24px; }
  .error { color: var(--vscode-errorForeground); }
  .warning { color: var(--vscode-editorWarning-foreground, var(--vscode-errorForeground)); }
  .ok { color: var(--vscode-testing-iconPassed, var(--vscode-foreground)); }
  .unknown { color: var(--vscode-descriptionForeground); }
  input { background: var(--vscode-input-background); color: var(--vscode-input-foreground);
          border: 1px solid var(--vscode-input-border, transparent); padding: 3px 6px; width: 24em; }
  a { color: var(--vscode-textLink-foreground); }
`;

function page(webview: vscode.Webview, title: string, body: string, script = ''): string {
  const n = nonce();
  return `<!DOCTYPE html><html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline' ${webview.cspSource}; script-src 'nonce-${n}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0"><title>${esc(title)}</title><style>${STYLE}</style></head>
<body>${body}${script ? `<script nonce="${n}">${script}</script>` : ''}</body></html>`;
}

const VERDICT_TEXT = { ok: '✓ ok', error: '✗ refused', warning: '⚠ check', unknown: '? unknown' } as const;

function registerRows(r: RegisterRow): string {
  const head = `<tr class="reg" data-line="${r.setAtLine ?? ''}" data-name="${esc(r.name.toLowerCase())}">
    <td>${esc(r.name)} <span class="sub mono">${esc(r.generic)}</span></td>
    <td class="${r.verdict}">${VERDICT_TEXT[r.verdict]}${r.findings ? ` (${r.findings})` : ''}</td>
    <td class="mono">${esc(r.value ?? '—')}</td><td class="mono">${esc(r.limit ?? '—')}</td><td></td></tr>`;
  const fields = r.fields
    .map(
      (f) => `<tr class="field" data-name="${esc(r.name.toLowerCase())} ${esc(f.name.toLowerCase())}">
    <td>${esc(f.name)} <span class="sub mono">${f.msb === f.lsb ? f.msb : `${f.msb}:${f.lsb}`}</span></td>
    <td class="${f.verdict}" title="${esc(f.note)}">${VERDICT_TEXT[f.verdict]}</td>
    <td class="mono">${esc(f.value ?? '—')}</td><td class="mono" title="${esc(f.limitMeaning)}">${esc(f.limit ?? '—')}</td>
    <td class="wrap">${esc(f.meaning)}${f.policy ? `<div class="policy">${esc(f.policy)}</div>` : ''}${f.note ? `<div class="${f.verdict}">${esc(f.note)}</div>` : ''}</td></tr>`,
    )
    .join('');
  return head + fields;
}

let tablePanel: vscode.WebviewPanel | undefined;
let tableUri: string | undefined;

export function renderRegisterTable(webview: vscode.Webview, table: RegisterTable): string {
  const file = decodeURIComponent(table.uri.replace(/^.*\//, ''));
  const meta = [
    table.format,
    table.kernel ? `kernel ${table.kernel}` : '',
    table.hasRun === undefined ? '' : table.hasRun ? 'the VM has run (ID registers frozen)' : 'the VM has not run',
    table.vcpus ? `${table.vcpus.length} vCPUs` : '',
    table.hostPath ? `host ${table.hostPath}` : 'no host dump: limits unknown',
    table.hostError ? `host not used: ${table.hostError}` : '',
  ]
    .filter(Boolean)
    .map(esc)
    .join(' · ');
  const body = `<h1>Registers of ${esc(file)}</h1><div class="meta">${meta}</div>
<p><input id="filter" placeholder="Filter registers or fields" aria-label="Filter registers or fields"></p>
<table><thead><tr><th>register / field</th><th>verdict</th><th>value</th><th>host limit</th><th>meaning · policy</th></tr></thead>
<tbody>${table.registers.map(registerRows).join('')}</tbody></table>
${table.registers.length === 0 ? '<p class="unknown">No register values in this file.</p>' : ''}`;
  const script = `const vscode = acquireVsCodeApi();
document.getElementById('filter').addEventListener('input', (e) => {
  const q = e.target.value.toLowerCase();
  for (const tr of document.querySelectorAll('tbody tr')) tr.style.display = !q || tr.dataset.name.includes(q) ? '' : 'none';
});
for (const tr of document.querySelectorAll('tr.reg')) tr.addEventListener('click', () => {
  if (tr.dataset.line !== '') vscode.postMessage({ reveal: Number(tr.dataset.line) });
});`;
  return page(webview, `Registers of ${file}`, body, script);
}

export function showRegisterTablePanel(context: vscode.ExtensionContext, table: RegisterTable): vscode.WebviewPanel {
  if (!tablePanel) {
    tablePanel = vscode.window.createWebviewPanel('idregLens.registerTable', 'Register Table', vscode.ViewColumn.Beside, {
      enableScripts: true,
      retainContextWhenHidden: false,
      localResourceRoots: [],
    });
    tablePanel.onDidDispose(() => (tablePanel = undefined), undefined, context.subscriptions);
    tablePanel.webview.onDidReceiveMessage(
      async (m: { reveal?: number }) => {
        if (typeof m.reveal !== 'number' || !tableUri) return;
        const doc = await vscode.workspace.openTextDocument(vscode.Uri.parse(tableUri));
        const pos = new vscode.Position(m.reveal, 0);
        await vscode.window.showTextDocument(doc, { viewColumn: vscode.ViewColumn.One, selection: new vscode.Range(pos, pos) });
      },
      undefined,
      context.subscriptions,
    );
  }
  tableUri = table.uri;
  tablePanel.title = `Registers: ${decodeURIComponent(table.uri.replace(/^.*\//, ''))}`;
  tablePanel.webview.html = renderRegisterTable(tablePanel.webview, table);
  tablePanel.reveal(undefined, true);
  return tablePanel;
}

let decodePanel: vscode.WebviewPanel | undefined;

export function showDecodePanel(context: vscode.ExtensionContext, input: string, r: DecodeResult): vscode.WebviewPanel {
  if (!decodePanel) {
    decodePanel = vscode.window.createWebviewPanel('idregLens.decode', 'Decode', vscode.ViewColumn.Beside, { enableScripts: false, localResourceRoots: [] });
    decodePanel.onDidDispose(() => (decodePanel = undefined), undefined, context.subscriptions);
  }
  const forms = Object.entries(r.forms ?? {})
    .map(([k, v]) => `<tr><td>${esc(k)}</td><td class="mono">${esc(v)}</td></tr>`)
    .join('');
  const fields = (r.fields ?? [])
    .map(
      (f) =>
        `<tr><td>${esc(f.name)}</td><td class="mono">${f.msb === f.lsb ? f.msb : `${f.msb}:${f.lsb}`}</td><td class="mono">${esc(f.value)}</td><td>${esc(f.meaning)}</td><td>${esc(f.policy)}</td></tr>`,
    )
    .join('');
  const body = `<h1>${esc(r.name ?? input)}${r.value ? ` = <code>${esc(r.value)}</code>` : ''}</h1><div class="meta">decoded from <code>${esc(input)}</code></div>
${fields ? `<table><thead><tr><th>field</th><th>bits</th><th>value</th><th>meaning</th><th>policy</th></tr></thead><tbody>${fields}</tbody></table>` : ''}
${forms ? `<h1>Encodings</h1><table><tbody>${forms}</tbody></table>` : ''}`;
  decodePanel.title = `Decode: ${r.name ?? input}`;
  decodePanel.webview.html = page(decodePanel.webview, 'Decode', body);
  decodePanel.reveal(undefined, true);
  return decodePanel;
}

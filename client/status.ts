// The language status item (style.md §11): server state, the active file's format and counts, and how
// often the server was restarted after a crash. Fixed-shape text, so it does not jump around.
import * as vscode from 'vscode';
import type { DocumentSelector } from 'vscode-languageclient/node';
import type { FileStatus } from '../server/protocol.ts';

export type ServerState = 'starting' | 'running' | 'stopped';

export class StatusView implements vscode.Disposable {
  private readonly item: vscode.LanguageStatusItem;
  private state: ServerState = 'starting';
  private restarts = 0;
  private readonly files = new Map<string, FileStatus>();
  private readonly subscription: vscode.Disposable;

  constructor(selector: DocumentSelector) {
    this.item = vscode.languages.createLanguageStatusItem('idregLens.status', selector as vscode.DocumentSelector);
    this.item.name = 'ID Register Lens';
    this.item.command = { title: 'Show Output', command: 'idregLens.showOutput' };
    this.subscription = vscode.window.onDidChangeActiveTextEditor(() => this.render());
    this.render();
  }

  setServerState(state: ServerState): void {
    this.state = state;
    this.render();
  }

  setRestarts(n: number): void {
    this.restarts = n;
    this.render();
  }

  setFile(s: FileStatus): void {
    this.files.set(s.uri, s);
    this.render();
  }

  text(): string {
    return `${this.item.text} | ${this.item.detail ?? ''}`;
  }

  private render(): void {
    const uri = vscode.window.activeTextEditor?.document.uri.toString();
    const file = uri ? this.files.get(uri) : undefined;
    const restarted = this.restarts > 0 ? ` · restarted ${this.restarts}×` : '';
    if (this.state === 'stopped') {
      this.item.text = '$(error) idreg: server stopped';
      this.item.severity = vscode.LanguageStatusSeverity.Error;
      this.item.detail = `crashed${restarted}; run "ID Register Lens: Restart Server"`;
      this.item.busy = false;
      return;
    }
    if (this.state === 'starting') {
      this.item.text = '$(sync~spin) idreg: starting';
      this.item.severity = vscode.LanguageStatusSeverity.Information;
      this.item.detail = `server starting${restarted}`;
      this.item.busy = true;
      return;
    }
    this.item.busy = file?.state === 'checking';
    if (!file) {
      this.item.text = '$(check) idreg';
      this.item.severity = vscode.LanguageStatusSeverity.Information;
      this.item.detail = `server running${restarted}`;
      return;
    }
    const counts = `${file.errors} error${file.errors === 1 ? '' : 's'}, ${file.warnings} warning${file.warnings === 1 ? '' : 's'}`;
    this.item.text = `${file.errors ? '$(error)' : file.warnings ? '$(warning)' : '$(check)'} idreg: ${file.format} · ${counts}`;
    this.item.severity = file.errors ? vscode.LanguageStatusSeverity.Warning : vscode.LanguageStatusSeverity.Information;
    const hidden = file.hidden ? ` · ${file.hidden} not shown (idregLens.maxProblems)` : '';
    const took = file.durationMs !== undefined ? ` · checked in ${file.durationMs} ms` : '';
    const note = file.state === 'done' && file.message ? ` · ${file.message}` : '';
    this.item.detail = `server running${restarted}${took}${hidden}${note}`;
  }

  dispose(): void {
    this.subscription.dispose();
    this.item.dispose();
  }
}

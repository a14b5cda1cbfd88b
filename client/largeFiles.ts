// VS Code never syncs files above 50 MB to extensions (style.md §12), so the server never sees them.
// Watch the tabs: when one shows a file of ours that has no synced document and is that big, hand it
// to the server's "check file on disk".
import * as path from 'node:path';
import * as vscode from 'vscode';

export const SYNC_LIMIT_BYTES = 50 * 1024 * 1024;
const OURS = /\.(idtrace|iddump|ftrace)$|(^|[\\/])idregs$|\.trace\.txt$|(^|[\\/])trace[^\\/]*\.txt$|\.dat\.txt$|(fingerprint|cpu_template|cpu-template|cpu_config)[^\\/]*\.json$/i;

export class LargeFileWatcher implements vscode.Disposable {
  private readonly seen = new Set<string>();
  private readonly subscription: vscode.Disposable;

  constructor(private readonly onLargeFile: (uri: vscode.Uri, size: number) => void | Promise<void>) {
    this.subscription = vscode.window.tabGroups.onDidChangeTabs((e) => {
      for (const tab of [...e.opened, ...e.changed]) void this.consider(tab);
    });
  }

  private async consider(tab: vscode.Tab): Promise<void> {
    const input = tab.input;
    if (!(input instanceof vscode.TabInputText)) return;
    const uri = input.uri;
    if (uri.scheme !== 'file' || this.seen.has(uri.toString()) || !OURS.test(path.basename(uri.fsPath))) return;
    if (vscode.workspace.textDocuments.some((d) => d.uri.toString() === uri.toString())) return;
    try {
      const stat = await vscode.workspace.fs.stat(uri);
      if (stat.size <= SYNC_LIMIT_BYTES) return;
      this.seen.add(uri.toString());
      await this.onLargeFile(uri, stat.size);
    } catch {
      /* the file went away */
    }
  }

  dispose(): void {
    this.subscription.dispose();
  }
}

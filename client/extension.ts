// The VS Code extension: starts the language server (dist/server.js over IPC), and adds the commands,
// the register table view, the language status item and the big-file path. It speaks only LSP (plus the
// custom messages of server/protocol.ts) to the server and imports nothing from src/.
import * as path from 'node:path';
import * as vscode from 'vscode';
import {
  CloseAction,
  ErrorAction,
  LanguageClient,
  LSPErrorCodes,
  RevealOutputChannelOn,
  State,
  TransportKind,
  type CloseHandlerResult,
  type DocumentSelector,
  type ErrorHandler,
  type ErrorHandlerResult,
  type LanguageClientOptions,
  type ServerOptions,
} from 'vscode-languageclient/node';
import {
  CheckFileOnDiskRequest,
  DecodeRequest,
  FileStatusNotification,
  RegisterTableRequest,
  ServerInfoRequest,
  TrustChangedNotification,
  type CheckSummary,
  type DecodeResult,
  type FileStatus,
  type InitializationOptions,
  type RegisterTable,
  type ServerInfo,
} from '../server/protocol.ts';
import { StatusView } from './status.ts';
import { showDecodePanel, showRegisterTablePanel } from './webviews.ts';
import { LargeFileWatcher, SYNC_LIMIT_BYTES } from './largeFiles.ts';

/** The Firecracker JSON files the server looks at (their content is checked too). */
export const FIRECRACKER_PATTERN = '**/*{fingerprint,cpu_template,cpu-template,cpu_config}*.json';

export const DOCUMENT_SELECTOR: DocumentSelector = [
  { language: 'idtrace' },
  { language: 'iddump' },
  { language: 'kvm-ftrace' },
  { language: 'json', pattern: FIRECRACKER_PATTERN },
  { language: 'jsonc', pattern: FIRECRACKER_PATTERN },
];

/** Crashes tolerated within CRASH_WINDOW_MS before the client gives up (clangd: 4). */
const MAX_RESTARTS = 4;
const CRASH_WINDOW_MS = 3 * 60 * 1000;

/** What activate() returns: for other extensions and for the integration tests. */
export interface IdregLensApi {
  readonly client: LanguageClient;
  /** Times the client restarted a crashed server in this session. */
  restarts(): number;
  statusText(): string;
  fileStatus(uri: vscode.Uri): FileStatus | undefined;
  serverInfo(): Promise<ServerInfo>;
  whenReady(): Promise<void>;
}

class BoundedRestartHandler implements ErrorHandler {
  private crashes: number[] = [];
  total = 0;
  gaveUp = false;
  constructor(
    private readonly onRestart: (count: number) => void,
    private readonly onGiveUp: () => void,
  ) {}

  error(_error: Error, _message: unknown, count: number | undefined): ErrorHandlerResult {
    // Transport errors: keep going unless the channel keeps failing.
    return { action: count !== undefined && count <= 3 ? ErrorAction.Continue : ErrorAction.Shutdown, handled: true };
  }

  closed(): CloseHandlerResult {
    const now = Date.now();
    this.crashes = this.crashes.filter((t) => now - t < CRASH_WINDOW_MS);
    this.crashes.push(now);
    if (this.crashes.length > MAX_RESTARTS) {
      this.gaveUp = true;
      this.onGiveUp();
      return {
        action: CloseAction.DoNotRestart,
        message: `The ID Register Lens server crashed ${MAX_RESTARTS + 1} times in 3 minutes and will not be restarted. Run "ID Register Lens: Restart Server" after fixing the cause (see the output).`,
      };
    }
    this.total++;
    this.onRestart(this.total);
    return { action: CloseAction.Restart, handled: true };
  }

  reset(): void {
    this.crashes = [];
    this.gaveUp = false;
  }
}

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<IdregLensApi> {
  const output = vscode.window.createOutputChannel('ID Register Lens', { log: true });
  const serverModule = context.asAbsolutePath(path.join('dist', 'server.js'));
  const serverOptions: ServerOptions = {
    run: { module: serverModule, transport: TransportKind.ipc },
    debug: { module: serverModule, transport: TransportKind.ipc, options: { execArgv: ['--nolazy', '--inspect=6010'] } },
  };
  const status = new StatusView(DOCUMENT_SELECTOR);
  context.subscriptions.push(status, output);

  const handler = new BoundedRestartHandler(
    (n) => {
      output.info(`the server stopped unexpectedly; restart ${n}`);
      status.setRestarts(n);
    },
    () => status.setServerState('stopped'),
  );

  const initializationOptions: InitializationOptions = {
    trusted: vscode.workspace.isTrusted,
    clientVersion: String(context.extension.packageJSON.version ?? ''),
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: DOCUMENT_SELECTOR,
    outputChannel: output,
    traceOutputChannel: output,
    revealOutputChannelOn: RevealOutputChannelOn.Never,
    initializationOptions,
    errorHandler: handler,
    synchronize: {
      // Host dumps referenced by open traces: re-check when they change on disk.
      fileEvents: vscode.workspace.createFileSystemWatcher('**/*.{iddump,json,idtrace,txt}'),
    },
    diagnosticCollectionName: 'idreg',
  };

  const lc = new LanguageClient('idregLens', 'ID Register Lens', serverOptions, clientOptions);
  client = lc;
  context.subscriptions.push(
    lc.onDidChangeState((e) => {
      if (e.newState === State.Running) status.setServerState('running');
      else if (e.newState === State.Starting) status.setServerState('starting');
      else status.setServerState('stopped');
    }),
  );

  const fileStatus = new Map<string, FileStatus>();
  // Handlers registered on the client survive restarts (the client re-installs them on each connection).
  context.subscriptions.push(
    lc.onNotification(FileStatusNotification.type, (s) => {
      fileStatus.set(s.uri, s);
      status.setFile(s);
    }),
  );
  // The extension activates on any JSON file (Firecracker templates are JSON), but the server starts only
  // once a document it serves is open, or a command needs it.
  let started: Promise<void> | undefined;
  const ensureStarted = (): Promise<void> => {
    started ??= lc.start().catch((err) => {
      output.error(`the server did not start: ${err instanceof Error ? err.message : String(err)}`);
      status.setServerState('stopped');
    });
    return started;
  };
  const serves = (d: vscode.TextDocument) => vscode.languages.match(DOCUMENT_SELECTOR as vscode.DocumentSelector, d) > 0;
  if (vscode.workspace.textDocuments.some(serves)) void ensureStarted();
  else {
    const waiting = vscode.workspace.onDidOpenTextDocument((d) => {
      if (!serves(d)) return;
      waiting.dispose();
      void ensureStarted();
    });
    context.subscriptions.push(waiting);
  }

  // The server reads host files only inside the workspace until the user trusts it.
  context.subscriptions.push(
    vscode.workspace.onDidGrantWorkspaceTrust(() => {
      if (lc.isRunning()) void lc.sendNotification(TrustChangedNotification.type, { trusted: true });
    }),
  );

  let lastDiskUri: vscode.Uri | undefined;

  const checkFileOnDisk = async (arg?: vscode.Uri | string): Promise<CheckSummary | undefined> => {
    let uri = typeof arg === 'string' ? vscode.Uri.parse(arg) : arg;
    uri ??= activeFileUri();
    if (!uri) {
      const picked = await vscode.window.showOpenDialog({ canSelectMany: false, openLabel: 'Check' });
      uri = picked?.[0];
    }
    if (!uri) return undefined;
    if (uri.scheme !== 'file') {
      void vscode.window.showWarningMessage('ID Register Lens can check only files on the local disk of the server.');
      return undefined;
    }
    await ensureStarted();
    // The server reports work-done progress (with a Cancel button that stops its worker) for this request.
    let summary: CheckSummary;
    try {
      summary = await lc.sendRequest(CheckFileOnDiskRequest.type, { uri: uri.toString() });
    } catch (err) {
      if ((err as { code?: number }).code === LSPErrorCodes.RequestCancelled) return undefined;
      throw err;
    }
    lastDiskUri = uri;
    if (summary.error) void vscode.window.showErrorMessage(`ID Register Lens: ${summary.error}`);
    else {
      const msg = `${path.basename(uri.fsPath)} (${summary.format}, ${summary.lines} lines): ${summary.errors} errors, ${summary.warnings} warnings in ${summary.durationMs} ms`;
      void vscode.window.showInformationMessage(msg, 'Show Register Table', 'Show Problems').then((choice) => {
        if (choice === 'Show Register Table') void vscode.commands.executeCommand('idregLens.showRegisterTable', uri);
        if (choice === 'Show Problems') void vscode.commands.executeCommand('workbench.actions.view.problems');
      });
    }
    return summary;
  };

  const showRegisterTable = async (arg?: vscode.Uri | string): Promise<RegisterTable | null | undefined> => {
    const uri = (typeof arg === 'string' ? vscode.Uri.parse(arg) : arg) ?? vscode.window.activeTextEditor?.document.uri ?? lastDiskUri;
    if (!uri) {
      void vscode.window.showInformationMessage('Open a trace, dump or CPU template first (or check a file on disk).');
      return undefined;
    }
    await ensureStarted();
    const table = await lc.sendRequest(RegisterTableRequest.type, { uri: uri.toString() });
    if (!table) {
      void vscode.window.showInformationMessage(`ID Register Lens has no register state for ${path.basename(uri.fsPath)}.`);
      return table;
    }
    showRegisterTablePanel(context, table);
    return table;
  };

  const decode = async (text?: string): Promise<DecodeResult | undefined> => {
    const input =
      text ??
      (await vscode.window.showInputBox({
        title: 'Decode a register encoding or value',
        prompt: 'A register in any form, optionally followed by a value',
        placeHolder: 'ID_AA64PFR0_EL1 0x1101001021111111 · 0x603000000013c020 · (3,0,0,4,0) · 0xd5380400 · esr:0x62300801',
        ignoreFocusOut: true,
      }));
    if (!input) return undefined;
    await ensureStarted();
    const result = await lc.sendRequest(DecodeRequest.type, { text: input });
    if (!result.ok) void vscode.window.showWarningMessage(`ID Register Lens: ${result.message ?? 'cannot decode'}`);
    else showDecodePanel(context, input, result);
    return result;
  };

  context.subscriptions.push(
    vscode.commands.registerCommand('idregLens.decode', decode),
    vscode.commands.registerCommand('idregLens.showRegisterTable', showRegisterTable),
    vscode.commands.registerCommand('idregLens.checkFileOnDisk', checkFileOnDisk),
    vscode.commands.registerCommand('idregLens.showOutput', () => output.show(true)),
    vscode.commands.registerCommand('idregLens.openExample', async (name?: string) => {
      const file = context.asAbsolutePath(path.join('examples', path.basename(name ?? 'boot-4vcpu.idtrace')));
      const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(file));
      return vscode.window.showTextDocument(doc, { preview: false });
    }),
    vscode.commands.registerCommand('idregLens.restartServer', async () => {
      handler.reset();
      output.info('restarting the server (command)');
      status.setServerState('starting');
      started = lc.state === State.Stopped ? lc.start() : lc.restart();
      await started;
    }),
  );

  // Files above VS Code's 50 MB sync limit never reach the server as documents: offer (or run) a disk check.
  const large = new LargeFileWatcher(async (uri, size) => {
    const auto = vscode.workspace.getConfiguration('idregLens', uri).get<boolean>('largeFile.autoCheck', true);
    if (auto) {
      void checkFileOnDisk(uri);
      return;
    }
    const choice = await vscode.window.showInformationMessage(
      `${path.basename(uri.fsPath)} is ${(size / 1048576).toFixed(0)} MB, above the ${SYNC_LIMIT_BYTES / 1048576} MB that VS Code gives to extensions. Check it from disk?`,
      'Check File on Disk',
    );
    if (choice) void checkFileOnDisk(uri);
  });
  context.subscriptions.push(large);

  const api: IdregLensApi = {
    client: lc,
    restarts: () => handler.total,
    statusText: () => status.text(),
    fileStatus: (uri) => fileStatus.get(uri.toString()),
    serverInfo: async () => {
      await ensureStarted();
      return lc.sendRequest(ServerInfoRequest.type);
    },
    whenReady: ensureStarted,
  };
  return api;
}

function activeFileUri(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputText) return input.uri;
  return vscode.window.activeTextEditor?.document.uri;
}

export async function deactivate(): Promise<void> {
  if (client) await client.stop().catch(() => undefined);
}

// The language server: LSP glue over the core. It owns the documents, the per-document check state,
// settings, and turns FileReports into LSP answers (features/*.ts). Transport-agnostic: main.ts (IPC or
// stdio from the extension), lsp-entry.ts (`idreg lsp --stdio`) and the in-process tests all call
// startServer with their own connection.
import { readFileSync } from 'node:fs';
import { decodeText as decodeFileText } from '../src/text.ts';
import { dirname, isAbsolute, resolve, sep } from 'node:path';
import {
  CodeActionKind,
  DidChangeConfigurationNotification,
  ErrorCodes,
  LSPErrorCodes,
  ResponseError,
  TextDocumentSyncKind,
  type CancellationToken,
  type ClientCapabilities,
  type Connection,
  type InitializeParams,
  type InitializeResult,
  type WorkDoneProgressServerReporter,
} from 'vscode-languageserver';
import { checkDocument, CORE_KIND, IdtraceTextCheck, detectDocumentFormat, recheckDocument, resumableFormat, type CheckOptions, type FileReport, type LineChange } from './core.ts';
import { toDiagnostics, uriToPath, pathToUri } from './convert.ts';
import { DocumentStore, mergeChanges, type ChunkedDocument } from './documents.ts';
import {
  CheckFileOnDiskRequest,
  DecodeRequest,
  DEFAULT_SETTINGS,
  FileStatusNotification,
  RegisterTableRequest,
  ServerInfoRequest,
  TrustChangedNotification,
  type CheckSummary,
  type IdregSettings,
  type InitializationOptions,
  type RegisterTable,
} from './protocol.ts';
import { runDiskCheck, startDiskCheckWorker, type DiskCheckJob, type DiskCheckResult } from './disk-check.ts';
import { provideHover } from './features/hover.ts';
import { provideInlayHints } from './features/inlay.ts';
import { provideDocumentSymbols, provideFoldingRanges } from './features/symbols.ts';
import { provideDefinition, provideReferences } from './features/navigation.ts';
import { provideCodeActions } from './features/actions.ts';
import { buildRegisterTable } from './features/table.ts';
import { decodeText } from './features/decode.ts';
import { reportIndex, type FeatureContext } from './features/context.ts';

declare const __VERSION__: string | undefined;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.1.0';

/** Firecracker JSON is sent to us for file-name patterns; only these keys make it ours (content check). */
const FIRECRACKER_KEYS = /"(reg_modifiers|guest_cpu_config|vcpu_features|kvm_capabilities|cpu_template|fingerprint)"/;
/** Lines at the start of a document that format detection may read (sniffers look at 64 KiB at most). */
const DETECTION_LINES = 2000;

/** Documents above this size get work-done progress and a longer debounce. */
const LARGE_DOC = 4 * 1024 * 1024;

export interface ServerOptions {
  /** Debounce after an edit, in ms (small documents); large documents wait longer. */
  debounceMs?: number;
  /**
   * A script to run disk checks in (a worker thread): the server bundle itself, whose entry runs the job
   * instead of a server when isDiskCheckWorker(). Without it, disk checks run in-process.
   */
  workerScript?: string;
  /** .idtrace documents with more lines are replayed as parsed, their events not kept (BIG_IDTRACE_LINES). */
  bigIdtraceLines?: number;
  /** Characters of such a document checked between two turns of the event loop (BIG_STEP_CHARS). */
  bigIdtraceStepChars?: number;
  /** Lines between the checkpoints an edit of such a document resumes from (IdtraceTextCheck's default). */
  bigIdtraceCheckpointLines?: number;
}

/**
 * An .idtrace event kept as objects costs ~500 bytes (its ranges), and the hovers' per-event records more:
 * a 1M-line trace held 1.6 GB and took 2.4 s to first diagnostics. Bigger documents are checked as "Check
 * file on disk" checks (replayed while parsed, events dropped); hovers then parse the lines they look at.
 */
const BIG_IDTRACE_LINES = 200_000;
/** What the language status says about such a document. */
const EVENTS_NOT_KEPT = 'big trace: events not kept (no outline or references; hovers without KVM\'s predicted answer)';
/** Characters of a big .idtrace checked between two turns of the event loop (~100k lines, ~100 ms). */
const BIG_STEP_CHARS = 4 * 1024 * 1024;

interface DocState {
  uri: string;
  report?: FileReport;
  /** The document version the report was computed from (-1 for files checked from disk). */
  reportVersion: number;
  /** A scheduled check (a debounce timer, or the next turn of the event loop for the typing path). */
  timer?: { cancel(): void };
  /** Bumped by every edit and every check start: a check whose generation is stale publishes nothing. */
  generation: number;
  /** Absolute paths of the files this check read (host dumps), to re-check when they change. */
  deps: Set<string>;
  /** Checked from disk by idregLens/checkFileOnDisk (not an open document). */
  fromDisk: boolean;
  /** The register table of the last disk check (the full report stays in the worker). */
  diskTable?: RegisterTable;
  running?: Promise<void>;
  /** The document version `running` checks. */
  runningVersion?: number;
  /** The check behind the report, when it was a big .idtrace's: an edit resumes it from a checkpoint. */
  bigCheck?: IdtraceTextCheck;
  /** Line changes made after reportVersion, by version ('full': the whole text was replaced). */
  changes: { version: number; change: LineChange | 'full' }[];
  /** What the report was checked with; a re-check after an edit reuses it (cleared when settings or trust change). */
  reportOptions?: { options: CheckOptions; settings: IdregSettings };
}

interface ClientSupport {
  configuration: boolean;
  relatedInformation: boolean;
  codeDescription: boolean;
  workDoneProgress: boolean;
  hierarchicalSymbols: boolean;
  configurationChange: boolean;
}

function clientSupport(c: ClientCapabilities): ClientSupport {
  return {
    configuration: c.workspace?.configuration === true,
    relatedInformation: c.textDocument?.publishDiagnostics?.relatedInformation === true,
    codeDescription: c.textDocument?.publishDiagnostics?.codeDescriptionSupport === true,
    workDoneProgress: c.window?.workDoneProgress === true,
    hierarchicalSymbols: c.textDocument?.documentSymbol?.hierarchicalDocumentSymbolSupport === true,
    configurationChange: c.workspace?.didChangeConfiguration?.dynamicRegistration === true,
  };
}

export function startServer(connection: Connection, options: ServerOptions = {}): void {
  const debounceMs = options.debounceMs ?? 200;
  const bigIdtraceLines = options.bigIdtraceLines ?? BIG_IDTRACE_LINES;
  const bigStepChars = options.bigIdtraceStepChars ?? BIG_STEP_CHARS;
  const bigCheckpointLines = options.bigIdtraceCheckpointLines;
  const docs = new DocumentStore();
  const states = new Map<string, DocState>();
  const settingsCache = new Map<string, Promise<IdregSettings>>();
  let globalSettings: IdregSettings = DEFAULT_SETTINGS;
  let support: ClientSupport = clientSupport({});
  let trusted = true;
  let folders: string[] = [];
  const startedAt = new Date().toISOString();

  let shuttingDown = false;
  // Logging must never throw (the connection may be gone while a timer fires).
  const log = (msg: string) => {
    try {
      connection.console.log(`[${new Date().toISOString().slice(11, 23)}] ${msg}`);
    } catch {
      /* no connection */
    }
  };
  const logError = (msg: string, err: unknown) => {
    try {
      connection.console.error(`${msg}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    } catch {
      /* no connection */
    }
  };

  /** Every request handler runs isolated: an exception answers that request with an error, the server goes on. */
  function guard<P, R>(name: string, fn: (params: P, token: CancellationToken) => R | Promise<R>) {
    return async (params: P, token: CancellationToken): Promise<R | ResponseError<void>> => {
      try {
        return await fn(params, token);
      } catch (err) {
        if (err instanceof ResponseError) return err; // deliberate (e.g. RequestCancelled)
        logError(`${name} failed`, err);
        return new ResponseError(ErrorCodes.InternalError, `${name} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    };
  }
  function guardNotification<P>(name: string, fn: (params: P) => void | Promise<void>) {
    return (params: P) => {
      try {
        const r = fn(params);
        if (r instanceof Promise) r.catch((err) => logError(`${name} failed`, err));
      } catch (err) {
        logError(`${name} failed`, err);
      }
    };
  }

  // ------------------------------------------------------------------------------------------
  // Settings, read per resource (style.md §9.10) and cached until didChangeConfiguration.

  function normaliseSettings(raw: unknown): IdregSettings {
    const r = (raw && typeof raw === 'object' ? raw : {}) as Partial<IdregSettings> & Record<string, unknown>;
    const largeFile = (r.largeFile && typeof r.largeFile === 'object' ? r.largeFile : {}) as Partial<IdregSettings['largeFile']>;
    const trace = (r.trace && typeof r.trace === 'object' ? r.trace : {}) as Partial<IdregSettings['trace']>;
    const maxProblems = typeof r.maxProblems === 'number' && r.maxProblems >= 0 ? r.maxProblems : DEFAULT_SETTINGS.maxProblems;
    return {
      maxProblems,
      kernel: typeof r.kernel === 'string' ? r.kernel : '',
      host: typeof r.host === 'string' ? r.host : '',
      largeFile: { autoCheck: typeof largeFile.autoCheck === 'boolean' ? largeFile.autoCheck : DEFAULT_SETTINGS.largeFile.autoCheck },
      trace: { server: trace.server === 'messages' || trace.server === 'verbose' ? trace.server : 'off' },
    };
  }

  function getSettings(uri: string): Promise<IdregSettings> {
    if (!support.configuration) return Promise.resolve(globalSettings);
    let cached = settingsCache.get(uri);
    if (!cached) {
      cached = connection.workspace
        .getConfiguration({ scopeUri: uri, section: 'idregLens' })
        .then(normaliseSettings, (err) => {
          logError('workspace/configuration failed', err);
          return globalSettings;
        });
      settingsCache.set(uri, cached);
    }
    return cached;
  }

  // ------------------------------------------------------------------------------------------
  // Reading other files (host dumps). Untrusted workspaces never read outside the workspace folders.

  function folderOf(path: string): string | undefined {
    return folders.find((f) => path === f || path.startsWith(f.endsWith(sep) ? f : f + sep));
  }

  function makeReadFile(state: DocState) {
    return (absPath: string): string | Error => {
      const path = resolve(absPath);
      state.deps.add(path);
      if (!trusted && folderOf(path) === undefined) {
        return new Error(`not read: the workspace is not trusted and ${path} is outside the workspace folders`);
      }
      const open = docs.get(pathToUri(path));
      if (open) return open.getText();
      try {
        return decodeFileText(readFileSync(path));
      } catch (err) {
        return err instanceof Error ? err : new Error(String(err));
      }
    };
  }

  function resolveHostSetting(uri: string, host: string): string | undefined {
    if (!host) return undefined;
    if (isAbsolute(host)) return host;
    const docPath = uriToPath(uri);
    const base = folderOf(docPath) ?? folders[0];
    return base ? resolve(base, host) : undefined;
  }

  // ------------------------------------------------------------------------------------------
  // Checking.

  function stateOf(uri: string): DocState {
    let s = states.get(uri);
    if (!s) {
      s = { uri, reportVersion: -2, generation: 0, deps: new Set(), fromDisk: false, changes: [] };
      states.set(uri, s);
    }
    return s;
  }

  function isOurs(doc: ChunkedDocument): boolean {
    if (doc.languageId !== 'json' && doc.languageId !== 'jsonc') return true;
    // Firecracker templates and fingerprints are JSON; only JSON that looks like one is checked.
    return FIRECRACKER_KEYS.test(doc.length > 65536 ? doc.getText().slice(0, 65536) : doc.getText());
  }

  async function runCheck(
    uri: string,
    text: string,
    lineCount: number,
    version: number,
    state: DocState,
    progress?: WorkDoneProgressServerReporter,
    /** The first line that changed since the report, when a big .idtrace's check may resume before it. */
    resumeLine?: number,
  ): Promise<FileReport | undefined> {
    const generation = ++state.generation;
    const settings = await getSettings(uri);
    if (generation !== state.generation) return undefined; // superseded while we waited
    const path = uriToPath(uri);
    const started = performance.now();
    connection.sendNotification(FileStatusNotification.type, {
      uri, format: state.report?.format ?? 'unknown', state: 'checking', errors: 0, warnings: 0, infos: 0, hidden: 0,
    });
    state.deps.clear();
    const host = resolveHostSetting(uri, settings.host);
    // check.ts refuses host files outside workspaceRoot: set it only while the workspace is untrusted.
    const workspaceRoot = trusted ? undefined : (folderOf(path) ?? folders[0] ?? dirname(path));
    progress?.report(10, 'parsing and replaying');
    const options: CheckOptions = {
      ...(host ? { host } : {}),
      ...(settings.kernel ? { kernel: settings.kernel } : {}),
      readFile: makeReadFile(state),
      maxFindings: 200000,
      ...(workspaceRoot ? { workspaceRoot } : {}),
    };
    let report: FileReport | undefined;
    let bigCheck: IdtraceTextCheck | undefined;
    if (lineCount > bigIdtraceLines && detectDocumentFormat(text.slice(0, 65536), path) === 'idtrace') {
      // About 100 ms a step: hovers are answered in between, and an edit makes the rest of the work moot.
      const check = state.bigCheck && resumeLine !== undefined ? IdtraceTextCheck.resume(state.bigCheck, text, resumeLine) : new IdtraceTextCheck(path, text, options, undefined, bigCheckpointLines);
      let done = 0;
      while (!check.step(bigStepChars)) {
        done += bigStepChars;
        progress?.report(10 + Math.min(85, Math.floor((85 * done) / text.length)), 'parsing and replaying');
        await new Promise<void>((r) => setImmediate(r));
        if (generation !== state.generation) return undefined;
      }
      report = check.result();
      if (report) bigCheck = check;
    }
    report ??= checkDocument({ path, text }, options);
    if (generation !== state.generation) return undefined;
    state.bigCheck = bigCheck;
    state.reportOptions = { options, settings };
    return publishReport(uri, state, report, version, settings, started, text.length);
  }

  /** Makes `report` the document's report for `version` and publishes its diagnostics. */
  async function publishReport(
    uri: string,
    state: DocState,
    report: FileReport,
    version: number,
    settings: IdregSettings,
    started: number,
    chars: number,
  ): Promise<FileReport> {
    const path = report.path;
    for (const dep of report.dependencies) state.deps.add(resolve(dep));
    state.report = report;
    state.reportVersion = version;
    state.changes = state.changes.filter((c) => c.version > version);
    const published = toDiagnostics(uri, report.findings, {
      maxProblems: settings.maxProblems,
      relatedInformation: support.relatedInformation,
      codeDescription: support.codeDescription,
    });
    await connection.sendDiagnostics({ uri, ...(version >= 0 ? { version } : {}), diagnostics: published.diagnostics });
    const durationMs = Math.round(performance.now() - started);
    connection.sendNotification(FileStatusNotification.type, {
      uri, format: report.format, state: 'done', ...published.counts, hidden: published.hidden, durationMs,
      ...(report.touched ? { message: EVENTS_NOT_KEPT } : {}),
    });
    log(`checked ${path} (${report.format}, ${chars} chars${report.touched ? ', replayed as parsed: events not kept' : ''}) in ${durationMs} ms: ${report.findings.length} findings`);
    // Build the position index now, not on the first hover (a few hundred ms on a 400k-line trace).
    setImmediate(() => {
      if (state.report === report) reportIndex(report);
    });
    return report;
  }

  async function checkOpenDocument(uri: string): Promise<void> {
    const doc = docs.get(uri);
    const state = states.get(uri);
    if (!doc || !state) return;
    if (state.timer) {
      state.timer.cancel();
      state.timer = undefined;
    }
    if (!isOurs(doc)) {
      state.report = undefined;
      state.reportVersion = doc.version;
      return;
    }
    if (await recheckAfterEdit(uri, doc, state)) return;
    const large = doc.length > LARGE_DOC;
    const progress = large && support.workDoneProgress ? await connection.window.createWorkDoneProgress() : undefined;
    progress?.begin('ID Register Lens: checking', 0, uriToPath(uri).split(/[\\/]/).pop(), false);
    try {
      await runCheck(uri, doc.getText(), doc.lineCount, doc.version, state, progress, state.bigCheck && state.reportOptions && !doc.maybeLoneCr ? editsSinceReport(state)?.first : undefined);
    } finally {
      progress?.done();
    }
  }

  /** The edits since the report as one change; undefined when there are none or the whole text was replaced. */
  function editsSinceReport(state: DocState): LineChange | undefined {
    let merged: LineChange | undefined;
    for (const c of state.changes) {
      if (c.version <= state.reportVersion) continue;
      if (c.change === 'full') return undefined;
      merged = merged ? mergeChanges(merged, c.change) : c.change;
    }
    return merged;
  }

  /** The lines changed since the report, as one change; undefined when a re-check by lines is not possible. */
  function changeSinceReport(doc: ChunkedDocument, state: DocState): LineChange | undefined {
    if (!state.report || !state.reportOptions || state.reportVersion < 0 || doc.maybeLoneCr) return undefined;
    if (!resumableFormat(state.report.format)) return undefined;
    return editsSinceReport(state);
  }

  /**
   * The typing path (performance.md §5): re-parse from the checkpoint before the edit until the parser's
   * state meets the old one, then replay and publish. No debounce: it costs a few milliseconds.
   */
  async function recheckAfterEdit(uri: string, doc: ChunkedDocument, state: DocState): Promise<boolean> {
    const change = changeSinceReport(doc, state);
    if (!change || !state.report || !state.reportOptions) return false;
    const started = performance.now();
    // Detection reads the start of a document: an edit there may have made it another format.
    if (change.first < DETECTION_LINES && detectDocumentFormat(doc.linesText(0, DETECTION_LINES), uriToPath(uri)) !== state.report.format) return false;
    const { options, settings } = state.reportOptions;
    const report = recheckDocument(state.report, { lineCount: doc.lineCount, text: (from, to) => doc.linesText(from, to) }, change, options);
    if (!report) return false;
    state.generation++; // a full check still waiting for settings is now stale
    await publishReport(uri, state, report, doc.version, settings, started, doc.length);
    return true;
  }

  function schedule(uri: string, delay: number): void {
    if (shuttingDown) return;
    const state = stateOf(uri);
    state.timer?.cancel();
    state.generation++; // cancels a check waiting for settings
    const run = (): void => {
      state.timer = undefined;
      state.runningVersion = docs.get(uri)?.version;
      state.running = checkOpenDocument(uri).catch((err) => logError(`checking ${uri} failed`, err));
    };
    // setTimeout(0) waits at least 1 ms; setImmediate runs after the messages already read.
    if (delay <= 0) {
      const h = setImmediate(run);
      state.timer = { cancel: () => clearImmediate(h) };
    } else {
      const h = setTimeout(run, delay);
      state.timer = { cancel: () => clearTimeout(h) };
    }
  }

  /** Makes sure the report matches the document's current version (a request arrived inside the debounce). */
  async function freshReport(uri: string): Promise<FileReport | undefined> {
    const doc = docs.get(uri);
    const state = states.get(uri);
    if (!state) return undefined;
    if (!doc) return state.report; // checked from disk
    if (state.reportVersion !== doc.version || state.timer) {
      if (!state.timer && state.running && state.runningVersion === doc.version) {
        // This version is being checked (a big .idtrace is checked in steps): a second check would start
        // over and make the first one stale.
        await state.running;
      } else {
        if (state.timer) {
          state.timer.cancel();
          state.timer = undefined;
        }
        await checkOpenDocument(uri);
      }
    }
    return state.reportVersion === doc.version ? state.report : undefined;
  }

  function recheckDependents(changedUri: string): void {
    const changedPath = resolve(uriToPath(changedUri));
    for (const s of states.values()) {
      if (s.uri !== changedUri && s.deps.has(changedPath) && docs.get(s.uri)) {
        s.reportOptions = undefined; // the host changed: a full check
        schedule(s.uri, debounceMs);
      }
    }
  }

  function recheckAll(): void {
    for (const d of docs.all()) {
      stateOf(d.uri).reportOptions = undefined; // settings or trust changed: a full check
      schedule(d.uri, 0);
    }
  }

  // ------------------------------------------------------------------------------------------
  // Lifecycle.

  connection.onInitialize((params: InitializeParams): InitializeResult => {
    support = clientSupport(params.capabilities);
    const init = (params.initializationOptions ?? {}) as InitializationOptions;
    trusted = init.trusted !== false;
    folders = (params.workspaceFolders ?? [])
      .map((f) => f.uri)
      .concat(params.workspaceFolders ? [] : params.rootUri ? [params.rootUri] : [])
      .filter((u) => u.startsWith('file:'))
      .map((u) => resolve(uriToPath(u)));
    return {
      capabilities: {
        textDocumentSync: { openClose: true, change: TextDocumentSyncKind.Incremental, save: false },
        hoverProvider: true,
        inlayHintProvider: true,
        documentSymbolProvider: { label: 'ID Register Lens' },
        foldingRangeProvider: true,
        definitionProvider: true,
        referencesProvider: true,
        codeActionProvider: { codeActionKinds: [CodeActionKind.QuickFix] },
        workspace: { workspaceFolders: { supported: true, changeNotifications: true } },
      },
      serverInfo: { name: 'idreg-lens', version: VERSION },
    };
  });

  connection.onShutdown(() => {
    shuttingDown = true;
    for (const s of states.values()) {
      s.timer?.cancel();
      s.timer = undefined;
      s.generation++;
    }
  });

  connection.onInitialized(() => {
    if (support.configurationChange) {
      void connection.client.register(DidChangeConfigurationNotification.type, { section: 'idregLens' });
    }
    log(`ID Register Lens server ${VERSION} (pid ${process.pid}, core: ${CORE_KIND}, trusted: ${trusted}, folders: ${folders.join(', ') || 'none'})`);
  });

  connection.onDidChangeConfiguration(
    guardNotification('didChangeConfiguration', (params) => {
      settingsCache.clear();
      const s = (params.settings as { idregLens?: unknown } | undefined)?.idregLens;
      if (s !== undefined) globalSettings = normaliseSettings(s);
      recheckAll();
    }),
  );

  connection.onNotification(
    TrustChangedNotification.type,
    guardNotification('trustChanged', (p) => {
      trusted = p.trusted;
      recheckAll();
    }),
  );

  connection.onDidChangeWatchedFiles(
    guardNotification('didChangeWatchedFiles', (p) => {
      for (const change of p.changes) recheckDependents(change.uri);
    }),
  );

  // ------------------------------------------------------------------------------------------
  // Documents (incremental sync into our own chunked store).

  connection.onDidOpenTextDocument(
    guardNotification('didOpen', (p) => {
      const { uri, languageId, version, text } = p.textDocument;
      docs.open(uri, languageId, version, text);
      const state = stateOf(uri);
      state.fromDisk = false;
      schedule(uri, 0);
      recheckDependents(uri);
    }),
  );

  connection.onDidChangeTextDocument(
    guardNotification('didChange', (p) => {
      const doc = docs.get(p.textDocument.uri);
      if (!doc) return;
      const onlyComments = p.contentChanges.every((c) => 'range' in c && c.range && commentOnlyEdit(doc, c.range, c.text));
      const change = doc.update(p.contentChanges, p.textDocument.version);
      const state = stateOf(doc.uri);
      if (change) state.changes.push({ version: doc.version, change });
      if (onlyComments && state.report && state.reportVersion >= 0 && !state.timer && state.changes.length <= 1) {
        // An edit inside a comment cannot change a finding and moves nothing before it on its line.
        state.reportVersion = doc.version;
        state.changes = [];
      } else if (changeSinceReport(doc, state)) {
        schedule(doc.uri, 0);
      } else {
        schedule(doc.uri, doc.length > LARGE_DOC ? Math.max(debounceMs, 500) : debounceMs);
      }
      recheckDependents(doc.uri);
    }),
  );

  connection.onDidCloseTextDocument(
    guardNotification('didClose', (p) => {
      const uri = p.textDocument.uri;
      docs.close(uri);
      const state = states.get(uri);
      state?.timer?.cancel();
      states.delete(uri);
      settingsCache.delete(uri);
      void connection.sendDiagnostics({ uri, diagnostics: [] });
      recheckDependents(uri);
    }),
  );

  // ------------------------------------------------------------------------------------------
  // Features.

  function featureContext(uri: string, report: FileReport): FeatureContext {
    const doc = docs.get(uri);
    return {
      uri,
      report,
      lineAt: (line) => (doc ? doc.lineAt(line) : ''),
      lineCount: doc ? doc.lineCount : report.stats.lines,
    };
  }

  async function withReport<R>(uri: string, fn: (ctx: FeatureContext) => R, empty: R): Promise<R> {
    const report = await freshReport(uri);
    if (!report) return empty;
    return fn(featureContext(uri, report));
  }

  connection.onHover(guard('hover', (p) => withReport(p.textDocument.uri, (ctx) => provideHover(ctx, p.position), null)));
  connection.languages.inlayHint.on(
    guard('inlayHint', (p) => withReport(p.textDocument.uri, (ctx) => provideInlayHints(ctx, p.range), [])),
  );
  connection.onDocumentSymbol(
    guard('documentSymbol', (p) => withReport(p.textDocument.uri, (ctx) => provideDocumentSymbols(ctx), [])),
  );
  connection.onFoldingRanges(guard('foldingRange', (p) => withReport(p.textDocument.uri, (ctx) => provideFoldingRanges(ctx), [])));
  connection.onDefinition(guard('definition', (p) => withReport(p.textDocument.uri, (ctx) => provideDefinition(ctx, p.position), null)));
  connection.onReferences(
    guard('references', (p) =>
      withReport(p.textDocument.uri, (ctx) => provideReferences(ctx, p.position, p.context.includeDeclaration), []),
    ),
  );
  connection.onCodeAction(guard('codeAction', (p) => withReport(p.textDocument.uri, (ctx) => provideCodeActions(ctx, p), [])));

  // ------------------------------------------------------------------------------------------
  // Custom requests (server/protocol.ts).

  connection.onRequest(
    RegisterTableRequest.type,
    guard('registerTable', async (p) => {
      if (!p || typeof p.uri !== 'string') throw new Error('registerTable needs { uri }');
      const report = await freshReport(p.uri);
      if (report) return buildRegisterTable(p.uri, report);
      return states.get(p.uri)?.diskTable ?? null;
    }),
  );

  connection.onRequest(
    DecodeRequest.type,
    guard('decode', (p) => {
      if (!p || typeof p.text !== 'string') throw new Error('decode needs { text }');
      return decodeText(p.text);
    }),
  );

  connection.onRequest(
    ServerInfoRequest.type,
    // Cannot throw: no guard needed (and RequestType0 handlers take no params).
    () => ({ pid: process.pid, version: VERSION, startedAt, documents: docs.size, trusted, core: CORE_KIND }),
  );

  connection.onRequest(
    CheckFileOnDiskRequest.type,
    guard('checkFileOnDisk', async (p, token): Promise<CheckSummary> => {
      if (!p || typeof p.uri !== 'string') throw new Error('checkFileOnDisk needs { uri }');
      const uri = p.uri;
      const path = uriToPath(uri);
      const started = performance.now();
      const base = { uri, format: 'unknown', errors: 0, warnings: 0, infos: 0, published: 0, lines: 0, bytes: 0 };
      if (!trusted && folderOf(resolve(path)) === undefined) {
        return { ...base, durationMs: 0, error: `not read: the workspace is not trusted and ${path} is outside the workspace folders` };
      }
      const state = stateOf(uri);
      const open = docs.get(uri);
      if (open) {
        // The file is open and synced: its document is the truth; re-check that.
        await checkOpenDocument(uri);
        const report = state.report;
        const settings = await getSettings(uri);
        const pub = toDiagnostics(uri, report?.findings ?? [], { maxProblems: settings.maxProblems, relatedInformation: false, codeDescription: false });
        return { ...base, format: report?.format ?? 'unknown', ...pub.counts, published: pub.diagnostics.length, lines: open.lineCount, bytes: open.length, durationMs: Math.round(performance.now() - started) };
      }
      const settings = await getSettings(uri);
      const host = resolveHostSetting(uri, settings.host);
      const job: DiskCheckJob = {
        uri,
        path,
        ...(host ? { host } : {}),
        ...(settings.kernel ? { kernel: settings.kernel } : {}),
        ...(!trusted ? { workspaceRoot: folderOf(path) ?? folders[0] ?? dirname(path) } : {}),
      };
      const generation = ++state.generation;
      state.fromDisk = true;
      const progress = await connection.window.createWorkDoneProgress();
      progress.begin('ID Register Lens: checking file on disk', 0, path.split(/[\\/]/).pop(), true);
      connection.sendNotification(FileStatusNotification.type, { uri, format: 'unknown', state: 'checking', errors: 0, warnings: 0, infos: 0, hidden: 0 });
      let result: DiskCheckResult;
      try {
        if (options.workerScript) {
          const running = startDiskCheckWorker(options.workerScript, job, (pct, msg) => progress.report(pct, msg));
          const cancel = () => running.cancel();
          const subs = [token.onCancellationRequested(cancel), progress.token.onCancellationRequested(cancel)];
          try {
            result = await running.result;
          } finally {
            subs.forEach((d) => d.dispose());
          }
        } else {
          result = runDiskCheck(job, (pct, msg) => progress.report(pct, msg));
        }
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        connection.sendNotification(FileStatusNotification.type, { uri, format: 'unknown', state: 'failed', errors: 0, warnings: 0, infos: 0, hidden: 0, message });
        if (token.isCancellationRequested || progress.token.isCancellationRequested) throw new ResponseError(LSPErrorCodes.RequestCancelled, 'cancelled');
        return { ...base, durationMs: Math.round(performance.now() - started), error: `cannot check ${path}: ${message}` };
      } finally {
        progress.done();
      }
      if (generation !== state.generation) return { ...base, durationMs: Math.round(performance.now() - started), error: 'superseded by a newer check' };
      state.report = undefined;
      state.diskTable = result.table;
      state.reportVersion = -1;
      const pub = toDiagnostics(uri, result.findings, {
        maxProblems: settings.maxProblems,
        relatedInformation: support.relatedInformation,
        codeDescription: support.codeDescription,
      });
      await connection.sendDiagnostics({ uri, diagnostics: pub.diagnostics });
      const durationMs = Math.round(performance.now() - started);
      connection.sendNotification(FileStatusNotification.type, { uri, format: result.format, state: 'done', ...pub.counts, hidden: pub.hidden, durationMs });
      log(`checked ${path} from disk (${result.format}, ${result.bytes} bytes, ${options.workerScript ? 'worker' : 'in-process'}) in ${durationMs} ms: ${result.findings.length} findings`);
      return { uri, format: result.format, ...pub.counts, published: pub.diagnostics.length, lines: result.lines, bytes: result.bytes, durationMs };
    }),
  );
}

/**
 * True when a single-line edit lies after a `#` comment start on its line, leaves that `#` in place and
 * inserts no line break: such an edit cannot change any finding (trace and dump comments run to the end
 * of the line), so no re-check is needed.
 */
function commentOnlyEdit(doc: ChunkedDocument, range: { start: { line: number; character: number }; end: { line: number; character: number } }, text: string): boolean {
  if (doc.languageId !== 'idtrace' && doc.languageId !== 'iddump') return false;
  if (range.start.line !== range.end.line || /[\r\n#]/.test(text)) return false;
  const line = doc.lineAt(range.start.line);
  const hash = line.indexOf('#');
  return hash >= 0 && range.start.character > hash;
}

// The custom LSP messages of ID Register Lens, typed once and imported by both the server and the
// VS Code client (style.md §9.9). Only wire types live here: no imports from src/, so the client bundle
// never pulls in the core. 64-bit values travel as hex strings ("0x…"), because JSON has no bigint.
//
// Every method is namespaced `idregLens/…`. When you add or change a message, update the table in
// README.md ("Language server protocol extensions").
import { NotificationType, RequestType, RequestType0 } from 'vscode-languageserver-protocol';

/** Settings the client passes at start (`initializationOptions`). */
export interface InitializationOptions {
  /** Whether the workspace is trusted. Untrusted: host files outside the workspace folders are never read. */
  trusted?: boolean;
  /** The extension's version, for the log. */
  clientVersion?: string;
}

/** Settings read per resource with `workspace/configuration` (section `idregLens`). */
export interface IdregSettings {
  maxProblems: number;
  /** KVM version whose rules apply when the file does not say (`kernel` line); empty = newest known. */
  kernel: string;
  /** Host dump used as the limit when the file names none; relative paths resolve against the workspace folder. */
  host: string;
  largeFile: { autoCheck: boolean };
  trace: { server: 'off' | 'messages' | 'verbose' };
}

export const DEFAULT_SETTINGS: IdregSettings = {
  maxProblems: 1000,
  kernel: '',
  host: '',
  largeFile: { autoCheck: true },
  trace: { server: 'off' },
};

/** The documentation anchor of a finding code (README.md has one heading per code). */
export const DOCS_URL = 'https://github.com/idreg-lens/idreg-lens';
export function codeHref(code: string): string {
  return `${DOCS_URL}#${code.toLowerCase()}`;
}

// ---------------------------------------------------------------------------------------------
// idregLens/checkFileOnDisk: check a file the server reads itself (for files VS Code does not sync,
// over 50 MB). Diagnostics are published for the URI; the report feeds idregLens/registerTable.

export interface CheckFileParams {
  uri: string;
}

export interface CheckSummary {
  uri: string;
  format: string;
  errors: number;
  warnings: number;
  infos: number;
  /** Diagnostics published (after the idregLens.maxProblems cap). */
  published: number;
  lines: number;
  bytes: number;
  durationMs: number;
  /** Set when the file could not be read or checked. */
  error?: string;
}

export namespace CheckFileOnDiskRequest {
  export const method = 'idregLens/checkFileOnDisk';
  export const type = new RequestType<CheckFileParams, CheckSummary, void>(method);
}

// ---------------------------------------------------------------------------------------------
// idregLens/registerTable: the VM's final state per register and field (or a dump's values).

export interface RegisterTableParams {
  uri: string;
}

export type Verdict = 'ok' | 'error' | 'warning' | 'unknown';

export interface FieldRow {
  name: string;
  msb: number;
  lsb: number;
  /** Field value as a hex string, when the register value is known. */
  value?: string;
  meaning?: string;
  /** The host limit of this field, when known. */
  limit?: string;
  limitMeaning?: string;
  policy?: string;
  verdict: Verdict;
  /** Why the verdict is not ok (the finding's message). */
  note?: string;
}

export interface RegisterRow {
  name: string;
  /** Generic S3_0_C0_C4_0 form. */
  generic: string;
  value?: string;
  limit?: string;
  /** Where the value was set (0-based line), when a write established it. */
  setAtLine?: number;
  verdict: Verdict;
  findings: number;
  fields: FieldRow[];
}

export interface RegisterTable {
  uri: string;
  format: string;
  kernel?: string;
  hasRun?: boolean;
  hostPath?: string;
  hostError?: string;
  vcpus?: { id: number; initialised: boolean; ran: boolean }[];
  registers: RegisterRow[];
}

export namespace RegisterTableRequest {
  export const method = 'idregLens/registerTable';
  export const type = new RequestType<RegisterTableParams, RegisterTable | null, void>(method);
}

// ---------------------------------------------------------------------------------------------
// idregLens/decode: the decode command (any encoding form, optionally a value).

export interface DecodeParams {
  /** `TOKEN` or `TOKEN VALUE`, e.g. `ID_AA64PFR0_EL1 0x1101001021111111` or `0x603000000013c020`. */
  text: string;
}

export interface DecodeResult {
  ok: boolean;
  message?: string;
  name?: string;
  forms?: Record<string, string>;
  value?: string;
  fields?: { name: string; msb: number; lsb: number; value: string; meaning?: string; policy?: string }[];
  /** The same as a markdown document (what the hover shows). */
  markdown: string;
}

export namespace DecodeRequest {
  export const method = 'idregLens/decode';
  export const type = new RequestType<DecodeParams, DecodeResult, void>(method);
}

// ---------------------------------------------------------------------------------------------
// idregLens/serverInfo: the server's process and state (language status, tests).

export interface ServerInfo {
  pid: number;
  version: string;
  startedAt: string;
  documents: number;
  trusted: boolean;
  /** Whether the core (src/check.ts) is linked in. */
  core: string;
}

export namespace ServerInfoRequest {
  export const method = 'idregLens/serverInfo';
  export const type = new RequestType0<ServerInfo, void>(method);
}

// ---------------------------------------------------------------------------------------------
// idregLens/status (server → client): the state of a checked file, for the language status item.

export interface FileStatus {
  uri: string;
  format: string;
  state: 'checking' | 'done' | 'failed';
  errors: number;
  warnings: number;
  infos: number;
  /** Findings not published because of idregLens.maxProblems. */
  hidden: number;
  durationMs?: number;
  /** Why the check failed; for a done check, what was left out (a big trace whose events were not kept). */
  message?: string;
}

export namespace FileStatusNotification {
  export const method = 'idregLens/status';
  export const type = new NotificationType<FileStatus>(method);
}

// ---------------------------------------------------------------------------------------------
// idregLens/trustChanged (client → server): the user trusted the workspace; re-check with host files.

export namespace TrustChangedNotification {
  export const method = 'idregLens/trustChanged';
  export const type = new NotificationType<{ trusted: boolean }>(method);
}

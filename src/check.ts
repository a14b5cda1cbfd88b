// detect → parse → resolve host → replay → findings: the one entry point the CLI and the server share.
//
// Format registry. Every input format is a (parse, sniff) pair registered under its FormatId:
//
//   registerParser('ftrace', parseFtrace, sniffFtrace);
//
// `sniff(text, path)` returns a confidence 0..1 (1 = certain, e.g. by file extension); detection picks the
// highest score above MIN_CONFIDENCE and the earliest registration on a tie. The native formats (.idtrace,
// .iddump) register themselves below. src/formats/detect.ts registers the real-world formats (ftrace,
// Firecracker JSON, ...) the same way when it is imported; the entry points (src/cli.ts, server/) import
// it once for that side effect, and check.ts never imports it (no cycle: detect.ts → check.ts only).
// Host dumps go through the same detection, so any format whose ParseResult has a `dump` can be a host.
//
// What happens after parsing:
//   - a document with accesses (events other than `host`/`kernel`), or with neither a dump nor proposed
//     writes, is a trace: it is replayed through the VM model (src/model/vm.ts) with the host as the limit;
//   - any other document (a dump, a template, a log of proposed writes) is judged against the host, when
//     there is one (`--host`, a `host` line, a `# host:` comment), by the registered HostJudge: by default
//     judgeDump below (each value must be a write the host accepts: IDR030); formats/detect.ts may install
//     a richer one with registerHostJudge.
// Every stage's failure is a finding; checkDocument never throws.
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { readFileSync, statSync } from 'node:fs';
import { appendAll, compareByPosition, compareFindings, makeFinding, type Finding, type Range } from './findings.ts';
import type { FormatId, LineChange, LineSource, ParseResult, ParseStats, Reparser, StreamNeeds, StreamParser } from './formats/types.ts';
import { parseIdtrace, sniffIdtrace } from './formats/idtrace.ts';
import { parseIddump, sniffIddump } from './formats/iddump.ts';
import type { HostEvent, RegisterDump, TraceEvent } from './model/events.ts';
import { replay, type ReplayOptions, type ReplayResult } from './model/vm.ts';
import { judgeDumpEntries } from './diff.ts';

export type Parser = (text: string, path?: string) => ParseResult;
export type Sniffer = (text: string, path?: string) => number;

interface FormatHandler {
  id: FormatId;
  parse: Parser;
  sniff: Sniffer;
  /** Present when the parser can resume after an edit (the language server's fast path). */
  reparse?: Reparser;
  /** Present when the parser can be fed a big file in blocks (the CLI's way to read it). */
  stream?: (needs: StreamNeeds) => StreamParser;
}

/** Below this, a document is 'unknown' rather than a guess. */
export const MIN_CONFIDENCE = 0.3;

const registry: FormatHandler[] = [];

/** Adds (or replaces) the parser of a format. */
export function registerParser(id: FormatId, parse: Parser, sniff: Sniffer, extras: { reparse?: Reparser; stream?: (needs: StreamNeeds) => StreamParser } = {}): void {
  const i = registry.findIndex((h) => h.id === id);
  const handler: FormatHandler = { id, parse, sniff, ...extras };
  if (i >= 0) registry[i] = handler;
  else registry.push(handler);
}

/** The formats registered so far, in registration order. */
export function registeredFormats(): FormatId[] {
  return registry.map((h) => h.id);
}

registerParser('idtrace', parseIdtrace, sniffIdtrace);
registerParser('iddump', parseIddump, sniffIddump);

/** The most likely format of a document, or 'unknown'. */
export function detectDocumentFormat(text: string, path?: string): FormatId {
  let best: FormatHandler | undefined;
  let bestScore = MIN_CONFIDENCE;
  for (const h of registry) {
    let score = 0;
    try {
      score = h.sniff(text, path);
    } catch {
      score = 0;
    }
    if (score > bestScore || (best === undefined && score >= bestScore)) {
      best = h;
      bestScore = score;
    }
  }
  return best?.id ?? 'unknown';
}

function countLines(text: string): number {
  if (text.length === 0) return 0;
  let n = 0;
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    n++;
    if (nl < 0) break;
    pos = nl + 1;
  }
  return n;
}

function formatList(): string {
  return registry.map((h) => h.id).join(', ');
}

/** Parses a document in the given format (detected when omitted). Never throws. */
export function parseDocument(text: string, path?: string, format?: FormatId): ParseResult {
  const id = format ?? detectDocumentFormat(text, path);
  const handler = registry.find((h) => h.id === id);
  if (!handler) {
    const lines = countLines(text);
    let firstLen = text.indexOf('\n');
    if (firstLen < 0) firstLen = text.length;
    if (firstLen > 0 && text.charCodeAt(firstLen - 1) === 13) firstLen--;
    return {
      format: 'unknown',
      events: [],
      findings: [
        makeFinding('IDR001', `format not recognised: expected one of ${formatList()} (an .idtrace trace, an .iddump dump, ...)`, {
          start: { line: 0, character: 0 },
          end: { line: 0, character: Math.min(firstLen, 200) },
        }),
      ],
      stats: { lines, understood: 0, skipped: lines },
    };
  }
  try {
    return handler.parse(text, path);
  } catch (err) {
    // Counted only here: on a 100 MB trace a needless line count costs tens of milliseconds.
    const lines = countLines(text);
    return {
      format: id,
      events: [],
      findings: [makeFinding('IDR001', `internal error in the ${id} parser: ${(err as Error).message}`, { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } })],
      stats: { lines, understood: 0, skipped: lines },
    };
  }
}

// ---------------------------------------------------------------------------------------------

export interface CheckOptions {
  /** Host dump path (absolute, or relative to the checked file's directory); overrides a `host` line. */
  host?: string;
  /** Kernel version whose rules apply; overrides a `kernel` line. */
  kernel?: string;
  /** Reads a file (host dumps). Default: the file system, as UTF-8. */
  readFile?: (absPath: string) => string | Error;
  /** Keep at most this many findings (errors first, then by position). */
  maxFindings?: number;
  /** When set, host files outside this folder are refused (untrusted workspaces). */
  workspaceRoot?: string;
}

export type { ReplayResult };

export interface HostInfo {
  /** Absolute path of the host file (as resolved). */
  path: string;
  dump?: RegisterDump;
  format?: FormatId;
  /** Why the host could not be used. */
  error?: string;
}

export interface FileReport {
  path: string;
  format: FormatId;
  /** Sorted by position. */
  findings: Finding[];
  stats: ParseStats;
  /** For a trace replayed while read (src/stream.ts), `events` is empty: they were dropped once replayed. */
  parse: ParseResult;
  /** Encoding keys of the registers the trace's events name, when the events were not kept. */
  touched?: ReadonlySet<number>;
  replay?: ReplayResult;
  /** The VM's final state (replay.vm), for views. */
  vm?: ReplayResult['vm'];
  host?: HostInfo;
  /** Findings dropped by maxFindings. */
  truncated?: number;
  /** Absolute paths of the other files this check read (host dumps), for re-checking on change. */
  dependencies: string[];
}

function defaultReadFile(absPath: string): string | Error {
  try {
    if (statSync(absPath).isDirectory()) return new Error('is a directory, not a dump file');
    return readFileSync(absPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return new Error('no such file');
    if (code === 'EACCES' || code === 'EPERM') return new Error('permission denied');
    if (code === 'EISDIR') return new Error('is a directory, not a dump file');
    return new Error((err as Error).message);
  }
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function isInside(root: string, path: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

const ZERO_RANGE: Range = { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } };

export interface HostResolution {
  info?: HostInfo;
  findings: Finding[];
}

/** Finds, reads and parses the host dump; every failure is one finding on the host line. */
function resolveHost(input: { path: string }, parse: ParseResult, options: CheckOptions): HostResolution {
  const hostEvents = parse.events.filter((e): e is HostEvent => e.kind === 'host');
  const findings: Finding[] = [];
  const baseDir = dirname(resolve(input.path));
  let requested: string | undefined;
  let where: Range = ZERO_RANGE;
  let origin: string;
  if (options.host !== undefined && options.host !== '') {
    requested = options.host;
    origin = '--host';
    if (hostEvents[0]) where = hostEvents[0].pathRange;
  } else if (hostEvents.length > 0) {
    requested = hostEvents[0]!.path;
    where = hostEvents[0]!.pathRange;
    origin = 'host';
    for (const extra of hostEvents.slice(1)) {
      if (extra.path !== requested) {
        findings.push(
          makeFinding('IDR001', `a trace has one host: this second host line is ignored (the first, '${requested}', is used)`, extra.pathRange, {
            related: [{ range: hostEvents[0]!.pathRange, message: 'the host that is used' }],
          }),
        );
      }
    }
  } else return { findings };
  const abs = isAbsolute(requested) ? requested : resolve(baseDir, requested);
  const fail = (reason: string): HostResolution => {
    findings.push(makeFinding('IDR001', `host dump '${requested}' ${reason}; the trace is checked without host limits`, where));
    return { info: { path: abs, error: reason }, findings };
  };
  if (options.workspaceRoot !== undefined && !isInside(options.workspaceRoot, abs)) {
    return fail('is outside the workspace, and host files outside an untrusted workspace are not read');
  }
  let text: string | Error;
  try {
    text = (options.readFile ?? defaultReadFile)(abs);
  } catch (err) {
    text = err instanceof Error ? err : new Error(String(err));
  }
  if (text instanceof Error) return fail(`cannot be read (${text.message})${origin === '--host' ? ' (from --host)' : ''}`);
  const hostParse = parseDocument(stripBom(text), abs);
  if (hostParse.format === 'unknown') return fail(`is not in a format that holds register values (${formatList()})`);
  if (!hostParse.dump) return fail(`is a ${hostParse.format} file, which holds no register values; expected a dump (e.g. .iddump)`);
  const info: HostInfo = { path: abs, dump: hostParse.dump, format: hostParse.format };
  const problems = hostParse.findings.filter((f) => f.severity === 'error');
  if (problems.length > 0) {
    const first = problems[0]!;
    findings.push(
      makeFinding(
        'IDR001',
        `host dump '${requested}' has ${problems.length} problem${problems.length === 1 ? '' : 's'} (first, line ${first.range.start.line + 1}: ${first.message}); the values it could read are used`,
        where,
        { related: problems.slice(0, 20).map((f) => ({ path: abs, range: f.range, message: `${f.code}: ${f.message}` })) },
      ),
    );
  }
  if (hostParse.dump.entries.length === 0) {
    findings.push(makeFinding('IDR001', `host dump '${requested}' holds no register values; the trace is checked without host limits`, where));
    return { info: { ...info, error: 'no register values' }, findings };
  }
  return { info, findings };
}

// ---------------------------------------------------------------------------------------------
// Judging a dump-like document against a host (IDR030)

export interface HostJudgeOptions {
  kernel?: string;
  /** The host file, for related locations. */
  hostPath?: string;
}

/** What a host's KVM says to the values a non-trace document holds or proposes. */
export type HostJudge = (parse: ParseResult, host: RegisterDump, options: HostJudgeOptions) => Finding[];

/**
 * The built-in judge: each dump value must be a write the host accepts before the VM runs (src/diff.ts,
 * shared with `idreg diff`). formats/detect.ts may replace it with one that also knows templates'
 * vCPU-feature edits and the writes that logs record (registerHostJudge(judgeAgainstHost)).
 */
function judgeDump(parse: ParseResult, host: RegisterDump, options: HostJudgeOptions): Finding[] {
  const dump = parse.dump;
  if (!dump || dump.entries.length === 0) return [];
  const features = dump.features ?? host.features;
  return judgeDumpEntries(dump.entries, host, { ...(options.kernel !== undefined ? { kernel: options.kernel } : {}), ...(features ? { features } : {}) }, {
    what: dump.isTemplate ? 'template' : 'dump',
    hostName: 'the host',
    ...(options.hostPath !== undefined ? { hostPath: options.hostPath } : {}),
    missingSeverity: dump.isTemplate ? 'warning' : 'information',
  });
}

let hostJudge: HostJudge = judgeDump;

/** Replaces the judge of non-trace documents against a host (formats/detect.ts registers its own); undefined restores the built-in. */
export function registerHostJudge(judge: HostJudge | undefined): void {
  hostJudge = judge ?? judgeDump;
}

/** Checks one document. Never throws: a failure of any stage becomes a finding. */
export function checkDocument(input: { path: string; text: string }, options: CheckOptions = {}): FileReport {
  return checkParsed(input.path, parseDocument(stripBom(input.text), input.path), options);
}

/**
 * Checks a document again after an edit, re-parsing only around the changed lines when its format can
 * (ftrace); undefined when it cannot, and the caller checks the whole text. The host and the replay are
 * done again in full: a trace's events are few next to its lines (one per register and vCPU).
 */
export function recheckDocument(prev: FileReport, source: LineSource, change: LineChange, options: CheckOptions = {}): FileReport | undefined {
  const reparse = registry.find((h) => h.id === prev.format)?.reparse;
  if (!reparse) return undefined;
  let parse: ParseResult | undefined;
  try {
    parse = reparse(prev.parse, source, change);
  } catch {
    parse = undefined; // the full check that follows reports what the parser has to say
  }
  if (!parse) return undefined;
  // The host comes from the options (formats that resume have no host lines): the one read for the
  // previous report is still it. The language server checks in full when a host file changes on disk.
  const host = hostOfReport.get(prev);
  if (!host || parse.events.some((e) => e.kind === 'host')) return checkParsed(prev.path, parse, options);
  // An edit that changed no event (most edits of a trace: events are one per register and vCPU) leaves the
  // replay as it was.
  const replayed = prev.replay;
  if (change.delta === 0 && replayed && sameEvents(prev.parse.events, parse.events)) return checkParsed(prev.path, parse, options, { host, result: () => replayed });
  return checkParsed(prev.path, parse, options, { host });
}

function sameEvents(a: readonly TraceEvent[], b: readonly TraceEvent[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && eventText(a[i]!) !== eventText(b[i]!)) return false;
  return true;
}

function eventText(e: TraceEvent): string {
  return JSON.stringify(e, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
}

/** Whether documents of this format can be checked again after an edit without parsing all of them. */
export function resumableFormat(format: FormatId): boolean {
  return registry.some((h) => h.id === format && h.reparse !== undefined);
}

/** The parser that reads `format` in blocks, when it has one. */
export function streamParser(format: FormatId, needs: StreamNeeds = { dumpEntries: true }): StreamParser | undefined {
  return registry.find((h) => h.id === format)?.stream?.(needs);
}

/**
 * A trace replayed while it was read (the CLI's block reader): the host was resolved from the events before
 * the first access, and the replay session holds the result.
 */
export interface StreamedReplay {
  host: HostResolution;
  /** The replay's result; without it the events are replayed here. */
  result?: () => ReplayResult;
  /** The registers the dropped events named (FileReport.touched). */
  touched?: ReadonlySet<number>;
}

/** How each report's host was resolved, so that a re-check after an edit does not read the host again. */
const hostOfReport = new WeakMap<FileReport, HostResolution>();

/** The host of a trace from its leading events (host lines), for a replay that starts before the end is read. */
export function resolveTraceHost(path: string, leading: ParseResult, options: CheckOptions): HostResolution {
  return resolveHost({ path }, leading, options);
}

/** What the VM model is given: the kernel option, the usable host, the trace's path. */
export function replayOptionsFor(path: string, host: HostInfo | undefined, options: CheckOptions): ReplayOptions {
  const usable = host && !host.error && host.dump ? host : undefined;
  return {
    ...(options.kernel !== undefined && options.kernel !== '' ? { kernel: options.kernel } : {}),
    ...(usable ? { host: { dump: usable.dump!, path: usable.path } } : {}),
    path,
  };
}

/** Everything after parsing: host, replay or judgement, the findings cap and order. Never throws. */
export function checkParsed(path: string, parse: ParseResult, options: CheckOptions = {}, streamed?: StreamedReplay): FileReport {
  const input = { path };
  let resolution: HostResolution | undefined;
  const findings: Finding[] = [...parse.findings];
  const dependencies: string[] = [];
  let host: HostInfo | undefined;
  let replayResult: ReplayResult | undefined;
  // A dump-like format checks its values against a host; anything with accesses is a trace to replay.
  const accesses = streamed?.result !== undefined || parse.events.some((e) => e.kind !== 'host' && e.kind !== 'kernel');
  const proposes = ((parse as { proposed?: unknown[] }).proposed?.length ?? 0) > 0;
  const isTrace = parse.format !== 'unknown' && (accesses || (parse.dump === undefined && !proposes));
  if (parse.format !== 'unknown' && (isTrace || options.host || parse.events.length > 0)) {
    const h = streamed?.host ?? resolveHost(input, parse, options);
    resolution = h;
    appendAll(findings, h.findings);
    host = h.info;
    if (host) dependencies.push(host.path);
  }
  const usableHost = host && !host.error && host.dump ? host : undefined;
  if (isTrace) {
    try {
      replayResult = streamed?.result ? streamed.result() : replay(parse.events, replayOptionsFor(input.path, usableHost, options));
      appendAll(findings, replayResult.findings);
    } catch (err) {
      findings.push(makeFinding('IDR001', `internal error in the VM model: ${(err as Error).message}`, ZERO_RANGE));
    }
  } else if (usableHost && parse.format !== 'unknown') {
    try {
      const kernel = options.kernel || parse.dump?.kernel;
      appendAll(findings, hostJudge(parse, usableHost.dump!, { ...(kernel ? { kernel } : {}), hostPath: usableHost.path }));
    } catch (err) {
      findings.push(makeFinding('IDR001', `internal error while judging against the host: ${(err as Error).message}`, ZERO_RANGE));
    }
  }
  let kept = findings;
  let truncated: number | undefined;
  if (options.maxFindings !== undefined && options.maxFindings >= 0 && findings.length > options.maxFindings) {
    kept = [...findings].sort(compareFindings).slice(0, options.maxFindings);
    truncated = findings.length - kept.length;
  }
  kept.sort((a, b) => compareByPosition(a, b) || (a.code < b.code ? -1 : a.code > b.code ? 1 : 0));
  const report: FileReport = {
    path: input.path,
    format: parse.format,
    findings: kept,
    stats: parse.stats,
    parse,
    ...(replayResult ? { replay: replayResult, vm: replayResult.vm } : {}),
    ...(host ? { host } : {}),
    ...(truncated !== undefined ? { truncated } : {}),
    ...(streamed?.touched ? { touched: streamed.touched } : {}),
    dependencies,
  };
  if (resolution) hostOfReport.set(report, resolution);
  return report;
}

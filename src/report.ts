// Renders FileReports the three ways `idreg check` prints them: compiler-style text, the JSON of
// design.md (a public interface: keys may be added, never removed or renamed) and SARIF 2.1.0 for
// GitHub code scanning. Pure functions of the reports; paths are shown relative to `cwd` when inside it.
import { isAbsolute, relative, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { FINDING_CODES, type Finding, type FindingCode, type Range, type Severity } from './findings.ts';
import type { FileReport } from './check.ts';

/** The README, which has one heading per finding code (anchor = the code in lower case). */
export const DOCS_URL = 'https://github.com/idreg-lens/idreg-lens';
export const TOOL_NAME = 'idreg';
export const TOOL_FULL_NAME = 'ID Register Lens';

export function codeHelpUri(code: string): string {
  return `${DOCS_URL}#${code.toLowerCase()}`;
}

/** Short PascalCase names of the rules (SARIF reportingDescriptor.name). */
export const RULE_NAMES: Record<FindingCode, string> = {
  IDR001: 'SyntaxNotUnderstood',
  IDR002: 'UnknownRegisterEncoding',
  IDR003: 'NameEncodingMismatch',
  IDR004: 'MalformedNumber',
  IDR010: 'WriteAboveHostLimit',
  IDR011: 'WriteChangesFixedBits',
  IDR012: 'WriteAfterRun',
  IDR013: 'AccessBeforeVcpuInit',
  IDR014: 'VcpuFeatureMismatch',
  IDR015: 'RecordedResultDiffers',
  IDR020: 'GuestReadMismatch',
  IDR021: 'GuestWriteToReadOnly',
  IDR022: 'VcpusDisagree',
  IDR030: 'DumpNotSafeSubset',
  IDR031: 'MigrationFieldUnsafe',
};

export interface RenderOptions {
  /** Paths inside this folder are printed relative to it. */
  cwd?: string;
}

export function displayPath(path: string, cwd?: string): string {
  if (cwd === undefined || !isAbsolute(path)) return path;
  const rel = relative(cwd, path);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) return path;
  return sep === '/' ? rel : rel.split(sep).join('/');
}

export interface Summary {
  files: number;
  lines: number;
  understood: number;
  skipped: number;
  findings: number;
  errors: number;
  warnings: number;
  information: number;
  hints: number;
  /** Findings left out by a cap (maxFindings). */
  truncated: number;
}

export function summarize(reports: readonly FileReport[]): Summary {
  const s: Summary = { files: reports.length, lines: 0, understood: 0, skipped: 0, findings: 0, errors: 0, warnings: 0, information: 0, hints: 0, truncated: 0 };
  for (const r of reports) {
    s.lines += r.stats.lines;
    s.understood += r.stats.understood;
    s.skipped += r.stats.skipped;
    s.truncated += r.truncated ?? 0;
    for (const f of r.findings) {
      s.findings++;
      if (f.severity === 'error') s.errors++;
      else if (f.severity === 'warning') s.warnings++;
      else if (f.severity === 'information') s.information++;
      else s.hints++;
    }
  }
  return s;
}

/** Whether any finding has error severity (exit code 1). */
export function hasErrors(reports: readonly FileReport[]): boolean {
  return reports.some((r) => r.findings.some((f) => f.severity === 'error'));
}

// ---------------------------------------------------------------------------------------------
// Text

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function position(range: Range): string {
  return `${range.start.line + 1}:${range.start.character + 1}`;
}

export function summaryLine(s: Summary): string {
  const parts = [plural(s.errors, 'error'), plural(s.warnings, 'warning')];
  if (s.information > 0) parts.push(`${s.information} information`);
  if (s.hints > 0) parts.push(plural(s.hints, 'hint'));
  const more = s.truncated > 0 ? ` (${s.truncated} more not shown)` : '';
  return `${plural(s.files, 'file')} checked: ${plural(s.lines, 'line')} read, ${s.understood} understood, ${s.skipped} skipped; ${parts.join(', ')}${more}`;
}

/** `path:line:col: error IDR010: message` per finding (1-based), `note:` lines for related locations, then a summary line. */
export function renderText(reports: readonly FileReport[], opts: RenderOptions = {}): string {
  return collect((write) => writeText(reports, opts, write));
}

/** renderText's text, handed to `write` in pieces of about 64 KiB (a million findings are 150 MB of text). */
export function writeText(reports: readonly FileReport[], opts: RenderOptions, write: (text: string) => void): void {
  const out = new PieceWriter(write);
  for (const r of reports) {
    const path = displayPath(r.path, opts.cwd);
    for (const f of r.findings) {
      out.line(`${path}:${position(f.range)}: ${f.severity} ${f.code}: ${f.message}`);
      for (const rel of f.related) {
        const relPath = rel.path === undefined ? path : displayPath(rel.path, opts.cwd);
        out.line(`${relPath}:${position(rel.range)}: note: ${rel.message}`);
      }
    }
  }
  out.line(summaryLine(summarize(reports)));
  out.end();
}

/** Text handed out in pieces of about 64 KiB: big outputs are never one string. */
class PieceWriter {
  private buffered: string[] = [];
  private size = 0;
  constructor(private readonly write: (text: string) => void) {}

  add(text: string): void {
    this.buffered.push(text);
    this.size += text.length;
    if (this.size >= 65536) this.flush();
  }

  line(text: string): void {
    this.add(text + '\n');
  }

  end(): void {
    if (this.buffered.length > 0) this.flush();
  }

  private flush(): void {
    this.write(this.buffered.join(''));
    this.buffered = [];
    this.size = 0;
  }
}

function collect(writeAll: (write: (text: string) => void) => void): string {
  const parts: string[] = [];
  writeAll((t) => parts.push(t));
  return parts.join('');
}

/**
 * Writes JSON.stringify(skeleton, null, 2) + '\n', where the string arrays[i].marker in the skeleton stands
 * for an array whose items arrays[i].items makes one at a time: the same text, but never more than
 * one item's JSON at once. Markers appear in the skeleton's text in the order of `arrays`.
 */
function writeSpliced(skeleton: unknown, arrays: readonly { marker: string; length: number; items: Iterable<unknown> }[], write: (text: string) => void): void {
  const text = JSON.stringify(skeleton, null, 2);
  const out = new PieceWriter(write);
  let at = 0;
  for (const a of arrays) {
    const token = JSON.stringify(a.marker);
    const k = text.indexOf(token, at);
    const lineStart = text.lastIndexOf('\n', k) + 1;
    let indentEnd = lineStart;
    while (text.charCodeAt(indentEnd) === 32) indentEnd++;
    const keyIndent = text.slice(lineStart, indentEnd);
    out.add(text.slice(at, k));
    if (a.length === 0) out.add('[]');
    else {
      const indent = keyIndent + '  ';
      out.add('[\n');
      let first = true;
      for (const item of a.items) {
        out.add((first ? '' : ',\n') + indent + JSON.stringify(item, null, 2).replace(/\n/g, '\n' + indent));
        first = false;
      }
      out.add('\n' + keyIndent + ']');
    }
    at = k + token.length;
  }
  out.add(text.slice(at) + '\n');
  out.end();
}

/** A string no JSON we write contains, standing for an array in a skeleton (writeSpliced). */
function arrayMarker(name: string): string {
  return `\u0000idreg-${name}`;
}

// ---------------------------------------------------------------------------------------------
// JSON (design.md `check --format json`)

export interface JsonRelated {
  path?: string;
  range: Range;
  message: string;
}

export interface JsonFinding {
  code: FindingCode;
  severity: Severity;
  message: string;
  range: Range;
  related: JsonRelated[];
  errno?: string;
  register?: string;
  field?: string;
  fixes?: { title: string; range: Range; newText: string }[];
}

export interface JsonFile {
  path: string;
  format: string;
  findings: JsonFinding[];
  stats: { lines: number; understood: number; skipped: number };
  host?: { path: string; format?: string; error?: string };
  truncated?: number;
}

export interface JsonOutput {
  files: JsonFile[];
  summary: Summary;
}

function copyRange(r: Range): Range {
  return { start: { line: r.start.line, character: r.start.character }, end: { line: r.end.line, character: r.end.character } };
}

function jsonFinding(f: Finding, cwd: string | undefined): JsonFinding {
  const out: JsonFinding = {
    code: f.code,
    severity: f.severity,
    message: f.message,
    range: copyRange(f.range),
    related: f.related.map((r) => ({ ...(r.path !== undefined ? { path: displayPath(r.path, cwd) } : {}), range: copyRange(r.range), message: r.message })),
  };
  if (f.errno !== undefined) out.errno = f.errno;
  if (f.register !== undefined) out.register = f.register;
  if (f.field !== undefined) out.field = f.field;
  if (f.fixes && f.fixes.length > 0) out.fixes = f.fixes.map((x) => ({ title: x.title, range: copyRange(x.range), newText: x.newText }));
  return out;
}

function toJsonFile(r: FileReport, opts: RenderOptions): JsonFile {
  const file: JsonFile = {
    path: displayPath(r.path, opts.cwd),
    format: r.format,
    findings: r.findings.map((f) => jsonFinding(f, opts.cwd)),
    stats: { lines: r.stats.lines, understood: r.stats.understood, skipped: r.stats.skipped },
  };
  if (r.host) file.host = { path: displayPath(r.host.path, opts.cwd), ...(r.host.format ? { format: r.host.format } : {}), ...(r.host.error ? { error: r.host.error } : {}) };
  if (r.truncated) file.truncated = r.truncated;
  return file;
}

export function toJson(reports: readonly FileReport[], opts: RenderOptions = {}): JsonOutput {
  return { files: reports.map((r) => toJsonFile(r, opts)), summary: summarize(reports) };
}

export function renderJson(reports: readonly FileReport[], opts: RenderOptions = {}): string {
  return collect((write) => writeJson(reports, opts, write));
}

/**
 * renderJson's text, handed to `write` in pieces of about 64 KiB: a check of a 1M-line trace has thousands of
 * findings, and their JSON as one string (plus its bytes on the way out) is a good part of the CLI's peak
 * memory. The text is the same as JSON.stringify(toJson(reports), null, 2) + '\n', built finding by finding.
 */
function* jsonFindings(findings: readonly Finding[], cwd: string | undefined): Generator<JsonFinding> {
  for (const f of findings) yield jsonFinding(f, cwd);
}

export function writeJson(reports: readonly FileReport[], opts: RenderOptions, write: (text: string) => void): void {
  const arrays = reports.map((r, i) => ({ marker: arrayMarker(`findings-${i}`), length: r.findings.length, items: jsonFindings(r.findings, opts.cwd) }));
  const skeleton: JsonOutput = {
    files: reports.map((r, i) => ({ ...toJsonFile({ ...r, findings: [] }, opts), findings: arrays[i]!.marker as unknown as JsonFinding[] })),
    summary: summarize(reports),
  };
  writeSpliced(skeleton, arrays, write);
}

// ---------------------------------------------------------------------------------------------
// SARIF 2.1.0 (OASIS), as GitHub code scanning reads it

export interface SarifOptions extends RenderOptions {
  toolVersion: string;
}

const SARIF_SCHEMA = 'https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json';
const SRCROOT = '%SRCROOT%';

type SarifLevel = 'error' | 'warning' | 'note';

function sarifLevel(s: Severity): SarifLevel {
  return s === 'error' ? 'error' : s === 'warning' ? 'warning' : 'note';
}

/** SARIF regions are 1-based; endColumn is the column after the last character (so LSP's exclusive end + 1). */
function sarifRegion(r: Range): { startLine: number; startColumn: number; endLine: number; endColumn: number } {
  const startLine = r.start.line + 1;
  const startColumn = r.start.character + 1;
  let endLine = r.end.line + 1;
  let endColumn = r.end.character + 1;
  if (endLine < startLine || (endLine === startLine && endColumn < startColumn)) {
    endLine = startLine;
    endColumn = startColumn;
  }
  return { startLine, startColumn, endLine, endColumn };
}

function encodeRelative(rel: string): string {
  return rel.split('/').map(encodeURIComponent).join('/');
}

interface SarifArtifactLocation {
  uri: string;
  uriBaseId?: string;
  index?: number;
}

export type SarifLog = {
  $schema: string;
  version: '2.1.0';
  runs: Record<string, unknown>[];
};

/** The SARIF log of one `idreg check` run. */
export function toSarif(reports: readonly FileReport[], opts: SarifOptions): SarifLog {
  const { log, results } = sarifParts(reports, opts);
  (log.runs[0] as { results: unknown }).results = [...results()];
  return log;
}

export function renderSarif(reports: readonly FileReport[], opts: SarifOptions): string {
  return collect((write) => writeSarif(reports, opts, write));
}

/** renderSarif's text in pieces of about 64 KiB, result by result (toSarif's log as JSON). */
export function writeSarif(reports: readonly FileReport[], opts: SarifOptions, write: (text: string) => void): void {
  const { log, results, count } = sarifParts(reports, opts);
  const marker = arrayMarker('results');
  (log.runs[0] as { results: unknown }).results = marker;
  writeSpliced(log, [{ marker, length: count, items: results() }], write);
}

/**
 * The log with its run's `results` left out, and the results one by one. Every artifact is listed before
 * the first result is made (a pass over the findings' paths), as the log names them before its results.
 */
function sarifParts(reports: readonly FileReport[], opts: SarifOptions): { log: SarifLog; results: () => Iterable<Record<string, unknown>>; count: number } {
  const artifacts: { location: SarifArtifactLocation }[] = [];
  const artifactIndex = new Map<string, number>();
  const cwd = opts.cwd;
  const location = (path: string): SarifArtifactLocation => {
    let loc: SarifArtifactLocation;
    const shown = displayPath(path, cwd);
    if (cwd !== undefined && !isAbsolute(shown)) loc = { uri: encodeRelative(shown), uriBaseId: SRCROOT };
    else if (isAbsolute(path)) loc = { uri: pathToFileURL(path).href };
    else loc = { uri: encodeRelative(path.split(sep).join('/')) };
    const key = `${loc.uriBaseId ?? ''}|${loc.uri}`;
    let index = artifactIndex.get(key);
    if (index === undefined) {
      index = artifacts.length;
      artifacts.push({ location: { ...loc } });
      artifactIndex.set(key, index);
    }
    return { ...loc, index };
  };
  let count = 0;
  for (const r of reports) {
    location(r.path);
    for (const f of r.findings) for (const rel of f.related) if (rel.path !== undefined) location(rel.path);
    count += r.findings.length;
  }
  const codes = Object.keys(FINDING_CODES) as FindingCode[];
  const ruleIndex = new Map(codes.map((c, i) => [c, i]));
  const rules = codes.map((code) => ({
    id: code,
    name: RULE_NAMES[code],
    shortDescription: { text: FINDING_CODES[code].title },
    fullDescription: { text: `${code}: ${FINDING_CODES[code].title}.` },
    helpUri: codeHelpUri(code),
    help: { text: `See ${codeHelpUri(code)}`, markdown: `See [${code} in the README](${codeHelpUri(code)}).` },
    defaultConfiguration: { level: sarifLevel(FINDING_CODES[code].severity) },
    properties: { tags: ['kvm', 'arm64', 'id-registers'] },
  }));
  function* results(): Generator<Record<string, unknown>> {
    for (const r of reports) {
      const fileLoc = location(r.path);
      for (const f of r.findings) {
        const result: Record<string, unknown> = {
          ruleId: f.code,
          ruleIndex: ruleIndex.get(f.code),
          level: sarifLevel(f.severity),
          message: { text: f.message },
          locations: [{ physicalLocation: { artifactLocation: fileLoc, region: sarifRegion(f.range) } }],
        };
        if (f.related.length > 0) {
          result.relatedLocations = f.related.map((rel, i) => ({
            id: i + 1,
            physicalLocation: { artifactLocation: rel.path === undefined ? fileLoc : location(rel.path), region: sarifRegion(rel.range) },
            message: { text: rel.message },
          }));
        }
        if (f.fixes && f.fixes.length > 0) {
          result.fixes = f.fixes.map((x) => ({
            description: { text: x.title },
            artifactChanges: [{ artifactLocation: fileLoc, replacements: [{ deletedRegion: sarifRegion(x.range), insertedContent: { text: x.newText } }] }],
          }));
        }
        const props: Record<string, string> = {};
        if (f.errno !== undefined) props.errno = f.errno;
        if (f.register !== undefined) props.register = f.register;
        if (f.field !== undefined) props.field = f.field;
        if (Object.keys(props).length > 0) result.properties = props;
        yield result;
      }
    }
  }
  const run: Record<string, unknown> = {
    tool: {
      driver: {
        name: TOOL_NAME,
        fullName: TOOL_FULL_NAME,
        version: opts.toolVersion,
        semanticVersion: opts.toolVersion,
        informationUri: DOCS_URL,
        rules,
      },
    },
    ...(cwd !== undefined ? { originalUriBaseIds: { [SRCROOT]: { uri: pathToFileURL(cwd.endsWith(sep) ? cwd : cwd + sep).href } } } : {}),
    artifacts,
    results: [],
    columnKind: 'utf16CodeUnits',
  };
  return { log: { $schema: SARIF_SCHEMA, version: '2.1.0', runs: [run] }, results, count };
}

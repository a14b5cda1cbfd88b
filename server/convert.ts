// Core records → LSP records. No logic beyond the mapping, the cap on published diagnostics and URI/path
// conversion.
import { isAbsolute, dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  DiagnosticSeverity,
  type Diagnostic,
  type DiagnosticRelatedInformation,
  type Range as LspRange,
} from 'vscode-languageserver';
import { compareFindings, type Finding, type Range, type Severity } from '../src/findings.ts';
import { codeHref } from './protocol.ts';

export function toSeverity(s: Severity): DiagnosticSeverity {
  switch (s) {
    case 'error':
      return DiagnosticSeverity.Error;
    case 'warning':
      return DiagnosticSeverity.Warning;
    case 'information':
      return DiagnosticSeverity.Information;
    default:
      return DiagnosticSeverity.Hint;
  }
}

export function toRange(r: Range): LspRange {
  return { start: { line: r.start.line, character: r.start.character }, end: { line: r.end.line, character: r.end.character } };
}

/** A file system path for a document URI; for other schemes (untitled:) the URI's path part. */
export function uriToPath(uri: string): string {
  if (uri.startsWith('file:')) {
    try {
      return fileURLToPath(uri);
    } catch {
      /* fall through */
    }
  }
  const m = /^[a-z][a-z0-9+.-]*:(?:\/\/[^/]*)?(.*)$/i.exec(uri);
  return m ? decodeURIComponent(m[1]!) : uri;
}

export function pathToUri(path: string): string {
  return pathToFileURL(path).href;
}

/** Resolves a RelatedLocation path (undefined = same file; relative = against the document's folder). */
export function relatedUri(docUri: string, path: string | undefined): string {
  if (path === undefined || path === '') return docUri;
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(path)) return path;
  if (isAbsolute(path)) return pathToUri(path);
  if (docUri.startsWith('file:')) return pathToUri(resolve(dirname(uriToPath(docUri)), path));
  return docUri;
}

export interface DiagnosticOptions {
  maxProblems: number;
  relatedInformation: boolean;
  codeDescription: boolean;
}

export interface PublishedDiagnostics {
  diagnostics: Diagnostic[];
  hidden: number;
  counts: { errors: number; warnings: number; infos: number };
}

/** A message quoting a 20 MB token must not become a 20 MB publishDiagnostics. */
const MAX_MESSAGE = 2000;
function clip(text: string): string {
  return text.length <= MAX_MESSAGE ? text : `${text.slice(0, MAX_MESSAGE)}… (${text.length - MAX_MESSAGE} more characters)`;
}

export function findingToDiagnostic(docUri: string, f: Finding, opts: DiagnosticOptions): Diagnostic {
  const d: Diagnostic = {
    range: toRange(f.range),
    severity: toSeverity(f.severity),
    code: f.code,
    source: 'idreg',
    message: clip(f.message),
  };
  if (opts.codeDescription) d.codeDescription = { href: codeHref(f.code) };
  if (f.related.length > 0) {
    if (opts.relatedInformation) {
      d.relatedInformation = f.related.map(
        (r): DiagnosticRelatedInformation => ({
          location: { uri: relatedUri(docUri, r.path), range: toRange(r.range) },
          message: clip(r.message),
        }),
      );
    } else {
      // Clients without related information still get the evidence, in the message.
      d.message += f.related.map((r) => `\n  ${r.message} (line ${r.range.start.line + 1}${r.path ? ` of ${r.path}` : ''})`).join('');
    }
  }
  return d;
}

const SEVERITIES: Severity[] = ['error', 'warning', 'information', 'hint'];

/**
 * The first `max` findings in compareFindings order. Reports come sorted by position, and then taking them
 * severity by severity gives that order without sorting thousands of findings on every keystroke.
 */
function mostSevere(findings: readonly Finding[], max: number): Finding[] {
  for (let i = 1; i < findings.length; i++) {
    const a = findings[i - 1]!.range.start;
    const b = findings[i]!.range.start;
    if (b.line < a.line || (b.line === a.line && b.character < a.character)) return [...findings].sort(compareFindings).slice(0, max);
  }
  const kept: Finding[] = [];
  for (const severity of SEVERITIES) {
    for (const f of findings) {
      if (kept.length >= max) return kept;
      if (f.severity === severity) kept.push(f);
    }
  }
  return kept;
}

/**
 * The findings as diagnostics, errors first, at most `maxProblems` of them plus one summary diagnostic
 * that says how many were not shown (VS Code itself keeps only 1000 per file; performance.md §3.2).
 */
export function toDiagnostics(docUri: string, findings: readonly Finding[], opts: DiagnosticOptions): PublishedDiagnostics {
  const counts = { errors: 0, warnings: 0, infos: 0 };
  for (const f of findings) {
    if (f.severity === 'error') counts.errors++;
    else if (f.severity === 'warning') counts.warnings++;
    else counts.infos++;
  }
  const max = Math.max(0, Math.floor(opts.maxProblems));
  let kept: readonly Finding[] = findings;
  if (findings.length > max) kept = mostSevere(findings, max);
  const diagnostics = kept.map((f) => findingToDiagnostic(docUri, f, opts));
  const hidden = findings.length - kept.length;
  if (hidden > 0) {
    diagnostics.push({
      range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } },
      severity: DiagnosticSeverity.Information,
      source: 'idreg',
      message:
        `${hidden} more problem${hidden === 1 ? '' : 's'} not shown (idregLens.maxProblems is ${max}); ` +
        `${counts.errors} errors and ${counts.warnings} warnings in all. Run \`idreg check\` for the full list.`,
    });
  }
  return { diagnostics, hidden, counts };
}

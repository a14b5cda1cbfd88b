import type { Finding } from '../findings.ts';
import type { RegisterDump, TraceEvent } from '../model/events.ts';

/** Format ids as the JSON output's `format` field reports them. */
export type FormatId =
  | 'idtrace'
  | 'iddump'
  | 'ftrace'
  | 'firecracker-fingerprint'
  | 'firecracker-template'
  | 'firecracker-log'
  | 'get-reg-list'
  | 'proc-cpuinfo'
  | 'sysfs-identification'
  | 'cpusysregs'
  | 'qemu-log'
  | 'qemu-trace'
  | 'qemu-qmp'
  | 'register-list'
  | 'unknown';

export interface ParseStats {
  /** Lines (or records) read. */
  lines: number;
  /** Lines that produced an event, a value or were recognised as comments/headers/context. */
  understood: number;
  /** Lines that were not understood (each has an IDR001 finding) or were ignored on purpose. */
  skipped: number;
}

/** What a parser returns: never throws, never drops a line without saying so. */
export interface ParseResult {
  format: FormatId;
  events: TraceEvent[];
  /** Present for dump-like formats (values per register). */
  dump?: RegisterDump;
  /** Syntax-level findings (IDR001..IDR004). */
  findings: Finding[];
  stats: ParseStats;
}

/** Lines of a document as an editor holds them (the language server's chunked store). */
export interface LineSource {
  readonly lineCount: number;
  /** Lines [from, to) joined, each with its line terminator. */
  text(from: number, to: number): string;
}

/** Which lines changed since a parse: [first, endNew) in the new numbering; `delta` lines were added (removed when negative). */
export interface LineChange {
  first: number;
  endNew: number;
  delta: number;
}

/** Resumes a parse after an edit; undefined when it cannot (the caller parses the whole text). */
export type Reparser = (prev: ParseResult, source: LineSource, change: LineChange) => ParseResult | undefined;

/** What the caller of a block parser will read of its result. */
export interface StreamNeeds {
  /**
   * false: the result is only checked for findings and nothing will judge a dump's values (no host), so
   * its entries need not be kept (a template of 200k entries holds 5 MB of them).
   */
  dumpEntries: boolean;
}

/**
 * A parser fed a document in blocks (the CLI reads big files that way, so the text is never held whole).
 * Each text but the last ends at a line end; what a feed does not consume is passed again at the start of
 * the next text.
 */
export interface StreamParser {
  feed(text: string, firstLine: number, final: boolean): { consumed: number; nextLine: number };
  finish(): ParseResult;
}

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

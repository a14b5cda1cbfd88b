// One record per finding: diagnostics, hovers, CLI text/JSON/SARIF all render from it.

/** 0-based line and UTF-16 character, as LSP and the CLI's JSON use them. */
export interface Position {
  line: number;
  character: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export type Severity = 'error' | 'warning' | 'information' | 'hint';

/** Where the evidence for a finding lives: the write that set a value, the host dump line. */
export interface RelatedLocation {
  /** File path; undefined means the same file as the finding. */
  path?: string;
  range: Range;
  message: string;
}

/** A text edit that a quick fix applies (same file as the finding). */
export interface FindingFix {
  title: string;
  range: Range;
  newText: string;
}

export type FindingCode =
  | 'IDR001' | 'IDR002' | 'IDR003' | 'IDR004'
  | 'IDR010' | 'IDR011' | 'IDR012' | 'IDR013' | 'IDR014' | 'IDR015'
  | 'IDR020' | 'IDR021' | 'IDR022'
  | 'IDR030' | 'IDR031';

export interface Finding {
  code: FindingCode;
  severity: Severity;
  message: string;
  range: Range;
  related: RelatedLocation[];
  /** What KVM would answer, when the finding predicts a result ('-EINVAL', '-EBUSY', 'undef', ...). */
  errno?: string;
  /** Architectural register name the finding is about, when there is one. */
  register?: string;
  /** Field name the finding is about, when there is one. */
  field?: string;
  /** Edits that would resolve the finding (quick fixes in the editor). */
  fixes?: FindingFix[];
}

export interface FindingCodeInfo {
  severity: Severity;
  title: string;
}

/** The contract of design.md: stable codes, their default severity and one-line meaning. */
export const FINDING_CODES: Record<FindingCode, FindingCodeInfo> = {
  IDR001: { severity: 'error', title: 'line or record not understood (syntax)' },
  IDR002: { severity: 'error', title: 'unknown or unallocated register encoding where an ID register is expected' },
  IDR003: { severity: 'error', title: 'register name and encoding disagree on the same line' },
  IDR004: { severity: 'error', title: 'malformed number, or value wider than the register' },
  IDR010: { severity: 'error', title: 'write rejected: a field would exceed the host limit under its safe-value policy (KVM: -EINVAL)' },
  IDR011: { severity: 'error', title: 'write rejected: changes bits KVM does not let userspace change (KVM: -EINVAL)' },
  IDR012: { severity: 'error', title: 'write rejected: the VM has already run and the value differs (KVM: -EBUSY)' },
  IDR013: { severity: 'error', title: 'register access before the vCPU was initialised (KVM: -ENOEXEC)' },
  IDR014: { severity: 'error', title: "vCPU initialised with features that differ from the VM's (KVM: -EINVAL)" },
  IDR015: { severity: 'warning', title: 'the recorded result differs from what the model predicts' },
  IDR020: { severity: 'error', title: "a guest read returned a value other than the VM's value for that register" },
  IDR021: { severity: 'error', title: 'a guest write to a read-only ID register (must be UNDEFINED)' },
  IDR022: { severity: 'error', title: 'two vCPUs of one VM observed different values of a VM-wide register' },
  IDR030: { severity: 'error', title: 'a dump or template value is not a safe subset of the host limit (it would be refused)' },
  IDR031: { severity: 'error', title: 'migration: a field of the source is not safe on the destination host' },
};

export function lineRange(line: number, startChar: number, endChar: number): Range {
  return { start: { line, character: startChar }, end: { line, character: endChar } };
}

const QUOTED_MAX = 60;

/**
 * Messages quote the input they did not understand; a 20 MiB line or a file of control characters must
 * not turn into a 20 MiB message. Long quotes are shortened and control characters made visible.
 */
/**
 * Appends `from` to `to` one by one: push(...from) passes every element as an argument and overflows the
 * stack past ~120k of them (a 200k-entry template judged against a host: "Maximum call stack size exceeded").
 */
export function appendAll<T>(to: T[], from: readonly T[]): void {
  for (let i = 0; i < from.length; i++) to.push(from[i]!);
}

/**
 * Shortens every quote of 200 characters or more, as `/'([^']{200,})'/g` would, without the regex: on a
 * quote of megabytes its backtracking stack overflows (RangeError out of makeFinding, so out of the parser).
 */
function shortenLongQuotes(message: string): string {
  let out = '';
  let copied = 0;
  let open = message.indexOf("'");
  while (open >= 0) {
    const close = message.indexOf("'", open + 1);
    if (close < 0) break;
    const length = close - open - 1;
    if (length < 200) {
      // Not a long quote: its closing quote may open the next one.
      open = close;
      continue;
    }
    out += message.slice(copied, open) + `'${message.slice(open + 1, open + 1 + QUOTED_MAX)}…' (${length} characters)`;
    copied = close + 1;
    open = message.indexOf("'", copied);
  }
  return copied === 0 ? message : out + message.slice(copied);
}

export function sanitizeMessage(message: string): string {
  let out = message;
  if (out.length > 300) {
    // Only quotes far longer than any register, number or keyword: prose apostrophes pair up too.
    out = shortenLongQuotes(out);
    if (out.length > 2000) out = out.slice(0, 2000) + '…';
  }
  // eslint-disable-next-line no-control-regex
  return /[\u0000-\u0008\u000b-\u001f\u007f]/.test(out)
    // eslint-disable-next-line no-control-regex
    ? out.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    : out;
}

export function makeFinding(
  code: FindingCode,
  message: string,
  range: Range,
  extra: Partial<Omit<Finding, 'code' | 'message' | 'range'>> = {},
): Finding {
  return {
    code,
    severity: extra.severity ?? FINDING_CODES[code].severity,
    message: sanitizeMessage(message),
    range,
    related: extra.related ?? [],
    ...(extra.errno !== undefined ? { errno: extra.errno } : {}),
    ...(extra.register !== undefined ? { register: extra.register } : {}),
    ...(extra.field !== undefined ? { field: extra.field } : {}),
    ...(extra.fixes !== undefined ? { fixes: extra.fixes } : {}),
  };
}

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, information: 2, hint: 3 };

/** Errors first, then by position: the order the CLI prints and the cap on diagnostics keeps. */
export function compareFindings(a: Finding, b: Finding): number {
  return (
    SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity] ||
    a.range.start.line - b.range.start.line ||
    a.range.start.character - b.range.start.character
  );
}

export function compareByPosition(a: Finding, b: Finding): number {
  return a.range.start.line - b.range.start.line || a.range.start.character - b.range.start.character;
}

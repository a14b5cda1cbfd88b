// A tolerant JSON reader that keeps source offsets, fed in pieces (JsonStream below). Firecracker templates are hand-written and the
// published example itself misses a comma, so a strict JSON.parse would lose the whole file; this
// reader reports each syntax error with what it expected and carries on as a human would read it.
import type { Position, Range } from '../findings.ts';

/** Line starts of a text, for turning offsets into 0-based (line, character) positions. */
export class LineIndex {
  private readonly starts: number[] = [0];

  constructor(private readonly text: string) {
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }

  get lineCount(): number {
    // An empty text has no lines (as the native parsers count); a final newline does not start another.
    if (this.text.length === 0) return 0;
    const n = this.starts.length;
    return n > 1 && this.starts[n - 1] === this.text.length ? n - 1 : n;
  }

  lineOf(offset: number): number {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  positionAt(offset: number): Position {
    const line = this.lineOf(offset);
    return { line, character: offset - this.starts[line]! };
  }

  /**
   * The range of [start, end) for a finding: offsets are clamped into the text, and a position on the '\r'
   * or '\n' of a line end is the end of that line, so a CRLF file gives the same ranges as its LF twin and
   * no range reaches past the end of a line or of the file.
   */
  range(start: number, end: number): Range {
    const s = this.clampedPosition(start);
    const e = this.clampedPosition(Math.max(start, end));
    return { start: s, end: e.line < s.line || (e.line === s.line && e.character < s.character) ? s : e };
  }

  private clampedPosition(offset: number): Position {
    const o = Math.min(Math.max(0, offset), this.text.length);
    const line = this.lineOf(o);
    const start = this.starts[line]!;
    return { line, character: Math.min(o, this.lineEnd(line)) - start };
  }

  lineStart(line: number): number {
    return this.starts[line] ?? this.text.length;
  }

  lineEnd(line: number): number {
    const next = this.starts[line + 1];
    let end = next === undefined ? this.text.length : next - 1;
    if (end > this.lineStart(line) && this.text.charCodeAt(end - 1) === 13) end--;
    return end;
  }
}

/** The character a one-letter JSON escape stands for (`\n` -> newline), or undefined. */
/** Deeper nesting is reported once and the rest of the document ignored (no recursion limit to hit). */
export const MAX_DEPTH = 256;

export function simpleEscape(e: string): string | undefined {
  switch (e) {
    case '"':
    case '\\':
    case '/':
      return e;
    case 'b':
      return '\b';
    case 'f':
      return '\f';
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    default:
      return undefined;
  }
}

export function describeAt(text: string, pos: number): string {
  if (pos >= text.length) return 'the end of the file';
  const ch = text[pos]!;
  if (ch === '\n' || ch === '\r') return 'the end of the line';
  return `'${ch}'`;
}

// ---------------------------------------------------------------------------------------------
// The same reader, fed in pieces (the CLI's block reader)

/** What a JsonStream reports, in document order. Offsets are from the start of the whole text. */
export interface JsonEvents {
  /** An object or array opens at `start` (its '{' or '['). */
  begin(isObject: boolean, start: number): void;
  /** A member name was read in the innermost open object; the member's value, if any, comes next. */
  key(key: string): void;
  /**
   * A string (or a bare word read as one), number or literal value. `value` is the string's content, the
   * number as written, or the literal; contentStart/contentEnd are the string's content offsets.
   */
  leaf(kind: 'string' | 'number' | 'literal', start: number, end: number, value: string | boolean | null, contentStart: number, contentEnd: number): void;
  /** The innermost open object or array ends at `end` (just past its closing bracket, or where the reader gave up on it). */
  end(end: number): void;
  /** A syntax error, located; the errors are the ones scanJson reports, in the same order. */
  error(range: Range, message: string): void;
}

const O_TOP = 0;
const O_COLON = 1;
const O_VALUE = 2;
const O_AFTER = 3;
const O_AFTER_COMMA = 4;
const O_RECOVER = 5;
const A_TOP = 6;
const A_AFTER = 7;
const A_AFTER_COMMA = 8;
const A_RECOVER = 9;

const T_START = 0;
const T_AFTER = 1;
const T_TRAILING = 2;
const T_DONE = 3;

/** A copy of a string that does not keep the block it was cut from alive (V8 copies short slices anyway). */
export function ownString(text: string): string {
  return text.length < 13 ? text : (' ' + text).slice(1);
}

/**
 * scanJson for one document, fed in pieces that each end at a line end (but the last): it keeps only the
 * stack of open containers and reports values as events, so memory does not grow with the document. The
 * grammar, the recovery and the error messages are scanJson's, state for state: a piece boundary only ever
 * falls where the recursive reader would skip white space, a block comment or text it recovers over, since
 * no token crosses a line end. Positions are computed while the piece that holds them is at hand.
 */
export class JsonStream {
  private t = '';
  private base = 0;
  private final = false;
  private p = 0;
  /** Absolute offsets of the line starts in the current piece (the first is `base`). */
  private readonly starts: number[] = [];
  private firstLine = 0;
  private cursor = 0;
  /** Open containers: state and kind (true: object) per level; the current member name per object. */
  private readonly states: number[] = [];
  private readonly keys: string[] = [];
  private top = T_START;
  private skipping = false;
  private comma = -1;
  private commaPos: Position | undefined;
  private commentStart = -1;
  private commentPos: Position | undefined;
  private trailingStart = -1;
  private trailingPos: Position | undefined;
  private lastErrorStart = -1;
  private newlines = 0;
  private length = 0;
  private lastChar = -1;

  constructor(private readonly events: JsonEvents) {}

  /** Lines of everything fed so far, counted as LineIndex counts them. */
  get lineCount(): number {
    if (this.length === 0) return 0;
    return this.newlines + (this.lastChar === 10 ? 0 : 1);
  }

  /** The line after everything fed so far. */
  get nextLine(): number {
    return this.newlines;
  }

  feed(text: string, final: boolean): void {
    this.base = this.length;
    this.t = text;
    this.final = final;
    this.p = 0;
    this.firstLine = this.newlines;
    const starts = this.starts;
    starts.length = 0;
    starts.push(this.base);
    let nl = 0;
    for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) {
      starts.push(this.base + i + 1);
      nl++;
    }
    this.cursor = 0;
    if (this.skipping || this.top === T_TRAILING || this.top === T_DONE) this.p = text.length;
    this.run();
    if (!final) {
      // What a later error may point back to, located while its piece is here.
      if (this.comma >= 0 && this.commaPos === undefined) this.commaPos = this.position(this.comma);
    }
    this.newlines += nl;
    this.length += text.length;
    if (text.length > 0) this.lastChar = text.charCodeAt(text.length - 1);
    this.t = '';
  }

  /** Line of an absolute offset in the current piece (clamped into it). */
  lineAt(offset: number): number {
    return this.firstLine + this.lineIndex(this.clamp(offset));
  }

  /** Character of an absolute offset in the current piece; a line end's '\r' or '\n' is the end of its line. */
  characterAt(offset: number): number {
    const o = this.clamp(offset);
    const i = this.lineIndex(o);
    const s = this.starts;
    const ls = s[i]!;
    let le: number;
    if (i + 1 < s.length) le = s[i + 1]! - 1;
    else le = this.base + this.t.length;
    if (le > ls && this.t.charCodeAt(le - 1 - this.base) === 13) le--;
    return Math.min(o, le) - ls;
  }

  position(offset: number): Position {
    return { line: this.lineAt(offset), character: this.characterAt(offset) };
  }

  private clamp(offset: number): number {
    const end = this.base + this.t.length;
    return offset < this.base ? this.base : offset > end ? end : offset;
  }

  private lineIndex(o: number): number {
    const s = this.starts;
    let i = this.cursor;
    if (o >= s[i]!) {
      const n = s.length;
      let k = 0;
      while (i + 1 < n && s[i + 1]! <= o) {
        i++;
        if (++k === 8 && i + 1 < n && s[i + 1]! <= o) {
          let lo = i + 1;
          let hi = n - 1;
          while (lo < hi) {
            const mid = (lo + hi + 1) >> 1;
            if (s[mid]! <= o) lo = mid;
            else hi = mid - 1;
          }
          i = lo;
          break;
        }
      }
    } else {
      let lo = 0;
      let hi = i;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (s[mid]! <= o) lo = mid;
        else hi = mid - 1;
      }
      i = lo;
    }
    this.cursor = i;
    return i;
  }

  /** Absolute offsets; `startPos` locates a start in an earlier piece. */
  private error(start: number, end: number, message: string, startPos?: Position, endPos?: Position): void {
    if (this.lastErrorStart === start) return;
    this.lastErrorStart = start;
    const len = this.base + this.t.length;
    const s = Math.min(start, len);
    const e = Math.min(Math.max(end, s), len);
    // The one offset an error may name in an earlier piece without saving it: the start of the file.
    const sp = startPos ?? (s === 0 ? { line: 0, character: 0 } : this.position(s));
    const ep = endPos ?? (e === 0 ? { line: 0, character: 0 } : this.position(Math.max(s, e)));
    this.events.error({ start: sp, end: ep.line < sp.line || (ep.line === sp.line && ep.character < sp.character) ? sp : ep }, message);
  }

  /** Local offsets. */
  private err(start: number, end: number, message: string): void {
    this.error(this.base + start, this.base + end, message);
  }

  private skipSpace(): void {
    const t = this.t;
    if (this.commentStart >= 0) {
      const close = t.indexOf('*/', this.p);
      if (close < 0) {
        this.p = t.length;
        if (!this.final) return;
      } else this.p = close + 2;
      const start = this.commentStart;
      this.commentStart = -1;
      this.error(start, this.base + this.p, 'comments are not allowed in JSON', this.commentPos);
      this.commentPos = undefined;
    }
    for (;;) {
      const c = t.charCodeAt(this.p);
      if (c === 32 || c === 10 || c === 13 || c === 9) {
        this.p++;
        continue;
      }
      if (c === 0xfeff) {
        this.err(this.p, this.p + 1, 'a byte-order mark (U+FEFF) is not allowed in JSON');
        this.p++;
        continue;
      }
      if (c === 47 && (t.charCodeAt(this.p + 1) === 47 || t.charCodeAt(this.p + 1) === 42)) {
        const start = this.p;
        if (t.charCodeAt(this.p + 1) === 47) {
          const nl = t.indexOf('\n', this.p);
          this.p = nl < 0 ? t.length : nl;
        } else {
          const close = t.indexOf('*/', this.p + 2);
          if (close < 0 && !this.final) {
            // The comment goes on in the next piece.
            this.commentStart = this.base + start;
            this.commentPos = this.position(this.base + start);
            this.p = t.length;
            return;
          }
          this.p = close < 0 ? t.length : close + 2;
        }
        this.err(start, this.p, 'comments are not allowed in JSON');
        continue;
      }
      return;
    }
  }

  private atValueStart(): boolean {
    const c = this.t.charCodeAt(this.p);
    return c === 123 || c === 91 || c === 34 || c === 45 || (c >= 48 && c <= 57) || c === 116 || c === 102 || c === 110;
  }

  /** Skips white space; false when the piece ends there and more is to come (the caller returns). */
  private space(): boolean {
    this.skipSpace();
    return this.p < this.t.length || this.final;
  }

  private run(): void {
    const t = this.t;
    const len = t.length;
    const states = this.states;
    for (;;) {
      const d = states.length;
      if (d === 0) {
        switch (this.top) {
          case T_START:
            if (!this.space()) return;
            if (this.p >= len) {
              this.error(0, 0, 'expected a JSON value, but the file is empty');
              this.top = T_DONE;
              return;
            }
            this.top = T_AFTER;
            this.value();
            continue;
          case T_AFTER:
            if (!this.space()) return;
            if (this.p >= len) {
              this.top = T_DONE;
              return;
            }
            this.top = T_TRAILING;
            this.trailingStart = this.base + this.p;
            this.trailingPos = this.position(this.trailingStart);
            this.p = len;
            continue;
          case T_TRAILING:
            if (this.final) {
              this.error(this.trailingStart, this.base + len, 'unexpected text after the end of the JSON document', this.trailingPos);
              this.top = T_DONE;
            }
            return;
          default:
            return;
        }
      }
      switch (states[d - 1]) {
        case O_TOP: {
          if (!this.space()) return;
          const p = this.p;
          if (p >= len) {
            this.err(p, p, "expected '}' to close the object, but the file ends here (truncated?)");
            this.close();
            continue;
          }
          const c = t.charCodeAt(p);
          if (c === 125) {
            this.p++;
            this.close();
            continue;
          }
          if (c === 93) {
            this.err(p, p + 1, "expected '}' to close the object, found ']'");
            this.p++;
            this.close();
            continue;
          }
          let key: string;
          if (c === 34) key = this.string().value;
          else {
            const end = this.skipBareToken();
            this.err(p, end, `expected a member name in double quotes or '}', found ${describeAt(t, p)}`);
            key = t.slice(p, end).replace(/^'|'$/g, '');
          }
          this.keys[d - 1] = ownString(key);
          this.events.key(key);
          states[d - 1] = O_COLON;
          continue;
        }
        case O_COLON: {
          if (!this.space()) return;
          states[d - 1] = O_VALUE;
          if (t.charCodeAt(this.p) === 58) {
            this.p++;
            continue;
          }
          this.err(this.p, this.p + 1, `expected ':' after the member name "${this.keys[d - 1]}", found ${describeAt(t, this.p)}`);
          if (!this.atValueStart()) states[d - 1] = O_RECOVER;
          continue;
        }
        case O_VALUE: {
          if (!this.space()) return;
          states[d - 1] = O_AFTER;
          if (this.p >= len) {
            this.err(this.p, this.p, 'expected a value, but the file ends here (truncated?)');
            continue;
          }
          this.value();
          continue;
        }
        case O_AFTER: {
          if (!this.space()) return;
          const p = this.p;
          const n = t.charCodeAt(p);
          if (n === 44) {
            this.comma = this.base + p;
            this.commaPos = undefined;
            this.p++;
            states[d - 1] = O_AFTER_COMMA;
            continue;
          }
          if (n === 125) {
            this.p++;
            this.close();
            continue;
          }
          if (p >= len) {
            this.err(p, p, "expected ',' or '}' after the member, but the file ends here (truncated?)");
            this.close();
            continue;
          }
          if (n === 34) {
            this.err(p, p + 1, `expected ',' between members (missing comma after "${this.keys[d - 1]}")`);
            states[d - 1] = O_TOP;
            continue;
          }
          this.err(p, p + 1, `expected ',' or '}' after the member "${this.keys[d - 1]}", found ${describeAt(t, p)}`);
          states[d - 1] = O_RECOVER;
          continue;
        }
        case O_AFTER_COMMA:
        case A_AFTER_COMMA: {
          if (!this.space()) return;
          const object = states[d - 1] === O_AFTER_COMMA;
          if (t.charCodeAt(this.p) === (object ? 125 : 93)) {
            this.error(this.comma, this.comma + 1, object ? "a trailing comma before '}' is not allowed in JSON" : "a trailing comma before ']' is not allowed in JSON", this.commaPos, this.commaPos && { line: this.commaPos.line, character: this.commaPos.character + 1 });
          }
          this.comma = -1;
          this.commaPos = undefined;
          states[d - 1] = object ? O_TOP : A_TOP;
          continue;
        }
        case O_RECOVER: {
          let p = this.p;
          let c = 0;
          while (p < len) {
            c = t.charCodeAt(p);
            if (c === 44 || c === 34 || c === 125 || c === 93) break;
            p++;
          }
          this.p = p;
          if (p >= len) {
            if (!this.final) return;
            this.close();
            continue;
          }
          if (c === 44) {
            this.p++;
            states[d - 1] = O_TOP;
          } else if (c === 34) states[d - 1] = O_TOP;
          else {
            if (c === 125) this.p++;
            this.close();
          }
          continue;
        }
        case A_TOP: {
          if (!this.space()) return;
          const p = this.p;
          if (p >= len) {
            this.err(p, p, "expected ']' to close the array, but the file ends here (truncated?)");
            this.close();
            continue;
          }
          const c = t.charCodeAt(p);
          if (c === 93) {
            this.p++;
            this.close();
            continue;
          }
          if (c === 125) {
            this.err(p, p + 1, "expected ']' to close the array, found '}'");
            this.p++;
            this.close();
            continue;
          }
          states[d - 1] = A_AFTER;
          this.value();
          continue;
        }
        case A_AFTER: {
          if (!this.space()) return;
          const p = this.p;
          const n = t.charCodeAt(p);
          if (n === 44) {
            this.comma = this.base + p;
            this.commaPos = undefined;
            this.p++;
            states[d - 1] = A_AFTER_COMMA;
            continue;
          }
          if (n === 93) {
            this.p++;
            this.close();
            continue;
          }
          if (p >= len) {
            this.err(p, p, "expected ',' or ']' after the array element, but the file ends here (truncated?)");
            this.close();
            continue;
          }
          if (this.atValueStart()) {
            this.err(p, p + 1, "expected ',' between array elements (missing comma?)");
            states[d - 1] = A_TOP;
            continue;
          }
          this.err(p, p + 1, `expected ',' or ']' after the array element, found ${describeAt(t, p)}`);
          states[d - 1] = A_RECOVER;
          continue;
        }
        case A_RECOVER: {
          let p = this.p;
          let c = 0;
          while (p < len) {
            c = t.charCodeAt(p);
            if (c === 44 || c === 93 || c === 125) break;
            p++;
          }
          this.p = p;
          if (p >= len) {
            if (!this.final) return;
            this.close();
            continue;
          }
          if (c === 44) {
            this.p++;
            states[d - 1] = A_TOP;
          } else {
            if (c === 93) this.p++;
            this.close();
          }
          continue;
        }
        default:
          return;
      }
    }
  }

  private close(): void {
    this.states.pop();
    this.keys.length = this.states.length;
    this.events.end(this.base + this.p);
  }

  /** A value at the current offset (not at the end of the piece); the caller has set its own next state. */
  private value(): void {
    const t = this.t;
    const start = this.p;
    const c = t.charCodeAt(start);
    if (c === 123 || c === 91) {
      if (this.states.length >= MAX_DEPTH) {
        this.err(start, start + 1, `nesting deeper than ${MAX_DEPTH} levels`);
        // scanJson reads nothing more: the open containers end at the end of the file.
        this.skipping = true;
        this.p = t.length;
        return;
      }
      this.p++;
      this.states.push(c === 123 ? O_TOP : A_TOP);
      this.events.begin(c === 123, this.base + start);
      return;
    }
    const base = this.base;
    if (c === 34) {
      const s = this.string();
      this.events.leaf('string', base + start, base + this.p, s.value, base + start + 1, base + s.contentEnd);
      return;
    }
    if (c === 45 || (c >= 48 && c <= 57)) {
      let p = start;
      while (p < t.length) {
        const k = t.charCodeAt(p);
        if ((k >= 48 && k <= 57) || k === 45 || k === 43 || k === 46 || (k >= 97 && k <= 122) || (k >= 65 && k <= 90)) p++;
        else break;
      }
      this.p = p;
      const raw = t.slice(start, p);
      if (!/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(raw)) {
        this.err(start, p, `malformed number '${raw}': JSON numbers are decimal (put hex values in a string)`);
      }
      this.events.leaf('number', base + start, base + p, raw, base + start, base + p);
      return;
    }
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (t.startsWith(word, start)) {
        this.p = start + word.length;
        this.events.leaf('literal', base + start, base + this.p, value, base + start, base + this.p);
        return;
      }
    }
    const end = this.skipBareToken();
    this.err(start, end, `expected a value (string in double quotes, number, object, array, true, false or null), found ${describeAt(t, start)}`);
    const raw = t.slice(start, end);
    const unquoted = raw.length >= 2 && raw.startsWith("'") && raw.endsWith("'") ? raw.slice(1, -1) : raw;
    this.events.leaf('string', base + start, base + end, unquoted, base + start, base + end);
  }

  private skipBareToken(): number {
    const t = this.t;
    let p = this.p;
    if (t.charCodeAt(p) === 39 /* ' */) {
      p++;
      while (p < t.length) {
        const c = t.charCodeAt(p);
        if (c === 10 || c === 13) break;
        p++;
        if (c === 39) break;
      }
    } else {
      while (p < t.length && !',:}]{["\n\r \t'.includes(t[p]!)) p++;
      if (p === this.p) p++;
    }
    this.p = p;
    return p;
  }

  /** A string at the current offset; its content ends at contentEnd (local). */
  private string(): { value: string; contentEnd: number } {
    const t = this.t;
    const start = this.p;
    let p = start + 1;
    // The common case, a string without escapes or control characters: one slice.
    const q = t.indexOf('"', p);
    if (q >= 0) {
      let plain = true;
      for (let i = p; i < q; i++) {
        const c = t.charCodeAt(i);
        if (c < 32 || c === 92) {
          plain = false;
          break;
        }
      }
      if (plain) {
        this.p = q + 1;
        return { value: t.slice(p, q), contentEnd: q };
      }
    }
    let out = '';
    let chunk = p;
    let controlReported = false;
    for (;;) {
      if (p >= t.length) {
        this.err(start, p, 'unterminated string: expected a closing \'"\' (the file ends inside a string)');
        break;
      }
      const c = t.charCodeAt(p);
      if (c === 34) break;
      if (c === 10 || c === 13) {
        this.err(start, p, 'unterminated string: expected a closing \'"\' before the end of the line');
        break;
      }
      if (c < 32) {
        if (!controlReported) {
          controlReported = true;
          this.err(p, p + 1, `control character U+${c.toString(16).toUpperCase().padStart(4, '0')} in a string: JSON needs it escaped (\\u${c.toString(16).padStart(4, '0')})`);
        }
        p++;
        continue;
      }
      if (c === 92) {
        out += t.slice(chunk, p);
        const e = t[p + 1];
        const simple = e === undefined ? undefined : simpleEscape(e);
        if (simple !== undefined) {
          out += simple;
          p += 2;
        } else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(t.slice(p + 2, p + 6))) {
          out += String.fromCharCode(parseInt(t.slice(p + 2, p + 6), 16));
          p += 6;
        } else if (e === undefined || e === '\n' || e === '\r') {
          p += 1;
        } else {
          const escaped = String.fromCodePoint(t.codePointAt(p + 1)!);
          this.err(p, p + 1 + escaped.length, `invalid escape '\\${escaped}' in a string`);
          p += 1 + escaped.length;
        }
        chunk = p;
        continue;
      }
      p++;
    }
    out += t.slice(chunk, p);
    const contentEnd = p;
    if (t.charCodeAt(p) === 34) p++;
    this.p = p;
    return { value: out, contentEnd };
  }
}

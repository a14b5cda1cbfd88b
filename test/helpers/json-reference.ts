// The recursive, tree-building JSON reader that src/formats/json-scan.ts's JsonStream replaced (it was the
// Firecracker reader until the CLI read files in blocks). Kept as the tests' oracle: JsonStream must report
// this reader's values and errors, state for state.
import { describeAt, MAX_DEPTH, simpleEscape } from '../../src/formats/json-scan.ts';
// The fuzz properties take the reader and its LineIndex from one module.
export { LineIndex } from '../../src/formats/json-scan.ts';

export interface NodeBase {
  /** Offset of the first character of the value (the opening quote for strings). */
  start: number;
  /** Offset just past the value. */
  end: number;
}

export interface JsonMember {
  key: string;
  /** Offsets of the key without its quotes. */
  keyStart: number;
  keyEnd: number;
  /** Missing when the member was cut off (truncated file, stray text). */
  value?: JsonValue;
}

export interface JsonObject extends NodeBase {
  kind: 'object';
  members: JsonMember[];
}

export interface JsonArray extends NodeBase {
  kind: 'array';
  items: JsonValue[];
}

export interface JsonString extends NodeBase {
  kind: 'string';
  value: string;
  /** Offsets of the content without the quotes (escapes make value differ from the source text). */
  contentStart: number;
  contentEnd: number;
}

export interface JsonNumber extends NodeBase {
  kind: 'number';
  /** The number as written: large one-reg ids lose precision as a JS number, so keep the text. */
  raw: string;
}

export interface JsonLiteral extends NodeBase {
  kind: 'literal';
  value: boolean | null;
}

export type JsonValue = JsonObject | JsonArray | JsonString | JsonNumber | JsonLiteral;

export interface JsonSyntaxError {
  start: number;
  end: number;
  message: string;
}

export interface JsonScan {
  /** Top-level values in order (one for a normal document; several for a QMP transcript). */
  values: JsonValue[];
  errors: JsonSyntaxError[];
}


class Scanner {
  pos = 0;
  readonly errors: JsonSyntaxError[] = [];

  constructor(private readonly text: string) {}

  error(start: number, end: number, message: string): void {
    // One error per offset is enough: recovery may look at the same spot twice.
    const last = this.errors[this.errors.length - 1];
    if (last && last.start === start) return;
    // An error at the end of the file marks the end itself, never a character past it.
    const len = this.text.length;
    const s = Math.min(start, len);
    this.errors.push({ start: s, end: Math.min(Math.max(end, s), len), message });
  }

  skipSpace(): void {
    const t = this.text;
    for (;;) {
      const c = t.charCodeAt(this.pos);
      if (c === 32 || c === 10 || c === 13 || c === 9) {
        this.pos++;
        continue;
      }
      if (c === 0xfeff) {
        // JSON.parse and Firecracker's serde_json refuse a byte-order mark; read on after saying so.
        this.error(this.pos, this.pos + 1, 'a byte-order mark (U+FEFF) is not allowed in JSON');
        this.pos++;
        continue;
      }
      // Comments are not JSON, but people paste them into templates; say so and read on.
      if (c === 47 /* / */ && (t.charCodeAt(this.pos + 1) === 47 || t.charCodeAt(this.pos + 1) === 42)) {
        const start = this.pos;
        if (t.charCodeAt(this.pos + 1) === 47) {
          const nl = t.indexOf('\n', this.pos);
          this.pos = nl < 0 ? t.length : nl;
        } else {
          const close = t.indexOf('*/', this.pos + 2);
          this.pos = close < 0 ? t.length : close + 2;
        }
        this.error(start, this.pos, 'comments are not allowed in JSON');
        continue;
      }
      return;
    }
  }

  atValueStart(): boolean {
    const c = this.text.charCodeAt(this.pos);
    return c === 123 || c === 91 || c === 34 || c === 45 || (c >= 48 && c <= 57) || c === 116 || c === 102 || c === 110;
  }

  parseValue(depth: number): JsonValue | undefined {
    this.skipSpace();
    const t = this.text;
    const start = this.pos;
    if (start >= t.length) {
      this.error(start, start, 'expected a value, but the file ends here (truncated?)');
      return undefined;
    }
    const c = t.charCodeAt(start);
    if (c === 123 || c === 91) {
      if (depth >= MAX_DEPTH) {
        this.error(start, start + 1, `nesting deeper than ${MAX_DEPTH} levels`);
        this.pos = t.length;
        return undefined;
      }
      return c === 123 ? this.parseObject(depth + 1) : this.parseArray(depth + 1);
    }
    if (c === 34) return this.parseString();
    if (c === 45 || (c >= 48 && c <= 57)) return this.parseNumber();
    for (const [word, value] of [['true', true], ['false', false], ['null', null]] as const) {
      if (t.startsWith(word, start)) {
        this.pos = start + word.length;
        return { kind: 'literal', value, start, end: this.pos };
      }
    }
    // A single-quoted string or a bare word: read it as a string so the rest of the record survives.
    const end = this.skipBareToken();
    this.error(start, end, `expected a value (string in double quotes, number, object, array, true, false or null), found ${describeAt(t, start)}`);
    const raw = t.slice(start, end);
    const unquoted = raw.length >= 2 && raw.startsWith("'") && raw.endsWith("'") ? raw.slice(1, -1) : raw;
    return { kind: 'string', value: unquoted, start, end, contentStart: start, contentEnd: end };
  }

  private skipBareToken(): number {
    const t = this.text;
    let p = this.pos;
    if (t.charCodeAt(p) === 39 /* ' */) {
      // Up to the closing quote, else to the end of the line (its '\r' excluded, as in the LF twin).
      p++;
      while (p < t.length) {
        const c = t.charCodeAt(p);
        if (c === 10 || c === 13) break;
        p++;
        if (c === 39) break;
      }
    } else {
      while (p < t.length && !',:}]{["\n\r \t'.includes(t[p]!)) p++;
      if (p === this.pos) p++;
    }
    this.pos = p;
    return p;
  }

  parseString(): JsonString {
    const t = this.text;
    const start = this.pos;
    let p = start + 1;
    let out = '';
    let chunk = p;
    let controlReported = false;
    for (;;) {
      if (p >= t.length) {
        this.error(start, p, 'unterminated string: expected a closing \'"\' (the file ends inside a string)');
        break;
      }
      const c = t.charCodeAt(p);
      if (c === 34) break;
      if (c === 10 || c === 13) {
        this.error(start, p, 'unterminated string: expected a closing \'"\' before the end of the line');
        break;
      }
      if (c < 32) {
        // JSON.parse and serde_json refuse raw control characters in strings ("\t" must be written escaped);
        // the first one of a string is reported (a string of a million tabs is one error, not a million).
        if (!controlReported) {
          controlReported = true;
          this.error(p, p + 1, `control character U+${c.toString(16).toUpperCase().padStart(4, '0')} in a string: JSON needs it escaped (\\u${c.toString(16).padStart(4, '0')})`);
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
          // A backslash at the end of the line (or file) escapes nothing: the string is unterminated
          // there, as the next turn of the loop reports (consuming the line end would read on into the next line).
          p += 1;
        } else {
          // The escaped character whole, a surrogate pair included.
          const escaped = String.fromCodePoint(t.codePointAt(p + 1)!);
          this.error(p, p + 1 + escaped.length, `invalid escape '\\${escaped}' in a string`);
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
    this.pos = p;
    return { kind: 'string', value: out, start, end: p, contentStart: start + 1, contentEnd };
  }

  parseNumber(): JsonNumber {
    const t = this.text;
    const start = this.pos;
    let p = start;
    while (p < t.length) {
      const c = t.charCodeAt(p);
      // Accept hex-looking tails too, so `0x1f` is read as one malformed token rather than three errors.
      if ((c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || (c >= 97 && c <= 122) || (c >= 65 && c <= 90)) p++;
      else break;
    }
    this.pos = p;
    const raw = t.slice(start, p);
    if (!/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(raw)) {
      this.error(start, p, `malformed number '${raw}': JSON numbers are decimal (put hex values in a string)`);
    }
    return { kind: 'number', raw, start, end: p };
  }

  parseObject(depth: number): JsonObject {
    const t = this.text;
    const obj: JsonObject = { kind: 'object', members: [], start: this.pos, end: this.pos };
    this.pos++;
    for (;;) {
      this.skipSpace();
      if (this.pos >= t.length) {
        this.error(this.pos, this.pos, "expected '}' to close the object, but the file ends here (truncated?)");
        break;
      }
      const c = t.charCodeAt(this.pos);
      if (c === 125) {
        this.pos++;
        break;
      }
      if (c === 93) {
        this.error(this.pos, this.pos + 1, "expected '}' to close the object, found ']'");
        this.pos++;
        break;
      }
      let key: JsonString;
      if (c === 34) key = this.parseString();
      else {
        const start = this.pos;
        const end = this.skipBareToken();
        this.error(start, end, `expected a member name in double quotes or '}', found ${describeAt(t, start)}`);
        const raw = t.slice(start, end);
        key = { kind: 'string', value: raw.replace(/^'|'$/g, ''), start, end, contentStart: start, contentEnd: end };
      }
      const member: JsonMember = { key: key.value, keyStart: key.contentStart, keyEnd: key.contentEnd };
      obj.members.push(member);
      this.skipSpace();
      if (t.charCodeAt(this.pos) === 58) this.pos++;
      else {
        this.error(this.pos, this.pos + 1, `expected ':' after the member name "${key.value}", found ${describeAt(t, this.pos)}`);
        if (!this.atValueStart()) {
          if (!this.recoverInObject()) break;
          continue;
        }
      }
      const value = this.parseValue(depth);
      if (value) member.value = value;
      this.skipSpace();
      const n = t.charCodeAt(this.pos);
      if (n === 44) {
        const comma = this.pos++;
        this.skipSpace();
        if (t.charCodeAt(this.pos) === 125) {
          this.error(comma, comma + 1, "a trailing comma before '}' is not allowed in JSON");
        }
        continue;
      }
      if (n === 125) {
        this.pos++;
        break;
      }
      if (this.pos >= t.length) {
        this.error(this.pos, this.pos, "expected ',' or '}' after the member, but the file ends here (truncated?)");
        break;
      }
      if (n === 34) {
        // The classic hand-editing slip: a member follows without the comma in between.
        this.error(this.pos, this.pos + 1, `expected ',' between members (missing comma after "${key.value}")`);
        continue;
      }
      this.error(this.pos, this.pos + 1, `expected ',' or '}' after the member "${key.value}", found ${describeAt(t, this.pos)}`);
      if (!this.recoverInObject()) break;
    }
    obj.end = this.pos;
    return obj;
  }

  /** Skips to the next member; false when the object ended (or the file did). */
  private recoverInObject(): boolean {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 44) {
        this.pos++;
        return true;
      }
      if (c === 34) return true;
      if (c === 125) {
        this.pos++;
        return false;
      }
      if (c === 93) return false;
      this.pos++;
    }
    return false;
  }

  parseArray(depth: number): JsonArray {
    const t = this.text;
    const arr: JsonArray = { kind: 'array', items: [], start: this.pos, end: this.pos };
    this.pos++;
    for (;;) {
      this.skipSpace();
      if (this.pos >= t.length) {
        this.error(this.pos, this.pos, "expected ']' to close the array, but the file ends here (truncated?)");
        break;
      }
      const c = t.charCodeAt(this.pos);
      if (c === 93) {
        this.pos++;
        break;
      }
      if (c === 125) {
        this.error(this.pos, this.pos + 1, "expected ']' to close the array, found '}'");
        this.pos++;
        break;
      }
      const before = this.pos;
      const value = this.parseValue(depth);
      if (value) arr.items.push(value);
      if (this.pos === before) this.pos++;
      this.skipSpace();
      const n = t.charCodeAt(this.pos);
      if (n === 44) {
        const comma = this.pos++;
        this.skipSpace();
        if (t.charCodeAt(this.pos) === 93) this.error(comma, comma + 1, "a trailing comma before ']' is not allowed in JSON");
        continue;
      }
      if (n === 93) {
        this.pos++;
        break;
      }
      if (this.pos >= t.length) {
        this.error(this.pos, this.pos, "expected ',' or ']' after the array element, but the file ends here (truncated?)");
        break;
      }
      if (this.atValueStart()) {
        this.error(this.pos, this.pos + 1, "expected ',' between array elements (missing comma?)");
        continue;
      }
      this.error(this.pos, this.pos + 1, `expected ',' or ']' after the array element, found ${describeAt(t, this.pos)}`);
      while (this.pos < t.length && !',]}'.includes(t[this.pos]!)) this.pos++;
      if (t.charCodeAt(this.pos) === 44) this.pos++;
      else if (t.charCodeAt(this.pos) === 93) {
        this.pos++;
        break;
      } else break;
    }
    arr.end = this.pos;
    return arr;
  }
}

/**
 * Reads JSON text with positions, never throwing. `multiple` accepts a sequence of top-level values
 * (QMP transcripts); otherwise text after the first value is an error.
 */
export function scanJson(text: string, options: { multiple?: boolean } = {}): JsonScan {
  const s = new Scanner(text);
  const values: JsonValue[] = [];
  s.skipSpace();
  if (s.pos >= text.length) {
    s.error(0, 0, 'expected a JSON value, but the file is empty');
    return { values, errors: s.errors };
  }
  while (s.pos < text.length) {
    const before = s.pos;
    const v = s.parseValue(0);
    if (v) values.push(v);
    if (s.pos === before) s.pos++;
    s.skipSpace();
    if (s.pos < text.length && !options.multiple) {
      s.error(s.pos, text.length, 'unexpected text after the end of the JSON document');
      break;
    }
  }
  return { values, errors: s.errors };
}

export function member(obj: JsonValue | undefined, key: string): JsonValue | undefined {
  if (!obj || obj.kind !== 'object') return undefined;
  for (const m of obj.members) if (m.key === key) return m.value;
  return undefined;
}

export function memberEntry(obj: JsonValue | undefined, key: string): JsonMember | undefined {
  if (!obj || obj.kind !== 'object') return undefined;
  return obj.members.find((m) => m.key === key);
}


// The server's own document store (performance.md §3.3, §5): lines kept in chunks of a few thousand,
// each line with its own terminator, so that a one-line edit touches one chunk and never copies the
// whole text. vscode-languageserver-textdocument's TextDocument rebuilds a flat string and shifts every
// later line offset on each edit (25–540 ms at 45–113 MB); here an edit costs O(chunk).
import type { Position, Range, TextDocumentContentChangeEvent } from 'vscode-languageserver';
import type { LineChange } from '../src/formats/types.ts';

const CHUNK_TARGET = 4096;
const CHUNK_MAX = 8192;
/** Splits text into lines, each keeping its terminator (\n, \r\n or \r); the last line may have none. */
const LINE_RE = /[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$/g;

export function splitLines(text: string): string[] {
  const lines: string[] = text.match(LINE_RE) ?? [];
  // A text that ends with a terminator (or is empty) has one more, empty, line (LSP counts it).
  if (text.length === 0 || /[\r\n]$/.test(text)) lines.push('');
  return lines;
}

function terminatorLength(line: string): number {
  if (line.endsWith('\r\n')) return 2;
  if (line.endsWith('\n') || line.endsWith('\r')) return 1;
  return 0;
}

/**
 * The change of two edits in a row, as one: the lines either touched, in the numbering after both.
 * Lines after the region map to the old numbering by the summed delta.
 */
export function mergeChanges(a: LineChange, b: LineChange): LineChange {
  const bEndOld = b.endNew - b.delta;
  let first: number;
  let endNew: number;
  if (a.endNew <= b.first) {
    first = a.first;
    endNew = b.endNew;
  } else if (a.first >= bEndOld) {
    first = b.first;
    endNew = a.endNew + b.delta;
  } else {
    first = Math.min(a.first, b.first);
    endNew = Math.max(a.endNew + b.delta, b.endNew);
  }
  return { first, endNew, delta: a.delta + b.delta };
}

/** The line's text without its terminator. */
export function lineContent(line: string): string {
  return line.slice(0, line.length - terminatorLength(line));
}

export class ChunkedDocument {
  readonly uri: string;
  languageId: string;
  version: number;
  private chunks: string[][];
  /** First line of each chunk; rebuilt lazily after an edit changes line counts. */
  private starts: number[] | undefined;
  private cachedText: string | undefined;
  private cachedLength = -1;
  /**
   * Whether a lone CR may be in the text: the store (LSP) ends a line there, the parsers do not, so line
   * numbers could differ and a re-parse by lines is not used.
   */
  maybeLoneCr = false;

  constructor(uri: string, languageId: string, version: number, text: string) {
    this.uri = uri;
    this.languageId = languageId;
    this.version = version;
    this.chunks = ChunkedDocument.chunk(splitLines(text));
    this.cachedText = text;
    this.maybeLoneCr = hasLoneCr(text);
  }

  private static chunk(lines: string[]): string[][] {
    const chunks: string[][] = [];
    for (let i = 0; i < lines.length; i += CHUNK_TARGET) chunks.push(lines.slice(i, i + CHUNK_TARGET));
    if (chunks.length === 0) chunks.push(['']);
    return chunks;
  }

  private chunkStarts(): number[] {
    if (!this.starts) {
      const starts = new Array<number>(this.chunks.length);
      let n = 0;
      for (let i = 0; i < this.chunks.length; i++) {
        starts[i] = n;
        n += this.chunks[i]!.length;
      }
      this.starts = starts;
    }
    return this.starts;
  }

  get lineCount(): number {
    const starts = this.chunkStarts();
    const last = this.chunks.length - 1;
    return starts[last]! + this.chunks[last]!.length;
  }

  /** Index of the chunk holding `line` (binary search over chunk starts). */
  private locate(line: number): { chunk: number; offset: number } {
    const starts = this.chunkStarts();
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= line) lo = mid;
      else hi = mid - 1;
    }
    return { chunk: lo, offset: line - starts[lo]! };
  }

  /** The raw line including its terminator; '' past the end. */
  private rawLine(line: number): string {
    if (line < 0 || line >= this.lineCount) return '';
    const { chunk, offset } = this.locate(line);
    return this.chunks[chunk]![offset] ?? '';
  }

  /** Line text without its terminator. */
  lineAt(line: number): string {
    return lineContent(this.rawLine(line));
  }

  /** Clamps a position to the document, as LSP asks servers to. */
  clamp(p: Position): Position {
    const count = this.lineCount;
    if (p.line >= count) return { line: count - 1, character: this.lineAt(count - 1).length };
    if (p.line < 0) return { line: 0, character: 0 };
    const len = this.lineAt(p.line).length;
    return { line: p.line, character: Math.max(0, Math.min(p.character, len)) };
  }

  getText(range?: Range): string {
    if (range) {
      const s = this.clamp(range.start);
      const e = this.clamp(range.end);
      if (s.line === e.line) return this.rawLine(s.line).slice(s.character, e.character);
      const parts = [this.rawLine(s.line).slice(s.character)];
      for (let l = s.line + 1; l < e.line; l++) parts.push(this.rawLine(l));
      parts.push(this.rawLine(e.line).slice(0, e.character));
      return parts.join('');
    }
    if (this.cachedText === undefined) {
      // One join per chunk, then one over the chunks: concatenating arrays in a loop was quadratic.
      this.cachedText = this.chunks.map((c) => c.join('')).join('');
    }
    return this.cachedText;
  }

  /** Length in UTF-16 code units (cheap when the text is cached; otherwise summed per line). */
  get length(): number {
    if (this.cachedText !== undefined) return this.cachedText.length;
    if (this.cachedLength < 0) {
      let n = 0;
      for (const c of this.chunks) for (const l of c) n += l.length;
      this.cachedLength = n;
    }
    return this.cachedLength;
  }

  /** Lines [from, to) joined, with their terminators (what a re-parse reads). */
  linesText(from: number, to: number): string {
    const end = Math.min(to, this.lineCount);
    if (from >= end) return '';
    const parts: string[] = [];
    let { chunk, offset } = this.locate(from);
    for (let line = from; line < end; ) {
      const c = this.chunks[chunk]!;
      const take = Math.min(c.length - offset, end - line);
      parts.push(offset === 0 && take === c.length ? c.join('') : c.slice(offset, offset + take).join(''));
      line += take;
      chunk++;
      offset = 0;
    }
    return parts.join('');
  }

  /**
   * Applies LSP content changes in order (incremental or full). Returns the lines they changed, as one
   * change, or 'full' when the whole text was replaced.
   */
  update(changes: readonly TextDocumentContentChangeEvent[], version: number): LineChange | 'full' | undefined {
    let summary: LineChange | 'full' | undefined;
    for (const change of changes) {
      if ('range' in change && change.range) {
        if (change.text.includes('\r')) this.maybeLoneCr = true;
        const c = this.applyEdit(change.range, change.text);
        if (summary !== 'full') summary = summary ? mergeChanges(summary, c) : c;
      } else {
        this.chunks = ChunkedDocument.chunk(splitLines(change.text));
        this.starts = undefined;
        this.cachedText = change.text;
        this.cachedLength = -1;
        this.maybeLoneCr = hasLoneCr(change.text);
        summary = 'full';
      }
    }
    this.version = version;
    return summary;
  }

  private applyEdit(range: Range, text: string): LineChange {
    let s = this.clamp(range.start);
    let e = this.clamp(range.end);
    if (e.line < s.line || (e.line === s.line && e.character < s.character)) [s, e] = [e, s];
    // The length is kept up to date by the lines replaced (summing 400k lines per keystroke costs ms).
    const lengthKnown = this.cachedText !== undefined ? this.cachedText.length : this.cachedLength;
    this.cachedText = undefined;
    this.cachedLength = -1;
    const startRaw = this.rawLine(s.line);
    const endRaw = this.rawLine(e.line);
    let merged = startRaw.slice(0, s.character) + text + endRaw.slice(e.character);
    // An edit that ends right before a \n of a \r\n pair (or inserts a \r before \n) changes line breaks:
    // re-split the merged text so terminators stay canonical.
    let firstLine = s.line;
    let lastLine = e.line;
    if (merged.endsWith('\r') && lastLine + 1 < this.lineCount) {
      merged += this.rawLine(lastLine + 1);
      lastLine++;
    }
    if (merged.startsWith('\n') && firstLine > 0) {
      const prev = this.rawLine(firstLine - 1);
      if (prev.endsWith('\r') && !prev.endsWith('\r\n')) {
        merged = prev + merged;
        firstLine--;
      }
    }
    const newLines = splitLines(merged);
    // splitLines appends an empty line after a trailing terminator; that empty line is the next line's start,
    // which already exists unless the edit reached the end of the document.
    if (newLines.length > 1 && newLines[newLines.length - 1] === '' && /[\r\n]$/.test(merged)) {
      if (lastLine + 1 < this.lineCount) newLines.pop();
    }
    if (newLines.length === 0) newLines.push('');
    if (lengthKnown >= 0) {
      let removed = 0;
      for (let l = firstLine; l <= lastLine; l++) removed += this.rawLine(l).length;
      let added = 0;
      for (const l of newLines) added += l.length;
      this.cachedLength = lengthKnown - removed + added;
    }
    this.replaceLines(firstLine, lastLine, newLines);
    return { first: firstLine, endNew: firstLine + newLines.length, delta: newLines.length - (lastLine - firstLine + 1) };
  }

  /** Replaces lines [first, last] with `lines`, touching only the chunks involved. */
  private replaceLines(first: number, last: number, lines: string[]): void {
    const a = this.locate(first);
    const b = this.locate(last);
    if (a.chunk === b.chunk) {
      const chunk = this.chunks[a.chunk]!;
      const sameCount = last - first + 1 === lines.length;
      if (lines.length === 1 && sameCount) {
        chunk[a.offset] = lines[0]!; // the common case: a one-line edit; no line count changes.
        return;
      }
      chunk.splice(a.offset, last - first + 1, ...(lines.length < 50000 ? lines : []));
      if (lines.length >= 50000) {
        // Large pastes: rebuild this chunk without a huge argument list.
        const rebuilt = chunk.slice(0, a.offset).concat(lines, chunk.slice(a.offset));
        this.chunks.splice(a.chunk, 1, ...ChunkedDocument.chunk(rebuilt));
      } else if (chunk.length > CHUNK_MAX) {
        this.chunks.splice(a.chunk, 1, ...ChunkedDocument.chunk(chunk));
      } else if (chunk.length === 0) {
        this.chunks.splice(a.chunk, 1);
        if (this.chunks.length === 0) this.chunks.push(['']);
      }
    } else {
      const head = this.chunks[a.chunk]!.slice(0, a.offset);
      const tail = this.chunks[b.chunk]!.slice(b.offset + 1);
      const merged = head.concat(lines, tail);
      const replacement = merged.length > 0 ? ChunkedDocument.chunk(merged) : [];
      this.chunks.splice(a.chunk, b.chunk - a.chunk + 1, ...replacement);
      if (this.chunks.length === 0) this.chunks.push(['']);
    }
    this.starts = undefined;
  }
}

function hasLoneCr(text: string): boolean {
  return text.includes('\r') && /\r(?!\n)/.test(text);
}

/** Open documents by URI. */
export class DocumentStore {
  private docs = new Map<string, ChunkedDocument>();

  open(uri: string, languageId: string, version: number, text: string): ChunkedDocument {
    const doc = new ChunkedDocument(uri, languageId, version, text);
    this.docs.set(uri, doc);
    return doc;
  }

  get(uri: string): ChunkedDocument | undefined {
    return this.docs.get(uri);
  }

  close(uri: string): void {
    this.docs.delete(uri);
  }

  all(): ChunkedDocument[] {
    return [...this.docs.values()];
  }

  get size(): number {
    return this.docs.size;
  }
}

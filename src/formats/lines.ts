// The walk every line-oriented parser starts with (QEMU logs and traces, NAME = value lists,
// arm-cpusysregs output): each line without its line end, blank lines counted as understood.
import type { Range } from '../findings.ts';
import { LineIndex } from './json-scan.ts';

export interface LineCounts {
  lines: number;
  understood: number;
  skipped: number;
}

export interface TextLine {
  /** The line without its line end. */
  raw: string;
  line: number;
  /** Characters [a, b) of this line. */
  at(a: number, b: number): Range;
}

export function newCounts(): LineCounts {
  return { lines: 0, understood: 0, skipped: 0 };
}

/** Each line that is not blank; `counts.lines` is set first, and blank lines are counted understood. */
export function* contentLines(text: string, counts: LineCounts): Generator<TextLine> {
  const idx = new LineIndex(text);
  counts.lines = idx.lineCount;
  for (let line = 0; line < counts.lines; line++) {
    const raw = text.slice(idx.lineStart(line), idx.lineEnd(line));
    if (raw.trim() === '') {
      counts.understood++;
      continue;
    }
    yield { raw, line, at: (a, b) => ({ start: { line, character: a }, end: { line, character: b } }) };
  }
}

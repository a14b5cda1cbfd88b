// Big files are read in blocks and fed to a parser that can take them that way (ftrace), so that the CLI
// never holds the whole text: performance.md §5 asks for a peak RSS of at most 1.5× the file, and a
// 100 MB trace read whole is a 100 MB Buffer plus a 100 MB string before any parsing.
import { isAscii } from 'node:buffer';
import { checkParsed, detectDocumentFormat, streamParser, type CheckOptions, type FileReport } from '../check.ts';
import type { FormatId } from '../formats/types.ts';

/** An open file, read front to back. */
export interface BlockFile {
  readonly size: number;
  /** Reads into `buf` from the current position; 0 at the end. */
  read(buf: Buffer): number;
  close(): void;
}

/** Files at least this big are streamed when their format allows it; smaller ones are not worth it. */
export const STREAM_MIN_BYTES = 8 * 1024 * 1024;
const BLOCK_BYTES = 4 * 1024 * 1024;

/**
 * Decodes one piece the way decodeText decodes a whole file (ASCII as latin1, else UTF-8). Pieces end at a
 * '\n' byte, which never occurs inside a UTF-8 sequence, so decoding them one by one equals decoding the file.
 */
function decodePiece(piece: Buffer): { text: string; ascii: boolean } {
  const ascii = isAscii(piece);
  return { text: piece.toString(ascii ? 'latin1' : 'utf8'), ascii };
}

/**
 * Checks a file by blocks when its format has a block parser; undefined when it has not (or the file is
 * UTF-16), and the caller reads it whole. Detection sees the first block, which holds far more than the
 * 64 KiB the sniffers look at.
 *
 * The part of a block the parser leaves (a partial last line, a record that may continue) is kept as bytes
 * and read again in front of the next block: joining strings instead would copy every block once more.
 */
export function checkStreamed(
  path: string,
  file: BlockFile,
  options: CheckOptions,
  tuning: { blockBytes?: number; format?: FormatId } = {},
): FileReport | undefined {
  const blockBytes = tuning.blockBytes ?? BLOCK_BYTES;
  let buf = Buffer.allocUnsafe(Math.max(16, blockBytes));
  let have = fill(file, buf, 0);
  if (have >= 2 && ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff))) return undefined;
  const bom = have >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  const parser = streamParser(tuning.format ?? detectDocumentFormat(decodePiece(buf.subarray(bom, have)).text, path));
  if (!parser) return undefined;
  let start = bom;
  let line = 0;
  let atEnd = have < buf.length;
  for (;;) {
    const chunk = buf.subarray(start, have);
    const lastNl = atEnd ? chunk.length - 1 : chunk.lastIndexOf(10);
    if (lastNl < 0 && !atEnd) {
      // One line (or one unfinished record) longer than the buffer: make room and read on.
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, start, have);
      have -= start;
      start = 0;
      buf = bigger;
      have = fill(file, buf, have);
      atEnd = have < buf.length;
      continue;
    }
    const piece = decodePiece(chunk.subarray(0, lastNl + 1));
    const r = parser.feed(piece.text, line, atEnd);
    if (atEnd) break;
    line = r.nextLine;
    const consumed = piece.ascii ? r.consumed : Buffer.byteLength(piece.text.slice(0, r.consumed), 'utf8');
    if (consumed === 0 && start === 0 && have === buf.length) {
      // Nothing could be finished in a full buffer: the same bytes would come back. Grow it.
      const bigger = Buffer.allocUnsafe(buf.length * 2);
      buf.copy(bigger, 0, 0, have);
      buf = bigger;
      have = fill(file, buf, have);
      atEnd = have < buf.length;
      continue;
    }
    start += consumed;
    // Keep what is left at the front of the buffer and fill the rest.
    buf.copy(buf, 0, start, have);
    have -= start;
    start = 0;
    have = fill(file, buf, have);
    atEnd = have < buf.length;
  }
  return checkParsed(path, parser.finish(), options);
}

/** Fills buf from offset `from` until it is full or the file ends; the bytes now in buf. */
function fill(file: BlockFile, buf: Buffer, from: number): number {
  let n = from;
  while (n < buf.length) {
    const got = file.read(buf.subarray(n));
    if (got <= 0) break;
    n += got;
  }
  return n;
}

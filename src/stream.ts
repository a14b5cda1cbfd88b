// Big files are read in blocks and fed to a parser that can take them that way (ftrace), so that the CLI
// never holds the whole text: performance.md §5 asks for a peak RSS of at most 1.5× the file, and a
// 100 MB trace read whole is a 100 MB Buffer plus a 100 MB string before any parsing.
import { isAscii } from 'node:buffer';
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { appendAll } from './findings.ts';
import { checkParsed, detectDocumentFormat, replayOptionsFor, resolveTraceHost, streamParser, type CheckOptions, type FileReport, type HostResolution } from './check.ts';
import { IdtraceStream, type IdtraceMark } from './formats/idtrace.ts';
import { ReplaySession, type ReplayCheckpoint } from './model/vm.ts';
import { encodingKey, type KernelEvent, type TraceEvent } from './model/events.ts';
import type { ParseResult } from './formats/types.ts';
import type { FormatId } from './formats/types.ts';

/** An open file, read front to back. */
export interface BlockFile {
  readonly size: number;
  /** Reads into `buf` from the current position; 0 at the end. */
  read(buf: Buffer): number;
  close(): void;
}

/** Opens a file to read it in blocks; throws like readFileSync (EISDIR for a directory). */
export function openBlockFile(path: string): BlockFile {
  const fd = openSync(path, 'r');
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw Object.assign(new Error(`EISDIR: illegal operation on a directory, open '${path}'`), { code: 'EISDIR' });
    return { size: st.isFile() ? st.size : 0, read: (b) => readSync(fd, b, 0, b.length, null), close: () => closeSync(fd) };
  } catch (err) {
    closeSync(fd);
    throw err;
  }
}

/** Files at least this big are streamed when their format allows it (an .idtrace of 4 MiB read whole peaks at 150 MB). */
export const STREAM_MIN_BYTES = 1024 * 1024;
/** Reads of 256 KiB take as long as reads of 1 MiB and leave 0.75 MB less in the peak RSS. */
const BLOCK_BYTES = 256 * 1024;
const DETECTION_BYTES = 256 * 1024;
/**
 * Text is decoded and parsed 64 KiB at a time. Pieces that small are ordinary young-generation strings;
 * 4 MiB pieces became external strings that only a full GC frees, and an .idtrace piece of a few MiB makes
 * tens of thousands of events live at once. Measured on the 1M-line trace (1 MiB reads): 131 → 85 MB peak and 0.85 → 0.62 s.
 */
const PIECE_BYTES = 64 * 1024;

/**
 * Decodes one piece the way decodeText decodes a whole file (ASCII as latin1, else UTF-8). Pieces end at a
 * '\n' byte, which never occurs inside a UTF-8 sequence, so decoding them one by one equals decoding the file.
 */
function decodePiece(piece: Buffer): { text: string; ascii: boolean } {
  const ascii = isAscii(piece);
  return { text: piece.toString(ascii ? 'latin1' : 'utf8'), ascii };
}

/** Thrown by a feed to give up streaming (the caller then reads the file whole). */
class NotStreamable extends Error {}

type Feed = (text: string, firstLine: number, final: boolean) => { consumed: number; nextLine: number };

/**
 * Checks a file by blocks when its format has a block parser; undefined when it has not (or the file is
 * UTF-16, or an .idtrace names its kernel or host after its first access), and the caller reads it whole.
 * Detection sees the first block, which holds far more than the 64 KiB the sniffers look at.
 */
export function checkStreamed(
  path: string,
  file: BlockFile,
  options: CheckOptions,
  tuning: {
    blockBytes?: number;
    format?: FormatId;
    pieceBytes?: number;
    /** The caller reads only the report's findings (the CLI): a dump nothing judges keeps no entries. */
    findingsOnly?: boolean;
    /** Told the bytes read so far each time a block is read for parsing (progress). */
    onRead?: (bytes: number) => void;
  } = {},
): FileReport | undefined {
  const buf = Buffer.allocUnsafe(Math.max(16, tuning.blockBytes ?? BLOCK_BYTES));
  const have = fill(file, buf, 0);
  if (have >= 2 && ((buf[0] === 0xff && buf[1] === 0xfe) || (buf[0] === 0xfe && buf[1] === 0xff))) return undefined;
  const bom = have >= 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
  // Every sniffer reads at most the first 64 Ki characters; 256 KiB of UTF-8 holds at least that many.
  const format = tuning.format ?? detectDocumentFormat(decodePiece(buf.subarray(bom, Math.min(have, bom + DETECTION_BYTES))).text, path);
  try {
    if (format === 'idtrace') {
      return streamIdtrace(path, file, options, { buf, have, start: bom, onRead: tuning.onRead }, tuning.pieceBytes ?? IDTRACE_PIECE_BYTES);
    }
    // A dump-like document is judged only against a host given in the options (it has no host line).
    const parser = streamParser(format, { dumpEntries: !tuning.findingsOnly || Boolean(options.host) });
    if (!parser) return undefined;
    pump(file, { buf, have, start: bom, onRead: tuning.onRead }, tuning.pieceBytes ?? PIECE_BYTES, (t, l, f) => parser.feed(t, l, f));
    return checkParsed(path, parser.finish(), options);
  } catch (err) {
    if (err instanceof NotStreamable) return undefined;
    throw err;
  }
}

/**
 * An .idtrace is one event per line and its replay can go on as it is read: events are replayed piece by
 * piece and dropped (the CLI needs no per-event records). Its pieces are a few dozen lines: the events of a
 * piece are alive until it is replayed, and the fewer are alive at a garbage collection, the fewer V8
 * promotes (1M events, peak RSS: 64 KiB pieces 101 MB, 4 KiB 92 MB, 2 KiB 81 MB, smaller no better; same time).
 */
const IDTRACE_PIECE_BYTES = 2 * 1024;

function streamIdtrace(path: string, file: BlockFile, options: CheckOptions, at: Pump, pieceBytes: number): FileReport {
  const replayed = new IdtraceReplay(path, options);
  pump(file, at, pieceBytes, (t, l, f) => replayed.feed(t, l, f));
  return replayed.finish();
}

/**
 * Checks an .idtrace held as text the way a big file is checked: replayed as it is parsed, its events
 * dropped (FileReport.touched names their registers; no per-event records). The language server does this
 * for big documents: 1M events kept as objects are 500 bytes each. undefined when the trace names its kernel
 * or host after its first access (then check it whole).
 */
export function checkIdtraceText(path: string, text: string, options: CheckOptions, pieceChars = IDTRACE_PIECE_BYTES): FileReport | undefined {
  const check = new IdtraceTextCheck(path, text, options, pieceChars);
  while (!check.step(Infinity));
  return check.result();
}

/**
 * checkIdtraceText in steps, so that a caller can do other work between them (the language server answers
 * hovers and drops a check an edit made stale).
 */
export class IdtraceTextCheck {
  private replayed: IdtraceReplay;
  private readonly body: string;
  private at = 0;
  private line = 0;
  private done = false;
  private streamable = true;
  /** Where a later check of an edited text may start again (resume): every CHECKPOINT_LINES lines. */
  private readonly checkpoints: { line: number; at: number; mark: ReplayMark }[] = [];

  /** The line this check started from: 0, or the checkpoint it was resumed from. */
  resumedAt = 0;

  constructor(
    private readonly path: string,
    text: string,
    private readonly options: CheckOptions,
    private readonly pieceChars = IDTRACE_PIECE_BYTES,
    private readonly checkpointLines = CHECKPOINT_LINES,
  ) {
    this.replayed = new IdtraceReplay(path, options);
    this.body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  }

  /**
   * A check of `text`, an edit of the text `prev` checked (with the same options) whose lines before
   * `firstChanged` are unchanged: it starts from the last checkpoint of `prev` at or before that line.
   */
  static resume(prev: IdtraceTextCheck, text: string, firstChanged: number): IdtraceTextCheck {
    const check = new IdtraceTextCheck(prev.path, text, prev.options, prev.pieceChars, prev.checkpointLines);
    if (!prev.done || !prev.streamable) return check;
    let from: (typeof prev.checkpoints)[number] | undefined;
    for (const cp of prev.checkpoints) {
      if (cp.line > firstChanged) break;
      from = cp;
      check.checkpoints.push(cp);
    }
    if (!from) return check;
    check.replayed = IdtraceReplay.resume(prev.path, prev.options, prev.replayed.stream, from.mark);
    check.at = from.at;
    check.line = from.line;
    check.resumedAt = from.line;
    return check;
  }

  /** Parses and replays about `chars` more characters; true once the whole text is done. */
  step(chars: number): boolean {
    const stop = this.at + chars;
    try {
      while (!this.done && this.at < stop) {
        const body = this.body;
        const nl = this.at + this.pieceChars < body.length ? body.indexOf('\n', this.at + this.pieceChars) : -1;
        const final = nl < 0;
        const piece = body.slice(this.at, final ? body.length : nl + 1);
        this.line = this.replayed.feed(piece, this.line, final).nextLine;
        this.at += piece.length;
        this.done = final;
        const last = this.checkpoints.length > 0 ? this.checkpoints[this.checkpoints.length - 1]!.line : 0;
        if (!final && this.line - last >= this.checkpointLines) {
          const mark = this.replayed.checkpoint();
          if (mark) this.checkpoints.push({ line: this.line, at: this.at, mark });
        }
      }
    } catch (err) {
      if (!(err instanceof NotStreamable)) throw err;
      this.streamable = false;
      this.done = true;
    }
    return this.done;
  }

  /** After the last step: the report, or undefined when the trace must be checked whole. */
  result(): FileReport | undefined {
    return this.streamable ? this.replayed.finish() : undefined;
  }
}

/**
 * Lines between two checkpoints of an IdtraceTextCheck. A checkpoint copies the VM model (~100 registers
 * and the vCPUs' few, plus the findings so far): 1M lines keep 16 of them.
 */
const CHECKPOINT_LINES = 65536;

/** IdtraceReplay.checkpoint(): the parse counts, the replay's state, the host and the registers seen. */
interface ReplayMark {
  stream: IdtraceMark;
  session: ReplayCheckpoint;
  host: HostResolution;
  touched: ReadonlySet<number>;
}

/** An .idtrace parsed from pieces of whole lines, its events replayed as they come and dropped. */
class IdtraceReplay {
  stream: IdtraceStream;
  /** Events before the first access (kernel, host, comments' cap lines): the replay starts once they are known. */
  private leading: TraceEvent[] = [];
  private session: ReplaySession | undefined;
  private host: HostResolution | undefined;
  private touched = new Set<number>();

  constructor(
    private readonly path: string,
    private readonly options: CheckOptions,
  ) {
    this.stream = new IdtraceStream(path);
  }

  /** Where the replay is, once it has started (undefined before the first access). */
  checkpoint(): ReplayMark | undefined {
    if (!this.session || !this.host) return undefined;
    return { stream: this.stream.mark(), session: this.session.checkpoint(), host: this.host, touched: new Set(this.touched) };
  }

  /** A replay that goes on from `mark`, taken by a replay whose parse is `stream` (or one resumed from it). */
  static resume(path: string, options: CheckOptions, stream: IdtraceStream, mark: ReplayMark): IdtraceReplay {
    const r = new IdtraceReplay(path, options);
    r.stream = IdtraceStream.resume(stream, mark.stream);
    r.host = mark.host;
    r.session = new ReplaySession({ keepPerEvent: false }, mark.session);
    r.touched = new Set(mark.touched);
    return r;
  }

  feed(text: string, firstLine: number, final: boolean): { consumed: number; nextLine: number } {
    const consumed = this.stream.feed(text, firstLine, final);
    const events = this.stream.drain();
    for (const e of events) if ('reg' in e && e.reg.enc) this.touched.add(encodingKey(e.reg.enc));
    if (!this.session) {
      const first = events.findIndex((e) => e.kind !== 'kernel' && e.kind !== 'host');
      if (first < 0) appendAll(this.leading, events);
      else {
        appendAll(this.leading, events.slice(0, first));
        this.start();
        feedChecked(this.session!, events.slice(first));
      }
    } else feedChecked(this.session, events);
    return { consumed, nextLine: this.stream.nextLine };
  }

  private start(): void {
    const lead: ParseResult = { format: 'idtrace', events: this.leading, findings: [], stats: { lines: 0, understood: 0, skipped: 0 } };
    this.host = resolveTraceHost(this.path, lead, this.options);
    const kernelEvent = this.leading.find((e): e is KernelEvent => e.kind === 'kernel');
    this.session = new ReplaySession({ ...replayOptionsFor(this.path, this.host.info, this.options), ...(kernelEvent ? { kernelEvent } : {}), keepPerEvent: false });
    this.session.feed(this.leading);
    this.leading = [];
  }

  finish(): FileReport {
    const parse = this.stream.finish();
    const session = this.session;
    if (!session) return checkParsed(this.path, { ...parse, events: this.leading }, this.options);
    return checkParsed(this.path, parse, this.options, { host: this.host!, result: () => session.finish(), touched: this.touched });
  }
}

/** A kernel or host line after the first access changes the rules for what was replayed: read it whole. */
function feedChecked(session: ReplaySession, events: TraceEvent[]): void {
  for (const e of events) if (e.kind === 'kernel' || e.kind === 'host') throw new NotStreamable();
  session.feed(events);
}

/** The read state: bytes [start, have) of buf are read and not yet consumed. */
interface Pump {
  buf: Buffer;
  have: number;
  start: number;
  onRead?: ((bytes: number) => void) | undefined;
}

/**
 * Feeds the file to `feed` in pieces of whole lines (at most `pieceBytes` unless a line is longer). What a
 * feed leaves (a partial line, a record that may continue) is kept as bytes and read again in front of
 * the next block: joining strings instead would copy every block once more.
 */
function pump(file: BlockFile, at: Pump, pieceBytes: number, feed: Feed): void {
  let { buf, have, start } = at;
  let atEnd = have < buf.length;
  let total = have;
  at.onRead?.(total);
  let line = 0;
  let limit = pieceBytes;
  const refill = (grow: boolean): void => {
    const next = grow ? Buffer.allocUnsafe(buf.length * 2) : buf;
    buf.copy(next, 0, start, have);
    have -= start;
    start = 0;
    buf = next;
    const before = have;
    have = fill(file, buf, have);
    total += have - before;
    at.onRead?.(total);
    atEnd = have < buf.length;
  };
  for (;;) {
    const chunk = buf.subarray(start, have);
    const final = atEnd && chunk.length <= limit;
    let end = chunk.length;
    if (!final) {
      const nl = chunk.lastIndexOf(10, Math.min(chunk.length, limit) - 1);
      if (nl >= 0) end = nl + 1;
      else if (limit < chunk.length && chunk.indexOf(10, limit) >= 0) end = chunk.indexOf(10, limit) + 1;
      else if (atEnd) end = chunk.length;
      else {
        // No whole line in what is read: make room (or more room) and read on.
        refill(start === 0);
        continue;
      }
    }
    const last = final || (atEnd && end === chunk.length);
    const piece = decodePiece(chunk.subarray(0, end));
    const r = feed(piece.text, line, last);
    if (last) return;
    line = r.nextLine;
    const consumed = piece.ascii ? r.consumed : bytesOf(chunk, piece.text, r.consumed);
    if (consumed === 0) {
      // Nothing could be finished in this piece (a record that may continue): offer more next time.
      if (limit < chunk.length) limit = Math.max(limit * 2, end * 2); // the piece was cut short: a longer one
      else refill(start === 0 && have === buf.length); // all complete lines were offered: read more
      continue;
    }
    limit = pieceBytes;
    start += consumed;
    if (!atEnd && have - start < Math.min(pieceBytes, buf.length / 2)) refill(false);
  }
}

/**
 * How many bytes of `bytes` decoded to text[0, chars). Invalid UTF-8 decodes to U+FFFD, whose own UTF-8 is
 * longer, so re-encoding the text would overshoot; parsers consume whole lines, and a '\n' byte is always a
 * '\n' character, so the answer is just past the same number of newlines.
 */
function bytesOf(bytes: Buffer, text: string, chars: number): number {
  if (chars === 0) return 0;
  let lines = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < chars; i = text.indexOf('\n', i + 1)) lines++;
  let at = -1;
  for (let k = 0; k < lines; k++) at = bytes.indexOf(10, at + 1);
  if (text.charCodeAt(chars - 1) !== 10) throw new Error('a block parser stopped inside a line'); // parsers stop at line ends
  return at + 1;
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

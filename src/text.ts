// Bytes from disk → the text every parser reads.
import { isAscii } from 'node:buffer';

/**
 * Decodes a file as UTF-8 without its BOM. Traces are almost always ASCII, and latin1 decoding of ASCII
 * is a plain copy where UTF-8 decoding validates every byte: on a 100 MB trace that is most of the read.
 */
export function decodeText(buf: Buffer): string {
  const text = isAscii(buf) ? buf.toString('latin1') : buf.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

// Bytes from disk → the text every parser reads.
import { isAscii } from 'node:buffer';

/**
 * Decodes a file: UTF-16 when it starts with a UTF-16 byte-order mark (Windows tools and PowerShell
 * redirections write traces that way), else UTF-8; the BOM is dropped. Traces are almost always ASCII,
 * and latin1 decoding of ASCII is a plain copy where UTF-8 decoding validates every byte: on a 100 MB
 * trace that is most of the read.
 */
export function decodeText(buf: Buffer): string {
  if (buf.length >= 2 && buf[0] === 0xff && buf[1] === 0xfe) return buf.toString('utf16le', 2);
  if (buf.length >= 2 && buf[0] === 0xfe && buf[1] === 0xff) {
    const even = buf.subarray(2, 2 + ((buf.length - 2) & ~1));
    return Buffer.from(even).swap16().toString('utf16le');
  }
  const text = isAscii(buf) ? buf.toString('latin1') : buf.toString('utf8');
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

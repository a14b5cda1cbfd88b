// Content sniffing shared by the line-oriented formats.

/** How much of a document a sniffer may read. */
export const SNIFF_CHARS = 65536;

/**
 * The share (0..0.9) of the first 20 non-blank, non-comment lines that `looksLikeOurs` accepts. Each
 * line is cut to 200 characters and trimmed, so a huge first line costs nothing. Like every sniffer it
 * looks at the first 64 Ki characters only: the CLI detects a big file from its first block.
 */
export function leadingLineScore(text: string, looksLikeOurs: (trimmedLine: string) => boolean): number {
  let seen = 0;
  let hits = 0;
  let pos = 0;
  const end = Math.min(text.length, SNIFF_CHARS);
  while (pos < end && seen < 20) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0 || nl > end) nl = end;
    const line = text.slice(pos, Math.min(nl, pos + 200)).trim();
    pos = nl + 1;
    if (line.length === 0 || line.startsWith('#')) continue;
    seen++;
    if (looksLikeOurs(line)) hits++;
  }
  return seen === 0 ? 0 : (hits / seen) * 0.9;
}

/** 0x…, 0b… or decimal with `_` separators; undefined when malformed or wider than 128 bits. */
export function parseNumberLoose(text: string): bigint | undefined {
  const t = text.trim().replace(/_/g, '');
  if (!/^(0x[0-9a-f]+|0b[01]+|\d+)$/i.test(t)) return undefined;
  try {
    const v = BigInt(t);
    return v < 0n || v >> 128n ? undefined : v;
  } catch {
    return undefined;
  }
}

// Saves and loads counterexamples losslessly: bigints, byte arrays, undefined and lone surrogates survive.
export function encodeValue(v: unknown): unknown {
  if (typeof v === 'bigint') return { $bigint: v.toString() };
  if (v === undefined) return { $undefined: true };
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('base64') };
  if (Array.isArray(v)) return v.map(encodeValue);
  if (typeof v === 'number' && !Number.isFinite(v)) return { $number: String(v) };
  if (typeof v === 'object' && v !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = encodeValue(x);
    return out;
  }
  return v;
}

export function decodeValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(decodeValue);
  if (typeof v === 'object' && v !== null) {
    const o = v as Record<string, unknown>;
    if (typeof o.$bigint === 'string') return BigInt(o.$bigint);
    if (o.$undefined === true) return undefined;
    if (typeof o.$bytes === 'string') return new Uint8Array(Buffer.from(o.$bytes, 'base64'));
    if (typeof o.$number === 'string') return Number(o.$number);
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(o)) out[k] = decodeValue(x);
    return out;
  }
  return v;
}

/** A saved failing input (test/fuzz/failures/*.json). */
export interface SavedFailure {
  property: string;
  /** fast-check seed and path that reproduce the failure in the fuzz run. */
  seed: number;
  path?: string;
  /** The shrunk counterexample: the property's input (fast-check passes it as a one-element tuple). */
  input: unknown;
  /** The first line of the failure message when it was found. */
  error: string;
  found: string;
  /** 'open' while the owner has not fixed it (the regression test is then a todo), 'fixed' after. */
  status: 'open' | 'fixed';
  /** Where the bug is and what happens, for the report. */
  note?: string;
}

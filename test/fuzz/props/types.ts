import type fc from 'fast-check';

/** One property: shared by the normal test run (fixed seed, `runs` cases) and the long fuzz run. */
export interface PropertyDef<T = unknown> {
  /** group.subject.aspect, e.g. 'encoding.forms.roundtrip'; also the failure file name. */
  name: string;
  /** Cases in the normal test run. */
  runs: number;
  arb: fc.Arbitrary<T>;
  /** Throws (an assertion) when the property does not hold for the input; returns a promise when `async`. */
  check(input: T): void | Promise<void>;
  /** A case may take this long before the harness calls it slow (properties that time themselves). */
  maxCaseMs?: number;
  /** The check is asynchronous (the CLI commands). */
  async?: boolean;
  /** Share of the long fuzz run relative to the others (default: runs). 0 keeps it out of the fuzz run. */
  weight?: number;
  /** The property enumerates its cases itself (every register ...): run once, count this many cases. */
  exhaustive?: number;
}

export interface PropertyGroup {
  group: string;
  properties: PropertyDef<any>[];
  /** Modules the group would test but that do not exist yet (their properties are skipped). */
  missing: string[];
}

// Bugs the properties found that their owners have not fixed yet. While an issue is listed here, a case
// that fails only because of it counts as passing in the property runs (so the properties keep finding
// other bugs instead of shrinking to the known one every time); its saved input in test/fuzz/failures/
// still reproduces it strictly (test/unit/property-failures.test.ts marks it todo while `status: open`).
// Remove an entry as soon as the owner fixes the bug.

export interface KnownIssue {
  id: string;
  /** Properties it affects (matched against the property name). */
  property: RegExp;
  /** The assertion message it produces. */
  message: RegExp;
  /** Saved failing input(s) in test/fuzz/failures/. */
  fixtures: string[];
}

export const KNOWN_OPEN: KnownIssue[] = [];

const hits = new Map<string, number>();

/** The open issue that explains this failure of this property, if any (counted for the fuzz summary). */
export function knownIssueFor(property: string, err: unknown): KnownIssue | undefined {
  const message = err instanceof Error ? err.message : String(err);
  const issue = KNOWN_OPEN.find((k) => k.property.test(property) && k.message.test(message));
  if (issue) hits.set(issue.id, (hits.get(issue.id) ?? 0) + 1);
  return issue;
}

export function knownIssueHits(): Map<string, number> {
  return hits;
}

/**
 * Inputs known to be slow (super-linear) in a function whose owner has not fixed it yet: the performance
 * properties skip them in the normal run (they would take minutes), not in strict replays.
 */
export interface KnownSlow {
  id: string;
  /** Function label as the perf properties name it (module.function). */
  fn: RegExp;
  /** The repeated unit of the pathological input. */
  unit: RegExp;
  fixtures: string[];
}

export const KNOWN_SLOW: KnownSlow[] = [];

let tolerant = true;

/** Set by the harness: false while a saved failure is replayed strictly. */
export function setTolerant(on: boolean): void {
  tolerant = on;
}

export function knownSlow(fn: string, unit: string): KnownSlow | undefined {
  if (!tolerant) return undefined;
  const k = KNOWN_SLOW.find((x) => x.fn.test(fn) && x.unit.test(unit));
  if (k) hits.set(k.id, (hits.get(k.id) ?? 0) + 1);
  return k;
}

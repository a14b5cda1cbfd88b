// Runs properties with fast-check: the fixed-seed normal run (test/unit/property-*.test.ts) and the
// long fuzz run (test/fuzz/run.ts) share this code.
import fc from 'fast-check';
import { test } from 'node:test';
import { knownIssueFor, setTolerant } from './known.ts';
import type { PropertyDef, PropertyGroup } from './props/types.ts';

/** The seed of the normal test run; each property mixes in a hash of its name. */
export const UNIT_SEED = 0x1d7e6;

export function hashName(name: string): number {
  let h = 2166136261;
  for (let i = 0; i < name.length; i++) h = Math.imul(h ^ name.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** A single case slower than this is a failure (inputs are small: anything slower is super-linear). */
export const SLOW_CASE_MS = 5000;

/** The property's check, timed: a case slower than `slowMs` fails like a thrown assertion. */
export function timedCheck<T>(def: PropertyDef<T>, slowMs = SLOW_CASE_MS, tolerateKnown = true): (input: T) => void {
  return (input: T) => {
    const t0 = performance.now();
    try {
      def.check(input);
    } catch (err) {
      if (tolerateKnown && knownIssueFor(def.name, err)) return;
      throw err;
    }
    const ms = performance.now() - t0;
    const limit = Math.max(slowMs, def.maxCaseMs ?? 0);
    if (ms > limit && !def.exhaustive) throw new Error(`slow: one case took ${ms.toFixed(0)} ms (limit ${limit} ms)`);
  };
}

export function timedAsyncCheck<T>(def: PropertyDef<T>, slowMs = SLOW_CASE_MS, tolerateKnown = true): (input: T) => Promise<void> {
  return async (input: T) => {
    const t0 = performance.now();
    try {
      await def.check(input);
    } catch (err) {
      if (tolerateKnown && knownIssueFor(def.name, err)) return;
      throw err;
    }
    const ms = performance.now() - t0;
    const limit = Math.max(slowMs, def.maxCaseMs ?? 0);
    if (ms > limit && !def.exhaustive) throw new Error(`slow: one case took ${ms.toFixed(0)} ms (limit ${limit} ms)`);
  };
}

/** Runs one input strictly (no known-issue tolerance), as the saved-failure replays do. */
export async function checkOnce<T>(def: PropertyDef<T>, input: T, slowMs = 10_000): Promise<void> {
  setTolerant(false);
  try {
    if (def.async) await timedAsyncCheck(def, slowMs, false)(input);
    else timedCheck(def, slowMs, false)(input);
  } finally {
    setTolerant(true);
  }
}

export interface RunOutcome {
  name: string;
  cases: number;
  failed: boolean;
  seed: number;
  path?: string;
  counterexample?: unknown;
  error?: string;
  ms: number;
}

/** Runs `numRuns` cases of a property with a seed; never throws, returns what happened. */
export async function runProperty<T>(def: PropertyDef<T>, numRuns: number, seed: number, slowMs = SLOW_CASE_MS, tolerateKnown = true): Promise<RunOutcome> {
  const t0 = performance.now();
  const runs = def.exhaustive ? 1 : numRuns;
  const params = { numRuns: runs, seed, endOnFailure: false };
  const details = def.async
    ? await fc.check(fc.asyncProperty(def.arb, timedAsyncCheck(def, slowMs, tolerateKnown)), params)
    : fc.check(fc.property(def.arb, timedCheck(def, slowMs, tolerateKnown)), params);
  const cases = def.exhaustive ? def.exhaustive : details.numRuns;
  const out: RunOutcome = { name: def.name, cases, failed: details.failed, seed, ms: performance.now() - t0 };
  if (details.failed) {
    out.path = details.counterexamplePath ?? undefined;
    out.counterexample = details.counterexample?.[0];
    const err = details.errorInstance;
    out.error = err instanceof Error ? err.message : String(err);
  }
  return out;
}

export function describeFailure(o: RunOutcome): string {
  let shown: string;
  try {
    shown = fc.stringify(o.counterexample);
  } catch {
    shown = String(o.counterexample);
  }
  if (shown.length > 2000) shown = shown.slice(0, 2000) + '…';
  return `${o.name} failed after ${o.cases} cases (seed ${o.seed}, path ${o.path}):\n  input: ${shown}\n  ${o.error}`;
}

/**
 * Registers one node:test test per property of a group (loaded lazily: modules that are not written yet
 * are skipped with a message). Each runs `runs` cases with a fixed seed.
 */
export function propertyTests(groupName: string, load: () => Promise<PropertyGroup>, opts: { timeout?: number } = {}): void {
  test(`properties: ${groupName}`, { timeout: opts.timeout ?? 120_000 }, async (t) => {
    const group = await load();
    for (const missing of group.missing) await t.test(`${missing}`, { skip: `${missing} does not exist yet` }, () => {});
    for (const def of group.properties) {
      if (def.runs === 0 && !def.exhaustive) continue; // `npm run fuzz` only
      const label = `${def.name} (${def.exhaustive ?? def.runs} cases)`;
      await t.test(label, async () => {
        const o = await runProperty(def, def.runs, (UNIT_SEED ^ hashName(def.name)) >>> 0);
        if (o.failed) throw new Error(describeFailure(o));
      });
    }
  });
}

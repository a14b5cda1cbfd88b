// Saved failing inputs: test/fuzz/failures/<property>--<seed>.json (see codec.ts for the format).
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { decodeValue, encodeValue, type SavedFailure } from './codec.ts';
import type { RunOutcome } from './harness.ts';

export const FAILURES_DIR = resolve(__dirname, 'failures');

function fileName(property: string, seed: number): string {
  return `${property.replace(/[^A-Za-z0-9_.-]+/g, '_')}--${seed}.json`;
}

/** Writes the shrunk counterexample of a failed run; returns the file path. */
export function saveFailure(o: RunOutcome, dir = FAILURES_DIR): string {
  mkdirSync(dir, { recursive: true });
  const saved: SavedFailure = {
    property: o.name,
    seed: o.seed,
    ...(o.path ? { path: o.path } : {}),
    input: encodeValue(o.counterexample),
    error: (o.error ?? '').split('\n')[0]!.slice(0, 500),
    found: new Date().toISOString().slice(0, 10),
    status: 'open',
  };
  const file = join(dir, fileName(o.name, o.seed));
  writeFileSync(file, JSON.stringify(saved, null, 2) + '\n');
  return file;
}

export interface LoadedFailure extends SavedFailure {
  file: string;
}

export function loadFailures(dir = FAILURES_DIR): LoadedFailure[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => {
      const raw = JSON.parse(readFileSync(join(dir, f), 'utf8')) as SavedFailure;
      return { ...raw, input: decodeValue(raw.input), file: f };
    });
}

// Files the data-driven tests share.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

function idtraceFilesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.idtrace'))
    .map((f) => join(dir, f))
    .sort();
}

/** Every .idtrace of the test fixtures and the examples, sorted, as absolute paths. */
export function idtraceFixtures(): string[] {
  return [...idtraceFilesUnder(join(ROOT, 'test', 'fixtures')), ...idtraceFilesUnder(join(ROOT, 'examples'))];
}

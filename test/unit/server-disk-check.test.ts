// "Check file on disk" reads the file in blocks when its format allows (src/stream.ts) and reports the
// share read as progress; findings and the register table must be what a whole-file check gives.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { pathToFileURL } from 'node:url';
import { runDiskCheck } from '../../server/disk-check.ts';
import { checkDocument } from '../../server/core.ts';
import { buildRegisterTable } from '../../server/features/table.ts';
import { generateFtrace, generateIdtrace } from '../../bench/gen.ts';

describe('runDiskCheck', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idreg-disk-'));
  const cases: { name: string; make: (p: string) => void }[] = [
    { name: 'ftrace.txt', make: (p) => generateFtrace(p, { style: 'raw', maxBytes: 3 << 20, seed: 4 }) },
    { name: 'events.idtrace', make: (p) => generateIdtrace(p, { events: 30000, seed: 4, hostFile: 'missing.iddump' }) },
    { name: 'template.json', make: (p) => writeFileSync(p, readFileSync(join(__dirname, '..', 'fixtures', 'formats', 'firecracker', 'host-a.fingerprint.json'))) },
  ];
  for (const c of cases) {
    it(`${c.name}: same findings and table as a whole-file check, progress that only grows`, () => {
      const path = join(dir, c.name);
      c.make(path);
      const steps: number[] = [];
      const got = runDiskCheck({ uri: pathToFileURL(path).href, path }, (p) => steps.push(p));
      const report = checkDocument({ path, text: readFileSync(path, 'utf8') }, { maxFindings: 200000 });
      assert.deepEqual(got.findings, report.findings);
      assert.deepEqual(got.table, buildRegisterTable(pathToFileURL(path).href, report));
      assert.equal(got.lines, report.stats.lines);
      assert.deepEqual(steps, [...steps].sort((a, b) => a - b));
    });
  }
  it('cleans up', () => rmSync(dir, { recursive: true, force: true }));
});

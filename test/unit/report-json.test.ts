// `idreg check --format json` writes its JSON finding by finding (report.ts writeJson) instead of one big
// string; the text must be exactly JSON.stringify(toJson(reports), null, 2) + '\n'.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import '../../src/formats/detect.ts';
import { checkDocument } from '../../src/check.ts';
import { renderJson, toJson, writeJson } from '../../src/report.ts';

const dirs = ['idtrace', 'iddump', join('formats', 'ftrace'), join('formats', 'firecracker')].map((d) => join(__dirname, '..', 'fixtures', d));

describe('JSON output written in pieces', () => {
  const reports = dirs.flatMap((d) => readdirSync(d).filter((f) => !f.endsWith('.md')).map((f) => checkDocument({ path: join(d, f), text: readFileSync(join(d, f), 'utf8') })));

  it('equals JSON.stringify of the whole output: one file, all files, no file, a file with no findings', () => {
    const clean = reports.find((r) => r.findings.length === 0);
    assert.ok(clean, 'a fixture without findings');
    const sets = [[], reports.slice(0, 1), reports, [clean, ...reports.slice(0, 3), clean]];
    for (const set of sets) {
      for (const cwd of [undefined, join(__dirname, '..')]) {
        const want = JSON.stringify(toJson(set, { cwd }), null, 2) + '\n';
        assert.equal(renderJson(set, { cwd }), want);
        const pieces: string[] = [];
        writeJson(set, { cwd }, (t) => pieces.push(t));
        assert.equal(pieces.join(''), want);
      }
    }
  });

  it('hands the text out in pieces of about 64 KiB, not as one string', () => {
    const many = Array.from({ length: 30 }, () => reports).flat();
    const pieces: string[] = [];
    writeJson(many, {}, (t) => pieces.push(t));
    assert.ok(pieces.length > 3, `${pieces.length} pieces`);
    assert.ok(Math.max(...pieces.map((p) => p.length)) < 200_000);
  });
});

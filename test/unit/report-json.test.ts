// `idreg check` writes its output finding by finding (report.ts writeJson, writeSarif, writeText) instead of
// one big string (a million findings as SARIF passed V8's longest string); the JSON must be exactly
// JSON.stringify(toJson(reports), null, 2) + '\n', the SARIF JSON.stringify(toSarif(…), null, 2) + '\n'.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import '../../src/formats/detect.ts';
import { checkDocument } from '../../src/check.ts';
import { renderJson, renderSarif, toJson, toSarif, writeJson, writeSarif, writeText } from '../../src/report.ts';

const dirs = ['idtrace', 'iddump', join('formats', 'ftrace'), join('formats', 'firecracker')].map((d) => join(__dirname, '..', 'fixtures', d));

describe('output written in pieces', () => {
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

  it('SARIF equals JSON.stringify of the whole log; text has a line per finding and note, then the summary', () => {
    const clean = reports.find((r) => r.findings.length === 0)!;
    for (const set of [[], reports.slice(0, 1), reports, [clean, ...reports.slice(0, 3), clean]]) {
      for (const cwd of [undefined, join(__dirname, '..')]) {
        const opts = { cwd, toolVersion: '9.9.9' };
        const pieces: string[] = [];
        writeSarif(set, opts, (t) => pieces.push(t));
        assert.equal(pieces.join(''), JSON.stringify(toSarif(set, opts), null, 2) + '\n');
        assert.equal(renderSarif(set, opts), pieces.join(''));
        const text: string[] = [];
        writeText(set, opts, (t) => text.push(t));
        const lines = text.join('').split('\n');
        const findings = set.flatMap((r) => r.findings);
        assert.equal(lines.length, findings.length + findings.reduce((n, f) => n + f.related.length, 0) + 2, 'a line per finding and note, the summary, then the end');
        assert.match(lines.at(-2)!, /^\d+ files? checked: /);
        assert.equal(lines.at(-1), '');
      }
    }
  });

  it('hands the text out in pieces of about 64 KiB, not as one string', () => {
    const many = Array.from({ length: 30 }, () => reports).flat();
    for (const writer of [
      (w: (t: string) => void) => writeJson(many, {}, w),
      (w: (t: string) => void) => writeSarif(many, { toolVersion: '1' }, w),
      (w: (t: string) => void) => writeText(many, {}, w),
    ]) {
      const pieces: string[] = [];
      writer((t) => pieces.push(t));
      assert.ok(pieces.length > 3, `${pieces.length} pieces`);
      assert.ok(Math.max(...pieces.map((p) => p.length)) < 200_000);
    }
  });
});

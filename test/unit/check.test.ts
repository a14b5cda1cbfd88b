// checkDocument (detection, host resolution, dumps, caps), the renderers and `idreg check` in-process.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { checkDocument, detectDocumentFormat, parseDocument, registerHostJudge, registerParser, registeredFormats } from '../../src/check.ts';
import { makeFinding, type FindingCode } from '../../src/findings.ts';
import { renderText, summarize, toJson } from '../../src/report.ts';
import { runCheck } from '../../src/cli/check.ts';
import { captureIO } from '../helpers/cli-io.ts';

const HOST = `# features: psci_0_2,pmu_v3
 SYS_ID_AA64PFR0_EL1:\t1101000021111112
SYS_ID_AA64ISAR0_EL1:\t1011111110212120
 SYS_ID_AA64DFR0_EL1:\t000000f010305506
`;

const dir = mkdtempSync(join(tmpdir(), 'idreg-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));
mkdirSync(join(dir, 'traces'));
mkdirSync(join(dir, 'hosts'));
writeFileSync(join(dir, 'hosts', 'g3.iddump'), HOST);
writeFileSync(join(dir, 'hosts', 'broken.iddump'), HOST + 'garbage line\nFOO_EL1:\t0\n');
writeFileSync(join(dir, 'hosts', 'empty.iddump'), '# nothing here\n');

const RAISE = 'vcpu 0 set ID_AA64ISAR0_EL1 0x1011111110312120 = -EINVAL';

function trace(hostLine: string | undefined, ...body: string[]): string {
  return [...(hostLine ? [hostLine] : []), 'vcpu 0 init psci_0_2,pmu_v3', ...body].join('\n') + '\n';
}

function codesOf(rep: { findings: { code: FindingCode; range: { start: { line: number } } }[] }): string[] {
  return rep.findings.map((f) => `${f.range.start.line}:${f.code}`);
}

describe('checkDocument', () => {
  it('detects the native formats by extension and by content, and reports an unknown format once', () => {
    assert.equal(detectDocumentFormat('', 'a.idtrace'), 'idtrace');
    assert.equal(detectDocumentFormat('', 'a.iddump'), 'iddump');
    assert.equal(detectDocumentFormat('vcpu 0 init\nvcpu 0 run\n', 'capture.txt'), 'idtrace');
    assert.equal(detectDocumentFormat(HOST, 'idregs'), 'iddump');
    assert.equal(detectDocumentFormat(HOST, 'host.txt'), 'iddump');
    const unknown = checkDocument({ path: join(dir, 'notes.txt'), text: 'hello\nworld\n' });
    assert.equal(unknown.format, 'unknown');
    assert.deepEqual(codesOf(unknown), ['0:IDR001']);
    assert.match(unknown.findings[0]!.message, /format not recognised/);
    assert.deepEqual(unknown.stats, { lines: 2, understood: 0, skipped: 2 });
  });

  it('lets another module register a format (the hook formats/detect.ts uses)', () => {
    assert.deepEqual(registeredFormats().slice(0, 2), ['idtrace', 'iddump']);
    registerParser(
      'register-list',
      (text) => ({ format: 'register-list', events: [], findings: [makeFinding('IDR001', 'from the plug-in', { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } })], stats: { lines: 1, understood: 0, skipped: 1 } }),
      (text, path) => (path?.endsWith('.reglist') || text.startsWith('REGLIST') ? 0.95 : 0),
    );
    assert.equal(detectDocumentFormat('REGLIST\n'), 'register-list');
    const rep = checkDocument({ path: join(dir, 'x.reglist'), text: 'anything' });
    assert.equal(rep.format, 'register-list');
    assert.equal(rep.findings[0]!.message, 'from the plug-in');
    // A parser that throws becomes a finding, not an exception.
    registerParser('register-list', () => { throw new Error('boom'); }, (_t, p) => (p?.endsWith('.reglist') ? 1 : 0));
    const broken = checkDocument({ path: join(dir, 'x.reglist'), text: 'anything' });
    assert.match(broken.findings[0]!.message, /internal error in the register-list parser: boom/);
    registerParser('register-list', () => { throw new Error('unused'); }, () => 0);
    assert.equal(parseDocument('REGLIST', 'y.txt').format, 'unknown');
  });

  it('resolves a host line relative to the trace, and reports which file it read', () => {
    const path = join(dir, 'traces', 'a.idtrace');
    const rep = checkDocument({ path, text: trace('host ../hosts/g3.iddump', RAISE) });
    assert.deepEqual(codesOf(rep), ['2:IDR010']);
    assert.equal(rep.host?.path, join(dir, 'hosts', 'g3.iddump'));
    assert.equal(rep.host?.format, 'iddump');
    assert.equal(rep.host?.error, undefined);
    assert.deepEqual(rep.dependencies, [join(dir, 'hosts', 'g3.iddump')]);
    const related = rep.findings[0]!.related.find((r) => r.path !== undefined)!;
    assert.equal(related.path, join(dir, 'hosts', 'g3.iddump'));
    assert.equal(related.range.start.line, 2, 'the host line of ID_AA64ISAR0_EL1');
    assert.ok(rep.replay && rep.vm, 'the replay result and the VM snapshot are returned');
  });

  it('lets the host option override the host line, with a path relative to the trace or absolute', () => {
    const path = join(dir, 'traces', 'b.idtrace');
    const text = trace('host no-such.iddump', RAISE);
    assert.deepEqual(codesOf(checkDocument({ path, text })), ['0:IDR001']);
    assert.deepEqual(codesOf(checkDocument({ path, text }, { host: '../hosts/g3.iddump' })), ['2:IDR010']);
    assert.deepEqual(codesOf(checkDocument({ path, text: trace(undefined, RAISE) }, { host: join(dir, 'hosts', 'g3.iddump') })), ['1:IDR010']);
  });

  it('reports an unusable host once, on the host line, and checks without it', () => {
    const path = join(dir, 'traces', 'c.idtrace');
    const cases: [string, RegExp][] = [
      ['host missing.iddump', /cannot be read \(no such file\)/],
      ['host ../hosts', /is a directory/],
      ['host ../hosts/empty.iddump', /holds no register values/],
      ['host c.idtrace', /holds no register values|is not in a format|holds no register/],
    ];
    writeFileSync(path, trace(undefined));
    for (const [line, why] of cases) {
      const rep = checkDocument({ path, text: trace(line, RAISE) });
      assert.deepEqual(codesOf(rep), ['0:IDR001'], line);
      assert.match(rep.findings[0]!.message, why, line);
      assert.deepEqual(rep.findings[0]!.range.start, { line: 0, character: 5 }, 'on the path');
      assert.ok(rep.host?.error, line);
    }
    const broken = checkDocument({ path, text: trace('host ../hosts/broken.iddump', RAISE) });
    assert.deepEqual(codesOf(broken), ['0:IDR001', '2:IDR010'], 'a host with bad lines is still used');
    assert.match(broken.findings[0]!.message, /has 2 problems \(first, line 5: /);
    assert.deepEqual(broken.findings[0]!.related.map((r) => [r.path, r.range.start.line]), [
      [join(dir, 'hosts', 'broken.iddump'), 4],
      [join(dir, 'hosts', 'broken.iddump'), 5],
    ]);
  });

  it('refuses host files outside the workspace root (untrusted workspaces)', () => {
    const path = join(dir, 'traces', 'd.idtrace');
    const text = trace('host ../hosts/g3.iddump', RAISE);
    const refused = checkDocument({ path, text }, { workspaceRoot: join(dir, 'traces') });
    assert.deepEqual(codesOf(refused), ['0:IDR001']);
    assert.match(refused.findings[0]!.message, /outside the workspace/);
    assert.deepEqual(codesOf(checkDocument({ path, text }, { workspaceRoot: dir })), ['2:IDR010']);
  });

  it('reads host files through readFile when given, and survives one that throws', () => {
    const path = '/virtual/t.idtrace';
    const seen: string[] = [];
    const rep = checkDocument({ path, text: trace('host h.iddump', RAISE) }, { readFile: (p) => (seen.push(p), HOST) });
    assert.deepEqual(seen, ['/virtual/h.iddump']);
    assert.deepEqual(codesOf(rep), ['2:IDR010']);
    const err = checkDocument({ path, text: trace('host h.iddump') }, { readFile: () => new Error('EACCES: nope') });
    assert.match(err.findings[0]!.message, /cannot be read \(EACCES: nope\)/);
    const thrown = checkDocument({ path, text: trace('host h.iddump') }, { readFile: () => { throw new Error('kaput'); } });
    assert.match(thrown.findings[0]!.message, /kaput/);
  });

  it('checks a dump against a host given by option or by a # host: line (IDR030), and alone without one', () => {
    const dump = ` SYS_ID_AA64PFR0_EL1:\t1101000121111112\nSYS_ID_AA64ISAR0_EL1:\t1011111110212100\n`;
    const path = join(dir, 'traces', 'template.iddump');
    assert.deepEqual(codesOf(checkDocument({ path, text: dump })), []);
    const withHost = checkDocument({ path, text: dump }, { host: join(dir, 'hosts', 'g3.iddump') });
    assert.deepEqual(codesOf(withHost), ['0:IDR030']);
    const f = withHost.findings[0]!;
    assert.match(f.message, /ID_AA64PFR0_EL1\.SVE \[35:32\] = 1, host 0/);
    assert.equal(f.register, 'ID_AA64PFR0_EL1');
    assert.equal(f.errno, '-EINVAL');
    assert.deepEqual(f.range, { start: { line: 0, character: 22 }, end: { line: 0, character: 38 } });
    const byComment = checkDocument({ path, text: '# host: ../hosts/g3.iddump\n' + dump });
    assert.deepEqual(codesOf(byComment), ['1:IDR030']);
    assert.equal(byComment.replay, undefined, 'a dump is not replayed');
  });

  it('lets formats/detect.ts replace the judge of non-trace documents', () => {
    const path = join(dir, 'traces', 'judged.iddump');
    const seen: string[] = [];
    registerHostJudge((parse, host, opts) => {
      seen.push(`${parse.format} ${host.entries.length} ${opts.hostPath}`);
      return [makeFinding('IDR030', 'judged', { start: { line: 0, character: 0 }, end: { line: 0, character: 1 } })];
    });
    try {
      const rep = checkDocument({ path, text: 'SYS_ID_AA64ISAR0_EL1:\t0\n' }, { host: join(dir, 'hosts', 'g3.iddump') });
      assert.deepEqual(rep.findings.map((f) => f.message), ['judged']);
      assert.deepEqual(seen, [`iddump 3 ${join(dir, 'hosts', 'g3.iddump')}`]);
    } finally {
      registerHostJudge(undefined);
    }
    const back = checkDocument({ path, text: 'SYS_ID_AA64ISAR0_EL1:\t0\n' }, { host: join(dir, 'hosts', 'g3.iddump') });
    assert.deepEqual(back.findings, [], 'the built-in judge is back');
  });

  it('sorts findings by position and caps them errors-first with maxFindings', () => {
    const text = [
      'vcpu 0 init psci_0_2,pmu_v3',
      'vcpu 0 get ID_AA64PFR0_EL1 = 0x1',
      'vcpu 0 get ID_AA64PFR0_EL1 = 0x2',
      'bogus',
      'vcpu 0 get FOO_EL1',
      'also bogus',
    ].join('\n');
    const all = checkDocument({ path: join(dir, 'e.idtrace'), text });
    assert.deepEqual(codesOf(all), ['2:IDR015', '3:IDR001', '4:IDR002', '5:IDR001']);
    assert.equal(all.findings[0]!.severity, 'warning');
    const capped = checkDocument({ path: join(dir, 'e.idtrace'), text }, { maxFindings: 2 });
    assert.deepEqual(codesOf(capped), ['3:IDR001', '4:IDR002'], 'errors are kept before warnings');
    assert.equal(capped.truncated, 2);
  });

  it('strips a byte-order mark and never throws on hostile input', () => {
    const rep = checkDocument({ path: join(dir, 'bom.idtrace'), text: '\uFEFFvcpu 0 init\n' });
    assert.deepEqual(rep.findings, []);
    for (const text of ['\u0000\u0001', 'vcpu '.repeat(100), '(((((', 'vcpu 0 set ' + '('.repeat(300) + ' 1', '='.repeat(60), 'host \nhost \n']) {
      assert.doesNotThrow(() => checkDocument({ path: join(dir, 'x.idtrace'), text }));
    }
  });
});

describe('report', () => {
  const path = join(dir, 'traces', 'r.idtrace');
  const rep = checkDocument({ path, text: trace('host ../hosts/g3.iddump', RAISE, 'vcpu 0 get ID_AA64PFR0_EL1 = 0x1101000021111113') });

  it('prints findings like a compiler, 1-based, with related notes and a summary', () => {
    const text = renderText([rep], { cwd: dir });
    const lines = text.trimEnd().split('\n');
    assert.match(lines[0]!, /^traces\/r\.idtrace:3:29: error IDR010: ID_AA64ISAR0_EL1\.ATOMIC = 3 exceeds the host limit 2/);
    assert.match(lines[1]!, /^hosts\/g3\.iddump:3:23: note: host limit/);
    assert.match(lines[2]!, /^traces\/r\.idtrace:4:30: warning IDR015: /);
    assert.equal(lines.at(-1), '1 file checked: 4 lines read, 4 understood, 0 skipped; 1 error, 1 warning');
  });

  it('gives the JSON shape of design.md, 0-based', () => {
    const json = JSON.parse(JSON.stringify(toJson([rep], { cwd: dir })));
    assert.deepEqual(Object.keys(json), ['files', 'summary']);
    const file = json.files[0];
    assert.equal(file.path, 'traces/r.idtrace');
    assert.equal(file.format, 'idtrace');
    const f = file.findings[0];
    for (const key of ['code', 'severity', 'message', 'range', 'related']) assert.ok(key in f, key);
    assert.deepEqual(f.range, { start: { line: 2, character: 28 }, end: { line: 2, character: 46 } });
    assert.equal(f.related[0].path, 'hosts/g3.iddump');
    assert.equal(f.errno, '-EINVAL');
    assert.deepEqual(json.summary, { files: 1, lines: 4, understood: 4, skipped: 0, findings: 2, errors: 1, warnings: 1, information: 0, hints: 0, truncated: 0 });
    assert.deepEqual(file.host, { path: 'hosts/g3.iddump', format: 'iddump' });
  });

  it('summarises several files', () => {
    const s = summarize([rep, checkDocument({ path: join(dir, 'z.idtrace'), text: 'nonsense\n' })]);
    assert.equal(s.files, 2);
    assert.equal(s.lines, 5);
    assert.equal(s.skipped, 1);
    assert.equal(s.errors, 2);
  });
});

describe('idreg check', () => {
  const io = (cwd = dir) => captureIO(cwd);
  writeFileSync(join(dir, 'traces', 'clean.idtrace'), trace('host ../hosts/g3.iddump', 'vcpu 0 run'));
  writeFileSync(join(dir, 'traces', 'bad.idtrace'), trace('host ../hosts/g3.iddump', RAISE));
  writeFileSync(join(dir, 'traces', 'warn.idtrace'), trace('host ../hosts/g3.iddump', 'vcpu 0 get ID_AA64PFR0_EL1 = 0x1'));
  mkdirSync(join(dir, 'folder'));
  writeFileSync(join(dir, 'folder', 'one.idtrace'), trace(undefined, 'vcpu 0 run'));
  writeFileSync(join(dir, 'folder', 'two.iddump'), HOST);
  writeFileSync(join(dir, 'folder', 'notes.md'), '# notes\nnothing to see\n');
  mkdirSync(join(dir, 'folder', 'nested'));
  writeFileSync(join(dir, 'folder', 'nested', 'deep.idtrace'), 'garbage\n');

  it('exits 0 when clean, 1 on an error, 0 on warnings only', async () => {
    const a = io();
    assert.equal(await runCheck(['traces/clean.idtrace'], a), 0);
    assert.equal(a.out, '1 file checked: 3 lines read, 3 understood, 0 skipped; 0 errors, 0 warnings\n');
    assert.equal(a.err, '');
    const b = io();
    assert.equal(await runCheck(['traces/bad.idtrace', 'traces/clean.idtrace'], b), 1);
    assert.match(b.out, /^traces\/bad\.idtrace:3:29: error IDR010: /);
    const c = io();
    assert.equal(await runCheck(['traces/warn.idtrace'], c), 0);
    assert.match(c.out, /warning IDR015/);
  });

  it('exits 2 with one line on stderr for usage errors and unreadable input', async () => {
    const cases: [string[], RegExp][] = [
      [[], /no FILE to check/],
      [['--format', 'xml', 'traces/clean.idtrace'], /--format must be text, json or sarif/],
      [['--bogus', 'traces/clean.idtrace'], /unknown option --bogus/],
      [['--kernel', 'latest-ish!', 'traces/clean.idtrace'], /--kernel expects a kernel version/],
      [['--host', 'hosts/nope.iddump', 'traces/clean.idtrace'], /cannot read host dump hosts\/nope\.iddump: no such file/],
      [['--host', 'hosts', 'traces/clean.idtrace'], /cannot read host dump hosts: is a directory/],
      [['--host', 'a', '--host', 'b', 'x'], /--host given more than once/],
      [['traces/missing.idtrace'], /cannot read traces\/missing\.idtrace: no such file or directory/],
    ];
    for (const [args, why] of cases) {
      const o = io();
      assert.equal(await runCheck(args, o), 2, args.join(' '));
      assert.match(o.err, why, args.join(' '));
      assert.ok(!/\n\s+at /.test(o.err), 'no stack trace');
    }
    const o = io();
    assert.equal(await runCheck(['traces/missing.idtrace', 'traces/bad.idtrace'], o), 2, 'unreadable input wins over findings');
    assert.match(o.out, /IDR010/, 'the readable file is still reported');
  });

  it('takes --host, --kernel and --format json / sarif', async () => {
    const a = io();
    assert.equal(await runCheck(['--host', 'hosts/g3.iddump', 'folder/one.idtrace', '--format=json'], a), 0);
    const json = JSON.parse(a.out);
    assert.equal(json.files[0].host.path, 'hosts/g3.iddump');
    const b = io();
    writeFileSync(join(dir, 'traces', 'era.idtrace'), trace('host ../hosts/g3.iddump', 'vcpu 0 set ID_AA64ISAR0_EL1 0x1011111110212100 = 0'));
    assert.equal(await runCheck(['traces/era.idtrace'], b), 0);
    const c = io();
    assert.equal(await runCheck(['traces/era.idtrace', '--kernel', '6.4'], c), 1, '6.4: ID registers are invariant');
    assert.match(c.out, /IDR011/);
    const d = io();
    assert.equal(await runCheck(['traces/bad.idtrace', '--format', 'sarif'], d), 1);
    const sarif = JSON.parse(d.out);
    assert.equal(sarif.version, '2.1.0');
    assert.equal(sarif.runs[0].results[0].ruleId, 'IDR010');
    assert.equal(sarif.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri, 'traces/bad.idtrace');
    assert.match(sarif.runs[0].tool.driver.version, /^\d+\.\d+\.\d+/);
  });

  it('checks the files of a directory (not recursively), skipping files of unknown format', async () => {
    const o = io();
    assert.equal(await runCheck(['folder', '--format', 'json'], o), 0);
    const json = JSON.parse(o.out);
    assert.deepEqual(json.files.map((f: { path: string }) => f.path), ['folder/one.idtrace', 'folder/two.iddump']);
    assert.match(o.err, /skipped 1 file of unknown format: notes\.md/);
  });

  it('checks the examples: every finding code IDR001-IDR022 appears, and the boot is mostly clean', async () => {
    const root = resolve(__dirname, '..', '..');
    const o = io(root);
    assert.equal(await runCheck(['examples', '--format', 'json'], o), 1);
    const json = JSON.parse(o.out) as { files: { path: string; findings: { code: string }[] }[] };
    assert.deepEqual(json.files.map((f) => f.path).sort(), readdirSync(join(root, 'examples')).filter((n) => /\.(idtrace|iddump)$/.test(n)).map((n) => `examples/${n}`).sort());
    const codes = new Set(json.files.flatMap((f) => f.findings.map((x) => x.code)));
    const wanted = ['IDR001', 'IDR002', 'IDR003', 'IDR004', 'IDR010', 'IDR011', 'IDR012', 'IDR013', 'IDR014', 'IDR015', 'IDR020', 'IDR021', 'IDR022', 'IDR030'];
    assert.deepEqual(wanted.filter((c) => !codes.has(c)), []);
    const boot = json.files.find((f) => f.path === 'examples/boot-4vcpu.idtrace')!;
    assert.deepEqual([...new Set(boot.findings.map((f) => f.code))].sort(), ['IDR011', 'IDR012']);
    const host = json.files.find((f) => f.path === 'examples/graviton3.iddump')!;
    assert.deepEqual(host.findings, []);
  });
});

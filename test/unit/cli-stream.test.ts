// `idreg check` reads big files in blocks (src/cli/stream.ts) and feeds them to a block parser. The
// report must be the one a whole-file check gives, whatever the block size and however reads split the
// bytes: CRLF, UTF-8 names across block ends, a BOM, a line longer than a block, no final newline.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import fc from 'fast-check';
import '../../src/formats/detect.ts';
import { checkDocument } from '../../src/check.ts';
import { checkIdtraceText, checkStreamed, STREAM_MIN_BYTES } from '../../src/stream.ts';
import { encodingKey } from '../../src/model/events.ts';
import { memoryFile } from '../helpers/block-file.ts';
import { idtraceFixtures } from '../helpers/fixtures.ts';
import { decodeText } from '../../src/text.ts';
import { generateFtrace } from '../../bench/gen.ts';
import { runCheck } from '../../src/cli/check.ts';
import { captureIO } from '../helpers/cli-io.ts';
import { nodeIO } from '../../src/cli.ts';

const FIXTURES = join(__dirname, '..', 'fixtures', 'formats', 'ftrace');


/** Tiny blocks would starve format detection (it reads the first block): the format is given. */
function same(bytes: Buffer, path: string, blockBytes: number, readSizes: number[]): void {
  const whole = checkDocument({ path, text: decodeText(bytes) });
  const streamed = checkStreamed(path, memoryFile(bytes, readSizes), {}, { blockBytes, format: whole.format });
  assert.ok(streamed, 'an ftrace file is streamed');
  assert.equal(streamed.format, whole.format);
  assert.deepEqual(streamed.stats, whole.stats);
  assert.deepEqual(streamed.findings, whole.findings);
  assert.deepEqual(streamed.parse.events, whole.parse.events);
}

const fixtures = readdirSync(FIXTURES).map((f) => ({ name: f, bytes: readFileSync(join(FIXTURES, f)) }));

describe('checkStreamed equals a whole-file check', () => {
  for (const f of fixtures) {
    it(`${f.name}: random block sizes and short reads, LF and CRLF`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 16, max: 600 }), fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 5 }), fc.boolean(), (block, reads, crlf) => {
          const text = f.bytes.toString('utf8');
          same(Buffer.from(crlf ? text.replace(/\n/g, '\r\n') : text), f.name, block, reads);
        }),
        { seed: 5, numRuns: 40 },
      );
    });
  }

  it('UTF-8 comm names across block ends, a BOM, a line longer than a block, no final newline', () => {
    const base = fixtures.find((f) => f.name === 'raw.trace')!.bytes.toString('utf8');
    const text = '\ufeff' + base.replace(/CPU 0\/KVM/g, 'vcpu-é€😀').replace('# tracer: nop', '# ' + 'x'.repeat(3000)) + 'trailing junk without newline';
    const bytes = Buffer.from(text);
    for (const block of [16, 17, 31, 64, 257, 4096]) same(bytes, 'utf8.trace', block, []);
  });

  it('invalid UTF-8 (a lone 0xff, a cut sequence) anywhere: positions stay those of a whole-file read', () => {
    // U+FFFD, which invalid bytes decode to, is 3 bytes in UTF-8: re-encoding text to count bytes overshoots.
    for (const f of fixtures) {
      const bytes = Buffer.concat(
        f.bytes
          .toString('latin1')
          .split('\n')
          .map((l, i) => Buffer.concat([Buffer.from(l, 'latin1'), Buffer.from(i % 3 === 0 ? [0xff, 0xc3] : i % 3 === 1 ? [0xe2, 0x82] : []), Buffer.from('\n')])),
      );
      for (const block of [16, 64, 300]) same(bytes, f.name, block, [7]);
    }
    const idtrace = Buffer.concat([Buffer.from('vcpu 0 init\n'), Buffer.from([0xff, 0xfe, 0x0a, 0xc3, 0x0a]), Buffer.from('vcpu 0 get ID_AA64PFR0_EL1\n'.repeat(50))]);
    const whole = checkDocument({ path: 'x.idtrace', text: decodeText(idtrace) });
    const streamed = checkStreamed('x.idtrace', memoryFile(idtrace, [5]), {}, { blockBytes: 32, pieceBytes: 20, format: 'idtrace' });
    assert.deepEqual(streamed?.findings, whole.findings);
  });

  it('a generated 30k-line trace with the real block size and odd reads', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idreg-stream-'));
    try {
      const path = join(dir, 't.txt');
      generateFtrace(path, { style: 'tracecmd', lines: 30000, seed: 9 });
      const bytes = readFileSync(path);
      same(bytes, path, 1 << 20, [65536, 12345, 1 << 20]);
      same(bytes, path, 100_000, []);
      // Detection from the first block, as the CLI does it.
      const detected = checkStreamed(path, memoryFile(bytes, []), {});
      assert.equal(detected?.format, 'ftrace');
      assert.deepEqual(detected.findings, checkDocument({ path, text: decodeText(bytes) }).findings);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const idtraces = idtraceFixtures();
  it(`.idtrace (${idtraces.length} fixtures and examples): replayed while read, same findings and counts`, () => {
    let streamedCount = 0;
    for (const path of idtraces) {
      const bytes = readFileSync(path);
      const whole = checkDocument({ path, text: decodeText(bytes) });
      for (const [blockBytes, pieceBytes] of [[64, 16], [200, 50], [4096, 1 << 20]] as const) {
        const streamed = checkStreamed(path, memoryFile(bytes, [37]), {}, { blockBytes, pieceBytes, format: 'idtrace' });
        if (!streamed) continue; // a kernel or host line after the first access: read whole
        streamedCount++;
        assert.deepEqual(streamed.findings, whole.findings, `${path} (block ${blockBytes}, piece ${pieceBytes})`);
        assert.deepEqual(streamed.stats, whole.stats);
        assert.deepEqual(streamed.vm, whole.vm);
        assert.deepEqual(streamed.dependencies, whole.dependencies);
      }
    }
    assert.ok(streamedCount >= idtraces.length * 2, `streamed ${streamedCount} of ${idtraces.length * 3}`);
  });

  it(`.idtrace text replayed as parsed (the editor's big documents): same findings, counts and touched registers`, () => {
    let checked = 0;
    for (const path of idtraces) {
      const text = decodeText(readFileSync(path));
      const whole = checkDocument({ path, text });
      const touched = new Set(whole.parse.events.flatMap((e) => ('reg' in e && e.reg.enc ? [encodingKey(e.reg.enc)] : [])));
      for (const pieceChars of [1, 40, 2048]) {
        const r = checkIdtraceText(path, text, {}, pieceChars);
        if (!r) continue; // a kernel or host line after the first access: checked whole
        checked++;
        assert.deepEqual(r.findings, whole.findings, `${path} (pieces of ${pieceChars})`);
        assert.deepEqual(r.stats, whole.stats);
        assert.deepEqual(r.vm, whole.vm);
        assert.deepEqual(r.dependencies, whole.dependencies);
        // Without an access the replay never started: the few events are kept as they are.
        if (r.touched) assert.deepEqual(r.touched, touched, path);
        else assert.deepEqual(r.parse.events, whole.parse.events, path);
      }
    }
    assert.ok(checked >= idtraces.length * 2, `checked ${checked} of ${idtraces.length * 3}`);
    assert.equal(checkIdtraceText('k.idtrace', 'vcpu 0 init\nvcpu 0 get ID_AA64PFR0_EL1\nkernel 6.1\n', {}), undefined);
  });

  it('an .idtrace that names its kernel after the first access is read whole', () => {
    const text = 'vcpu 0 init\nvcpu 0 get ID_AA64PFR0_EL1\nkernel 6.1\n';
    assert.equal(checkStreamed('k.idtrace', memoryFile(Buffer.from(text), []), {}, { blockBytes: 64, format: 'idtrace' }), undefined);
    assert.ok(checkStreamed('k.idtrace', memoryFile(Buffer.from('kernel 6.1\n' + text.replace('kernel 6.1\n', '')), []), {}, { blockBytes: 64, format: 'idtrace' }));
  });

  it('formats without a block parser and UTF-16 files are left to the whole-file check', () => {
    assert.equal(checkStreamed('x.json', memoryFile(Buffer.from('{"cpu_template": {}}\n'), []), {}, { blockBytes: 64 }), undefined);
    assert.equal(checkStreamed('x.txt', memoryFile(Buffer.from('\ufeffabc', 'utf16le'), []), {}, { blockBytes: 64 }), undefined);
  });
});

describe('format detection of a streamed file', () => {
  it('sees the first 256 KiB only: every sniffer decides on the first 64 Ki characters', async () => {
    const { detectDocumentFormat } = await import('../../src/check.ts');
    const roots = [join(__dirname, '..', 'fixtures'), join(__dirname, '..', '..', 'examples')];
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(d, { withFileTypes: true })) {
        if (e.isDirectory()) walk(join(d, e.name));
        else if (!e.name.endsWith('.json') || e.name.includes('firecracker') || d.includes('firecracker')) files.push(join(d, e.name));
      }
    };
    roots.forEach(walk);
    assert.ok(files.length > 50);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      // What lies after the first 64 Ki characters must not change the verdict.
      for (const tail of ['\n' + 'vcpu 0 run\n'.repeat(8000), '\n' + '{"x": 1}\n'.repeat(9000), '\n#'.repeat(40000)]) {
        const long = text.padEnd(65536, ' ') + tail;
        assert.equal(detectDocumentFormat(long, f), detectDocumentFormat(long.slice(0, 65536), f), f);
      }
    }
  });
});

describe('idreg check streams files from', () => {
  it(`${STREAM_MIN_BYTES / 1048576} MiB up and prints what a whole-file check prints`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'idreg-stream-cli-'));
    try {
      const path = join(dir, 'big.txt');
      generateFtrace(path, { style: 'raw', maxBytes: STREAM_MIN_BYTES + 100_000, seed: 2 });
      let opened = 0;
      const streaming = captureIO(dir);
      streaming.openFile = (p: string) => (opened++, nodeIO.openFile!(p));
      const whole = captureIO(dir); // no openFile: reads whole
      const a = await runCheck([path, '--format', 'json'], streaming);
      const b = await runCheck([path, '--format', 'json'], whole);
      assert.equal(opened, 1);
      assert.equal(a, b);
      assert.equal(streaming.out, whole.out);
      assert.equal(streaming.err, '');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

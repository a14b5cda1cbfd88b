// The ftrace / trace-cmd / perf parser (formats.md §2, kvm-model.md §5) on fixtures written from the
// documented line formats.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ACCESS_EVENT, ACCESS_VALUE, ACCESS_WRITE, parseFtrace, sniffFtrace } from '../../src/formats/ftrace.ts';
import type { GuestReadEvent, GuestWriteEvent } from '../../src/model/events.ts';

const DIR = join(__dirname, '../fixtures/formats/ftrace');
const read = (name: string): string => readFileSync(join(DIR, name), 'utf8');

function codes(r: { findings: { code: string }[] }): string[] {
  return r.findings.map((f) => f.code);
}

describe('ftrace: raw /sys/kernel/tracing/trace', () => {
  const r = parseFtrace(read('raw.trace'));

  it('reads every line, with nothing dropped', () => {
    assert.equal(r.stats.lines, 41);
    assert.equal(r.stats.understood + r.stats.skipped, r.stats.lines);
    assert.equal(r.stats.skipped, 0);
    assert.deepEqual(codes(r), []);
  });

  it('names vCPUs from the QEMU thread names `CPU n/KVM`', () => {
    assert.deepEqual(
      r.vcpus.filter((v) => v.how === 'comm').map((v) => [v.vcpu, v.pid, v.comm]),
      [
        [0, 4321, 'CPU 0/KVM'],
        [1, 4322, 'CPU 1/KVM'],
      ],
    );
  });

  it('turns ID-register accesses into guest reads and writes: first read per vCPU, every write', () => {
    const ev = r.events as (GuestReadEvent | GuestWriteEvent)[];
    assert.deepEqual(
      ev.map((e) => [e.kind, e.vcpu, e.reg.name ?? e.reg.text, e.range.start.line]),
      [
        ['mrs', 0, 'ID_AA64PFR0_EL1', 14],
        ['mrs', 1, 'ID_AA64PFR0_EL1', 18],
        ['mrs', 0, 'ID_AA64ISAR0_EL1', 23],
        ['msr', 0, 'ID_AA64ISAR0_EL1', 31],
        ['mrs', 0, 'S3_0_0_4_3', 35],
      ],
    );
    const first = ev[0]!;
    assert.equal(first.reg.text, 'SYS_ID_AA64PFR0_EL1');
    assert.deepEqual(first.reg.enc, { op0: 3, op1: 0, crn: 0, crm: 4, op2: 0 });
    assert.deepEqual(first.reg.range, { start: { line: 14, character: 88 }, end: { line: 14, character: 107 } });
  });

  it('indexes every access, including repeated reads and non-ID registers', () => {
    const a = r.accesses;
    assert.equal(a.count, 7);
    assert.deepEqual(Array.from(a.line), [14, 18, 23, 27, 31, 35, 39]);
    assert.deepEqual(Array.from(a.vcpu), [0, 1, 0, 0, 0, 0, 0]);
    assert.equal(a.flags[3]! & ACCESS_EVENT, 0, 'the repeated read is indexed but not an event');
    assert.equal(a.flags[4]! & ACCESS_WRITE, ACCESS_WRITE);
    assert.equal(a.flags[6]! & ACCESS_EVENT, 0, 'CNTV_CTL_EL0 is not an ID register');
  });

  it('emits every access with allAccesses', () => {
    const all = parseFtrace(read('raw.trace'), undefined, { allAccesses: true });
    assert.equal(all.events.length, 7);
  });
});

describe('ftrace: trace-cmd report, raw fields and other thread names', () => {
  const r = parseFtrace(read('trace-cmd.txt'));

  it('reads padded event names, the preamble and `CPU n is empty`', () => {
    assert.equal(r.stats.skipped, 0);
    assert.equal(r.stats.lines, 16);
  });

  it('names vCPUs from kvm-vcpu-n and fc_vcpu n, others by pid in order of appearance', () => {
    assert.deepEqual(
      r.vcpus.map((v) => [v.vcpu, v.comm, v.how]),
      [
        [0, 'kvm-vcpu-0', 'comm'],
        [1, 'kvm-vcpu-1', 'comm'],
        [2, 'fc_vcpu 2', 'comm'],
        [3, 'qemu-system-aar', 'pid'],
        [4, 'qemu-system-aar', 'pid'],
      ],
    );
  });

  it('accepts PC+4 at kvm_entry (older kernels advanced the PC before the tracepoint)', () => {
    assert.deepEqual(codes(r), []);
  });

  it('reads `[FAILED TO PARSE]` raw fields of kvm_sys_access, kvm_exit, kvm_handle_sys_reg and kvm_entry', () => {
    const ev = r.events as GuestReadEvent[];
    const raw = ev.find((e) => e.vcpu === 4)!;
    assert.equal(raw.reg.name, 'ID_AA64ISAR0_EL1');
    // (3,4,1,2,0) = ZCR_EL2 is indexed but is no ID register.
    assert.equal(r.accesses.count, 5);
    assert.equal(Array.from(r.accesses.vcpu).includes(3), true);
  });
});

describe('ftrace: values recorded by the 2025 kvm_sys_access patch', () => {
  const r = parseFtrace(read('values.trace'));

  it('emits a read again when its value changes, and carries the written value', () => {
    const ev = r.events as (GuestReadEvent | GuestWriteEvent)[];
    assert.deepEqual(
      ev.map((e) => [e.kind, e.vcpu, e.kind === 'mrs' && e.result?.outcome.kind === 'value' ? e.result.outcome.value : e.kind === 'msr' ? e.value : undefined]),
      [
        ['mrs', 0, 0x1101001021111111n],
        ['mrs', 1, 0x1101001021111112n],
        ['mrs', 0, 0x1101001021111110n],
        ['msr', 0, 0n],
      ],
    );
    assert.equal(r.accesses.flags[0]! & ACCESS_VALUE, ACCESS_VALUE);
    assert.deepEqual(codes(r), []);
  });
});

describe('ftrace: cross-checks', () => {
  const r = parseFtrace(read('mismatch.trace'));

  it('reports an ESR that names another register (IDR003), with the HSR line as evidence', () => {
    const f = r.findings.find((x) => x.code === 'IDR003' && x.range.start.line === 2)!;
    assert.match(f.message, /ESR 0x6230000b .* \(3,0,0,5,0\) \(ID_AA64DFR0_EL1\)/);
    assert.equal(f.related[0]!.range.start.line, 1);
  });

  it('reports an ESR whose direction differs (IDR003)', () => {
    const f = r.findings.find((x) => x.code === 'IDR003' && x.range.start.line === 6)!;
    assert.match(f.message, /encodes a write/);
  });

  it('reports a name that names another register than the tuple (IDR003)', () => {
    const f = r.findings.find((x) => x.code === 'IDR003' && x.range.start.line === 8)!;
    assert.match(f.message, /ID_AA64MMFR0_EL1 is \(3,0,0,7,0\), but the access encodes \(3,0,0,7,1\)/);
    assert.equal(f.severity, 'error');
  });

  it('reports an access PC other than its kvm_exit PC, and a kvm_entry that does not resume there', () => {
    const pc = r.findings.find((x) => x.code === 'IDR003' && x.range.start.line === 10)!;
    assert.equal(pc.severity, 'warning');
    const entry = r.findings.find((x) => x.code === 'IDR015')!;
    assert.equal(entry.range.start.line, 11);
    assert.match(entry.message, /resumed at 0xffff800080a1b800/);
  });
});

describe('ftrace: mail-wrapped and malformed lines', () => {
  const r = parseFtrace(read('wrapped.trace'));

  it('reports each wrapped record (IDR001) and still reads it as one record', () => {
    const wrapped = r.findings.filter((f) => f.code === 'IDR001' && /wrapped/.test(f.message));
    assert.deepEqual(
      wrapped.map((f) => [f.range.start.line, f.range.end.line]),
      [
        [0, 1],
        [3, 4],
        [7, 8],
      ],
    );
    const ev = r.events as GuestReadEvent[];
    assert.deepEqual(
      ev.map((e) => [e.reg.name, e.reg.range.start.line, e.reg.range.start.character]),
      [
        ['ID_AA64PFR0_EL1', 4, 0],
        ['ID_AA64ISAR0_EL1', 7, 88],
      ],
    );
  });

  it('says what was expected for a line that is no record and for a record cut short, and resumes', () => {
    const other = r.findings.filter((f) => f.code === 'IDR001' && !/wrapped/.test(f.message));
    assert.equal(other.length, 2);
    assert.match(other[0]!.message, /expected an ftrace record/);
    assert.equal(other[0]!.range.start.line, 6);
    assert.match(other[1]!.message, /kvm_sys_access: expected `PC: <hex> <name> \(op0,op1,crn,crm,op2\) read\|write/);
    assert.equal(other[1]!.range.start.line, 9);
  });

  it('counts every line once', () => {
    assert.equal(r.stats.lines, 10);
    assert.equal(r.stats.understood + r.stats.skipped, 10);
    // Continuations (3), the stray line and the cut record are skipped.
    assert.equal(r.stats.skipped, 5);
  });

  it('never throws on garbage', () => {
    for (const text of ['', '\n\n', ': : :', 'a-1 [0] x 1.0: kvm_sys_access: PC:', 'x-1 [000] 1.5: kvm_exit: \u0000', '[FAILED TO PARSE]'.repeat(3)]) {
      const res = parseFtrace(text);
      assert.equal(res.stats.understood + res.stats.skipped, res.stats.lines);
    }
  });
});

describe('ftrace: perf script and tgid columns', () => {
  it('reads `comm pid [cpu] secs: kvm:event:` lines', () => {
    const r = parseFtrace(read('perf.txt'));
    assert.deepEqual(codes(r), []);
    assert.equal(r.events.length, 1);
    assert.equal((r.events[0] as GuestReadEvent).reg.name, 'ID_AA64MMFR3_EL1');
  });

  it('reads the `(tgid)` column of record-tgid', () => {
    const r = parseFtrace(read('tgid.trace'));
    assert.deepEqual(codes(r), []);
    assert.equal(r.vcpus[0]!.vcpu, 3);
    assert.equal(r.events.length, 1);
  });
});

describe('ftrace: detection', () => {
  it('recognises kvm tracepoints by content, and trace files by name only as a fallback', () => {
    assert.equal(sniffFtrace(read('raw.trace')), 0.95);
    assert.equal(sniffFtrace(read('perf.txt')), 0.95);
    assert.equal(sniffFtrace('# tracer: nop\n'), 0.8);
    assert.equal(sniffFtrace('', '/sys/kernel/tracing/trace'), 0.4);
    assert.equal(sniffFtrace('vcpu 0 run\n', 'x.idtrace'), 0);
  });
});

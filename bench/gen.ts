// Deterministic generators for the benchmark inputs (seeded, byte-identical on every machine):
//   * ftrace text in the raw /sys/kernel/tracing/trace layout (kvm-model.md §5.3) or the
//     `trace-cmd report` layout (§5.4), one layout per file, 8 vCPUs (`CPU n/KVM`);
//   * a native `.idtrace` (design.md) with the `.iddump` its `host` line points to;
//   * a Firecracker CPU template dump (formats.md §1.1) with many reg_modifiers.
// Files are written to a cache directory and regenerated only when missing or when GEN_VERSION or the
// parameters change (a `<file>.meta.json` sidecar records both).
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cumulativeWeights, Rng } from './prng.ts';
import {
  esrOf, genericName, hex16, ID_REGS, oneRegId, OTHER_TRAPPED, tuple, UNALLOCATED, type BenchReg,
} from './registers.ts';

/** Bump when any generator's output changes, so that cached inputs are regenerated. */
export const GEN_VERSION = 5;

export function defaultCacheDir(): string {
  return process.env['IDREG_BENCH_DIR'] ?? join(process.env['TMPDIR'] ?? tmpdir(), 'idreg-bench');
}

// ---------------------------------------------------------------------------------------------
// Buffered writer: builds ~1 MiB of text in memory, then one writeSync.

class Writer {
  private parts: string[] = [];
  private pending = 0;
  bytes = 0;
  lines = 0;
  private readonly fd: number;

  constructor(path: string) {
    this.fd = openSync(path, 'w');
  }

  line(text: string): void {
    this.parts.push(text, '\n');
    this.pending += text.length + 1;
    this.bytes += Buffer.byteLength(text) + 1;
    this.lines++;
    if (this.pending >= 1 << 20) this.flush();
  }

  raw(text: string): void {
    this.parts.push(text);
    this.pending += text.length;
    this.bytes += Buffer.byteLength(text);
    if (this.pending >= 1 << 20) this.flush();
  }

  flush(): void {
    if (this.parts.length === 0) return;
    writeSync(this.fd, this.parts.join(''));
    this.parts = [];
    this.pending = 0;
  }

  close(): void {
    this.flush();
    closeSync(this.fd);
  }
}

// ---------------------------------------------------------------------------------------------
// ftrace / trace-cmd

export interface FtraceParams {
  style: 'raw' | 'tracecmd';
  /** Stop after this many lines (headers included)... */
  lines?: number;
  /** ...or once the file reaches this many bytes. */
  maxBytes?: number;
  seed: number;
}

interface Pending {
  event: string;
  flags: string;
  text: string;
}

interface Vcpu {
  n: number;
  comm: string;
  pid: number;
  cpu: number;
  pcBase: number; // low 32 bits of a kernel text address (high half is ffff8000)
  queue: Pending[];
}

const READ_POOL: BenchReg[] = [...ID_REGS, ...OTHER_TRAPPED];
const READ_CUM = cumulativeWeights(READ_POOL.map((x) => x.weight));

function pc16(lo: number): string {
  return 'ffff8000' + (lo >>> 0).toString(16).padStart(8, '0');
}

export interface GenStats {
  lines: number;
  bytes: number;
  /** Injected problems, by kind (what a checker should find at least). */
  injected: Record<string, number>;
}

export function generateFtrace(path: string, p: FtraceParams): GenStats {
  const rng = new Rng(p.seed);
  const w = new Writer(path);
  const injected: Record<string, number> = {
    guestWrite: 0, esrMismatch: 0, nameMismatch: 0, unallocated: 0, malformed: 0, failedToParse: 0,
  };
  const maxLines = p.lines ?? Number.MAX_SAFE_INTEGER;
  const maxBytes = p.maxBytes ?? Number.MAX_SAFE_INTEGER;
  const raw = p.style === 'raw';

  if (raw) {
    for (const h of [
      '# tracer: nop',
      '#',
      `# entries-in-buffer/entries-written: ${Math.min(maxLines, 99999999)}/${Math.min(maxLines, 99999999)}   #P:64`,
      '#',
      '#                                _-----=> irqs-off/BH-disabled',
      '#                               / _----=> need-resched',
      '#                              | / _---=> hardirq/softirq',
      '#                              || / _--=> preempt-depth',
      '#                              ||| / _-=> migrate-disable',
      '#                              |||| /     delay',
      '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
      '#              | |         |   |||||     |         |',
    ]) w.line(h);
  } else {
    w.line('cpus=64');
  }

  const vcpus: Vcpu[] = [];
  for (let n = 0; n < 8; n++) {
    vcpus.push({
      n, comm: `CPU ${n}/KVM`, pid: 4321 + n, cpu: (n * 2 + 4) % 64,
      pcBase: 0x80a1b000 + rng.int(0x400000) * 4, queue: [],
    });
  }
  let usec = 1234 * 1_000_000 + rng.int(1_000_000);

  const prefix = (v: Vcpu, flags: string, event: string): string => {
    const secs = Math.floor(usec / 1_000_000);
    const frac = String(usec % 1_000_000).padStart(6, '0');
    if (raw) {
      // "%16s-%-7d " "[%03d] " flags " %5lu.%06lu" ": " event ": "
      return `${v.comm.padStart(16)}-${String(v.pid).padEnd(7)} [${String(v.cpu).padStart(3, '0')}] ${flags} ${String(secs).padStart(5)}.${frac}: ${event}: `;
    }
    // "%16s-%-5d [%03d]" " %5d.%06d:" " " event ":" padded so that the text starts 22 columns later
    return `${v.comm.padStart(16)}-${String(v.pid).padEnd(5)} [${String(v.cpu).padStart(3, '0')}] ${String(secs).padStart(5)}.${frac}: ${(event + ':').padEnd(21)} `;
  };

  const refill = (v: Vcpu): void => {
    const q = v.queue;
    const roll = rng.next();
    const pcLo = v.pcBase + rng.int(4096) * 4;
    const pcFull = pc16(pcLo);
    if (roll < 0.62) {
      // One trapped guest MRS (kvm-model.md §5.2); kvm_entry shows the same PC (the increment is applied later).
      let reg = rng.weighted(READ_POOL, READ_CUM);
      if (rng.chance(0.002)) {
        reg = rng.pick(UNALLOCATED);
        injected['unallocated']!++;
      }
      let read = true;
      if (rng.chance(0.004)) {
        read = false;
        injected['guestWrite']!++;
      }
      const rt = rng.int(31);
      let hsrReg = reg;
      if (rng.chance(0.002)) {
        hsrReg = rng.pick(ID_REGS);
        if (hsrReg !== reg) injected['esrMismatch']!++;
      }
      let nameReg = reg;
      if (rng.chance(0.001)) {
        nameReg = rng.pick(ID_REGS);
        if (nameReg !== reg) injected['nameMismatch']!++;
      }
      const name = nameReg.name.startsWith('S3_') ? nameReg.name : `SYS_${nameReg.name}`;
      q.push({ event: 'kvm_exit', flags: 'd..1.', text: `TRAP: HSR_EC: 0x0018 (SYS64), PC: 0x${pcFull}` });
      q.push({ event: 'kvm_handle_sys_reg', flags: 'd..1.', text: `HSR 0x${esrOf(hsrReg, read, rt).toString(16).padStart(8, '0')}` });
      if (!raw && rng.chance(0.005)) {
        // What trace-cmd prints when it cannot format the event (formats.md §2).
        injected['failedToParse']!++;
        q.push({
          event: 'kvm_sys_access', flags: 'd..1.',
          text: `[FAILED TO PARSE] vcpu_pc=0x${pcFull} is_write=${read ? 0 : 1} name=0xffffa4176a42${(0x0760 + rng.int(64) * 16).toString(16).padStart(4, '0')} Op0=${reg.op0} Op1=${reg.op1} CRn=${reg.crn} CRm=${reg.crm} Op2=${reg.op2}`,
        });
      } else {
        q.push({ event: 'kvm_sys_access', flags: 'd..1.', text: `PC: ${pcFull} ${name} ${tuple(reg)} ${read ? 'read' : 'write'}` });
      }
      q.push({ event: 'kvm_entry', flags: 'd..1.', text: `PC: 0x${pcFull}` });
    } else if (roll < 0.76) {
      q.push({ event: 'kvm_exit', flags: 'd..1.', text: `IRQ: HSR_EC: 0x0000 (UNKNOWN), PC: 0x${pcFull}` });
      q.push({ event: 'kvm_entry', flags: 'd..1.', text: `PC: 0x${pcFull}` });
    } else if (roll < 0.86) {
      q.push({ event: 'kvm_timer_update_irq', flags: 'd..1.', text: `VCPU: ${v.n}, IRQ 27, level ${rng.int(2)}` });
    } else if (roll < 0.94) {
      const wfe = rng.chance(0.2);
      q.push({ event: 'kvm_exit', flags: 'd..1.', text: `TRAP: HSR_EC: 0x0001 (WFx), PC: 0x${pcFull}` });
      q.push({ event: 'kvm_wfx_arm64', flags: 'd..1.', text: `guest executed wf${wfe ? 'e' : 'i'} at: 0x${pcFull}` });
      q.push({
        event: 'sched_switch', flags: 'd..2.',
        text: `prev_comm=${v.comm} prev_pid=${v.pid} prev_prio=120 prev_state=S ==> next_comm=swapper/${v.cpu} next_pid=0 next_prio=120`,
      });
      q.push({ event: 'kvm_entry', flags: 'd..1.', text: `PC: 0x${pc16(pcLo + 4)}` });
    } else {
      q.push({
        event: 'sched_switch', flags: 'd..2.',
        text: `prev_comm=${v.comm} prev_pid=${v.pid} prev_prio=120 prev_state=R+ ==> next_comm=kworker/${v.cpu}:1 next_pid=${200 + v.cpu} next_prio=120`,
      });
      q.push({ event: 'kvm_entry', flags: 'd..1.', text: `PC: 0x${pcFull}` });
    }
  };

  const malform = (line: string): string[] => {
    injected['malformed']!++;
    switch (rng.int(5)) {
      case 0: // truncated record (a partial write, a cut copy)
        return [line.slice(0, 20 + rng.int(Math.max(1, line.length - 30)))];
      case 1: // mail-wrapped long line (formats.md §2: mail clients wrap)
        return [line.slice(0, 76), line.slice(76)];
      case 2:
        return ['<garbage> \u0000\u0001 corrupted record ' + rng.u32().toString(36)];
      case 3: // a number field broken
        return [line.replace(/0x([0-9a-f]{4})/, '0xZZ$1')];
      default: // a stray non-trace line pasted into the file
        return [`[  ${(rng.u32() % 100000) / 10}] kvm [${4321 + rng.int(8)}]: unexpected trap`];
    }
  };

  while (w.lines < maxLines && w.bytes < maxBytes) {
    const v = vcpus[rng.int(8)]!;
    if (v.queue.length === 0) refill(v);
    const item = v.queue.shift()!;
    usec += rng.int(4);
    const line = prefix(v, item.flags, item.event) + item.text;
    if (item.event === 'sched_switch' && rng.chance(0.3)) v.cpu = (v.cpu + 1 + rng.int(63)) % 64;
    if (rng.chance(0.01)) {
      for (const l of malform(line)) if (w.lines < maxLines) w.line(l);
    } else {
      w.line(line);
    }
  }
  w.close();
  return { lines: w.lines, bytes: w.bytes, injected };
}

// ---------------------------------------------------------------------------------------------
// .iddump (kernel debugfs `idregs` layout: "%20s:\t%016llx")

export function generateIddump(path: string): GenStats {
  const w = new Writer(path);
  w.line('# idreg-lens bench: host limit values (debugfs idregs layout)');
  for (const x of ID_REGS) w.line(`${('SYS_' + x.name).padStart(20)}:\t${hex16(x.value)}`);
  w.close();
  return { lines: w.lines, bytes: w.bytes, injected: {} };
}

// ---------------------------------------------------------------------------------------------
// .idtrace

export interface IdtraceParams {
  events: number;
  seed: number;
  hostFile: string; // relative to the .idtrace
}

const FEATURES = 'pmu_v3,psci_0_2,ptrauth_address,ptrauth_generic';
const WRITABLE = ID_REGS.filter((x) => x.writable);
const ID_CUM = cumulativeWeights(ID_REGS.map((x) => x.weight));

function regToken(rng: Rng, x: BenchReg): string {
  const r = rng.next();
  if (r < 0.78) return x.name;
  if (r < 0.82) return x.name.toLowerCase();
  if (r < 0.94) return genericName(x);
  if (r < 0.97) return oneRegId(x);
  return `SYS_${x.name}`;
}

export function generateIdtrace(path: string, p: IdtraceParams): GenStats {
  const rng = new Rng(p.seed);
  const w = new Writer(path);
  const injected: Record<string, number> = {
    guestWrite: 0, setAfterRun: 0, wrongPrediction: 0, wrongRead: 0, malformed: 0,
  };
  let events = 0;
  const ev = (text: string): void => {
    w.line(text);
    events++;
  };
  w.line(`# idreg-lens bench input (generator v${GEN_VERSION}, seed ${p.seed}): one VM, 8 vCPUs`);
  ev('kernel 6.15');
  ev(`host ${p.hostFile}`);
  for (let n = 0; n < 8; n++) ev(`vcpu ${n} init ${FEATURES}`);
  for (const x of ID_REGS) ev(`vcpu 0 get ${x.name} = 0x${hex16(x.value)}`);
  for (const x of WRITABLE) ev(`vcpu 0 set ${regToken(rng, x)} 0x${hex16(x.value)} = 0`);
  w.line('');
  for (let n = 0; n < 8; n++) ev(`vcpu ${n} run`);
  w.line('# guest boot: ID-register reads');
  while (events < p.events) {
    const vcpu = rng.int(8);
    const roll = rng.next();
    if (roll < 0.004) {
      const x = rng.weighted(ID_REGS, ID_CUM);
      injected['guestWrite']!++;
      ev(`vcpu ${vcpu} msr ${regToken(rng, x)} 0x${hex16(x.value ^ 0x10n)} = undef`);
    } else if (roll < 0.006) {
      const x = rng.pick(WRITABLE);
      injected['setAfterRun']!++;
      if (rng.chance(0.5)) {
        // A different value after the first run: KVM refuses it (-EBUSY), as recorded.
        ev(`vcpu ${vcpu} set ${regToken(rng, x)} 0x${hex16(x.value ^ 0x1n)} = -EBUSY`);
      } else {
        // The same value is accepted after run (0), so the recorded -EBUSY is a wrong record (IDR015);
        // the VM's value does not change, so later reads stay consistent.
        injected['wrongPrediction']!++;
        ev(`vcpu ${vcpu} set ${regToken(rng, x)} 0x${hex16(x.value)} = -EBUSY`);
      }
    } else if (roll < 0.007) {
      const x = rng.weighted(ID_REGS, ID_CUM);
      injected['wrongRead']!++;
      ev(`vcpu ${vcpu} mrs ${regToken(rng, x)} = 0x${hex16(x.value ^ 0x100n)}`);
    } else if (roll < 0.012) {
      injected['malformed']!++;
      switch (rng.int(4)) {
        case 0: ev(`vcpu ${vcpu} mrs`); break;
        case 1: ev(`vcpu ${vcpu} mrs ID_AA64FOO${rng.int(9)}_EL1 = 0x0`); break;
        case 2: ev(`vcpu ${vcpu} mrs ID_AA64ISAR0_EL1 = 0xZZ${rng.int(999)}`); break;
        default: ev(`vcpux ${vcpu} rnu`); break;
      }
    } else if (roll < 0.015) {
      const x = rng.weighted(ID_REGS, ID_CUM);
      ev(`vcpu ${vcpu} get ${regToken(rng, x)} = 0x${hex16(x.value)}   # VMM re-reads after run`);
    } else {
      const x = rng.weighted(ID_REGS, ID_CUM);
      ev(`vcpu ${vcpu} mrs ${regToken(rng, x)} = 0x${hex16(x.value)}`);
    }
  }
  w.close();
  return { lines: w.lines, bytes: w.bytes, injected: { ...injected, events } };
}

// ---------------------------------------------------------------------------------------------
// Firecracker `cpu-template-helper template dump` (formats.md §1.1), serde_json pretty layout

export interface FirecrackerParams {
  entries: number;
  seed: number;
}

const CORE_IDS = Array.from({ length: 31 }, (_, i) => `0x60300000001000${(i * 2).toString(16).padStart(2, '0')}`);

export function generateFirecracker(path: string, p: FirecrackerParams): GenStats {
  const rng = new Rng(p.seed);
  const w = new Writer(path);
  const injected: Record<string, number> = { customBits: 0, tooLong: 0, unknownAddr: 0 };
  const pool = [...ID_REGS, ...OTHER_TRAPPED.filter((x) => x.name !== 'CCSIDR_EL1' && x.name !== 'CSSELR_EL1')];
  w.raw('{\n  "kvm_capabilities": [],\n  "vcpu_features": [],\n  "reg_modifiers": [\n');
  for (let i = 0; i < p.entries; i++) {
    let addr: string;
    let bits: string;
    const roll = rng.next();
    if (roll < 0.15) {
      addr = rng.pick(CORE_IDS);
      bits = '0'.repeat(64) + (BigInt(rng.u32()) << 16n).toString(2).padStart(64, '0');
    } else {
      const x = pool[i % pool.length]!;
      addr = oneRegId(x);
      bits = '0'.repeat(64) + x.value.toString(2).padStart(64, '0');
      if (rng.chance(0.001)) {
        injected['customBits']!++;
        bits = bits.slice(0, 100) + 'xxxx' + bits.slice(104);
      } else if (rng.chance(0.0005)) {
        injected['tooLong']!++;
        bits = '1' + bits;
      } else if (rng.chance(0.0005)) {
        injected['unknownAddr']!++;
        addr = '0x603000000013c0ff';
      }
    }
    const last = i === p.entries - 1;
    w.raw(`    {\n      "addr": "${addr}",\n      "bitmap": "0b${bits}"\n    }${last ? '' : ','}\n`);
  }
  w.raw('  ]\n}\n');
  w.close();
  return { lines: 6 + p.entries * 4, bytes: w.bytes, injected };
}

// ---------------------------------------------------------------------------------------------
// The input set and the cache

export type InputKind = 'ftrace' | 'idtrace' | 'iddump' | 'firecracker';

export interface InputSpec {
  id: string;
  file: string;
  kind: InputKind;
  params: FtraceParams | IdtraceParams | FirecrackerParams | Record<string, never>;
  label: string;
}

export interface Input extends InputSpec {
  path: string;
  bytes: number;
  lines: number;
  injected: Record<string, number>;
}

export const INPUTS: Record<string, InputSpec> = {
  ftraceTiny: { id: 'ftraceTiny', file: 'ftrace-raw-40.txt', kind: 'ftrace', label: 'ftrace raw, 40 lines (start-up baseline)', params: { style: 'raw', lines: 40, seed: 11 } },
  ftrace100k: { id: 'ftrace100k', file: 'ftrace-raw-100k.txt', kind: 'ftrace', label: 'ftrace raw, 100k lines', params: { style: 'raw', lines: 100_000, seed: 1 } },
  ftrace1m: { id: 'ftrace1m', file: 'ftrace-raw-1m.txt', kind: 'ftrace', label: 'ftrace raw, 1M lines', params: { style: 'raw', lines: 1_000_000, seed: 2 } },
  tracecmd100k: { id: 'tracecmd100k', file: 'trace-cmd-report-100k.txt', kind: 'ftrace', label: 'trace-cmd report, 100k lines', params: { style: 'tracecmd', lines: 100_000, seed: 3 } },
  tracecmd1m: { id: 'tracecmd1m', file: 'trace-cmd-report-1m.txt', kind: 'ftrace', label: 'trace-cmd report, 1M lines', params: { style: 'tracecmd', lines: 1_000_000, seed: 4 } },
  iddump: { id: 'iddump', file: 'host-v1.iddump', kind: 'iddump', label: 'host dump', params: {} },
  idtrace100k: { id: 'idtrace100k', file: 'events-100k.idtrace', kind: 'idtrace', label: '.idtrace, 100k events', params: { events: 100_000, seed: 5, hostFile: 'host-v1.iddump' } },
  idtrace1m: { id: 'idtrace1m', file: 'events-1m.idtrace', kind: 'idtrace', label: '.idtrace, 1M events', params: { events: 1_000_000, seed: 6, hostFile: 'host-v1.iddump' } },
  firecracker20k: { id: 'firecracker20k', file: 'firecracker-template-20k.json', kind: 'firecracker', label: 'Firecracker template, 20k entries', params: { entries: 20_000, seed: 7 } },
  firecracker200k: { id: 'firecracker200k', file: 'firecracker-template-200k.json', kind: 'firecracker', label: 'Firecracker template, 200k entries', params: { entries: 200_000, seed: 8 } },
  doc40m: { id: 'doc40m', file: 'ftrace-raw-40MiB.txt', kind: 'ftrace', label: 'ftrace raw, 40 MiB (LSP didOpen)', params: { style: 'raw', maxBytes: 40 * 2 ** 20, seed: 9 } },
  disk100m: { id: 'disk100m', file: 'ftrace-raw-100MiB.txt', kind: 'ftrace', label: 'ftrace raw, 100 MiB (LSP from disk)', params: { style: 'raw', maxBytes: 100 * 2 ** 20, seed: 10 } },
};

interface Meta {
  generator: number;
  params: unknown;
  bytes: number;
  lines: number;
  injected: Record<string, number>;
}

export function ensureInput(dir: string, spec: InputSpec, log: (s: string) => void = () => {}): Input {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, spec.file);
  const metaPath = path + '.meta.json';
  const want = JSON.stringify(spec.params);
  if (existsSync(path) && existsSync(metaPath)) {
    try {
      const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as Meta;
      if (meta.generator === GEN_VERSION && JSON.stringify(meta.params) === want && statSync(path).size === meta.bytes) {
        return { ...spec, path, bytes: meta.bytes, lines: meta.lines, injected: meta.injected };
      }
    } catch {
      // regenerate
    }
  }
  const t0 = performance.now();
  const tmp = path + '.tmp';
  let st: GenStats;
  switch (spec.kind) {
    case 'ftrace': st = generateFtrace(tmp, spec.params as FtraceParams); break;
    case 'idtrace': st = generateIdtrace(tmp, spec.params as IdtraceParams); break;
    case 'firecracker': st = generateFirecracker(tmp, spec.params as FirecrackerParams); break;
    case 'iddump': st = generateIddump(tmp); break;
  }
  renameSync(tmp, path);
  const meta: Meta = { generator: GEN_VERSION, params: spec.params, bytes: st.bytes, lines: st.lines, injected: st.injected };
  writeFileSync(metaPath, JSON.stringify(meta, null, 1));
  log(`  generated ${spec.file}: ${st.lines} lines, ${(st.bytes / 2 ** 20).toFixed(1)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { ...spec, path, bytes: st.bytes, lines: st.lines, injected: st.injected };
}

// `node --import tsx bench/gen.ts [--quick] [--dir DIR]`: generate (or check) the inputs only.
if (process.argv[1] && /gen\.ts$/.test(process.argv[1])) {
  const args = process.argv.slice(2);
  const di = args.indexOf('--dir');
  const dir = di >= 0 ? args[di + 1]! : defaultCacheDir();
  const quick = args.includes('--quick');
  const ids = quick
    ? ['ftrace100k', 'tracecmd100k', 'iddump', 'idtrace100k', 'firecracker20k']
    : Object.keys(INPUTS);
  console.log(`bench inputs in ${dir}`);
  for (const id of ids) {
    const inp = ensureInput(dir, INPUTS[id]!, console.log);
    console.log(`  ${inp.file.padEnd(32)} ${String(inp.lines).padStart(9)} lines ${(inp.bytes / 2 ** 20).toFixed(1).padStart(7)} MiB  ${JSON.stringify(inp.injected)}`);
  }
}

// One huge token in a plausible place of every format (9 Mi characters: past V8's regex backtracking stack
// and far past any sensible message): findings, not an exception; bounded messages; linear time.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { assertFinding, lineLengths } from '../invariants.ts';
import { knownSlow } from '../known.ts';
import { discoverFormats, type ParserRef } from './discover.ts';
import type { PropertyDef, PropertyGroup } from './types.ts';

export const HUGE = 9_000_000;
const LIMIT_MS = 8000;

/** Where a long token goes in each format (prefix, suffix). */
const PLACES: Record<string, [string, string][]> = {
  idtrace: [['vcpu 0 set ID_AA64PFR0_EL1 ', ''], ['', ''], ['vcpu 0 get ', ' = 0x1']],
  iddump: [['SYS_ID_AA64PFR0_EL1:\t', ''], ['', ': 0x1']],
  ftrace: [[' CPU 0/KVM-1 [000] d..1. 1.000000: kvm_sys_access: PC: 0 ', ' (3,0,0,4,0) read'], [' CPU 0/KVM-1 [000] d..1. 1.000000: kvm_handle_sys_reg: HSR 0x', '']],
  firecracker: [['{"reg_modifiers":[{"addr":"0x603000000013c020","bitmap":"0b', '"}]}'], ['{"reg_modifiers":[{"addr":"', '","bitmap":"0b1"}]}'], ['Failed to set register 0x603000000013c000 to value 0x', ': Invalid argument (os error 22)']],
  getreglist: [['\tARM64_SYS_REG(3, 0, 0, 4, ', '),'], ['\tKVM_REG_ARM64 | ', ',']],
  cpuinfo: [['processor\t: 0\nCPU implementer\t: ', '\n'], ['Features\t: ', '\n']],
  sysfs: [['/sys/devices/system/cpu/cpu0/regs/identification/midr_el1:0x', '\n']],
  cpusysregs: [['ID_AA64PFR0_EL1: ', '\n'], ['ID_AA64ISAR0_EL1 = 0x', '\n']],
  qemu: [['qemu-system-aarch64: write 0x603000000013c020(', ') to kvm failed'], ['{"return": {"model": {"name": "host", "props": {"SYSREG_ID_AA64PFR0_EL1_EL3": ', '}}}}']],
  reglist: [['', '\n'], ['MIDR_EL1 = 0x', '\n']],
};
const DEFAULT_PLACES: [string, string][] = [['', ''], ['vcpu 0 set ID_AA64PFR0_EL1 ', '']];
const CHARS = ['A', 'f', '9', '\r']; // not '"': a JSON file of 1 M quotes is 500 k findings (linear, but slow)

function check(p: ParserRef, prefix: string, suffix: string, ch: string, count: number): void {
  const label = `${p.module}.${p.name}`;
  if (knownSlow(label, `${prefix}${ch}`)) return;
  const text = prefix + ch.repeat(count) + suffix;
  const t0 = performance.now();
  const res = p.fn(text, `huge.${p.module === 'firecracker' ? 'json' : 'txt'}`) as { findings: import('../../../src/findings.ts').Finding[] };
  const ms = performance.now() - t0;
  const what = `${label}(${JSON.stringify(prefix)} + ${count} × ${JSON.stringify(ch)} + ${JSON.stringify(suffix)})`;
  const lengths = lineLengths(text);
  res.findings.forEach((f, i) => assertFinding(f, text, lengths, `${what} finding ${i}`));
  assert.ok(ms < LIMIT_MS, `slow: ${what} took ${ms.toFixed(0)} ms`);
}

export async function hugeGroup(): Promise<PropertyGroup> {
  const found = await discoverFormats();
  const props: PropertyDef<any>[] = [];
  for (const p of found.parsers) {
    const places = PLACES[p.module] ?? DEFAULT_PLACES;
    props.push({
      name: `huge.${p.module}.${p.name}.token`,
      runs: 1,
      weight: 0,
      exhaustive: places.length * 2,
      arb: fc.constant(null),
      // In the normal run, two characters per place (the rest in the long run).
      check: () => {
        for (const [prefix, suffix] of places) for (const ch of ['A', '\r']) check(p, prefix, suffix, ch, HUGE);
      },
    });
    props.push({
      name: `huge.${p.module}.${p.name}.random`,
      runs: 0,
      maxCaseMs: 60_000, // the property times the call itself
      weight: 0.25, // each case is megabytes: a few dozen per parser in a long run
      // No shrinking: every step would re-run a multi-megabyte case (the input is small to save as it is).
      arb: fc.noShrink(fc.tuple(fc.nat({ max: places.length - 1 }), fc.constantFrom(...CHARS), fc.integer({ min: 1 << 20, max: HUGE }))),
      check: ([i, ch, count]: [number, string, number]) => check(p, places[i]![0], places[i]![1], ch, count),
    });
  }
  return { group: 'huge', properties: props, missing: found.missing };
}

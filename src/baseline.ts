// `idreg baseline`: the richest ID-register configuration every listed host accepts. Per writable field
// the safest common value under its policy (lower-safe → minimum, higher-safe → maximum, exact → equal
// or the safe value); bits KVM does not let userspace write are left to each host. The result is then
// written to every host in turn as KVM would judge it, and any field a host would still refuse is left
// to the hosts as well, so the template never trips a host it was made for.
import { oneRegIdOf, registerName } from './encoding/forms.ts';
import { encodingKey, type Encoding, type RegisterDump } from './model/events.ts';
import { hex64, judgeUserWrite, policyOf, resolveKernel, safestCommon, writableMask } from './model/kvm.ts';
import { hostHas32bitEL0 } from './diff.ts';

export interface BaselineHost {
  name: string;
  dump: RegisterDump;
}

export interface LeftToHost {
  field?: string;
  msb: number;
  lsb: number;
  reason: string;
}

export interface BaselineRegister {
  name: string;
  enc: Encoding;
  oneRegId: bigint;
  /** The chosen bits (only those in `mask` count). */
  value: bigint;
  /** Bits the baseline fixes; the others are left to each host (`x` in a template). */
  mask: bigint;
  /** The full value for formats without masks (.iddump): fixed bits, else the common (or first host's) bits. */
  full: bigint;
  /** Each host's value, in host order. */
  hosts: bigint[];
  leftToHost: LeftToHost[];
}

export interface BaselineResult {
  hosts: string[];
  kernel: { text?: string; era: string; from: 'option' | 'dumps' | 'default' };
  registers: BaselineRegister[];
  /** Registers not in the baseline, and why. */
  skipped: { name: string; reason: string }[];
}

export interface BaselineOptions {
  kernel?: string;
}

const U64 = (1n << 64n) - 1n;

function bitsOf(msb: number, lsb: number): bigint {
  return ((1n << BigInt(msb - lsb + 1)) - 1n) << BigInt(lsb);
}

/** The most restrictive kernel among the dumps (the oldest), since every host must accept the result. */
function chooseKernel(hosts: BaselineHost[], option?: string): BaselineResult['kernel'] {
  if (option !== undefined) return { text: option, era: resolveKernel(option).era, from: 'option' };
  let best: { text: string; v: [number, number] } | undefined;
  for (const h of hosts) {
    const t = h.dump.kernel;
    if (!t) continue;
    const k = resolveKernel(t);
    if (!k.version) continue;
    if (!best || k.version[0] < best.v[0] || (k.version[0] === best.v[0] && k.version[1] < best.v[1])) best = { text: t, v: k.version };
  }
  if (best && hosts.every((h) => h.dump.kernel)) return { text: best.text, era: resolveKernel(best.text).era, from: 'dumps' };
  return { era: resolveKernel().era, from: 'default' };
}

/** The baseline of several host dumps. */
export function computeBaseline(hosts: BaselineHost[], options: BaselineOptions = {}): BaselineResult {
  const kernel = chooseKernel(hosts, options.kernel);
  const result: BaselineResult = { hosts: hosts.map((h) => h.name), kernel, registers: [], skipped: [] };
  if (hosts.length === 0) return result;
  const has32 = hosts.map((h) => hostHas32bitEL0(h.dump));
  const maps = hosts.map((h) => {
    const m = new Map<number, bigint>();
    for (const e of h.dump.entries) if (e.reg.enc && !m.has(encodingKey(e.reg.enc))) m.set(encodingKey(e.reg.enc), e.value);
    return m;
  });
  // Registers in the first dump's order, kept only when every host lists them.
  const seen = new Set<number>();
  for (const e of hosts[0]!.dump.entries) {
    const enc = e.reg.enc;
    if (!enc) continue;
    const key = encodingKey(enc);
    if (seen.has(key)) continue;
    seen.add(key);
    const p = policyOf(enc);
    if (!p) continue;
    const name = p.name.startsWith('S3_') ? registerName(enc) : p.name;
    if (p.classes.includes('implementation') || p.classes.includes('per-vcpu')) {
      result.skipped.push({ name, reason: p.classes.includes('implementation') ? 'identifies the CPU, not a feature: left to each host' : 'a per-vCPU register: left to each host' });
      continue;
    }
    if (p.classes.includes('hidden') || p.classes.includes('unallocated')) continue;
    const missing = hosts.filter((_, i) => !maps[i]!.has(key)).map((h) => h.name);
    if (missing.length > 0) {
      result.skipped.push({ name, reason: `not listed by ${missing.join(', ')}` });
      continue;
    }
    const values = maps.map((m) => m.get(key)!);
    // AArch32 views are RAZ and ignore writes on hosts without 32-bit EL0: those hosts do not constrain them.
    const aarch32 = p.classes.includes('aarch32');
    const constraining = hosts.map((_, i) => !aarch32 || has32[i] !== false);
    const relevant = values.filter((_, i) => constraining[i]);
    if (relevant.length === 0) {
      result.skipped.push({ name, reason: 'RAZ on every host (no host runs 32-bit EL0)' });
      continue;
    }
    let mask = writableMask(enc, kernel.text) & U64;
    if (mask === 0n) {
      result.skipped.push({ name, reason: `nothing in it is writable under kernel ${kernel.text ?? kernel.era} rules: left to each host` });
      continue;
    }
    const common = safestCommon(enc, relevant, kernel.text);
    const leftToHost: LeftToHost[] = [];
    for (const c of common.conflicts) {
      const bits = bitsOf(c.msb, c.lsb) & mask;
      if (bits === 0n) continue;
      mask &= ~bits;
      leftToHost.push({ ...(c.field !== undefined ? { field: c.field } : {}), msb: c.msb, lsb: c.lsb, reason: 'the hosts differ and KVM accepts only the limit here' });
    }
    const value = common.value & U64;
    // Write the result to every host as KVM would; whatever a host still refuses is left to the hosts.
    for (let round = 0; round < 8 && mask !== 0n; round++) {
      let changed = false;
      hosts.forEach((h, i) => {
        if (!constraining[i] || mask === 0n) return;
        const limit = values[i]!;
        const written = (limit & ~mask) | (value & mask);
        const j = judgeUserWrite({ enc, value: written, limit, kernel: kernel.text ?? h.dump.kernel, ...(has32[i] !== undefined ? { hostHas32bitEL0: has32[i] } : {}) });
        if (j.errno === '0' || j.errno === 'unknown') return;
        for (const pr of j.problems) {
          const bits = pr.msb !== undefined && pr.lsb !== undefined ? bitsOf(pr.msb, pr.lsb) : mask;
          if ((mask & bits) === 0n) continue;
          mask &= ~bits;
          changed = true;
          leftToHost.push({
            ...(pr.field !== undefined ? { field: pr.field } : {}),
            msb: pr.msb ?? 63,
            lsb: pr.lsb ?? 0,
            reason: `${h.name} would refuse the common value (${pr.rule})`,
          });
        }
      });
      if (!changed) break;
    }
    if (mask === 0n) {
      result.skipped.push({ name, reason: `no field can be fixed for every host${leftToHost.length ? ` (${leftToHost.map((l) => l.field ?? `[${l.msb}:${l.lsb}]`).join(', ')})` : ''}` });
      continue;
    }
    result.registers.push({
      name,
      enc,
      oneRegId: oneRegIdOf(enc),
      value: value & mask,
      mask,
      full: (value & mask) | (common.value & ~mask & U64),
      hosts: values,
      leftToHost: leftToHost.sort((a, b) => b.msb - a.msb),
    });
  }
  return result;
}

/** `0bxx01…`: `x` for bits left to the host, MSB first, one digit per bit of the 64-bit register. */
export function templateBitmap(value: bigint, mask: bigint, bits = 64): string {
  let s = '0b';
  for (let b = bits - 1; b >= 0; b--) {
    const bit = 1n << BigInt(b);
    s += (mask & bit) === 0n ? 'x' : (value & bit) !== 0n ? '1' : '0';
  }
  return s;
}

/** The baseline as a Firecracker custom CPU template (docs/cpu_templates/cpu-templates.md). */
export function formatFirecrackerTemplate(result: BaselineResult): string {
  const mods = result.registers.map(
    (r) => `    {\n      "addr": "0x${r.oneRegId.toString(16).padStart(16, '0')}",\n      "bitmap": "${templateBitmap(r.value, r.mask)}"\n    }`,
  );
  return `{\n  "reg_modifiers": [\n${mods.join(',\n')}\n  ]\n}\n`;
}

/** The baseline as an .iddump (debugfs idregs layout); fields left to the hosts are named in comments. */
export function formatIddump(result: BaselineResult): string {
  const lines = [`# idreg baseline of ${result.hosts.join(', ')}`];
  if (result.kernel.text) lines.push(`# kernel: ${result.kernel.text}`);
  lines.push('# bits not fixed by the baseline hold the common value, or the first host\'s where the hosts differ');
  for (const r of result.registers) {
    for (const l of r.leftToHost) lines.push(`# ${r.name}${l.field ? '.' + l.field : ''} [${l.msb}:${l.lsb}] left to each host: ${l.reason}`);
    lines.push(`${r.name}:\t${r.full.toString(16).padStart(16, '0')}`);
  }
  for (const s of result.skipped) lines.push(`# ${s.name}: ${s.reason}`);
  return lines.join('\n') + '\n';
}

/** A readable summary for stderr: what was fixed and what was left to the hosts. */
export function describeBaseline(result: BaselineResult): string {
  const out = [`baseline of ${result.hosts.length} host${result.hosts.length === 1 ? '' : 's'} under kernel ${result.kernel.text ?? result.kernel.era} rules (${result.kernel.from === 'option' ? '--kernel' : result.kernel.from === 'dumps' ? 'the oldest kernel of the dumps' : 'newest rules'}): ${result.registers.length} registers fixed`];
  for (const r of result.registers) {
    const differs = r.hosts.some((h) => ((h ^ r.value) & r.mask) !== 0n);
    if (differs) out.push(`  ${r.name} = ${hex64(r.value)} (mask ${hex64(r.mask)}) lowers ${r.hosts.map((h, i) => (((h ^ r.value) & r.mask) !== 0n ? result.hosts[i] : undefined)).filter(Boolean).join(', ')}`);
    for (const l of r.leftToHost) out.push(`    ${r.name}${l.field ? '.' + l.field : ''} [${l.msb}:${l.lsb}] left to each host: ${l.reason}`);
  }
  for (const s of result.skipped) out.push(`  ${s.name}: ${s.reason}`);
  return out.join('\n') + '\n';
}

// The AArch64 system-register table: names, encodings, access, and for the ID space the fields with
// their allowed values, meanings and implied FEAT_ names. The data is generated (src/data/generate.ts)
// from Arm's BSD-licensed machine-readable specification; see src/data/LICENSES.md.
//
// The JSON is parsed when this module loads (it is bundled into the CLI and the server); the lookup
// indexes are built on first use, each RegisterDef when its register is first looked up.
import { keyToEncoding, type Encoding } from '../model/events.ts';
// A plain JSON import: the package is CommonJS (no "type": "module"), where TypeScript rejects import
// attributes; tsx and esbuild both inline the file.
import data from './registers.generated.json';

export interface FieldDef {
  name: string;
  msb: number;
  lsb: number;
  /** Allowed values per Arm, when Arm enumerates them (ascending). */
  values?: number[];
  /** Value -> meaning text (edk2-armcpuinfo texts, else built from FEAT_ names). */
  meanings: Record<number, string>;
  /** Value -> FEAT_ names that value implies (from Arm's Features.json); values without any are absent. */
  features: Record<number, string[]>;
}

export interface RegisterDef {
  /** Architectural name as Arm spells it (e.g. ID_AA64PFR0_EL1, SPSel, "TLBI VAE1IS"). */
  name: string;
  enc: Encoding;
  /** 64, or 128 for registers that also have a 128-bit (MRRS/MSRR) view. */
  width: number;
  /** Has an MRS (or MRRS) accessor. */
  readable: boolean;
  /** Has an MSR (register form, or MSRR) accessor. */
  writable: boolean;
  /** Present for the ID space (op0=3, op1 in {0,1,3}, CRn=0); empty when Arm defines no fields. */
  fields?: FieldDef[];
  /** RES0 / RES1 bits; 0n when unknown. Outside the ID space: bits reserved in every Arm fieldset. */
  res0: bigint;
  res1: bigint;
  /** Set for registers expanded from a register array (DBGBCR<n>_EL1 -> DBGBCR5_EL1, index 5). */
  array?: { template: string; index: number };
  /** Other architectural names for the same encoding (e.g. ICV_PMR_EL1 for ICC_PMR_EL1). */
  aliases?: string[];
}

// Shapes of the generated JSON (short keys; see generate.ts).
type RawValues = (number | [number, number])[];
interface RawField {
  n: string;
  m: number;
  l: number;
  v?: RawValues;
  t?: Record<string, string>;
  x?: Record<string, string[]>;
}
interface RawReg {
  n: string;
  k: number;
  w?: number;
  rw: number;
  r0?: string;
  r1?: string;
  t?: string;
  i?: number;
  a?: string[];
  F?: RawField[];
}
interface RawTable {
  version: string;
  regs: RawReg[];
  midr: { impl: Record<string, string>; part: Record<string, string> };
}

const table = data as unknown as RawTable;

/** Where the table comes from, e.g. 'AARCHMRS BSD A-profile 2024-12 (v9Ap6-A build 406)'. */
export const DATA_VERSION: string = table.version;

/**
 * Lookups go to the raw table; a RegisterDef is made the first time its register is asked for. A check
 * touches a few dozen of the 1374 registers, and converting them all cost 2 MB of heap and ~7 MB of peak
 * RSS in every `idreg check` (a 40-line trace: 55 → 48 MB).
 */
interface Indexes {
  byName: Map<string, number>;
  byKey: Map<number, number>;
  made: (RegisterDef | undefined)[];
}
let indexes: Indexes | undefined;
let all: readonly RegisterDef[] | undefined;

function expandValues(v: RawValues): number[] {
  const out: number[] = [];
  for (const x of v) {
    if (typeof x === 'number') out.push(x);
    else for (let i = x[0]; i <= x[1]; i++) out.push(i);
  }
  return out;
}

function numericKeys<T>(o: Record<string, T> | undefined): Record<number, T> {
  const r: Record<number, T> = {};
  if (o) for (const [k, v] of Object.entries(o)) r[Number(k)] = v;
  return r;
}

function toField(f: RawField): FieldDef {
  const d: FieldDef = { name: f.n, msb: f.m, lsb: f.l, meanings: numericKeys(f.t), features: numericKeys(f.x) };
  if (f.v) d.values = expandValues(f.v);
  return Object.freeze(d);
}

function toRegister(r: RawReg): RegisterDef {
  const d: RegisterDef = {
    name: r.n,
    enc: Object.freeze(keyToEncoding(r.k)),
    width: r.w ?? 64,
    readable: (r.rw & 1) !== 0,
    writable: (r.rw & 2) !== 0,
    res0: r.r0 ? BigInt(`0x${r.r0}`) : 0n,
    res1: r.r1 ? BigInt(`0x${r.r1}`) : 0n,
  };
  if (r.F) d.fields = r.F.map(toField);
  if (r.t !== undefined && r.i !== undefined) d.array = { template: r.t, index: r.i };
  if (r.a) d.aliases = [...r.a];
  return Object.freeze(d);
}

function build(): Indexes {
  const byName = new Map<string, number>();
  const byKey = new Map<number, number>();
  table.regs.forEach((r, i) => {
    byKey.set(r.k, i);
    byName.set(r.n.toUpperCase(), i);
  });
  // Aliases never shadow a primary name.
  table.regs.forEach((r, i) => {
    for (const a of r.a ?? []) if (!byName.has(a.toUpperCase())) byName.set(a.toUpperCase(), i);
  });
  return { byName, byKey, made: new Array<RegisterDef | undefined>(table.regs.length) };
}

function idx(): Indexes {
  return (indexes ??= build());
}

function registerAt(i: number | undefined): RegisterDef | undefined {
  if (i === undefined) return undefined;
  const made = idx().made;
  return (made[i] ??= toRegister(table.regs[i]!));
}

/** Every register, sorted by encoding key (then name). */
export function allRegisters(): readonly RegisterDef[] {
  return (all ??= Object.freeze(table.regs.map((_, i) => registerAt(i)!)));
}

/** Looks up an exact architectural name in upper case (ID_AA64PFR0_EL1, SPSEL, TLBI VAE1IS); also finds aliases. */
export function registerByName(upperCaseArchName: string): RegisterDef | undefined {
  return registerAt(idx().byName.get(upperCaseArchName));
}

/** Looks up encodingKey(enc) (src/model/events.ts). */
export function registerByKey(key: number): RegisterDef | undefined {
  return registerAt(idx().byKey.get(key));
}

/** MIDR_EL1.Implementer code -> vendor name (arm-socs-table), e.g. 0x41 -> 'ARM'. */
export function midrImplementerName(code: number): string | undefined {
  return table.midr.impl[String(code)];
}

/** (MIDR_EL1.Implementer, MIDR_EL1.PartNum) -> core name (arm-socs-table), e.g. (0x41, 0xd4f) -> 'Neoverse V2'. */
export function midrPartName(implementer: number, part: number): string | undefined {
  return table.midr.part[`${implementer}:${part}`];
}

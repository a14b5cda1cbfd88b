// A register and a 64-bit value → every field with its meaning, and the bits that break RES0/RES1.
import { midrPartName, registerByKey, type FieldDef, type RegisterDef } from '../data/registers.ts';
import { KVM_REGISTERS } from '../data/kvm-policy.ts';
import { encodingKey, type Encoding } from '../model/events.ts';
import { registerName } from './forms.ts';

export interface DecodedField {
  name: string;
  msb: number;
  lsb: number;
  value: bigint;
  /** The value read as a two's-complement number, for fields Linux treats as signed (0xF = -1 = "not implemented"). */
  signedValue?: number;
  meaning?: string;
  /** FEAT_ names this value implies. */
  features: string[];
  /** False when Arm lists the allowed values and this one is not among them. */
  known: boolean;
}

export interface DecodedValue {
  register: string;
  enc: Encoding;
  value: bigint;
  width: number;
  fields: DecodedField[];
  /** Bits set that the architecture defines as RES0. */
  res0Violations: bigint;
  /** Bits clear that the architecture defines as RES1. */
  res1Violations: bigint;
  /** Bits above the register's width that are set. */
  overflow: bigint;
  /** True when the database has no field layout for this register. */
  noFields: boolean;
}

/** Linux's sanitisation tables say which fields are signed (0xF = -1 = "not implemented"); Arm's data does not. */
let signedFields: Set<string> | undefined;
function isSignedField(enc: Encoding, field: string): boolean {
  if (!signedFields) {
    signedFields = new Set();
    for (const reg of KVM_REGISTERS) {
      const key = encodingKey(reg);
      for (const f of [...(reg.fields ?? []), ...(reg.absent ?? [])]) if (f.signed) signedFields.add(`${key}:${f.name.toUpperCase()}`);
    }
  }
  return signedFields.has(`${encodingKey(enc)}:${field.toUpperCase()}`);
}

export function fieldValue(value: bigint, f: { msb: number; lsb: number }): bigint {
  return (value >> BigInt(f.lsb)) & ((1n << BigInt(f.msb - f.lsb + 1)) - 1n);
}

export function toSigned(raw: bigint, width: number): number {
  const n = Number(raw);
  return n >= 2 ** (width - 1) ? n - 2 ** width : n;
}

function decodeField(enc: Encoding, f: FieldDef, value: bigint): DecodedField {
  const raw = fieldValue(value, f);
  const width = f.msb - f.lsb + 1;
  const n = Number(raw);
  const out: DecodedField = {
    name: f.name,
    msb: f.msb,
    lsb: f.lsb,
    value: raw,
    features: f.features[n] ?? [],
    known: f.values === undefined || f.values.includes(n),
  };
  const meaning = f.meanings[n];
  if (meaning !== undefined) out.meaning = meaning;
  if (isSignedField(enc, f.name)) out.signedValue = toSigned(raw, width);
  return out;
}

export function decodeValue(target: Encoding | RegisterDef, value: bigint): DecodedValue {
  const reg: RegisterDef | undefined = 'enc' in target ? target : registerByKey(encodingKey(target));
  const enc: Encoding = 'enc' in target ? target.enc : target;
  const width = reg?.width ?? 64;
  const mask = (1n << BigInt(width)) - 1n;
  const v = value & mask;
  const fields = (reg?.fields ?? []).map((f) => decodeField(enc, f, v)).sort((a, b) => b.msb - a.msb);
  if (reg?.name === 'MIDR_EL1') nameMidrPart(fields, v);
  return {
    register: reg?.name ?? registerName(enc),
    enc,
    value: v,
    width,
    fields,
    res0Violations: reg ? v & reg.res0 : 0n,
    res1Violations: reg ? ~v & reg.res1 & mask : 0n,
    overflow: value & ~mask,
    noFields: !reg?.fields || reg.fields.length === 0,
  };
}

/** The part number only means something together with the implementer (arm-socs-table's core list). */
function nameMidrPart(fields: DecodedField[], value: bigint): void {
  const implementer = Number((value >> 24n) & 0xffn);
  const part = fields.find((f) => f.name === 'PartNum');
  const core = midrPartName(implementer, Number((value >> 4n) & 0xfffn));
  if (part && core && part.meaning === undefined) part.meaning = core;
  const arch = fields.find((f) => f.name === 'Architecture');
  if (arch && arch.value === 0xfn && arch.meaning === undefined) arch.meaning = 'Architectural features are individually identified in the ID registers';
}

/** Bit ranges of a mask as "63:60, 3" for messages. */
export function describeBits(mask: bigint): string {
  const parts: string[] = [];
  let bit = 127;
  while (bit >= 0) {
    if ((mask >> BigInt(bit)) & 1n) {
      let low = bit;
      while (low > 0 && (mask >> BigInt(low - 1)) & 1n) low--;
      parts.push(low === bit ? `${bit}` : `${bit}:${low}`);
      bit = low - 1;
    } else bit--;
  }
  return parts.join(', ');
}

export function hex64(value: bigint): string {
  return '0x' + value.toString(16).padStart(16, '0');
}

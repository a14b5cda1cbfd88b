// Generates src/data/registers.generated.json from Arm's machine-readable specification (AARCHMRS BSD
// release) plus two small permissive files for value texts and MIDR names. See src/data/LICENSES.md.
//
//   node --import tsx src/data/generate.ts           write the table
//   node --import tsx src/data/generate.ts --check   write nothing; exit 1 when the committed table is stale
//
// Inputs come from ../shared/reference (relative to the repository root), or from $IDREG_REFERENCE_DIR.
// The output is deterministic: registers sorted by encoding key then name, one register per line.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { encodingKey, type Encoding } from '../model/events.ts';

// ---------------------------------------------------------------------------------------------------
// Raw AARCHMRS shapes (only the parts this generator reads).

interface RawRange {
  start: number;
  width: number;
}
interface RawValue {
  _type: string;
  value?: string;
  values?: RawValueset;
  start?: RawValue;
  end?: RawValue;
  constraints?: RawValueset | null;
  slice?: RawRange[];
}
interface RawValueset {
  _type: string;
  values?: RawValue[];
}
interface Ast {
  _type: string;
  op?: string;
  left?: Ast;
  right?: Ast;
  expr?: Ast;
  value?: unknown;
  name?: string;
  arguments?: Ast[];
  values?: Ast[];
}
interface RawField {
  _type: string;
  name?: string | null;
  rangeset?: RawRange[];
  value?: RawValue | string;
  values?: RawValueset;
  constraints?: RawValueset | null;
  fields?: { condition: Ast; field: RawField }[];
  reservedtype?: string;
  index_variable?: string;
  indexes?: RawRange[];
}
interface RawFieldset {
  condition: Ast;
  values: RawField[];
  width: number;
}
interface RawEncoding {
  asmvalue: string | null;
  encodings: Record<string, RawValue>;
}
interface RawAccessor {
  _type: string;
  name: string;
  encoding?: RawEncoding[] | null;
  index_variable?: string;
  indexes?: RawRange[];
}
interface RawRegister {
  _type: string;
  name: string;
  state?: string;
  accessors?: RawAccessor[];
  fieldsets?: RawFieldset[];
  index_variable?: string;
  _meta?: { version?: RawVersion };
}
interface RawVersion {
  architecture: string;
  build: string;
  timestamp: string;
}
interface FieldRef {
  name: string;
  field: string;
  state: string | null;
  slices: unknown;
  instance: unknown;
}

// ---------------------------------------------------------------------------------------------------
// Output shapes (short keys; see registers.ts for the reader).

/** Allowed values: plain numbers, or inclusive [lo, hi] runs. */
type OutValues = (number | [number, number])[];
interface OutField {
  n: string; // name
  m: number; // msb
  l: number; // lsb
  v?: OutValues; // allowed values when Arm enumerates them
  t?: Record<string, string>; // value -> meaning
  x?: Record<string, string[]>; // value -> FEAT_ names
}
interface OutReg {
  n: string; // name
  k: number; // encodingKey
  w?: number; // width when not 64
  rw: number; // 1 = MRS/MRRS, 2 = MSR/MSRR (register form)
  r0?: string; // RES0 mask, hex
  r1?: string; // RES1 mask, hex
  t?: string; // array template (DBGBCR<n>_EL1)
  i?: number; // array index
  a?: string[]; // other names for this encoding
  F?: OutField[]; // fields (ID space only)
}
export interface GeneratedTable {
  version: string;
  note: string;
  regs: OutReg[];
  midr: { impl: Record<string, string>; part: Record<string, string> };
}

export interface GenerateResult {
  text: string;
  table: GeneratedTable;
  warnings: string[];
  stats: Record<string, number>;
  uncovered: string[];
}

// ---------------------------------------------------------------------------------------------------
// Small helpers.

const ID_SPACE_OP1 = new Set([0, 1, 3]);
export function isIdSpace(e: Encoding): boolean {
  return e.op0 === 3 && e.crn === 0 && ID_SPACE_OP1.has(e.op1);
}

function bitsMask(msb: number, lsb: number): bigint {
  return ((1n << BigInt(msb - lsb + 1)) - 1n) << BigInt(lsb);
}

function hex(v: bigint): string {
  return v.toString(16);
}

/** "'0101'" -> 5; undefined when the text has don't-care bits or is not a bit string. */
function parseBits(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const s = text.replace(/^'|'$/g, '');
  if (!/^[01]+$/.test(s)) return undefined;
  return parseInt(s, 2);
}

/** All values of a bit pattern that may contain 'x' (don't care). */
function expandPattern(text: string): number[] {
  const s = text.replace(/^'|'$/g, '');
  if (!/^[01x]+$/.test(s)) return [];
  let acc = [0];
  for (const ch of s) {
    const next: number[] = [];
    for (const a of acc) {
      if (ch === '0' || ch === 'x') next.push(a * 2);
      if (ch === '1' || ch === 'x') next.push(a * 2 + 1);
    }
    acc = next;
  }
  return acc;
}

const ENC_WIDTH: Record<string, number> = { op0: 2, op1: 3, CRn: 4, CRm: 4, op2: 3 };

/**
 * One encoding field of an accessor: a constant ('0100'), an index slice (m with slice [start,width]),
 * or a concatenation ("'110':m[3]", "m[4]:'00'"). Returns undefined when it is not concrete.
 */
function encodingFieldValue(v: RawValue, width: number, indexVar: string | undefined, index: number | undefined): number | undefined {
  if (v._type === 'Values.Value') return parseBits(v.value);
  if (index === undefined || indexVar === undefined) return undefined;
  if (v._type === 'Values.EquationValue') {
    if (v.value !== indexVar) return undefined;
    const sl = v.slice?.[0] ?? { start: 0, width };
    if (sl.width !== width) return undefined;
    return (index >> sl.start) & ((1 << sl.width) - 1);
  }
  if (v._type === 'Values.Group' && typeof v.value === 'string') {
    const re = new RegExp(`'([01]+)'|${indexVar}\\[(\\d+)(?::(\\d+))?\\]|${indexVar}`, 'gy');
    const text = v.value.replace(/\s+/g, '');
    const parts = text.split(/:(?![^[]*\])/); // split on ':' outside [..]
    let out = 0;
    let bits = 0;
    for (const part of parts) {
      re.lastIndex = 0;
      const m = re.exec(part);
      if (!m || m[0].length !== part.length) return undefined;
      if (m[1] !== undefined) {
        out = (out << m[1].length) | parseInt(m[1], 2);
        bits += m[1].length;
      } else if (m[2] !== undefined) {
        const hi = Number(m[2]);
        const lo = m[3] !== undefined ? Number(m[3]) : hi;
        const w = hi - lo + 1;
        out = (out << w) | ((index >> lo) & ((1 << w) - 1));
        bits += w;
      } else {
        return undefined; // a bare index inside a group has no defined width
      }
    }
    return bits === width ? out : undefined;
  }
  return undefined;
}

function rangeIndexes(ranges: RawRange[] | undefined): number[] {
  const out: number[] = [];
  for (const r of ranges ?? []) for (let i = 0; i < r.width; i++) out.push(r.start + i);
  return out;
}

function isTrue(c: Ast | undefined): boolean {
  return !c || (c._type === 'AST.Bool' && c.value === true);
}

// ---------------------------------------------------------------------------------------------------
// Minimal YAML reader: block mappings, block sequences of scalars, plain/single/double-quoted scalars,
// comments. Enough for edk2-armcpuinfo/registers.yaml and arm-socs-table/cpu_cores.yml; anything else
// is reported as an error rather than guessed.

export type YamlValue = string | YamlValue[] | { [k: string]: YamlValue };

function yamlScalar(raw: string, where: string): string {
  const s = raw.trim();
  if (s.startsWith('"')) {
    const m = /^"((?:[^"\\]|\\.)*)"$/.exec(s);
    if (!m) throw new Error(`YAML: bad double-quoted scalar at ${where}`);
    return m[1]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c === 't' ? '\t' : c));
  }
  if (s.startsWith("'")) {
    const m = /^'((?:[^']|'')*)'$/.exec(s);
    if (!m) throw new Error(`YAML: bad single-quoted scalar at ${where}`);
    return m[1]!.replace(/''/g, "'");
  }
  if (/^[[{|>&*!]/.test(s)) throw new Error(`YAML: unsupported construct at ${where}: ${s}`);
  return s;
}

function stripComment(line: string): string {
  let q: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (q) {
      if (c === '\\' && q === '"') i++;
      else if (c === q) q = undefined;
    } else if (c === '"' || c === "'") {
      if (i === 0 || /[\s:-]/.test(line[i - 1]!)) q = c;
    } else if (c === '#' && (i === 0 || /\s/.test(line[i - 1]!))) {
      return line.slice(0, i);
    }
  }
  return line;
}

export function parseYaml(text: string, file: string, warnings: string[] = []): YamlValue {
  const lines: { indent: number; text: string; no: number }[] = [];
  text.split(/\r?\n/).forEach((l, i) => {
    const t = stripComment(l).replace(/\s+$/, '');
    if (t.trim() === '' || t.trim() === '---' || t.trim() === '...') return;
    lines.push({ indent: t.length - t.trimStart().length, text: t.trim(), no: i + 1 });
  });
  let pos = 0;
  function block(indent: number): YamlValue {
    const first = lines[pos];
    if (!first || first.indent < indent) return '';
    if (first.text.startsWith('- ') || first.text === '-') {
      const arr: YamlValue[] = [];
      while (pos < lines.length && lines[pos]!.indent === first.indent && lines[pos]!.text.startsWith('-')) {
        const l = lines[pos]!;
        const item = l.text.replace(/^-\s*/, '');
        if (item === '' || /^[^'"]*:(\s|$)/.test(item)) throw new Error(`YAML: nested sequence items unsupported at ${file}:${l.no}`);
        arr.push(yamlScalar(item, `${file}:${l.no}`));
        pos++;
      }
      return arr;
    }
    const obj: { [k: string]: YamlValue } = {};
    const ind = first.indent;
    while (pos < lines.length && lines[pos]!.indent === ind) {
      const l = lines[pos]!;
      const m = /^("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|[^'":][^:]*?)\s*:(?:\s+(.*))?$/.exec(l.text);
      if (!m) throw new Error(`YAML: expected "key: value" at ${file}:${l.no}`);
      const key = yamlScalar(m[1]!, `${file}:${l.no}`);
      pos++;
      let val: YamlValue;
      if (m[2] !== undefined && m[2] !== '') val = yamlScalar(m[2], `${file}:${l.no}`);
      else if (pos < lines.length && (lines[pos]!.indent > ind || (lines[pos]!.indent === ind && lines[pos]!.text.startsWith('- ')))) {
        val = block(lines[pos]!.indent);
      } else val = '';
      if (Object.prototype.hasOwnProperty.call(obj, key)) warnings.push(`${file}:${l.no}: duplicate key "${key}" (last one kept)`);
      obj[key] = val;
    }
    if (pos < lines.length && lines[pos]!.indent > ind) throw new Error(`YAML: unexpected indentation at ${file}:${lines[pos]!.no}`);
    return obj;
  }
  const root = block(0);
  if (pos < lines.length) throw new Error(`YAML: trailing content at ${file}:${lines[pos]!.no}`);
  return root;
}

function asMap(v: YamlValue | undefined): { [k: string]: YamlValue } {
  return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
}
function asStr(v: YamlValue | undefined): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

// ---------------------------------------------------------------------------------------------------
// Field extraction (ID space).

interface FieldInfo {
  name: string;
  msb: number;
  lsb: number;
  values?: number[];
}
interface Layout {
  fields: FieldInfo[];
  res0: bigint;
  res1: bigint;
  /** Bits Arm marks UNKNOWN (not a field, not RES0/RES1). */
  unknown: bigint;
}

function collectValues(v: RawValue | RawValueset | null | undefined, width: number, out: Set<number>): boolean {
  if (!v) return false;
  let any = false;
  switch (v._type) {
    case 'Values.Value': {
      const vals = expandPattern((v as RawValue).value ?? '');
      for (const x of vals) out.add(x);
      return vals.length > 0;
    }
    case 'Values.ValueRange': {
      const a = parseBits((v as RawValue).start?.value);
      const b = parseBits((v as RawValue).end?.value);
      if (a === undefined || b === undefined) return false;
      for (let x = a; x <= b; x++) out.add(x);
      return true;
    }
    case 'Values.ConditionalValue':
      return collectValues((v as RawValue).values, width, out);
    case 'Values.ImplementationDefined':
      return collectValues((v as RawValue).constraints, width, out);
    default:
      if (v._type.startsWith('Valuesets.')) {
        for (const x of (v as RawValueset).values ?? []) any = collectValues(x, width, out) || any;
        return any;
      }
      return false;
  }
}

function fieldValues(f: RawField, width: number): number[] | undefined {
  const out = new Set<number>();
  let found = false;
  if (typeof f.value === 'object' && f.value) found = collectValues(f.value, width, out);
  if (f.values) found = collectValues(f.values, width, out) || found;
  if (f.constraints) found = collectValues(f.constraints, width, out) || found;
  if (!found || out.size === 0) return undefined;
  return [...out].sort((a, b) => a - b);
}

/** Chooses the fieldset for the ID space: TRUE unless it only has reserved bits, else the first with fields. */
function chooseFieldset(sets: RawFieldset[]): RawFieldset | undefined {
  const hasNamed = (fs: RawFieldset) => fs.values.some((f) => f._type !== 'Fields.Reserved');
  const t = sets.find((fs) => isTrue(fs.condition));
  if (t && hasNamed(t)) return t;
  return sets.find(hasNamed) ?? t ?? sets[0];
}

function layoutOf(reg: RawRegister, warnings: string[]): Layout {
  const fs = chooseFieldset(reg.fieldsets ?? []);
  const out: Layout = { fields: [], res0: 0n, res1: 0n, unknown: 0n };
  if (!fs) return out;
  const impdefCount = fs.values.filter((f) => f._type === 'Fields.ImplementationDefined' && !f.name).length;
  const addField = (f: RawField, base: number, nameOverride?: string) => {
    const ranges = f.rangeset ?? [];
    if (ranges.length !== 1) {
      warnings.push(`${reg.name}: field ${f.name ?? '?'} has ${ranges.length} bit ranges; skipped`);
      return;
    }
    const r = ranges[0]!;
    const lsb = base + r.start;
    const msb = lsb + r.width - 1;
    if (f._type === 'Fields.Array') {
      const idx = rangeIndexes(f.indexes);
      const ew = r.width / idx.length;
      if (!Number.isInteger(ew) || !f.name || !f.index_variable) {
        warnings.push(`${reg.name}: array field ${f.name ?? '?'} cannot be expanded; skipped`);
        return;
      }
      const vals = fieldValues(f, ew);
      idx.forEach((n, k) => {
        const el = lsb + k * ew;
        out.fields.push({ name: f.name!.replace(`<${f.index_variable}>`, String(n)), msb: el + ew - 1, lsb: el, values: vals });
      });
      return;
    }
    let name = nameOverride ?? f.name ?? undefined;
    if (!name && f._type === 'Fields.ImplementationDefined') name = impdefCount > 1 ? `IMPDEF_${msb}_${lsb}` : 'IMPDEF';
    if (!name) {
      warnings.push(`${reg.name}: unnamed ${f._type} at ${msb}:${lsb}; skipped`);
      return;
    }
    out.fields.push({ name, msb, lsb, values: fieldValues(f, r.width) });
  };
  for (const f of fs.values) {
    if (f._type === 'Fields.Reserved') {
      for (const r of f.rangeset ?? []) {
        const m = bitsMask(r.start + r.width - 1, r.start);
        const kind = typeof f.value === 'string' ? f.value : '';
        if (kind.startsWith('RES0') || kind.startsWith('RAZ')) out.res0 |= m;
        else if (kind.startsWith('RES1') || kind.startsWith('RAO')) out.res1 |= m;
        else out.unknown |= m;
      }
    } else if (f._type === 'Fields.ConditionalField') {
      const alts = f.fields ?? [];
      const alt = alts.find((a) => isTrue(a.condition)) ?? alts[0];
      const r = f.rangeset?.[0];
      if (!alt || !r || (f.rangeset?.length ?? 0) !== 1) {
        warnings.push(`${reg.name}: conditional field at ${JSON.stringify(f.rangeset)} has no usable alternative; skipped`);
        continue;
      }
      addField(alt.field, r.start);
    } else {
      addField(f, 0);
    }
  }
  out.fields.sort((a, b) => b.msb - a.msb || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

/** RES0/RES1 bits that hold in every fieldset (a conservative mask for registers outside the ID space). */
function commonReserved(reg: RawRegister): { res0: bigint; res1: bigint } {
  let res0: bigint | undefined;
  let res1: bigint | undefined;
  for (const fs of reg.fieldsets ?? []) {
    let r0 = 0n;
    let r1 = 0n;
    for (const f of fs.values) {
      if (f._type !== 'Fields.Reserved' || typeof f.value !== 'string') continue;
      for (const r of f.rangeset ?? []) {
        const m = bitsMask(r.start + r.width - 1, r.start);
        if (f.value.startsWith('RES0') || f.value.startsWith('RAZ')) r0 |= m;
        else if (f.value.startsWith('RES1') || f.value.startsWith('RAO')) r1 |= m;
      }
    }
    res0 = res0 === undefined ? r0 : res0 & r0;
    res1 = res1 === undefined ? r1 : res1 & r1;
  }
  return { res0: res0 ?? 0n, res1: res1 ?? 0n };
}

// ---------------------------------------------------------------------------------------------------
// Features.json: which FEAT_ names a field value implies.

type Tri = boolean | undefined;
interface Target {
  reg: string;
  field: string;
  width: number;
}

function fieldRefOf(n: Ast | undefined): { ref: FieldRef; signed: boolean } | undefined {
  if (!n) return undefined;
  if (n._type === 'Types.Field') return { ref: n.value as FieldRef, signed: false };
  if (n._type === 'AST.Function' && (n.name === 'UInt' || n.name === 'SInt') && n.arguments?.length === 1 && n.arguments[0]!._type === 'Types.Field') {
    return { ref: n.arguments[0]!.value as FieldRef, signed: n.name === 'SInt' };
  }
  return undefined;
}

function isTargetRef(ref: FieldRef, t: Target): boolean {
  return (ref.state ?? 'AArch64') === 'AArch64' && ref.name === t.reg && ref.field === t.field && !ref.slices && !ref.instance;
}

function intOf(n: Ast | undefined): number | undefined {
  if (!n) return undefined;
  if (n._type === 'AST.Integer' && typeof n.value === 'number') return n.value;
  if (n._type === 'Values.Value' && typeof n.value === 'string') return parseBits(n.value);
  return undefined;
}

/** Three-valued evaluation with only the target field known. */
function evalAst(n: Ast | undefined, t: Target, v: number): Tri {
  if (!n) return undefined;
  switch (n._type) {
    case 'AST.Bool':
      return n.value === true;
    case 'AST.UnaryOp':
      if (n.op === '!') {
        const x = evalAst(n.expr, t, v);
        return x === undefined ? undefined : !x;
      }
      return undefined;
    case 'AST.BinaryOp': {
      const op = n.op;
      if (op === '&&' || op === '||' || op === '-->' || op === '<->') {
        const a = evalAst(n.left, t, v);
        const b = evalAst(n.right, t, v);
        if (op === '&&') return a === false || b === false ? false : a === true && b === true ? true : undefined;
        if (op === '||') return a === true || b === true ? true : a === false && b === false ? false : undefined;
        if (op === '-->') return a === false || b === true ? true : a === true && b === false ? false : undefined;
        return a === undefined || b === undefined ? undefined : a === b;
      }
      if (op === 'IN') {
        const fr = fieldRefOf(n.left);
        if (!fr || !isTargetRef(fr.ref, t) || n.right?._type !== 'AST.Set') return undefined;
        const set = new Set<number>();
        for (const x of n.right.values ?? []) if (typeof x.value === 'string') for (const y of expandPattern(x.value)) set.add(y);
        return set.has(v);
      }
      const fr = fieldRefOf(n.left);
      const k = intOf(n.right);
      if (!fr || k === undefined || !isTargetRef(fr.ref, t)) return undefined;
      const x = fr.signed && v >= 2 ** (t.width - 1) ? v - 2 ** t.width : v;
      switch (op) {
        case '>=':
          return x >= k;
        case '>':
          return x > k;
        case '<=':
          return x <= k;
        case '<':
          return x < k;
        case '==':
          return x === k;
        case '!=':
          return x !== k;
        default:
          return undefined;
      }
    }
    default:
      return undefined;
  }
}

function hasFieldRef(n: unknown): boolean {
  if (!n || typeof n !== 'object') return false;
  if ((n as Ast)._type === 'Types.Field') return true;
  for (const v of Object.values(n as Record<string, unknown>)) {
    if (Array.isArray(v)) {
      if (v.some(hasFieldRef)) return true;
    } else if (hasFieldRef(v)) return true;
  }
  return false;
}

function fieldRefsIn(n: unknown, out: FieldRef[] = []): FieldRef[] {
  if (!n || typeof n !== 'object') return out;
  const a = n as Ast;
  if (a._type === 'Types.Field') {
    out.push(a.value as FieldRef);
    return out;
  }
  for (const v of Object.values(n as Record<string, unknown>)) {
    if (Array.isArray(v)) v.forEach((x) => fieldRefsIn(x, out));
    else fieldRefsIn(v, out);
  }
  return out;
}

function featIds(n: Ast | undefined): string[] | undefined {
  if (!n) return undefined;
  if (n._type === 'AST.Identifier' && typeof n.value === 'string' && n.value.startsWith('FEAT_')) return [n.value];
  if (n._type === 'AST.BinaryOp' && n.op === '&&') {
    const a = featIds(n.left);
    const b = featIds(n.right);
    return a && b ? [...a, ...b] : undefined;
  }
  return undefined;
}

interface Implication {
  cond: Ast;
  feats: string[];
}

/** `G --> (FEAT_X <-> E)`, `FEAT_X <-> E`, `E --> FEAT_X` (E over fields; G over features only). */
function collectImplications(n: Ast | undefined, out: Implication[]): void {
  if (!n || n._type !== 'AST.BinaryOp') return;
  if (n.op === '-->') {
    if (!hasFieldRef(n.left)) {
      collectImplications(n.right, out);
      return;
    }
    const f = featIds(n.right);
    if (f) out.push({ cond: n.left!, feats: f });
    return;
  }
  if (n.op === '<->') {
    const l = featIds(n.left);
    const r = featIds(n.right);
    if (l && l.length === 1 && hasFieldRef(n.right)) out.push({ cond: n.right!, feats: l });
    else if (r && r.length === 1 && hasFieldRef(n.left)) out.push({ cond: n.left!, feats: r });
  }
}

function signedRefs(n: unknown, out: Set<string>): void {
  if (!n || typeof n !== 'object') return;
  const a = n as Ast;
  if (a._type === 'AST.Function' && a.name === 'SInt') {
    const fr = fieldRefOf(a);
    if (fr) out.add(`${fr.ref.name}.${fr.ref.field}`);
  }
  for (const v of Object.values(n as Record<string, unknown>)) {
    if (Array.isArray(v)) v.forEach((x) => signedRefs(x, out));
    else signedRefs(v, out);
  }
}

// ---------------------------------------------------------------------------------------------------
// Register enumeration.

const REGISTER_FORM = new Set(['MRS', 'MSRregister', 'MRRS', 'MSRRregister']);
// Every other accessor is a System instruction (TLBI, DC, AT, IC, BRB, CFP, APAS, GCSPUSHM, ...). Those with
// a fixed encoding are listed as "<MNEMONIC> <operation>" ("TLBI VMALLE1IS"), or just the mnemonic when the
// instruction has no operation name ("APAS"). MSR (immediate) encodes PSTATE fields, not registers: skipped.

interface Occurrence {
  name: string; // concrete name (upper/lower case as Arm spells it)
  key: number;
  enc: Encoding;
  instr: string; // MRS, MSRregister, TLBI, ...
  reg: RawRegister; // the register whose layout applies
  own: boolean; // the name is the register's own name (not an accessor-only alias name)
  array?: { template: string; index: number };
}

function instrRank(instr: string): number {
  if (instr === 'MRS' || instr === 'MSRregister') return 0;
  if (instr === 'MRRS' || instr === 'MSRRregister') return 1;
  if (instr === 'TLBIP') return 3;
  return 2;
}

// ---------------------------------------------------------------------------------------------------

export interface GenerateOptions {
  referenceDir: string;
}

export function generate(opts: GenerateOptions): GenerateResult {
  const ref = opts.referenceDir;
  const warnings: string[] = [];
  const mrsDir = path.join(ref, 'aarchmrs-bsd-2024-12');
  const regsRaw = JSON.parse(zlib.gunzipSync(fs.readFileSync(path.join(mrsDir, 'Registers.json.gz'))).toString('utf8')) as RawRegister[];
  const featuresRaw = JSON.parse(fs.readFileSync(path.join(mrsDir, 'Features.json'), 'utf8')) as {
    _meta?: { version?: RawVersion };
    constraints?: Ast[];
    parameters: { name: string; constraints?: Ast[] | null }[];
  };
  const edk2 = asMap(parseYaml(fs.readFileSync(path.join(ref, 'edk2-armcpuinfo', 'registers.yaml'), 'utf8'), 'registers.yaml', warnings));
  const cores = asMap(parseYaml(fs.readFileSync(path.join(ref, 'arm-socs-table', 'cpu_cores.yml'), 'utf8'), 'cpu_cores.yml', warnings));

  // Version string.
  const ver = featuresRaw._meta?.version ?? regsRaw.find((r) => r._meta?.version)?._meta?.version;
  if (!ver) throw new Error('no _meta.version in Features.json / Registers.json');
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const tm = /\b([A-Z][a-z]{2})\s+\d+\s+[\d:]+\s+(\d{4})\b/.exec(ver.timestamp);
  const ym = tm ? `${tm[2]}-${String(months.indexOf(tm[1]!) + 1).padStart(2, '0')}` : ver.timestamp;
  const version = `AARCHMRS BSD A-profile ${ym} (${ver.architecture} build ${ver.build})`;

  // 1. Occurrences of concrete encodings.
  const aarch64 = regsRaw.filter((r) => r.state === 'AArch64' && (r._type === 'Register' || r._type === 'RegisterArray'));
  const regNames = new Set(aarch64.map((r) => r.name));
  const occ: Occurrence[] = [];
  const aliasOnly: { name: string; key: number }[] = [];
  const redirects: { from: string; name: string; key: number }[] = [];
  let skippedNonConcrete = 0;
  let skippedImmediate = 0;
  for (const reg of aarch64) {
    const regVar = reg.index_variable;
    let sawOwn = false;
    const reached: { key: number; index?: number }[] = [];
    for (const acc of reg.accessors ?? []) {
      const instr = acc.name.replace(/^A64\./, '');
      if (instr === 'MSRimmediate') {
        skippedImmediate++;
        continue;
      }
      const isReg = REGISTER_FORM.has(instr);
      const accVar = acc.index_variable;
      const indexes = acc._type === 'Accessors.SystemAccessorArray' ? rangeIndexes(acc.indexes) : [undefined];
      for (const e of acc.encoding ?? []) {
        for (const index of indexes) {
          const vals: Partial<Record<string, number>> = {};
          let ok = true;
          for (const k of Object.keys(ENC_WIDTH)) {
            const raw = e.encodings[k];
            const x = raw ? encodingFieldValue(raw, ENC_WIDTH[k]!, accVar, index) : undefined;
            if (x === undefined) ok = false;
            vals[k] = x;
          }
          if (!ok) {
            skippedNonConcrete++;
            continue;
          }
          const enc: Encoding = { op0: vals.op0!, op1: vals.op1!, crn: vals.CRn!, crm: vals.CRm!, op2: vals.op2! };
          const key = encodingKey(enc);
          const asmTemplate = e.asmvalue ?? '';
          const mnemonic = isReg ? '' : instr;
          const fullTemplate = isReg ? asmTemplate : asmTemplate ? `${mnemonic} ${asmTemplate}` : mnemonic;
          const normTemplate = accVar && regVar ? fullTemplate.replace(`<${accVar}>`, `<${regVar}>`) : fullTemplate;
          const concrete = index !== undefined && accVar ? fullTemplate.replace(`<${accVar}>`, String(index)) : fullTemplate;
          if (/[<>]/.test(concrete) || concrete === '') {
            skippedNonConcrete++;
            continue;
          }
          const own = normTemplate === reg.name;
          reached.push({ key, index });
          if (own) sawOwn = true;
          else if (regNames.has(normTemplate) || regNames.has(fullTemplate)) {
            // Another register's own name (ACTLR_EL2 reached as ACTLR_EL1 from EL2 with E2H): that register owns the encoding.
            redirects.push({ from: reg.name, name: concrete, key });
            continue;
          }
          occ.push({
            name: concrete,
            key,
            enc,
            instr,
            reg,
            own,
            array: index !== undefined && regVar ? { template: reg.name, index } : undefined,
          });
        }
      }
    }
    // A register reached only through another register's accessor names (ICV_* via ICC_*) becomes an alias.
    if (!sawOwn) {
      for (const r of reached) {
        const name = r.index !== undefined && regVar ? reg.name.replace(`<${regVar}>`, String(r.index)) : reg.name;
        if (!/[<>]/.test(name)) aliasOnly.push({ name, key: r.key });
      }
    }
  }

  for (const r of redirects) {
    if (!occ.some((o) => o.own && o.key === r.key && o.name === r.name)) warnings.push(`${r.from}: accessor ${r.name} names another register, which does not own encoding 0x${r.key.toString(16)}`);
  }

  // 2. Group by encoding.
  const byKey = new Map<number, Occurrence[]>();
  for (const o of occ) {
    let l = byKey.get(o.key);
    if (!l) byKey.set(o.key, (l = []));
    l.push(o);
  }
  const signedFields = new Set<string>();
  const allConstraints: Ast[] = [...(featuresRaw.constraints ?? [])];
  for (const p of featuresRaw.parameters) for (const c of p.constraints ?? []) allConstraints.push(c);
  for (const c of allConstraints) signedRefs(c, signedFields);
  const implications: Implication[] = [];
  for (const c of allConstraints) collectImplications(c, implications);
  const implByField = new Map<string, Implication[]>();
  for (const imp of implications) {
    const seen = new Set<string>();
    for (const r of fieldRefsIn(imp.cond)) {
      if ((r.state ?? 'AArch64') !== 'AArch64') continue;
      const k = `${r.name}.${r.field}`;
      if (seen.has(k)) continue;
      seen.add(k);
      let l = implByField.get(k);
      if (!l) implByField.set(k, (l = []));
      l.push(imp);
    }
  }

  // MIDR names.
  const impl: Record<string, string> = {};
  const part: Record<string, string> = {};
  for (const [code, v] of Object.entries(cores)) {
    const m = asMap(v);
    const c = Number(code);
    if (!Number.isInteger(c)) {
      warnings.push(`cpu_cores.yml: implementer key ${code} is not a number`);
      continue;
    }
    const vendor = asStr(m.name);
    if (vendor) impl[String(c)] = vendor;
    for (const [p, pv] of Object.entries(asMap(m.cores))) {
      const pn = Number(p);
      const name = asStr(asMap(pv).name);
      if (!Number.isInteger(pn) || !name) continue;
      // Arm writes its server cores as "Neoverse V2" (space) and its client cores as "Cortex-A72".
      part[`${c}:${pn}`] = name.replace(/^Neoverse-/, 'Neoverse ');
    }
  }

  // edk2 texts, by register then upper-case field name.
  const edk2Used = new Set<string>();
  const edk2Fields = new Map<string, { bits: string; desc: Record<string, string>; extra: Record<string, string> }>();
  for (const [rn, rv] of Object.entries(edk2)) {
    for (const [fn, fv] of Object.entries(asMap(asMap(rv).fields))) {
      const f = asMap(fv);
      const desc: Record<string, string> = {};
      const extra: Record<string, string> = {};
      for (const [k, t] of Object.entries(asMap(f.descriptions))) if (asStr(t) !== undefined) desc[String(Number(k))] = asStr(t)!.trim();
      for (const [k, t] of Object.entries(asMap(f.extra_info))) if (asStr(t) !== undefined) extra[String(Number(k))] = asStr(t)!.trim();
      edk2Fields.set(`${rn}.${fn.toUpperCase()}`, { bits: asStr(f.bits) ?? '', desc, extra });
    }
  }

  const stats = { registers: 0, arrayRegisters: 0, aliases: 0, idSpaceRegisters: 0, idSpaceWithFields: 0, fields: 0, valuesWithMeanings: 0, valuesWithFeatures: 0, edk2Texts: 0, featTexts: 0, skippedNonConcreteEncodings: skippedNonConcrete, skippedMsrImmediate: skippedImmediate };
  const uncovered: string[] = [];
  const out: OutReg[] = [];
  const nameToKey = new Map<string, number>();

  for (const [key, list] of [...byKey.entries()].sort((a, b) => a[0] - b[0])) {
    // Primary: own names first, then register forms, then TLBI before TLBIP, then by name.
    const sorted = [...list].sort(
      (a, b) => Number(b.own) - Number(a.own) || instrRank(a.instr) - instrRank(b.instr) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
    );
    const prim = sorted[0]!;
    const names = new Set<string>();
    for (const o of sorted) if (o.name !== prim.name) names.add(o.name);
    for (const a of aliasOnly) if (a.key === key && a.name !== prim.name) names.add(a.name);
    let rw = 0;
    for (const o of list) {
      if (o.instr === 'MRS' || o.instr === 'MRRS') rw |= 1;
      if (o.instr === 'MSRregister' || o.instr === 'MSRRregister') rw |= 2;
    }
    const widths = (prim.reg.fieldsets ?? []).map((f) => f.width);
    const width = widths.length ? Math.max(...widths) : 64;
    const r: OutReg = { n: prim.name, k: key, rw };
    if (width !== 64) r.w = width;
    const idSpace = isIdSpace(prim.enc);
    let layout: Layout | undefined;
    let res0: bigint;
    let res1: bigint;
    if (idSpace) {
      layout = layoutOf(prim.reg, warnings);
      res0 = layout.res0;
      res1 = layout.res1;
    } else {
      ({ res0, res1 } = commonReserved(prim.reg));
    }
    if (res0) r.r0 = hex(res0);
    if (res1) r.r1 = hex(res1);
    if (prim.array) {
      r.t = prim.array.template;
      r.i = prim.array.index;
      stats.arrayRegisters++;
    }
    if (names.size) {
      r.a = [...names].sort();
      stats.aliases += names.size;
    }
    if (layout) {
      stats.idSpaceRegisters++;
      const fields: OutField[] = [];
      let covered = 0n;
      for (const f of layout.fields) {
        const m = bitsMask(f.msb, f.lsb);
        if (covered & m) warnings.push(`${prim.name}: field ${f.name} overlaps another field`);
        covered |= m;
        fields.push(buildField(prim.reg.name, f));
      }
      const all = (1n << BigInt(width)) - 1n;
      const rest = all & ~(covered | res0 | res1);
      if (covered & (res0 | res1)) warnings.push(`${prim.name}: fields overlap RES0/RES1`);
      if (rest) uncovered.push(`${prim.name}: bits 0x${hex(rest)} not described by Arm (${layout.unknown & rest ? 'UNKNOWN' : 'no field'})`);
      if (fields.length) {
        stats.idSpaceWithFields++;
        r.F = fields;
      } else {
        r.F = [];
      }
    }
    for (const n of [prim.name, ...names]) {
      const u = n.toUpperCase();
      const prev = nameToKey.get(u);
      if (prev !== undefined && prev !== key) warnings.push(`name ${n} maps to two encodings (0x${prev.toString(16)}, 0x${key.toString(16)}); first kept`);
      else nameToKey.set(u, key);
    }
    out.push(r);
  }
  stats.registers = out.length;

  function buildField(regName: string, f: FieldInfo): OutField {
    stats.fields++;
    const width = f.msb - f.lsb + 1;
    const o: OutField = { n: f.name, m: f.msb, l: f.lsb };
    let values = f.values;
    const midrImpl = regName === 'MIDR_EL1' && f.name === 'Implementer';
    if (midrImpl) {
      // Arm enumerates only some implementer codes; the codes known to cpu_cores.yml are real too.
      values = [...new Set([...(values ?? []), ...Object.keys(impl).map(Number)])].sort((a, b) => a - b);
    }
    if (values) o.v = compactValues(values);
    const edk = edk2Fields.get(`${regName}.${f.name.toUpperCase()}`);
    let edkOk = false;
    if (edk) {
      const [hi, lo] = edk.bits.split(':').map(Number);
      if (hi === f.msb && (lo ?? hi) === f.lsb) {
        edkOk = true;
        edk2Used.add(`${regName}.${f.name.toUpperCase()}`);
      } else warnings.push(`edk2 ${regName}.${f.name}: bits ${edk.bits} differ from Arm's ${f.msb}:${f.lsb}; texts not used`);
    }
    const candidates = new Set<number>(values ?? []);
    if (edkOk) for (const k of Object.keys(edk!.desc)) candidates.add(Number(k));
    const imps = implByField.get(`${regName}.${f.name}`) ?? [];
    if (!values && imps.length && width <= 4) for (let v = 0; v < 2 ** width; v++) candidates.add(v);
    const signed = signedFields.has(`${regName}.${f.name}`);
    const target: Target = { reg: regName, field: f.name, width };
    const feats: Record<string, string[]> = {};
    for (const v of [...candidates].sort((a, b) => a - b)) {
      const s = new Set<string>();
      for (const imp of imps) if (evalAst(imp.cond, target, v) === true) for (const x of imp.feats) s.add(x);
      if (s.size) feats[String(v)] = [...s].sort();
    }
    const meanings: Record<string, string> = {};
    const order = (v: number) => (signed && v >= 2 ** (width - 1) ? v - 2 ** width : v);
    const featured = Object.keys(feats).map(Number).sort((a, b) => order(a) - order(b));
    const niValue = signed ? 2 ** width - 1 : 0;
    for (const v of [...candidates].sort((a, b) => a - b)) {
      const k = String(v);
      let text: string | undefined;
      if (edkOk && edk!.desc[k] !== undefined) {
        text = edk!.desc[k]!;
        if (edk!.extra[k]) text = `${text} ${edk!.extra[k]}`;
        stats.edk2Texts++;
      } else if (midrImpl && impl[k]) {
        text = impl[k];
      } else if (feats[k]) {
        text = `${feats[k]!.join(', ')} implemented`;
        stats.featTexts++;
      } else if (v === niValue && featured.length && order(featured[0]!) > order(v)) {
        text = `${feats[String(featured[0])]!.join(', ')} not implemented`;
        stats.featTexts++;
      }
      if (text) meanings[k] = text;
    }
    if (Object.keys(meanings).length) o.t = meanings;
    if (Object.keys(feats).length) o.x = feats;
    stats.valuesWithMeanings += Object.keys(meanings).length;
    stats.valuesWithFeatures += Object.keys(feats).length;
    return o;
  }

  for (const k of edk2Fields.keys()) if (!edk2Used.has(k)) warnings.push(`edk2 field ${k} has no matching Arm field (same name and bits); texts not used`);

  const table: GeneratedTable = {
    version,
    note: 'Generated by src/data/generate.ts from Arm AARCHMRS (BSD-3-Clause), edk2-armcpuinfo registers.yaml (BSD-2-Clause-Patent) and arm-socs-table cpu_cores.yml (MIT); see src/data/LICENSES.md. Do not edit.',
    regs: out,
    midr: { impl: sortKeysNumeric(impl), part: sortPartKeys(part) },
  };
  return { text: serialise(table), table, warnings, stats, uncovered };
}

function compactValues(vals: number[]): OutValues {
  const out: OutValues = [];
  let i = 0;
  while (i < vals.length) {
    let j = i;
    while (j + 1 < vals.length && vals[j + 1] === vals[j]! + 1) j++;
    if (j - i >= 2) out.push([vals[i]!, vals[j]!]);
    else for (let k = i; k <= j; k++) out.push(vals[k]!);
    i = j + 1;
  }
  return out;
}

function sortKeysNumeric(o: Record<string, string>): Record<string, string> {
  const r: Record<string, string> = {};
  for (const k of Object.keys(o).sort((a, b) => Number(a) - Number(b))) r[k] = o[k]!;
  return r;
}
function sortPartKeys(o: Record<string, string>): Record<string, string> {
  const num = (k: string) => k.split(':').map(Number) as [number, number];
  const r: Record<string, string> = {};
  for (const k of Object.keys(o).sort((a, b) => num(a)[0] - num(b)[0] || num(a)[1] - num(b)[1])) r[k] = o[k]!;
  return r;
}

/** Compact JSON with one register per line (reviewable diffs, deterministic bytes). */
function serialise(t: GeneratedTable): string {
  const lines: string[] = [];
  lines.push('{');
  lines.push(`"version":${JSON.stringify(t.version)},`);
  lines.push(`"note":${JSON.stringify(t.note)},`);
  lines.push(`"midr":${JSON.stringify(t.midr)},`);
  lines.push('"regs":[');
  t.regs.forEach((r, i) => lines.push(JSON.stringify(r) + (i + 1 < t.regs.length ? ',' : '')));
  lines.push(']');
  lines.push('}');
  return lines.join('\n') + '\n';
}

// ---------------------------------------------------------------------------------------------------
// Command line.

export const REPO_ROOT = path.resolve(__dirname, '..', '..');
export const OUTPUT_FILE = path.join(REPO_ROOT, 'src', 'data', 'registers.generated.json');

export function defaultReferenceDir(): string {
  return process.env.IDREG_REFERENCE_DIR ? path.resolve(process.env.IDREG_REFERENCE_DIR) : path.resolve(REPO_ROOT, '../shared/reference');
}

function main(argv: string[]): number {
  const check = argv.includes('--check');
  const verbose = argv.includes('--verbose');
  const ref = defaultReferenceDir();
  if (!fs.existsSync(path.join(ref, 'aarchmrs-bsd-2024-12', 'Registers.json.gz'))) {
    process.stderr.write(`generate: reference data not found in ${ref} (set IDREG_REFERENCE_DIR)\n`);
    return 2;
  }
  const res = generate({ referenceDir: ref });
  if (verbose) {
    for (const w of res.warnings) process.stderr.write(`warning: ${w}\n`);
    for (const u of res.uncovered) process.stderr.write(`note: ${u}\n`);
  } else if (res.warnings.length) {
    process.stderr.write(`generate: ${res.warnings.length} warnings (run with --verbose to list them)\n`);
  }
  const summary = Object.entries(res.stats)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  if (check) {
    const current = fs.existsSync(OUTPUT_FILE) ? fs.readFileSync(OUTPUT_FILE, 'utf8') : undefined;
    if (current !== res.text) {
      process.stderr.write(`generate --check: ${path.relative(process.cwd(), OUTPUT_FILE)} is ${current === undefined ? 'missing' : 'stale'}; run \`npm run gen:data\`\n`);
      return 1;
    }
    process.stdout.write(`generate --check: up to date (${summary})\n`);
    return 0;
  }
  fs.writeFileSync(OUTPUT_FILE, res.text);
  process.stdout.write(`wrote ${path.relative(process.cwd(), OUTPUT_FILE)} (${res.text.length} bytes; ${summary})\n`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(__filename)) {
  process.exitCode = main(process.argv.slice(2));
}

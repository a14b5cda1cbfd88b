// The event records every parser yields and the VM model replays. One shape for all input formats,
// so the model, the findings and the editor features never care where an event came from.
import type { Range } from '../findings.ts';

/** The five-tuple that names an AArch64 system register. */
export interface Encoding {
  op0: number;
  op1: number;
  crn: number;
  crm: number;
  op2: number;
}

/** A register as it was written on a line: the text, where it is, and what it resolved to. */
export interface RegRef {
  text: string;
  range: Range;
  /** Resolved encoding; undefined when the text named nothing known (the parser reported IDR002). */
  enc?: Encoding;
  /** Architectural name when the encoding is allocated (e.g. ID_AA64PFR0_EL1). */
  name?: string;
}

/** What really happened, when the input recorded it. */
export type Outcome =
  | { kind: 'ok' } // 0
  | { kind: 'errno'; errno: string } // '-EINVAL', '-EBUSY', ... (negative errno names)
  | { kind: 'value'; value: bigint } // a GET or guest read that returned this value
  | { kind: 'undef' }; // the guest took an UNDEFINED exception

export interface RecordedOutcome {
  outcome: Outcome;
  range: Range;
}

interface EventBase {
  /** The whole line (or record) the event came from. */
  range: Range;
}

/** `kernel 6.15`: the rules of this KVM version. */
export interface KernelEvent extends EventBase {
  kind: 'kernel';
  version: string;
  versionRange: Range;
}

/** `host PATH`: the host's limit values come from this dump (path relative to the trace). */
export interface HostEvent extends EventBase {
  kind: 'host';
  path: string;
  pathRange: Range;
}

/** `cap NAME`: KVM_ENABLE_CAP on the VM. */
export interface CapEvent extends EventBase {
  kind: 'cap';
  cap: string;
  capRange: Range;
  result?: RecordedOutcome;
}

/** `vcpu N init f1,f2`: KVM_ARM_VCPU_INIT. */
export interface InitEvent extends EventBase {
  kind: 'init';
  vcpu: number;
  features: string[];
  featuresRange: Range;
  result?: RecordedOutcome;
}

/** `vcpu N get REG`: KVM_GET_ONE_REG from userspace. */
export interface GetEvent extends EventBase {
  kind: 'get';
  vcpu: number;
  reg: RegRef;
  result?: RecordedOutcome;
}

/** `vcpu N set REG VALUE`: KVM_SET_ONE_REG from userspace. */
export interface SetEvent extends EventBase {
  kind: 'set';
  vcpu: number;
  reg: RegRef;
  value: bigint;
  valueRange: Range;
  result?: RecordedOutcome;
}

/** `vcpu N run`: KVM_RUN (a successful first run freezes the ID registers). */
export interface RunEvent extends EventBase {
  kind: 'run';
  vcpu: number;
  result?: RecordedOutcome;
}

/** A guest MRS of a system register (trapped read). The value is known only when the input recorded it. */
export interface GuestReadEvent extends EventBase {
  kind: 'mrs';
  vcpu: number;
  reg: RegRef;
  result?: RecordedOutcome;
}

/** A guest MSR to a system register. */
export interface GuestWriteEvent extends EventBase {
  kind: 'msr';
  vcpu: number;
  reg: RegRef;
  value?: bigint;
  valueRange?: Range;
  result?: RecordedOutcome;
}

export type TraceEvent =
  | KernelEvent
  | HostEvent
  | CapEvent
  | InitEvent
  | GetEvent
  | SetEvent
  | RunEvent
  | GuestReadEvent
  | GuestWriteEvent;

/** One register value in a dump (host fingerprint, debugfs idregs, template, cpuinfo ...). */
export interface DumpEntry {
  reg: RegRef;
  value: bigint;
  valueRange: Range;
  /** For templates: the bits the template sets (1) versus keeps (0). Undefined means every bit is fixed. */
  mask?: bigint;
  /** Register width in bits as the source gave it (32/64/128); undefined = 64. */
  width?: number;
  /** Raw KVM one-reg ID when the source named the register by one (Firecracker, QEMU, get-reg-list). */
  oneRegId?: bigint;
}

/** The register values a dump-like file holds. */
export interface RegisterDump {
  entries: DumpEntry[];
  /** vCPU features the dump was taken with (Firecracker vcpu_features, .idtrace init), when known. */
  features?: string[];
  /** Kernel version the dump came from, when known (Firecracker fingerprint kernel_version). */
  kernel?: string;
  /** True for a custom CPU template (entries are modifications applied on top of a host). */
  isTemplate?: boolean;
}

/** Packed 16-bit key of an encoding: op0<<14 | op1<<11 | crn<<7 | crm<<3 | op2 (KVM one-reg / crosvm). */
export function encodingKey(e: Encoding): number {
  return (e.op0 << 14) | (e.op1 << 11) | (e.crn << 7) | (e.crm << 3) | e.op2;
}

export function keyToEncoding(key: number): Encoding {
  return { op0: (key >> 14) & 3, op1: (key >> 11) & 7, crn: (key >> 7) & 15, crm: (key >> 3) & 15, op2: key & 7 };
}

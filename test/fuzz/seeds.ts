// Small valid documents of every input format, written from shared/docs/formats.md and design.md. The
// property tests and the fuzz runner mutate them (deleted, duplicated and swapped characters and lines,
// truncation, CRLF, NUL, invalid UTF-8, huge numbers) to reach deep into each parser.

export interface Seed {
  /** Which parser module the seed is for (file name under src/formats without .ts). */
  format: string;
  /** A plausible file name (detection looks at it). */
  path: string;
  text: string;
  /** One record per line: inserting a junk line must not lose the others (false for JSON). */
  lineBased: boolean;
}

const IDTRACE = `kernel 6.15                                # rules of this KVM version
host graviton3.iddump
cap ARM_WRITABLE_IMP_ID_REGS
vcpu 0 init pmu_v3,psci_0_2
vcpu 1 init pmu_v3,psci_0_2
vcpu 0 get ID_AA64PFR0_EL1 = 0x1101001021111111
vcpu 0 set ID_AA64ISAR0_EL1 0x0000100010211110 = 0
vcpu 1 set ID_AA64PFR0_EL1 0x1101001021111112 = -EINVAL
vcpu 0 set S3_0_C0_C6_1 0x0011100000211002
vcpu 0 set (3,0,0,7,0) 0x0000000000101125
vcpu 0 get ARM64_SYS_REG(3, 0, 0, 5, 0)
vcpu 0 get op0:3 op1:0 crn:0 crm:4 op2:1 = 0x20
vcpu 0 set ID_AA64MMFR1_EL1@0x603000000013c039 0x10212122
vcpu 0 set ID_AA64DFR0_EL1(3,0,0,5,0) 0xf010305506 = -22
vcpu 0 get 0x603000000013c000 = 0x411fd401
vcpu 0 run                                 # a successful first KVM_RUN
vcpu 1 mrs ID_AA64ISAR0_EL1 = 0x0000100010211110
vcpu 1 msr ID_AA64ISAR0_EL1 0x0 = undef
vcpu 0 set S3_0_C0_C6_0 0x0 = -EBUSY
vcpu 2 get MIDR_EL1 = -ENOEXEC
vcpu 1 mrs s3_0_c0_c7_3
`;

const IDTRACE_SMALL = `# a small trace
vcpu 0 init psci_0_2
vcpu 0 set ID_AA64PFR0_EL1 0b0001_0001_0000_0001 = -EINVAL
vcpu 0 run = -EINVAL
vcpu 0 mrs SYS_ID_AA64MMFR0_EL1 = 1125
`;

const IDDUMP = `# Host limit: a Neoverse V1 host, debugfs idregs format.
# kernel: 6.15
# features: psci_0_2,pmu_v3
     SYS_ID_PFR0_EL1:	0000000001010131
     SYS_ID_DFR0_EL1:	0000000005011099
       SYS_MVFR2_EL1:	0000000000000043
          S3_0_0_3_3:	0000000000000000
 SYS_ID_AA64PFR0_EL1:	1101000021111112
 SYS_ID_AA64PFR1_EL1:	0000000000000020
 SYS_ID_AA64ZFR0_EL1:	0000000000000000
 SYS_ID_AA64DFR0_EL1:	000000f010305506
SYS_ID_AA64ISAR0_EL1:	1011111110212120
SYS_ID_AA64ISAR1_EL1:	0011100000211002
SYS_ID_AA64MMFR0_EL1:	0000000000101125
SYS_ID_AA64MMFR1_EL1:	0000000010212122
SYS_ID_AA64MMFR2_EL1:	0220011102001011
        SYS_MIDR_EL1:	00000000411fd401
      SYS_REVIDR_EL1:	0000000000000001
         SYS_CTR_EL0:	00000000b444c004
`;

const IDDUMP_SMALL = `ID_AA64PFR0_EL1: 0x1101001021111111
ID_AA64ISAR0 :	0000100010211110   # short name
# host: other.iddump
`;

const FTRACE = `# tracer: nop
#
# entries-in-buffer/entries-written: 8/8   #P:4
#
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
       CPU 0/KVM-4321    [002] d..1.  1234.567890: kvm_exit: TRAP: HSR_EC: 0x0018 (SYS64), PC: 0xffff800080a1b2c4
       CPU 0/KVM-4321    [002] d..1.  1234.567891: kvm_handle_sys_reg: HSR 0x62300009
       CPU 0/KVM-4321    [002] d..1.  1234.567892: kvm_sys_access: PC: ffff800080a1b2c4 SYS_ID_AA64PFR0_EL1 (3,0,0,4,0) read
       CPU 0/KVM-4321    [002] d..1.  1234.567893: kvm_entry: PC: 0xffff800080a1b2c8
       CPU 1/KVM-4322    [003] d..1.  1234.567990: kvm_exit: TRAP: HSR_EC: 0x0018 (SYS64), PC: 0x0000000080528a6c
       CPU 1/KVM-4322    [003] d..1.  1234.567991: kvm_sys_access: PC: 80528a6c ID_AA64MMFR3_EL1 (3,0,0,7,3) read 0x0
       CPU 1/KVM-4322    [003] d..1.  1234.567995: kvm_entry: PC: 0x0000000080528a70
 qemu-system-aar-2705 [074] ..... 4756.369276: kvm_sys_access: [FAILED TO PARSE] vcpu_pc=0x40b6f8b8 is_write=1 name=0xffffa4176a420760 Op0=3 Op1=4 CRn=1 CRm=2 Op2=0
       CPU 0/KVM-4321    [002] d..1.  1234.568000: kvm_wfx_arm64: guest executed wfi at: 0xffff800080a1b2d0
`;

const FTRACE_TRACECMD = `cpus=4
version = 6
CPU 3 is empty
      kvm-vcpu-0-100   [001]  5000.000001: kvm_exit:             TRAP: HSR_EC: 0x0018 (SYS64), PC: 0x0000000000401000
      kvm-vcpu-0-100   [001]  5000.000002: kvm_sys_access:       PC: 401000 UNKN (3,0,0,4,3) read
      kvm-vcpu-0-100   [001]  5000.000003: kvm_entry:            PC: 0x0000000000401004
      fc_vcpu 1-101   [000]  5000.000004: kvm:kvm_sys_access: PC: 402000 ID_AA64ISAR1_EL1 (3,0,0,6,1) write
`;

const FIRECRACKER_FINGERPRINT = `{
  "firecracker_version": "1.16.0-dev",
  "kernel_version": "6.1.172-216.329.amzn2023.aarch64",
  "microcode_version": "0x0000000000000017",
  "bios_version": "1.0",
  "bios_revision": "1.0",
  "guest_cpu_config": {
    "kvm_capabilities": [],
    "vcpu_features": [],
    "reg_modifiers": [
      {
        "addr": "0x60200000001000d4",
        "bitmap": "0b00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000"
      },
      {
        "addr": "0x603000000013c000",
        "bitmap": "0b00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001000001000011111101010011110001"
      },
      {
        "addr": "0x603000000013c020",
        "bitmap": "0b00000000000000000000000000000000000000000000000000000000000000000001000100000001000000000001000000100001000100010001000100010001"
      },
      {
        "addr": "0x6030000000160003",
        "bitmap": "0b00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001"
      }
    ]
  }
}
`;

const FIRECRACKER_TEMPLATE_DUMP = `{
  "kvm_capabilities": [],
  "vcpu_features": [],
  "reg_modifiers": [
    { "addr": "0x6030000000100040", "bitmap": "0b00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" },
    { "addr": "0x6020000000110000", "bitmap": "0b00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000001110000000000011110000000011010" },
    { "addr": "0x603000000013c021", "bitmap": "0b00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000100000" }
  ]
}
`;

const FIRECRACKER_CUSTOM = `{
  "kvm_capabilities": ["171", "!172"],
  "vcpu_features": [{ "index": 0, "bitmap": "0b1110000" }],
  "reg_modifiers": [
    {
      "addr": "0x603000000013c020",
      "bitmap": "0bxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx0000xxxxxxxxxxxxxxxxxxxx"
    },
    {
      "addr": "0x603000000013c038",
      "bitmap": "0bxxxx_0000_xxxx"
    }
  ]
}
`;

const FIRECRACKER_LOG = `2024-01-01T00:00:00.000000000 [anonymous-instance:main] Running Firecracker v1.6.0
2024-01-01T00:00:00.100000000 [anonymous-instance:main] Start microvm error: System configuration error: Error configuring the vcpu: Error applying template: Failed to set register 0x603000000013c000 to value 0x00000000410fd0c0: Invalid argument (os error 22)
2024-01-01T00:00:00.200000000 [anonymous-instance:main] Firecracker exiting with error. exit_code=1
`;

const GET_REG_LIST = `vregs: Number blessed registers:   234
vregs: Number registers:           238

vregs: There are 1 new registers.
Consider adding them to the blessed reg list with the following lines:

	KVM_REG_ARM_FW_REG(3),

vregs: PASS
	ARM64_SYS_REG(3, 0, 0, 4, 0),	/* ID_AA64PFR0_EL1 */
	ARM64_SYS_REG(3, 0, 0, 6, 0),	/* ID_AA64ISAR0_EL1 */
	KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(regs.regs[0]),
	KVM_REG_ARM_FW_REG(0),
	KVM_REG_ARM_FW_FEAT_BMAP_REG(2),
	KVM_REG_ARM64_SVE_ZREG(0, 0),
	KVM_REG_ARM64_SVE_VLS,
	KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_DEMUX | KVM_REG_ARM_DEMUX_ID_CCSIDR | 2,
	0x603000000013c103,
sve+pmu: There are 2 missing registers; 0 registers failed get; 0 registers failed set; 0 registers failed reject
`;

const CPUINFO = `processor	: 0
BogoMIPS	: 2000.00
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop sha3 asimddp sha512 asimdfhm dit uscat ilrcpc flagm ssbs sb dcpodp sve2 sveaes bti
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x0
CPU part	: 0xd4f
CPU revision	: 1

processor	: 1
BogoMIPS	: 2000.00
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x1
CPU part	: 0xd40
CPU revision	: 1
`;

const CPUINFO_OLD = `$ cat /proc/cpuinfo
Processor	: AArch64 Processor rev 4 (aarch64)
processor	: 0
Features	: fp asimd aes pmull sha1 sha2 crc32
CPU implementer : 0x41
CPU architecture : 8
CPU variant : 0x0
CPU part : 0xd03
CPU revision : 4

Hardware	: Qualcomm Technologies, Inc MSM8916
`;

const SYSFS = `/sys/devices/system/cpu/cpu0/regs/identification/midr_el1:0x00000000410fd871
/sys/devices/system/cpu/cpu0/regs/identification/revidr_el1:0x0000000000000000
/sys/devices/system/cpu/cpu0/regs/identification/aidr_el1:0x0000000000000000
/sys/devices/system/cpu/cpu1/regs/identification/midr_el1:0x00000000410fd881
/sys/devices/system/cpu/cpu1/regs/identification/revidr_el1:0x0000000000000000
`;

const CPUSYSREGS = `ID_AA64DFR0_EL1: 0000 0000 0000 0000 0000 0000 0000 0000 - 0001 0000 0011 0000 0101 0101 0000 0110

  DebugVer:    0x6 (6)
  TraceVer:    0x0 (0)
  PMUVer:      0x5 (5)
  Arch. Ref. Manual section D17.2.59

ID_AA64PFR0_EL1: 0001 0001 0000 0001 0000 0000 0001 0000 - 0010 0001 0001 0001 0001 0001 0001 0001

  EL0:         0x1 (1)
  EL1:         0x1 (1)

APIAKEY_EL1: 0000 0000 0000 0000 0000 0000 0000 0000 - 0000 0000 0000 0000 0000 0000 0000 0000

  Value: 00000000-00000000
`;

const CPUSYSREGS_FEATURES = `FEAT_AES ................. yes
FEAT_PMULL ............... yes
FEAT_SVE ................. no
`;

const ARMCPUINFO = `ArmCpuInfo v1.3.0
ID_AA64ISAR0_EL1  = 0x0000100010211120
ID_AA64PFR0_EL1   = 0x1101001021111111
MMFR0 | ECV | 63:60 |  0000 | FEAT_ECV not implemented.
`;

const BOOTLOADER = `(bootloader) ID_ISAR0 = 0x2101110
(bootloader) ID_PFR0 = 0x131
(bootloader) MIDR = 0x410fd034
OKAY [  0.012s]
`;

const QEMU_LOG = `2021-09-18T11:14:14.456227Z qemu-system-aarch64: Invalid value 236 expecting positive value <= 162
2021-09-18T11:14:14.456269Z qemu-system-aarch64: Failed to load cpu:cpreg_vmstate_array_len
qemu-system-aarch64: error while loading state for instance 0x0 of device 'cpu'
qemu-system-aarch64: load of migration failed: Invalid argument
qemu-system-aarch64: kvm_arm_cpu_post_load Unexpected register in input stream: 3 0x603000000013c103 op0:3 op1:0 crn:2 crm:0 op2:3
qemu-system-aarch64: kvm_arm_cpu_post_load Missing register in input stream: 4 0x6030000000160003 fw feat reg 3
qemu-system-aarch64: write 0x603000000013c020(0x0100010011111111) to kvm failed
`;

const QEMU_TRACE = `1234@1700000000.000001:cpu_post_load_len cpreg_array_len=162 cpreg_vmstate_array_len=236
1234@1700000000.000002:cpu_post_load_missing missing register in input stream: i=3 index=0x603000000013c103 (v=4)
cpu_post_load_unexpected unexpected register in input stream: v=5 index=0x6030000000160003 (i=6)
get_host_cpu_idregs scratch vcpu host value for ID_AA64PFR0_EL1 is 0x1101001021111111
kvm_arm_writable_idregs_to_cpreg_list ID_AA64ISAR0_EL1 overwrite default 0x1011111110212120 with 0x1011111110211120
decode_idreg_writemap ID_AA64MMFR0_EL1 [63:60] is writable (prop SYSREG_ID_AA64MMFR0_EL1_ECV)
`;

const QEMU_QMP = `{"execute": "query-cpu-model-expansion", "arguments": {"type": "full", "model": {"name": "host"}}}
{"return": {"model": {"name": "host", "props": {"SYSREG_ID_AA64PFR0_EL1_EL3": 1, "SYSREG_ID_AA64ISAR0_EL1_DP": 1, "sve": true, "SYSREG_ID_AA64MMFR0_EL1_ECV": 0}}}}
`;

const QEMU_CMDLINE = `qemu-system-aarch64 -M virt -accel kvm -cpu host,SYSREG_ID_AA64ISAR0_EL1_DP=0x0,SYSREG_ID_AA64MMFR0_EL1_ECV=0x0,kvm-hidden-regs=0x603000000013c103 -m 1G
`;

const REGLIST = `ID_AA64PFR0_EL1
S3_0_C0_C4_1
(3,0,0,6,0)
0x603000000013c038
ARM64_SYS_REG(3, 0, 0, 7, 0)
MIDR_EL1 = 0x410fd4f1
`;

export const SEEDS: readonly Seed[] = [
  { format: 'idtrace', path: 'boot.idtrace', text: IDTRACE, lineBased: true },
  { format: 'idtrace', path: 'small.idtrace', text: IDTRACE_SMALL, lineBased: true },
  { format: 'iddump', path: 'host.iddump', text: IDDUMP, lineBased: true },
  { format: 'iddump', path: 'idregs', text: IDDUMP_SMALL, lineBased: true },
  { format: 'ftrace', path: 'trace.txt', text: FTRACE, lineBased: true },
  { format: 'ftrace', path: 'report.ftrace', text: FTRACE_TRACECMD, lineBased: true },
  { format: 'firecracker', path: 'fingerprint.json', text: FIRECRACKER_FINGERPRINT, lineBased: false },
  { format: 'firecracker', path: 'cpu_config.json', text: FIRECRACKER_TEMPLATE_DUMP, lineBased: false },
  { format: 'firecracker', path: 'custom_template.json', text: FIRECRACKER_CUSTOM, lineBased: false },
  { format: 'firecracker', path: 'firecracker.log', text: FIRECRACKER_LOG, lineBased: true },
  { format: 'getreglist', path: 'get-reg-list.txt', text: GET_REG_LIST, lineBased: true },
  { format: 'cpuinfo', path: 'cpuinfo', text: CPUINFO, lineBased: true },
  { format: 'cpuinfo', path: 'cpuinfo.txt', text: CPUINFO_OLD, lineBased: true },
  { format: 'sysfs', path: 'identification.txt', text: SYSFS, lineBased: true },
  { format: 'cpusysregs', path: 'cpusysregs-registers.txt', text: CPUSYSREGS, lineBased: true },
  { format: 'cpusysregs', path: 'cpusysregs-features.txt', text: CPUSYSREGS_FEATURES, lineBased: true },
  { format: 'cpusysregs', path: 'armcpuinfo.txt', text: ARMCPUINFO, lineBased: true },
  { format: 'cpusysregs', path: 'bootloader.txt', text: BOOTLOADER, lineBased: true },
  { format: 'qemu', path: 'qemu.log', text: QEMU_LOG, lineBased: true },
  { format: 'qemu', path: 'qemu-trace.txt', text: QEMU_TRACE, lineBased: true },
  { format: 'qemu', path: 'qmp.json', text: QEMU_QMP, lineBased: false },
  { format: 'qemu', path: 'cmdline.txt', text: QEMU_CMDLINE, lineBased: true },
  { format: 'reglist', path: 'registers.txt', text: REGLIST, lineBased: true },
];

/** Seeds of one parser module, or every seed when the module has none of its own. */
export function seedsFor(format: string): readonly Seed[] {
  const own = SEEDS.filter((s) => s.format === format);
  return own.length > 0 ? own : SEEDS;
}

/** The words and punctuation of every seed: the vocabulary of the token-soup generator. */
export function seedVocabulary(): string[] {
  const out = new Set<string>();
  for (const s of SEEDS) {
    for (const m of s.text.matchAll(/[A-Za-z_][A-Za-z0-9_./-]*|0x[0-9a-fA-F]+|0b[01x_]+|\d+(?:\.\d+)?|[^\sA-Za-z0-9]/g)) out.add(m[0]);
  }
  return [...out].sort();
}

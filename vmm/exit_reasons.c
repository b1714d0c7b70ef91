/* SPDX-License-Identifier: MIT */
/* exit_reasons.c: names of the VMX exit reasons and SVM exit codes. */
#include "vmm/exit_reasons.h"

#include <stdio.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/*
 * VMX basic exit reasons, Intel SDM vol. 3, appendix C, indexed by number;
 * the holes (35, 38, 42, 82, 83) are numbers the SDM does not assign.
 */
static const char *const vmx_names[] = {
    [0] = "EXCEPTION_NMI",
    [1] = "EXTERNAL_INTERRUPT",
    [2] = "TRIPLE_FAULT",
    [3] = "INIT_SIGNAL",
    [4] = "SIPI_SIGNAL",
    [5] = "IO_SMI",
    [6] = "OTHER_SMI",
    [7] = "INTERRUPT_WINDOW",
    [8] = "NMI_WINDOW",
    [9] = "TASK_SWITCH",
    [10] = "CPUID",
    [11] = "GETSEC",
    [12] = "HLT",
    [13] = "INVD",
    [14] = "INVLPG",
    [15] = "RDPMC",
    [16] = "RDTSC",
    [17] = "RSM",
    [18] = "VMCALL",
    [19] = "VMCLEAR",
    [20] = "VMLAUNCH",
    [21] = "VMPTRLD",
    [22] = "VMPTRST",
    [23] = "VMREAD",
    [24] = "VMRESUME",
    [25] = "VMWRITE",
    /* VMXOFF and VMXON; the kernel's trace spells them so. */
    [26] = "VMOFF",
    [27] = "VMON",
    [28] = "CR_ACCESS",
    [29] = "DR_ACCESS",
    [30] = "IO_INSTRUCTION",
    [31] = "MSR_READ",
    [32] = "MSR_WRITE",
    [33] = "INVALID_STATE",
    [34] = "MSR_LOAD_FAIL",
    [36] = "MWAIT_INSTRUCTION",
    [37] = "MONITOR_TRAP_FLAG",
    [39] = "MONITOR_INSTRUCTION",
    [40] = "PAUSE_INSTRUCTION",
    [41] = "MCE_DURING_VMENTRY",
    [43] = "TPR_BELOW_THRESHOLD",
    [44] = "APIC_ACCESS",
    [45] = "EOI_INDUCED",
    [46] = "GDTR_IDTR",
    [47] = "LDTR_TR",
    [48] = "EPT_VIOLATION",
    [49] = "EPT_MISCONFIG",
    [50] = "INVEPT",
    [51] = "RDTSCP",
    [52] = "PREEMPTION_TIMER",
    [53] = "INVVPID",
    [54] = "WBINVD",
    [55] = "XSETBV",
    [56] = "APIC_WRITE",
    [57] = "RDRAND",
    [58] = "INVPCID",
    [59] = "VMFUNC",
    [60] = "ENCLS",
    [61] = "RDSEED",
    [62] = "PML_FULL",
    [63] = "XSAVES",
    [64] = "XRSTORS",
    [65] = "PCONFIG",
    [66] = "SPP",
    [67] = "UMWAIT",
    [68] = "TPAUSE",
    [69] = "LOADIWKEY",
    [70] = "ENCLV",
    [71] = "SGX_CONFLICT",
    [72] = "ENQCMD_PASID_FAIL",
    [73] = "ENQCMDS_PASID_FAIL",
    [74] = "BUS_LOCK",
    /* "Instruction timeout" in the SDM; NOTIFY in KVM. */
    [75] = "NOTIFY",
    [76] = "SEAMCALL",
    [77] = "TDCALL",
    [78] = "RDMSRLIST",
    [79] = "WRMSRLIST",
    [80] = "URDMSR",
    [81] = "UWRMSR",
    /* RDMSR and WRMSRNS with an immediate MSR index. */
    [84] = "MSR_READ_IMM",
    [85] = "MSR_WRITE_IMM",
};

struct code_name {
	uint32_t code;
	const char *name;
};

/*
 * SVM exit codes, AMD APM vol. 2, appendix C, sorted by code; 0x40..0x5f
 * (exception intercepts) are named from the vector table below. The
 * 0x8000xxxx codes are the SEV-ES VMGEXIT software exit codes the guest
 * puts in its GHCB, which KVM reports as the exit reason of such a guest.
 */
static const struct code_name svm_names[] = {
    {0x000, "READ_CR0"},
    {0x002, "READ_CR2"},
    {0x003, "READ_CR3"},
    {0x004, "READ_CR4"},
    {0x008, "READ_CR8"},
    {0x010, "WRITE_CR0"},
    {0x012, "WRITE_CR2"},
    {0x013, "WRITE_CR3"},
    {0x014, "WRITE_CR4"},
    {0x018, "WRITE_CR8"},
    {0x020, "READ_DR0"},
    {0x021, "READ_DR1"},
    {0x022, "READ_DR2"},
    {0x023, "READ_DR3"},
    {0x024, "READ_DR4"},
    {0x025, "READ_DR5"},
    {0x026, "READ_DR6"},
    {0x027, "READ_DR7"},
    {0x030, "WRITE_DR0"},
    {0x031, "WRITE_DR1"},
    {0x032, "WRITE_DR2"},
    {0x033, "WRITE_DR3"},
    {0x034, "WRITE_DR4"},
    {0x035, "WRITE_DR5"},
    {0x036, "WRITE_DR6"},
    {0x037, "WRITE_DR7"},
    {0x060, "INTR"},
    {0x061, "NMI"},
    {0x062, "SMI"},
    {0x063, "INIT"},
    {0x064, "VINTR"},
    {0x065, "CR0_SEL_WRITE"},
    {0x066, "IDTR_READ"},
    {0x067, "GDTR_READ"},
    {0x068, "LDTR_READ"},
    {0x069, "TR_READ"},
    {0x06a, "IDTR_WRITE"},
    {0x06b, "GDTR_WRITE"},
    {0x06c, "LDTR_WRITE"},
    {0x06d, "TR_WRITE"},
    {0x06e, "RDTSC"},
    {0x06f, "RDPMC"},
    {0x070, "PUSHF"},
    {0x071, "POPF"},
    {0x072, "CPUID"},
    {0x073, "RSM"},
    {0x074, "IRET"},
    {0x075, "SWINT"},
    {0x076, "INVD"},
    {0x077, "PAUSE"},
    {0x078, "HLT"},
    {0x079, "INVLPG"},
    {0x07a, "INVLPGA"},
    {0x07b, "IOIO"},
    {0x07c, "MSR"},
    {0x07d, "TASK_SWITCH"},
    {0x07e, "FERR_FREEZE"},
    {0x07f, "SHUTDOWN"},
    {0x080, "VMRUN"},
    {0x081, "VMMCALL"},
    {0x082, "VMLOAD"},
    {0x083, "VMSAVE"},
    {0x084, "STGI"},
    {0x085, "CLGI"},
    {0x086, "SKINIT"},
    {0x087, "RDTSCP"},
    {0x088, "ICEBP"},
    {0x089, "WBINVD"},
    {0x08a, "MONITOR"},
    {0x08b, "MWAIT"},
    {0x08c, "MWAIT_COND"},
    {0x08d, "XSETBV"},
    {0x08e, "RDPRU"},
    {0x08f, "EFER_WRITE_TRAP"},
    {0x090, "CR0_WRITE_TRAP"},
    {0x091, "CR1_WRITE_TRAP"},
    {0x092, "CR2_WRITE_TRAP"},
    {0x093, "CR3_WRITE_TRAP"},
    {0x094, "CR4_WRITE_TRAP"},
    {0x095, "CR5_WRITE_TRAP"},
    {0x096, "CR6_WRITE_TRAP"},
    {0x097, "CR7_WRITE_TRAP"},
    {0x098, "CR8_WRITE_TRAP"},
    {0x099, "CR9_WRITE_TRAP"},
    {0x09a, "CR10_WRITE_TRAP"},
    {0x09b, "CR11_WRITE_TRAP"},
    {0x09c, "CR12_WRITE_TRAP"},
    {0x09d, "CR13_WRITE_TRAP"},
    {0x09e, "CR14_WRITE_TRAP"},
    {0x09f, "CR15_WRITE_TRAP"},
    {0x0a0, "INVLPGB"},
    {0x0a1, "INVLPGB_ILLEGAL"},
    {0x0a2, "INVPCID"},
    {0x0a3, "MCOMMIT"},
    {0x0a4, "TLBSYNC"},
    {0x0a5, "BUSLOCK"},
    {0x0a6, "IDLE_HLT"},
    {0x400, "NPF"},
    {0x401, "AVIC_INCOMPLETE_IPI"},
    {0x402, "AVIC_UNACCELERATED_ACCESS"},
    {0x403, "VMGEXIT"},
    {0x80000001, "VMGEXIT_MMIO_READ"},
    {0x80000002, "VMGEXIT_MMIO_WRITE"},
    {0x80000003, "VMGEXIT_NMI_COMPLETE"},
    {0x80000004, "VMGEXIT_AP_HLT_LOOP"},
    {0x80000005, "VMGEXIT_AP_JUMP_TABLE"},
    {0x80000010, "VMGEXIT_PSC"},
    {0x80000011, "VMGEXIT_GUEST_REQUEST"},
    {0x80000012, "VMGEXIT_EXT_GUEST_REQUEST"},
    {0x80000013, "VMGEXIT_AP_CREATION"},
    {0x8000fffd, "VMGEXIT_HV_FEATURES"},
    {0x8000fffe, "VMGEXIT_TERM_REQUEST"},
    {0x8000ffff, "VMGEXIT_UNSUPPORTED_EVENT"},
    /* VMEXIT_INVALID (-1): VMRUN found an illegal guest state. */
    {0xffffffff, "ERR"},
};

/*
 * Exception vectors, SDM vol. 3 table 6-1 and APM vol. 2 table 8-1: the
 * mnemonic, and the SVM exit name of its intercept (0x40 + vector). A
 * reserved vector has no mnemonic and an intercept named by its number.
 */
struct vector_name {
	const char *mnemonic;
	const char *excp;
};
#define VEC(v, m) [v] = {m, "EXCP_" m}
#define RSV(v)	  [v] = {NULL, "EXCP_" #v}
static const struct vector_name vectors[32] = {
    VEC(0, "DE"),  VEC(1, "DB"),  VEC(2, "NMI"), VEC(3, "BP"),	VEC(4, "OF"),  VEC(5, "BR"),
    VEC(6, "UD"),  VEC(7, "NM"),  VEC(8, "DF"),	 RSV(9),	VEC(10, "TS"), VEC(11, "NP"),
    VEC(12, "SS"), VEC(13, "GP"), VEC(14, "PF"), RSV(15),	VEC(16, "MF"), VEC(17, "AC"),
    VEC(18, "MC"), VEC(19, "XM"), VEC(20, "VE"), VEC(21, "CP"), RSV(22),       RSV(23),
    RSV(24),	   RSV(25),	  RSV(26),	 RSV(27),	VEC(28, "HV"), VEC(29, "VC"),
    VEC(30, "SX"), RSV(31),
};

const char *exit_isa_name(enum exit_isa isa)
{
	switch (isa) {
	case EXIT_ISA_VMX:
		return "VMX";
	case EXIT_ISA_SVM:
		return "SVM";
	}
	return NULL;
}

const char *exception_vector_name(unsigned int vector)
{
	if (vector >= ARRAY_LEN(vectors))
		return NULL;
	return vectors[vector].mnemonic;
}

static const char *svm_name(uint32_t code)
{
	size_t lo = 0, hi = ARRAY_LEN(svm_names);

	if (code >= SVM_EXCP_FIRST && code <= SVM_EXCP_LAST)
		return vectors[code - SVM_EXCP_FIRST].excp;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (svm_names[mid].code == code)
			return svm_names[mid].name;
		if (svm_names[mid].code < code)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

const char *hw_exit_reason_name(enum exit_isa isa, uint32_t code)
{
	uint32_t basic;

	switch (isa) {
	case EXIT_ISA_VMX:
		basic = code & 0xffff;
		return basic < ARRAY_LEN(vmx_names) ? vmx_names[basic] : NULL;
	case EXIT_ISA_SVM:
		return svm_name(code);
	}
	return NULL;
}

const char *hw_exit_reason_format(enum exit_isa isa, uint32_t code, char *buf, size_t len)
{
	const char *name = hw_exit_reason_name(isa, code);

	if (name)
		snprintf(buf, len, "%s", name);
	else
		snprintf(buf, len, "0x%x", code);
	return buf;
}

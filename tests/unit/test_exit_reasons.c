/* SPDX-License-Identifier: MIT */
/* test_exit_reasons.c: exit code names against the kernel's uapi headers and the manuals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

/*
 * The kernel's own numbering, from linux-libc-dev: an independent source for
 * the numbers, and its macro names are the names nestvmm prints.
 */
#include <asm/svm.h>
#include <asm/vmx.h>

#include "vmm/exit_reasons.h"

struct expect {
	uint32_t code;
	const char *name;
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Every SVM_EXIT_* of the uapi header except the exception range; the name is the suffix. */
/* clang-format off */
#define K(x) {(uint32_t)SVM_EXIT_##x, #x}
/* clang-format on */
static const struct expect svm_kernel[] = {
    K(READ_CR0),
    K(READ_CR2),
    K(READ_CR3),
    K(READ_CR4),
    K(READ_CR8),
    K(WRITE_CR0),
    K(WRITE_CR2),
    K(WRITE_CR3),
    K(WRITE_CR4),
    K(WRITE_CR8),
    K(READ_DR0),
    K(READ_DR1),
    K(READ_DR2),
    K(READ_DR3),
    K(READ_DR4),
    K(READ_DR5),
    K(READ_DR6),
    K(READ_DR7),
    K(WRITE_DR0),
    K(WRITE_DR1),
    K(WRITE_DR2),
    K(WRITE_DR3),
    K(WRITE_DR4),
    K(WRITE_DR5),
    K(WRITE_DR6),
    K(WRITE_DR7),
    K(INTR),
    K(NMI),
    K(SMI),
    K(INIT),
    K(VINTR),
    K(CR0_SEL_WRITE),
    K(IDTR_READ),
    K(GDTR_READ),
    K(LDTR_READ),
    K(TR_READ),
    K(IDTR_WRITE),
    K(GDTR_WRITE),
    K(LDTR_WRITE),
    K(TR_WRITE),
    K(RDTSC),
    K(RDPMC),
    K(PUSHF),
    K(POPF),
    K(CPUID),
    K(RSM),
    K(IRET),
    K(SWINT),
    K(INVD),
    K(PAUSE),
    K(HLT),
    K(INVLPG),
    K(INVLPGA),
    K(IOIO),
    K(MSR),
    K(TASK_SWITCH),
    K(FERR_FREEZE),
    K(SHUTDOWN),
    K(VMRUN),
    K(VMMCALL),
    K(VMLOAD),
    K(VMSAVE),
    K(STGI),
    K(CLGI),
    K(SKINIT),
    K(RDTSCP),
    K(ICEBP),
    K(WBINVD),
    K(MONITOR),
    K(MWAIT),
    K(MWAIT_COND),
    K(XSETBV),
    K(RDPRU),
    K(EFER_WRITE_TRAP),
    K(CR0_WRITE_TRAP),
    K(CR1_WRITE_TRAP),
    K(CR2_WRITE_TRAP),
    K(CR3_WRITE_TRAP),
    K(CR4_WRITE_TRAP),
    K(CR5_WRITE_TRAP),
    K(CR6_WRITE_TRAP),
    K(CR7_WRITE_TRAP),
    K(CR8_WRITE_TRAP),
    K(CR9_WRITE_TRAP),
    K(CR10_WRITE_TRAP),
    K(CR11_WRITE_TRAP),
    K(CR12_WRITE_TRAP),
    K(CR13_WRITE_TRAP),
    K(CR14_WRITE_TRAP),
    K(CR15_WRITE_TRAP),
    K(INVPCID),
    K(NPF),
    K(AVIC_INCOMPLETE_IPI),
    K(AVIC_UNACCELERATED_ACCESS),
    K(VMGEXIT),
    K(ERR),
};
#undef K

/* Every EXIT_REASON_* of the uapi header; the name is the suffix. */
/* clang-format off */
#define K(x) {EXIT_REASON_##x, #x}
/* clang-format on */
static const struct expect vmx_kernel[] = {
    K(EXCEPTION_NMI),
    K(EXTERNAL_INTERRUPT),
    K(TRIPLE_FAULT),
    K(INIT_SIGNAL),
    K(SIPI_SIGNAL),
    K(INTERRUPT_WINDOW),
    K(NMI_WINDOW),
    K(TASK_SWITCH),
    K(CPUID),
    K(HLT),
    K(INVD),
    K(INVLPG),
    K(RDPMC),
    K(RDTSC),
    K(VMCALL),
    K(VMCLEAR),
    K(VMLAUNCH),
    K(VMPTRLD),
    K(VMPTRST),
    K(VMREAD),
    K(VMRESUME),
    K(VMWRITE),
    K(VMOFF),
    K(VMON),
    K(CR_ACCESS),
    K(DR_ACCESS),
    K(IO_INSTRUCTION),
    K(MSR_READ),
    K(MSR_WRITE),
    K(INVALID_STATE),
    K(MSR_LOAD_FAIL),
    K(MWAIT_INSTRUCTION),
    K(MONITOR_TRAP_FLAG),
    K(MONITOR_INSTRUCTION),
    K(PAUSE_INSTRUCTION),
    K(MCE_DURING_VMENTRY),
    K(TPR_BELOW_THRESHOLD),
    K(APIC_ACCESS),
    K(EOI_INDUCED),
    K(GDTR_IDTR),
    K(LDTR_TR),
    K(EPT_VIOLATION),
    K(EPT_MISCONFIG),
    K(INVEPT),
    K(RDTSCP),
    K(PREEMPTION_TIMER),
    K(INVVPID),
    K(WBINVD),
    K(XSETBV),
    K(APIC_WRITE),
    K(RDRAND),
    K(INVPCID),
    K(VMFUNC),
    K(ENCLS),
    K(RDSEED),
    K(PML_FULL),
    K(XSAVES),
    K(XRSTORS),
    K(UMWAIT),
    K(TPAUSE),
    K(BUS_LOCK),
    K(NOTIFY),
};
#undef K

/*
 * Codes newer than that header, typed from the manuals: AMD APM vol. 2
 * table C-1 (0xa0..0xa6) and Intel SDM vol. 3 table C-1 (the rest of VMX).
 */
static const struct expect svm_manual[] = {
    {0x0a0, "INVLPGB"}, {0x0a1, "INVLPGB_ILLEGAL"}, {0x0a3, "MCOMMIT"},
    {0x0a4, "TLBSYNC"}, {0x0a5, "BUSLOCK"},	    {0x0a6, "IDLE_HLT"},
};
static const struct expect vmx_manual[] = {
    {5, "IO_SMI"},
    {6, "OTHER_SMI"},
    {11, "GETSEC"},
    {17, "RSM"},
    {65, "PCONFIG"},
    {66, "SPP"},
    {69, "LOADIWKEY"},
    {70, "ENCLV"},
    {71, "SGX_CONFLICT"},
    {72, "ENQCMD_PASID_FAIL"},
    {73, "ENQCMDS_PASID_FAIL"},
    {76, "SEAMCALL"},
    {77, "TDCALL"},
    {78, "RDMSRLIST"},
    {79, "WRMSRLIST"},
    {84, "MSR_READ_IMM"},
    {85, "MSR_WRITE_IMM"},
};

static void check_all(enum exit_isa isa, const struct expect *e, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const char *got = hw_exit_reason_name(isa, e[i].code);

		if (!got || strcmp(got, e[i].name) != 0)
			fail_msg("isa %d code 0x%x: got %s, want %s", isa, e[i].code,
				 got ? got : "NULL", e[i].name);
	}
}

static void test_svm_codes_match_kernel(void **state)
{
	(void)state;
	check_all(EXIT_ISA_SVM, svm_kernel, ARRAY_LEN(svm_kernel));
	check_all(EXIT_ISA_SVM, svm_manual, ARRAY_LEN(svm_manual));
	/* The ones a nested-SVM benchmark lives on, by number from APM table C-1. */
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_SVM, 0x72), "CPUID");
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_SVM, 0x7b), "IOIO");
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_SVM, 0x80), "VMRUN");
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_SVM, 0x81), "VMMCALL");
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_SVM, 0x400), "NPF");
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_SVM, 0xffffffffu), "ERR");
}

static void test_vmx_codes_match_kernel(void **state)
{
	(void)state;
	check_all(EXIT_ISA_VMX, vmx_kernel, ARRAY_LEN(vmx_kernel));
	check_all(EXIT_ISA_VMX, vmx_manual, ARRAY_LEN(vmx_manual));
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_VMX, 10), "CPUID");
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_VMX, 18), "VMCALL");
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_VMX, 24), "VMRESUME");
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_VMX, 27), "VMON");
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_VMX, 48), "EPT_VIOLATION");
}

static void test_vmx_flag_bits_ignored(void **state)
{
	(void)state;
	/* Bit 31: VM-entry failure, here with basic reason 33 (invalid guest state). */
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_VMX, VMX_EXIT_REASONS_FAILED_VMENTRY | 33),
			    "INVALID_STATE");
	/* Bit 27: exit from enclave mode. */
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_VMX, (1u << 27) | 48), "EPT_VIOLATION");
	assert_null(hw_exit_reason_name(EXIT_ISA_VMX, (1u << 31) | 35));
}

static void test_unknown_codes(void **state)
{
	static const uint32_t svm_unknown[] = {0x001,	   0x005,      0x00f,	  0x011, 0x028,
					       0x038,	   0x0a7,      0x0ff,	  0x3ff, 0x404,
					       0x7fffffff, 0x80000000, 0xfffffffe};
	static const uint32_t vmx_unknown[] = {35, 38, 42, 82, 83, 86, 0xffff};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(svm_unknown); i++)
		if (hw_exit_reason_name(EXIT_ISA_SVM, svm_unknown[i]))
			fail_msg("SVM 0x%x should have no name", svm_unknown[i]);
	for (size_t i = 0; i < ARRAY_LEN(vmx_unknown); i++)
		if (hw_exit_reason_name(EXIT_ISA_VMX, vmx_unknown[i]))
			fail_msg("VMX %u should have no name", vmx_unknown[i]);
	assert_null(hw_exit_reason_name((enum exit_isa)0, 0x72));
	assert_null(hw_exit_reason_name((enum exit_isa)3, 10));
	assert_string_equal(exit_isa_name(EXIT_ISA_VMX), "VMX");
	assert_string_equal(exit_isa_name(EXIT_ISA_SVM), "SVM");
	assert_null(exit_isa_name((enum exit_isa)0));
}

static void test_exception_intercepts(void **state)
{
	const char *seen[32];

	(void)state;
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_SVM, 0x4e), "EXCP_PF");
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_SVM, 0x40), "EXCP_DE");
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_SVM, 0x41), "EXCP_DB");
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_SVM, 0x46), "EXCP_UD");
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_SVM, 0x4d), "EXCP_GP");
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_SVM, 0x52), "EXCP_MC");
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_SVM, 0x5d), "EXCP_VC");
	/* Reserved vectors are named by number. */
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_SVM, 0x49), "EXCP_9");
	assert_string_equal(hw_exit_reason_name(EXIT_ISA_SVM, 0x5f), "EXCP_31");
	/* All 32 intercepts named, each differently, and none outside the range. */
	for (uint32_t v = 0; v < 32; v++) {
		const char *n = hw_exit_reason_name(EXIT_ISA_SVM, SVM_EXIT_EXCP_BASE + v);

		assert_non_null(n);
		assert_int_equal(strncmp(n, "EXCP_", 5), 0);
		for (uint32_t w = 0; w < v; w++)
			assert_string_not_equal(seen[w], n);
		seen[v] = n;
	}
	assert_int_equal(SVM_EXCP_FIRST, SVM_EXIT_EXCP_BASE);
	assert_int_equal(SVM_EXCP_LAST, SVM_EXIT_LAST_EXCP);

	assert_string_equal(exception_vector_name(14), "PF");
	assert_string_equal(exception_vector_name(13), "GP");
	assert_string_equal(exception_vector_name(2), "NMI");
	assert_string_equal(exception_vector_name(19), "XM");
	assert_null(exception_vector_name(15));
	assert_null(exception_vector_name(9));
	assert_null(exception_vector_name(32));
}

static void test_format(void **state)
{
	char buf[16], tiny[4];

	(void)state;
	assert_string_equal(hw_exit_reason_format(EXIT_ISA_SVM, 0x400, buf, sizeof(buf)), "NPF");
	assert_string_equal(hw_exit_reason_format(EXIT_ISA_SVM, 0x404, buf, sizeof(buf)), "0x404");
	assert_string_equal(hw_exit_reason_format(EXIT_ISA_VMX, 0x8000ffffu, buf, sizeof(buf)),
			    "0x8000ffff");
	assert_string_equal(hw_exit_reason_format(EXIT_ISA_VMX, 12, buf, sizeof(buf)), "HLT");
	/* Truncated, still terminated. */
	assert_string_equal(hw_exit_reason_format(EXIT_ISA_SVM, 0x72, tiny, sizeof(tiny)), "CPU");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_svm_codes_match_kernel),
	    cmocka_unit_test(test_vmx_codes_match_kernel),
	    cmocka_unit_test(test_vmx_flag_bits_ignored),
	    cmocka_unit_test(test_unknown_codes),
	    cmocka_unit_test(test_exception_intercepts),
	    cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

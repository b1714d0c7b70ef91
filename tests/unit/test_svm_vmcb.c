/* SPDX-License-Identifier: MIT */
/*
 * The bench hypervisor's SVM structures against the AMD64 APM vol. 2:
 * VMCB field offsets (appendix B; the header also checks them at compile
 * time), the MSR permission map's layout (15.11: three 2 KiB ranges, two
 * bits per MSR, read then write) and the I/O permission map (15.10.1: one
 * bit per port). The numbers below are worked out from the manual's tables,
 * not from the header.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "bench/guest/svm_vmcb.h"

static void test_vmcb_offsets(void **state)
{
	(void)state;
	/* Table B-1, control area */
	assert_int_equal(offsetof(struct vmcb, control.intercept_cr), 0x000);
	assert_int_equal(offsetof(struct vmcb, control.intercept_exceptions), 0x008);
	assert_int_equal(offsetof(struct vmcb, control.intercept_misc2), 0x010);
	assert_int_equal(offsetof(struct vmcb, control.pause_filter_count), 0x03e);
	assert_int_equal(offsetof(struct vmcb, control.tsc_offset), 0x050);
	assert_int_equal(offsetof(struct vmcb, control.vintr), 0x060);
	assert_int_equal(offsetof(struct vmcb, control.int_state), 0x068);
	assert_int_equal(offsetof(struct vmcb, control.exitinfo2), 0x080);
	assert_int_equal(offsetof(struct vmcb, control.exitintinfo), 0x088);
	assert_int_equal(offsetof(struct vmcb, control.virt_ext), 0x0b8);
	assert_int_equal(offsetof(struct vmcb, control.next_rip), 0x0c8);
	assert_int_equal(offsetof(struct vmcb, control.insn_bytes), 0x0d1);
	/* Table B-2, state save area at 0x400 */
	assert_int_equal(offsetof(struct vmcb, save.es), 0x400);
	assert_int_equal(offsetof(struct vmcb, save.ss), 0x420);
	assert_int_equal(offsetof(struct vmcb, save.gdtr), 0x460);
	assert_int_equal(offsetof(struct vmcb, save.idtr), 0x480);
	assert_int_equal(offsetof(struct vmcb, save.tr), 0x490);
	assert_int_equal(offsetof(struct vmcb, save.cpl), 0x4cb);
	assert_int_equal(offsetof(struct vmcb, save.efer), 0x4d0);
	assert_int_equal(offsetof(struct vmcb, save.cr3), 0x550);
	assert_int_equal(offsetof(struct vmcb, save.cr0), 0x558);
	assert_int_equal(offsetof(struct vmcb, save.dr7), 0x560);
	assert_int_equal(offsetof(struct vmcb, save.dr6), 0x568);
	assert_int_equal(offsetof(struct vmcb, save.rip), 0x578);
	assert_int_equal(offsetof(struct vmcb, save.rsp), 0x5d8);
	assert_int_equal(offsetof(struct vmcb, save.rax), 0x5f8);
	assert_int_equal(offsetof(struct vmcb, save.lstar), 0x608);
	assert_int_equal(offsetof(struct vmcb, save.kernel_gs_base), 0x620);
	assert_int_equal(offsetof(struct vmcb, save.cr2), 0x640);
	assert_int_equal(offsetof(struct vmcb, save.g_pat), 0x668);
	/* a segment: selector, attributes, limit, base */
	assert_int_equal(sizeof(struct vmcb_seg), 16);
	assert_int_equal(offsetof(struct vmcb_seg, attrib), 2);
	assert_int_equal(offsetof(struct vmcb_seg, limit), 4);
	assert_int_equal(offsetof(struct vmcb_seg, base), 8);
	assert_true(sizeof(struct vmcb) <= 4096);
}

static void test_msrpm_bits(void **state)
{
	(void)state;
	/* 0000_0000-0000_1FFF at bytes 0x000-0x7ff */
	assert_int_equal(svm_msrpm_read_bit(0x0), 0);
	assert_int_equal(svm_msrpm_read_bit(0x10), 0x20); /* TSC: byte 4, bit 0 */
	assert_int_equal(svm_msrpm_read_bit(0x1fff), 0x7ff * 8 + 6);
	/* C000_0000-C000_1FFF at bytes 0x800-0xfff */
	assert_int_equal(svm_msrpm_read_bit(0xc0000000u), 0x800 * 8);
	assert_int_equal(svm_msrpm_read_bit(MSR_EFER_ADDR), 0x820 * 8); /* byte 0x820, bit 0 */
	assert_int_equal(svm_msrpm_read_bit(MSR_FS_BASE_ADDR), 0x840 * 8);
	/* C001_0000-C001_1FFF at bytes 0x1000-0x17ff */
	assert_int_equal(svm_msrpm_read_bit(MSR_VM_HSAVE_PA), 0x1045 * 8 + 6);
	assert_int_equal(svm_msrpm_read_bit(0xc0011fffu), 0x17ff * 8 + 6);
	/* the write bit is the next one; everything fits in the 6 KiB of ranges */
	assert_true((svm_msrpm_read_bit(0xc0011fffu) + 1) / 8 < SVM_MSRPM_SIZE - 0x800);
	/* outside the map: always intercepted */
	assert_int_equal(svm_msrpm_read_bit(0x2000), -1);
	assert_int_equal(svm_msrpm_read_bit(0xbfffffffu), -1);
	assert_int_equal(svm_msrpm_read_bit(0xc0002000u), -1);
	assert_int_equal(svm_msrpm_read_bit(0xc0012000u), -1);
	assert_int_equal(svm_msrpm_read_bit(0xffffffffu), -1);
	assert_int_equal(SVM_MSRPM_SIZE, 8192);
}

static void test_iopm_bits(void **state)
{
	(void)state;
	assert_int_equal(svm_iopm_bit(0), 0);
	assert_int_equal(svm_iopm_bit(0x510) / 8, 0xa2); /* the bench doorbell: byte 0xa2 */
	assert_int_equal(svm_iopm_bit(0x510) % 8, 0);
	assert_int_equal(svm_iopm_bit(0xffff), 65535);
	/* 64 Ki ports plus the bits a 4-byte access at 0xffff needs: 12 KiB */
	assert_true(SVM_IOPM_SIZE * 8 >= 65536 + 3);
	assert_int_equal(SVM_IOPM_SIZE, 12288);
}

static void test_intercept_and_clean_bits(void **state)
{
	(void)state;
	/* Intercept word 3 (VMCB 0x00c): CPUID 18, HLT 24, IOIO 27, MSR 28, SHUTDOWN 31 */
	assert_int_equal(SVM_INTERCEPT1_CPUID, 0x00040000u);
	assert_int_equal(SVM_INTERCEPT1_IOIO | SVM_INTERCEPT1_MSR, 0x18000000u);
	assert_int_equal(SVM_INTERCEPT1_SHUTDOWN, 0x80000000u);
	assert_int_equal(SVM_INTERCEPT2_VMRUN | SVM_INTERCEPT2_VMMCALL, 0x3u);
	/* clean bits 0-11: I, IOPM, ASID, TPR, NP, CRx, DRx, DT, SEG, CR2, LBR, AVIC */
	assert_int_equal(VMCB_CLEAN_IOPM, 0x2u);
	assert_int_equal(VMCB_CLEAN_SEG, 0x100u);
	assert_int_equal(VMCB_CLEAN_ALL, VMCB_CLEAN_I | VMCB_CLEAN_IOPM | VMCB_CLEAN_ASID |
					     VMCB_CLEAN_TPR | VMCB_CLEAN_NP | VMCB_CLEAN_CRX |
					     VMCB_CLEAN_DRX | VMCB_CLEAN_DT | VMCB_CLEAN_SEG |
					     VMCB_CLEAN_CR2 | VMCB_CLEAN_LBR | VMCB_CLEAN_AVIC);
	assert_int_equal(SVM_EXIT_CPUID, 0x72);
	assert_int_equal(SVM_EXIT_VMMCALL, 0x81);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_vmcb_offsets),
	    cmocka_unit_test(test_msrpm_bits),
	    cmocka_unit_test(test_iopm_bits),
	    cmocka_unit_test(test_intercept_and_clean_bits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/*
 * The bench guest's private layout, shared by its assembly and C. Only
 * #defines: start.S includes it too.
 *
 * Everything CPL0 needs (GDT, TSSes, IDT, exception stubs) sits at fixed
 * offsets from _start, which the linker script pins at BENCH_LOAD_ADDR. So
 * every descriptor is an assemble-time constant and the CPL0 set-up, which
 * this platform emulates at ~1 us per instruction, only has to load them.
 */
#ifndef NESTVMM_BENCH_GUEST_LAYOUT_H
#define NESTVMM_BENCH_GUEST_LAYOUT_H

/* Must match protocol.h; start.S cannot include that (it has C in it). */
#define G_LOAD_ADDR	0x100000
#define G_MAX_CPUS	16
#define G_REPORT_BASE	0x9000
#define G_REPORT_SHIFT	8 /* log2(BENCH_REPORT_STRIDE) */
#define G_PORT_DOORBELL 0x510
#define G_REPORT_READY	1
#define G_REPORT_FAULT	4
#define G_MSR_USER	0x4e560001
#define G_SWEEP_PHYS	0x4000000
#define G_SWEEP_SIZE	0x2000000
#define G_SWEEP_VA_4K	0x40000000

/* Offsets inside struct bench_report (checked by _Static_assert in user.c). */
#define G_REP_KIND   0
#define G_REP_VECTOR 40
#define G_REP_ERROR  48
#define G_REP_RIP    56
#define G_REP_CR2    64
#define G_REP_CS     72

/*
 * GDT. Selector 0x10 is the kernel code segment in the VMM's boot GDT too,
 * so CS needs no reload. SYSCALL takes CS/SS from STAR[47:32] (0x10, 0x18);
 * SYSRET would take SS/CS from STAR[63:48] + 8/16 (0x20, 0x28).
 */
#define G_SEL_KCODE   0x10
#define G_SEL_KDATA   0x18
#define G_SEL_UDATA   0x20
#define G_SEL_UCODE   0x28
#define G_SEL_TSS0    0x30 /* one 16-byte TSS descriptor per vCPU */
#define G_GDT_ENTRIES (6 + 2 * G_MAX_CPUS)

/* Fixed offsets from _start of the CPL0 tables. */
#define G_OFF_GDTR    0x010 /* 2-byte limit, 8-byte base */
#define G_OFF_IDTR    0x020
#define G_OFF_GDT     0x040
#define G_OFF_TSS     0x200
#define G_TSS_SIZE    104
#define G_OFF_IDT     0x1000
#define G_IDT_VECTORS 32
#define G_OFF_STUBS   0x1400
#define G_STUB_SIZE   16
#define G_OFF_KCALL   0x1600 /* the G_VEC_KCALL handler */
#define G_OFF_CODE    0x1800

/*
 * Stacks live outside the image (they need no zeroing, so they cost the
 * embedded blob nothing): 64 KiB per vCPU at G_STACK_BASE + cpu * 64 KiB,
 * holding the IST1 stack, the RSP0 stack and the CPL3 stack, in that order.
 */
#define G_STACK_BASE  0x400000
#define G_STACK_SHIFT 16
#define G_IST1_TOP    0x4000
#define G_RSP0_TOP    0x8000
#define G_USER_TOP    0x10000

#define G_RFLAGS_USER 0x3002  /* IOPL=3 (OUT at CPL3), IF=0, reserved bit 1 */
#define G_SFMASK      0x40700 /* SYSCALL clears AC, DF, IF, TF */

/*
 * Ways from CPL3 to CPL0. SYSCALL (rax = nr) serves the null syscall and a
 * probe of the CPL its handler runs at: kvm_pvm runs the LSTAR handler at
 * CPL3, so nothing privileged may depend on it. Privileged services go
 * through INT3 and the #BP gate, opened to CPL3 (rax = nr, rdi/rsi = args;
 * out rax, rdx, r8): kvm_pvm turns INT n into #UD, but delivers
 * exceptions, #BP included, through the guest's IDT at CPL0.
 */
#define G_SYS_NULL 0
#define G_SYS_CPL  1 /* returns the CPL the handler runs at */

#define G_VEC_KCALL	 3 /* #BP */
#define G_KCALL_MSR_LOOP 1 /* rdi iterations of RDMSR G_MSR_USER */
#define G_KCALL_RING	 2 /* OUT rdi to the doorbell */
#define G_KCALL_PIO_LOOP 3 /* rdi iterations of OUT to port rsi */
#define G_KCALL_SVM	 4 /* bench_svm_kcall(rdi): a C call, caller-saved registers lost */

#endif

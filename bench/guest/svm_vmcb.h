/* SPDX-License-Identifier: MIT */
/*
 * The AMD SVM data structures the bench hypervisor builds: the VMCB (AMD64
 * APM vol. 2, appendix B: control area, Table B-1; state save area at
 * 0x400, Table B-2), the intercept and clean bits it uses, the exit codes
 * it expects (appendix C), and the MSR and I/O permission maps (15.10,
 * 15.11). Fixed-size types only: the freestanding guest and the host's unit
 * tests both include it, and the offsets are checked here at compile time.
 */
#ifndef NESTVMM_BENCH_GUEST_SVM_VMCB_H
#define NESTVMM_BENCH_GUEST_SVM_VMCB_H

#include <stddef.h>
#include <stdint.h>

struct vmcb_control {
	uint32_t intercept_cr;	       /* 0x000: reads 15:0, writes 31:16 */
	uint32_t intercept_dr;	       /* 0x004 */
	uint32_t intercept_exceptions; /* 0x008: one bit per vector */
	uint32_t intercept_misc1;      /* 0x00c: SVM_INTERCEPT1_* */
	uint32_t intercept_misc2;      /* 0x010: SVM_INTERCEPT2_* */
	uint32_t intercept_misc3;      /* 0x014 */
	uint8_t reserved_018[0x03c - 0x018];
	uint16_t pause_filter_threshold; /* 0x03c */
	uint16_t pause_filter_count;	 /* 0x03e */
	uint64_t iopm_base_pa;		 /* 0x040 */
	uint64_t msrpm_base_pa;		 /* 0x048 */
	uint64_t tsc_offset;		 /* 0x050 */
	uint32_t guest_asid;		 /* 0x058 */
	uint8_t tlb_control;		 /* 0x05c */
	uint8_t reserved_05d[3];
	uint64_t vintr;		/* 0x060: V_TPR, V_IRQ, V_INTR_MASKING, V_GIF... */
	uint64_t int_state;	/* 0x068: interrupt shadow */
	uint64_t exitcode;	/* 0x070 */
	uint64_t exitinfo1;	/* 0x078 */
	uint64_t exitinfo2;	/* 0x080 */
	uint64_t exitintinfo;	/* 0x088 */
	uint64_t np_enable;	/* 0x090: bit 0 nested paging */
	uint64_t avic_apic_bar; /* 0x098 */
	uint64_t ghcb_pa;	/* 0x0a0 */
	uint64_t event_inj;	/* 0x0a8 */
	uint64_t ncr3;		/* 0x0b0: nested page table root */
	uint64_t virt_ext;	/* 0x0b8: bit 0 LBR virtualization, bit 1 virtual VMLOAD/VMSAVE */
	uint32_t clean;		/* 0x0c0: VMCB_CLEAN_* */
	uint32_t reserved_0c4;
	uint64_t next_rip; /* 0x0c8: with NRIPS, the RIP after the intercepted instruction */
	uint8_t insn_len;  /* 0x0d0 */
	uint8_t insn_bytes[15];
	uint8_t reserved_0e0[0x400 - 0x0e0];
};

struct vmcb_seg {
	uint16_t selector;
	uint16_t attrib; /* descriptor bits 47:40 in 7:0, bits 55:52 in 11:8 */
	uint32_t limit;
	uint64_t base;
};

struct vmcb_save {
	struct vmcb_seg es, cs, ss, ds, fs, gs, gdtr, ldtr, idtr, tr; /* 0x000-0x09f */
	uint8_t reserved_0a0[0x0cb - 0x0a0];
	uint8_t cpl; /* 0x0cb */
	uint32_t reserved_0cc;
	uint64_t efer; /* 0x0d0 */
	uint8_t reserved_0d8[0x148 - 0x0d8];
	uint64_t cr4;	 /* 0x148 */
	uint64_t cr3;	 /* 0x150 */
	uint64_t cr0;	 /* 0x158 */
	uint64_t dr7;	 /* 0x160 */
	uint64_t dr6;	 /* 0x168 */
	uint64_t rflags; /* 0x170 */
	uint64_t rip;	 /* 0x178 */
	uint8_t reserved_180[0x1d8 - 0x180];
	uint64_t rsp; /* 0x1d8 */
	uint64_t s_cet, ssp, isst_addr;
	uint64_t rax;					     /* 0x1f8 */
	uint64_t star, lstar, cstar, sfmask, kernel_gs_base; /* 0x200-0x220 */
	uint64_t sysenter_cs, sysenter_esp, sysenter_eip;    /* 0x228-0x238 */
	uint64_t cr2;					     /* 0x240 */
	uint8_t reserved_248[0x268 - 0x248];
	uint64_t g_pat;					       /* 0x268 */
	uint64_t dbgctl;				       /* 0x270 */
	uint64_t br_from, br_to, last_excp_from, last_excp_to; /* 0x278-0x290 */
};

struct vmcb {
	struct vmcb_control control;
	struct vmcb_save save;
};

#define VMCB_SAVE_OFFSET 0x400
_Static_assert(offsetof(struct vmcb_control, intercept_misc1) == 0x00c, "VMCB");
_Static_assert(offsetof(struct vmcb_control, pause_filter_threshold) == 0x03c, "VMCB");
_Static_assert(offsetof(struct vmcb_control, iopm_base_pa) == 0x040, "VMCB");
_Static_assert(offsetof(struct vmcb_control, msrpm_base_pa) == 0x048, "VMCB");
_Static_assert(offsetof(struct vmcb_control, guest_asid) == 0x058, "VMCB");
_Static_assert(offsetof(struct vmcb_control, tlb_control) == 0x05c, "VMCB");
_Static_assert(offsetof(struct vmcb_control, exitcode) == 0x070, "VMCB");
_Static_assert(offsetof(struct vmcb_control, exitinfo1) == 0x078, "VMCB");
_Static_assert(offsetof(struct vmcb_control, np_enable) == 0x090, "VMCB");
_Static_assert(offsetof(struct vmcb_control, event_inj) == 0x0a8, "VMCB");
_Static_assert(offsetof(struct vmcb_control, ncr3) == 0x0b0, "VMCB");
_Static_assert(offsetof(struct vmcb_control, clean) == 0x0c0, "VMCB");
_Static_assert(offsetof(struct vmcb_control, next_rip) == 0x0c8, "VMCB");
_Static_assert(offsetof(struct vmcb_control, insn_len) == 0x0d0, "VMCB");
_Static_assert(sizeof(struct vmcb_control) == VMCB_SAVE_OFFSET, "VMCB");
_Static_assert(offsetof(struct vmcb_save, cs) == 0x010, "VMCB");
_Static_assert(offsetof(struct vmcb_save, tr) == 0x090, "VMCB");
_Static_assert(offsetof(struct vmcb_save, cpl) == 0x0cb, "VMCB");
_Static_assert(offsetof(struct vmcb_save, efer) == 0x0d0, "VMCB");
_Static_assert(offsetof(struct vmcb_save, cr4) == 0x148, "VMCB");
_Static_assert(offsetof(struct vmcb_save, rflags) == 0x170, "VMCB");
_Static_assert(offsetof(struct vmcb_save, rip) == 0x178, "VMCB");
_Static_assert(offsetof(struct vmcb_save, rsp) == 0x1d8, "VMCB");
_Static_assert(offsetof(struct vmcb_save, rax) == 0x1f8, "VMCB");
_Static_assert(offsetof(struct vmcb_save, star) == 0x200, "VMCB");
_Static_assert(offsetof(struct vmcb_save, sysenter_eip) == 0x238, "VMCB");
_Static_assert(offsetof(struct vmcb_save, cr2) == 0x240, "VMCB");
_Static_assert(offsetof(struct vmcb_save, g_pat) == 0x268, "VMCB");
_Static_assert(offsetof(struct vmcb_save, dbgctl) == 0x270, "VMCB");

/* intercept_misc1 (VMCB offset 0x0c) */
#define SVM_INTERCEPT1_INTR	(1u << 0)
#define SVM_INTERCEPT1_NMI	(1u << 1)
#define SVM_INTERCEPT1_CPUID	(1u << 18)
#define SVM_INTERCEPT1_HLT	(1u << 24)
#define SVM_INTERCEPT1_IOIO	(1u << 27)
#define SVM_INTERCEPT1_MSR	(1u << 28)
#define SVM_INTERCEPT1_SHUTDOWN (1u << 31)
/* intercept_misc2 (0x10); VMRUN must be intercepted or VMRUN fails */
#define SVM_INTERCEPT2_VMRUN   (1u << 0)
#define SVM_INTERCEPT2_VMMCALL (1u << 1)

/* clean (0x0c0): what the hypervisor left unchanged since the last VMRUN of this VMCB */
#define VMCB_CLEAN_I	(1u << 0) /* intercepts, TSC offset, pause filter */
#define VMCB_CLEAN_IOPM (1u << 1) /* IOPM_BASE, MSRPM_BASE (and their contents) */
#define VMCB_CLEAN_ASID (1u << 2)
#define VMCB_CLEAN_TPR	(1u << 3) /* V_TPR, V_IRQ, ... */
#define VMCB_CLEAN_NP	(1u << 4) /* NP_ENABLE, nCR3, gPAT */
#define VMCB_CLEAN_CRX	(1u << 5) /* CR0, CR3, CR4, EFER */
#define VMCB_CLEAN_DRX	(1u << 6) /* DR6, DR7 */
#define VMCB_CLEAN_DT	(1u << 7) /* GDTR, IDTR */
#define VMCB_CLEAN_SEG	(1u << 8) /* CS, DS, SS, ES, CPL */
#define VMCB_CLEAN_CR2	(1u << 9)
#define VMCB_CLEAN_LBR	(1u << 10)
#define VMCB_CLEAN_AVIC (1u << 11)
#define VMCB_CLEAN_ALL	0xfffu

#define SVM_NP_ENABLE (1ull << 0)

/* Exit codes (APM vol. 2, appendix C). */
#define SVM_EXIT_EXCP_BASE 0x040
#define SVM_EXIT_CPUID	   0x072
#define SVM_EXIT_HLT	   0x078
#define SVM_EXIT_SHUTDOWN  0x07f
#define SVM_EXIT_VMMCALL   0x081
#define SVM_EXIT_INVALID   0xffffffffffffffffull /* VMRUN refused the VMCB */

/* MSRs */
#define MSR_EFER_ADDR	 0xc0000080u
#define MSR_FS_BASE_ADDR 0xc0000100u
#define MSR_VM_CR	 0xc0010114u
#define MSR_VM_HSAVE_PA	 0xc0010117u
#define EFER_SVME	 (1ull << 12)
#define VM_CR_SVMDIS	 (1ull << 4)

/*
 * The MSR permission map: 8 KiB, two bits per MSR (even: intercept reads,
 * odd: writes) for three ranges of 8192 MSRs, 2 KiB each; the last 2 KiB
 * are reserved. Returns the bit offset of @msr's read bit, -1 if the map
 * does not cover it (always intercepted).
 */
#define SVM_MSRPM_SIZE 0x2000u
static inline int64_t svm_msrpm_read_bit(uint32_t msr)
{
	static const uint32_t range_base[3] = {0x00000000u, 0xc0000000u, 0xc0010000u};

	for (unsigned int i = 0; i < 3; i++)
		if (msr - range_base[i] < 0x2000u)
			return (int64_t)i * 0x800 * 8 + (int64_t)(msr - range_base[i]) * 2;
	return -1;
}

/* The I/O permission map: one bit per port, 12 KiB (the last bits catch wide accesses). */
#define SVM_IOPM_SIZE 0x3000u
static inline uint32_t svm_iopm_bit(uint16_t port)
{
	return port;
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The bench guest as an SVM hypervisor: what its CPL3 runner asks of the
 * CPL0 part (through the G_KCALL_SVM kcall) and what comes back.
 *
 * Memory: per vCPU, 64 KiB at BENCH_GUEST_SVM + cpu * 64 KiB hold the VMCB,
 * the host save area, a scratch VMCB for VMLOAD/VMSAVE, the MSR and I/O
 * permission maps, the nested page tables (1 GiB identity map in 2 MiB
 * pages) and the inner guest's stack. The inner guest runs the code in
 * svm_entry.S at CPL0 in 64-bit mode on the bench guest's own page tables
 * (identity, so nested paging maps it 1:1 again).
 */
#ifndef NESTVMM_BENCH_GUEST_SVM_H
#define NESTVMM_BENCH_GUEST_SVM_H

#include <stdint.h>

/* Offsets inside a vCPU's SVM area. */
#define SVM_AREA_VMCB	     0x0000
#define SVM_AREA_HSAVE	     0x1000
#define SVM_AREA_SCRATCH     0x2000
#define SVM_AREA_MSRPM	     0x3000 /* 8 KiB */
#define SVM_AREA_NPT_PML4    0x5000
#define SVM_AREA_NPT_PDPT    0x6000
#define SVM_AREA_NPT_PD	     0x7000
#define SVM_AREA_IOPM	     0x8000 /* 12 KiB */
#define SVM_AREA_INNER_STACK 0xc000 /* top of the inner guest's stack */
#define SVM_AREA_SIZE	     0x10000
#define SVM_AREA_SHIFT	     16

struct svm_run {
	/* in */
	uint32_t workload; /* enum bench_workload, one of BENCH_W_SVM_* */
	uint32_t cpu;
	uint64_t iters;
	/* out */
	uint32_t skip;	   /* enum bench_skip; nothing else is set then */
	uint32_t features; /* CPUID 0x8000000A EDX */
	uint64_t cycles;   /* TSC cycles of the measured loop */
	uint64_t value;	   /* the exits of the kind the workload expects (or iters) */
	uint64_t inner_exits;
	uint64_t entry_min, entry_sum, entry_max;
	uint64_t exit_min, exit_sum, exit_max;
	/* an unexpected #VMEXIT: the run stopped there */
	uint32_t failed;
	uint64_t fail_exitcode, fail_info1, fail_rip;
};

/* CPL0, from the kcall handler. */
void bench_svm_kcall(struct svm_run *run);

/* svm_entry.S */
struct svm_stamps {
	uint64_t before;  /* TSC just before VMRUN */
	uint64_t after;	  /* TSC just after VMRUN returned */
	uint64_t g_entry; /* the inner guest's TSC at its first instruction (r8) */
	uint64_t g_exit;  /* the inner guest's TSC just before VMMCALL (r9) */
};

/* VMRUN the VMCB at @vmcb_pa once; every register but RSP and callee-saved ones is lost. */
void svm_vmrun(uint64_t vmcb_pa);
/* The same, with the TSC stamps around it and those the inner guest took. */
void svm_vmrun_timed(uint64_t vmcb_pa, struct svm_stamps *st);
/* Inner guest entry points. */
extern const char svm_inner_cpuid[];   /* CPUID leaf 0 forever */
extern const char svm_inner_stamped[]; /* TSC to r8, TSC to r9, VMMCALL, forever */
extern const char svm_inner_vmmcall[]; /* VMMCALL forever */

#endif

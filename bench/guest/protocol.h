/* SPDX-License-Identifier: MIT */
/*
 * The bench guest's contract with the VMM. Shared, unchanged, by the
 * freestanding guest and by nestvmm, so it holds only fixed-size types.
 *
 * Boot: the VMM loads the flat image at BENCH_LOAD_ADDR and enters every
 * vCPU there in 64-bit mode at CPL0, interrupts off, with identity page
 * tables of its own, RDI = vCPU index, RSI = BENCH_PARAMS_ADDR. The guest
 * builds its own GDT/TSS/IDT/page tables and runs the workloads listed in
 * struct bench_params at the CPL each workload is labelled with.
 *
 * Reports: the guest fills its vCPU's struct bench_report (at
 * bench_report_addr(cpu)) and then writes the report kind with a 32-bit OUT
 * to BENCH_PORT_DOORBELL. The VMM knows the vCPU from the exit, reads that
 * vCPU's mailbox and resumes the guest (except after FAULT and DONE, where
 * that vCPU stops). Around every measured run the guest rings BEGIN then
 * RESULT; the VMM snapshots KVM's exit counters at both, so the exits of a
 * run are the difference minus the one exit of the RESULT doorbell itself.
 */
#ifndef NESTVMM_BENCH_PROTOCOL_H
#define NESTVMM_BENCH_PROTOCOL_H

#include <stdint.h>

#define BENCH_MAGIC	       0x4e564d42u /* "BMVN" */
#define BENCH_PROTOCOL_VERSION 2

/* Guest-physical layout. */
#define BENCH_BOOT_GDT_ADDR 0x0500ull /* VMM's flat boot GDT */
#define BENCH_BOOT_PT_ADDR  0x1000ull /* VMM's boot page tables, 0x1000-0x6fff */
#define BENCH_PARAMS_ADDR   0x8000ull /* struct bench_params (VMM writes) */
#define BENCH_REPORT_BASE   0x9000ull /* struct bench_report per vCPU */
#define BENCH_REPORT_STRIDE 0x100ull
#define BENCH_MAX_CPUS	    16
#define BENCH_LOAD_ADDR	    0x100000ull		/* image load address and entry point */
#define BENCH_IMAGE_MAX	    0x300000ull		/* image + bss must end below 4 MiB */
#define BENCH_SWEEP_PHYS    0x4000000ull	/* memsweep array, 64 MiB, 2 MiB aligned */
#define BENCH_SWEEP_SIZE    (8192ull * 4096ull) /* 32 MiB, as in the VMware study */
#define BENCH_SWEEP_VA_4K   0x40000000ull	/* alias of the array mapped with 4 KiB pages */
#define BENCH_MIN_MEM	    (128ull << 20)	/* RAM the layout above needs */
#define BENCH_GUEST_STACKS  0x400000ull		/* the guest's stacks, 64 KiB per vCPU: keep free */

static inline uint64_t bench_report_addr(uint32_t cpu)
{
	return BENCH_REPORT_BASE + (uint64_t)cpu * BENCH_REPORT_STRIDE;
}

/* Ports and addresses the workloads poke. */
#define BENCH_PORT_DOORBELL	  0x0510	/* 32-bit OUT: enum bench_report_kind */
#define BENCH_PORT_PIO		  0x0514	/* handled by the VMM in userspace */
#define BENCH_PORT_PIO_IOEVENTFD  0x0518	/* bound to an ioeventfd: never reaches userspace */
#define BENCH_MMIO_ADDR		  0xd0000000ull /* handled by the VMM in userspace */
#define BENCH_MMIO_IOEVENTFD_ADDR 0xd0001000ull /* bound to an ioeventfd */
#define BENCH_MSR_USER		  0x4e560001u /* denied by the MSR filter: RDMSR exits to userspace */
#define BENCH_MSR_USER_VALUE	  0x6e6573747676ull /* what the VMM answers for it */

/*
 * The bench platform's PCI: bus 0 behind ports 0xcf8/0xcfc and an ECAM
 * window at a fixed address (what ACPI's MCFG table says on a PC; CPL3 can
 * reach it where the host does not honour IOPL for port I/O). nestvmm
 * places each device's BARs in the MMIO window, as firmware would; the
 * guest reads them from config space. Both lie in the uncached,
 * user-accessible top GiB of the guest's page tables.
 */
#define BENCH_PCI_ECAM_ADDR 0xe0000000ull
#define BENCH_PCI_MMIO_BASE 0xe1000000ull
#define BENCH_PCI_MMIO_SIZE 0x01000000ull
/* RAM the guest's virtio driver keeps its rings and buffers in: keep free. */
#define BENCH_GUEST_DMA	     0x600000ull
#define BENCH_GUEST_DMA_SIZE 0x200000ull
/* The bench hypervisor's VMCBs, permission maps, nested page tables: 64 KiB per vCPU. */
#define BENCH_GUEST_SVM	     0x800000ull
#define BENCH_GUEST_SVM_SIZE (BENCH_MAX_CPUS * 0x10000ull)

/*
 * What the blk workloads expect on the disk: the first 8 bytes of every
 * 512-byte sector hold bench_blk_pattern(sector), so a read of the wrong
 * sector, or one whose data never arrived, is caught.
 */
static inline uint64_t bench_blk_pattern(uint64_t sector)
{
	return (sector * 0x9e3779b97f4a7c15ull) ^ 0x6e657374766d6d00ull;
}

enum bench_workload {
	BENCH_W_NONE = 0,
	BENCH_W_CPUID,		/* CPL3: CPUID leaf 0 */
	BENCH_W_PIO,		/* CPL3: OUT to BENCH_PORT_PIO */
	BENCH_W_PIO_IOEVENTFD,	/* CPL3: OUT to BENCH_PORT_PIO_IOEVENTFD */
	BENCH_W_MMIO,		/* CPL3: 32-bit store to BENCH_MMIO_ADDR */
	BENCH_W_MMIO_IOEVENTFD, /* CPL3: 32-bit store to BENCH_MMIO_IOEVENTFD_ADDR */
	BENCH_W_HYPERCALL,	/* CPL3: VMMCALL (AMD) or VMCALL (Intel) */
	BENCH_W_SYSCALL,	/* CPL3: SYSCALL to a minimal CPL0 handler, IRETQ back */
	BENCH_W_COUNTPRIMES,	/* CPL3: one iteration = count primes below 10000 */
	BENCH_W_FIB,		/* CPL3: one iteration = naive fib(20) */
	BENCH_W_MEMSWEEP_4K,	/* CPL3: one iteration = one memsweep step, 4 KiB pages */
	BENCH_W_MEMSWEEP_2M,	/* CPL3: one iteration = one memsweep step, 2 MiB pages */
	BENCH_W_MSR_USER,	/* CPL0: RDMSR BENCH_MSR_USER */
	BENCH_W_FAULT,		/* self-test: UD2 at CPL3, must end in a FAULT report */
	BENCH_W_BLK_QD1,	/* CPL3: one iteration = one 4 KiB random virtio-blk read, QD 1 */
	BENCH_W_BLK_QD32,	/* CPL3: the same with 32 reads outstanding */
	/*
	 * The bench guest as a hypervisor (CPL0, SVM): it runs an inner guest
	 * of its own and reports, besides cycles, the inner #VMEXITs it handled
	 * (inner_exits) and, for the VMRUN round trips, entry/exit latencies.
	 */
	BENCH_W_SVM_CPUID,	  /* inner guest: CPUID leaf 0; the hypervisor emulates it */
	BENCH_W_SVM_VMRUN,	  /* VMRUN -> inner VMMCALL -> #VMEXIT, clean bits 0 */
	BENCH_W_SVM_VMRUN_CLEAN,  /* the same with every VMCB clean bit set */
	BENCH_W_SVM_VMLOAD,	  /* hypervisor: VMLOAD alone */
	BENCH_W_SVM_VMSAVE,	  /* hypervisor: VMSAVE alone */
	BENCH_W_SVM_STGI,	  /* hypervisor: STGI alone */
	BENCH_W_SVM_CLGI,	  /* hypervisor: CLGI alone (STGI once after the loop) */
	BENCH_W_SVM_MSRPM_STATIC, /* inner VMMCALL loop, MSRPM untouched, clean bits set */
	BENCH_W_SVM_MSRPM_DIRTY,  /* the same, one MSRPM bit flipped before each VMRUN */
	BENCH_W_COUNT
};

#define BENCH_MAX_WORKLOADS 32

struct bench_params {
	uint32_t magic;	  /* BENCH_MAGIC */
	uint32_t version; /* BENCH_PROTOCOL_VERSION */
	uint32_t nr_cpus;
	uint32_t nr_workloads;
	uint32_t workloads[BENCH_MAX_WORKLOADS]; /* enum bench_workload, run in order */
	uint64_t min_cycles;  /* a run shorter than this is repeated with 2x iterations */
	uint64_t start_iters; /* first try's iteration count */
	uint64_t max_iters[BENCH_W_COUNT]; /* per workload cap on iterations */
	uint64_t mem_size;		   /* guest RAM bytes */
};

enum bench_report_kind {
	BENCH_REPORT_READY = 1, /* set-up done, about to run the first workload */
	BENCH_REPORT_BEGIN,	/* about to run workload/iters */
	BENCH_REPORT_RESULT, /* a run ended: iters, cycles, value; final says if it is the last try */
	BENCH_REPORT_FAULT, /* an exception reached the IDT: vector, error, rip, cr2 */
	BENCH_REPORT_DONE,  /* every workload ran on this vCPU; it stops */
};

/*
 * FAULT vector when the guest rejects struct bench_params itself (bad
 * magic, version, mem_size or nr_workloads: error 0; unknown workload at
 * index k: error BENCH_MAX_WORKLOADS + k). Exceptions use vectors 0-31.
 */
#define BENCH_FAULT_BAD_PARAMS 0x100

/*
 * FAULT vector of the guest's virtio-blk driver; error = reason << 32 |
 * detail (the sector, status byte or descriptor id concerned).
 */
#define BENCH_FAULT_BLK 0x101
enum bench_blk_fault {
	BENCH_BLK_NO_DEVICE = 1, /* no 1af4:1042 on bus 0 */
	BENCH_BLK_BAR,		 /* BAR 0 is not a placed memory BAR */
	BENCH_BLK_CAPS,		 /* common/notify/device capabilities missing or outside BAR 0 */
	BENCH_BLK_FEATURES,	 /* no VERSION_1, or FEATURES_OK refused */
	BENCH_BLK_QUEUE,	 /* queue 0 missing or too small for the queue depth */
	BENCH_BLK_CAPACITY,	 /* disk smaller than one 4 KiB block */
	BENCH_BLK_STATUS,	 /* a request completed with a status other than OK */
	BENCH_BLK_DATA,		 /* the data read is not the sector's pattern */
	BENCH_BLK_USED_ID,	 /* the used ring named a descriptor not in flight */
	BENCH_BLK_TIMEOUT,	 /* no completion for ~10 s (detail: device status) */
};
#define BENCH_BLK_FAULT_ERROR(reason, detail) (((uint64_t)(reason) << 32) | (uint32_t)(detail))

/*
 * FAULT vector of the bench hypervisor: an inner #VMEXIT it did not expect
 * (error = the exit code, -1 when VMRUN refused the VMCB; rip = the inner
 * guest's RIP; cr2 = EXITINFO1).
 */
#define BENCH_FAULT_SVM 0x102

/* RESULT.skip: why a workload did not run (iters and cycles are then 0). */
enum bench_skip {
	BENCH_SKIP_NONE = 0,
	BENCH_SKIP_NO_SVM,   /* CPUID 0x80000001 ECX.SVM is clear */
	BENCH_SKIP_SVM_DIS,  /* VM_CR.SVMDIS: SVM is locked off */
	BENCH_SKIP_NO_ASIDS, /* CPUID 0x8000000A reports no ASID for a guest */
};

struct bench_report {
	uint32_t kind;	   /* enum bench_report_kind, equals the doorbell value */
	uint32_t workload; /* enum bench_workload */
	uint32_t final;	   /* RESULT: 1 on the last try of this workload */
	uint32_t cpl;	   /* RESULT: privilege level the loop ran at */
	uint64_t iters;	   /* BEGIN/RESULT */
	uint64_t cycles;   /* RESULT: TSC cycles of the run */
	uint64_t
	    value; /* RESULT: workload's answer (primes per iteration, fib(20), MSR value, ...) */
	uint64_t vector; /* FAULT */
	uint64_t error;	 /* FAULT */
	uint64_t rip;	 /* FAULT */
	uint64_t cr2;	 /* FAULT */
	uint64_t cs;	 /* FAULT */
	/* RESULT of the SVM workloads */
	uint32_t skip;	       /* enum bench_skip */
	uint32_t svm_features; /* CPUID 0x8000000A EDX as the bench hypervisor saw it */
	uint64_t inner_exits;  /* inner #VMEXITs the bench hypervisor handled */
	/* VMRUN -> first inner instruction, and inner VMMCALL -> back after VMRUN */
	uint64_t entry_min, entry_sum, entry_max;
	uint64_t exit_min, exit_sum, exit_max;
};

#endif

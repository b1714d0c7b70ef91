/* SPDX-License-Identifier: MIT */
/*
 * The bench guest's page tables, complete at assembly time so that no vCPU
 * spends emulated CPL0 instructions (or a cross-vCPU handshake) on them.
 *
 * 0..4 GiB identity, 2 MiB pages, user-accessible (CPL3 pokes MMIO and rings
 * the reports); the top GiB (MMIO) uncached. On top of that, virtual
 * BENCH_SWEEP_VA_4K .. +BENCH_SWEEP_SIZE maps BENCH_SWEEP_PHYS with 4 KiB
 * pages for memsweep-4k. Accessed/dirty bits are preset so the CPU never has
 * to write them back (a shadow-paging host would trap each such write).
 */

#include "layout.h"

#define SWEEP_PHYS G_SWEEP_PHYS
#define SWEEP_VA_4K G_SWEEP_VA_4K
#define SWEEP_PAGES (G_SWEEP_SIZE >> 12)

#define PTE_P 0x1
#define PTE_RW 0x2
#define PTE_US 0x4
#define PTE_PWT 0x8
#define PTE_PCD 0x10
#define PTE_A 0x20
#define PTE_D 0x40
#define PTE_PS 0x80

#define TABLE (PTE_P | PTE_RW | PTE_US | PTE_A)
#define PAGE (PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D)

#define SWEEP_PD_FIRST (SWEEP_VA_4K >> 21)
#define SWEEP_PD_COUNT (SWEEP_PAGES / 512)
#define MMIO_PD_FIRST (3 * 512)

	.section .data.pagetables, "aw"
	.balign 4096
	.globl pml4
pml4:
	.quad pdpt + TABLE
	.fill 511, 8, 0

pdpt:
	.set i, 0
	.rept 4
	.quad pd + i * 4096 + TABLE
	.set i, i + 1
	.endr
	.fill 508, 8, 0

/* Four contiguous PDs: entry i maps 2 MiB at i << 21, or points to a sweep PT. */
pd:
	.set i, 0
	.rept 4 * 512
	.if i >= SWEEP_PD_FIRST && i < SWEEP_PD_FIRST + SWEEP_PD_COUNT
	.quad sweep_pt + (i - SWEEP_PD_FIRST) * 4096 + TABLE
	.elseif i >= MMIO_PD_FIRST
	.quad (i << 21) | PAGE | PTE_PS | PTE_PCD | PTE_PWT
	.else
	.quad (i << 21) | PAGE | PTE_PS
	.endif
	.set i, i + 1
	.endr

sweep_pt:
	.set i, 0
	.rept SWEEP_PAGES
	.quad (SWEEP_PHYS + (i << 12)) | PAGE
	.set i, i + 1
	.endr

	.section .note.GNU-stack,"",@progbits

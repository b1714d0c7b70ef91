/* SPDX-License-Identifier: MIT */
/*
 * The PVH boot ABI's start of day structure (Xen's hvm_start_info,
 * version 1): what a kernel entered at its PVH entry (loader/elf.h) finds in
 * %ebx. It carries the command line, the initrd as the first module, the
 * ACPI RSDP and the memory map, all by guest-physical address; nothing is at
 * address 0, so 0 means absent.
 *
 * Fixed guest-physical layout below 1 MiB, beside the bzImage path's (the
 * two paths never run together): the start info at 0x7000 (where the zero
 * page would be), then its module list and memory map in the same page;
 * the command line at LINUX_CMDLINE_GPA as for a bzImage.
 */
#ifndef NESTVMM_LOADER_PVH_H
#define NESTVMM_LOADER_PVH_H

#include <stdint.h>

#include "vmm/guest_mem.h"

#define PVH_START_MAGIC	   0x336ec578u
#define PVH_START_INFO_GPA 0x7000ull
#define PVH_MAX_MEMMAP	   32

/* Memory map entry types (the e820 numbers). */
#define PVH_MEMMAP_RAM	    1
#define PVH_MEMMAP_RESERVED 2
#define PVH_MEMMAP_ACPI	    3

struct pvh_start_info {
	uint32_t magic;
	uint32_t version;
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr;
	uint64_t cmdline_paddr;
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct pvh_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

struct pvh_memmap_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};

/* Where the pieces go. */
#define PVH_MODLIST_GPA (PVH_START_INFO_GPA + 64)
#define PVH_MEMMAP_GPA	(PVH_MODLIST_GPA + 32)

/*
 * Write the start info for @mem into guest RAM: the memory map of
 * e820_build(), the command line already at @cmdline_gpa (0: none), the
 * initrd [@initrd_gpa, + @initrd_size) as module 0 (size 0: no module),
 * the RSDP at @rsdp_gpa (0: none). Returns the start info's address, or
 * -ENOSPC (the memory map does not fit) / -EFAULT (the page is not RAM).
 */
int64_t pvh_write_start_info(struct guest_mem *mem, uint64_t cmdline_gpa, uint64_t initrd_gpa,
			     uint64_t initrd_size, uint64_t rsdp_gpa);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Linux x86 boot protocol loader for bzImage kernels entered at their 64-bit
 * entry point (the 16-bit setup code is never run). Purely buffer based: the
 * caller reads the files.
 *
 * Fixed guest-physical layout below 1 MiB (the vCPU set-up owns 0x500 for
 * the GDT and 0x1000-0x6fff for the page tables; the loader never writes
 * there):
 *   0x07000  zero page (struct boot_params), RSI at entry
 *   0x20000  kernel command line, NUL terminated
 *   0xe0000  ACPI tables (loader/acpi.h), reported reserved in the e820
 */
#ifndef NESTVMM_BZIMAGE_H
#define NESTVMM_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/guest_mem.h"

#define LINUX_ZERO_PAGE_GPA 0x7000ULL
#define LINUX_CMDLINE_GPA   0x20000ULL
/* Room reserved for the command line at LINUX_CMDLINE_GPA, NUL included. */
#define LINUX_CMDLINE_AREA 0x10000ULL
/* Relocatable kernels whose preferred address does not fit go here. */
#define LINUX_FALLBACK_LOAD_GPA 0x1000000ULL
/* Oldest protocol accepted; a 64-bit entry point also needs 2.12. */
#define LINUX_MIN_PROTOCOL 0x0206

struct linux_boot {
	uint64_t entry_gpa;	/* 64-bit entry point: kernel_gpa + 0x200 */
	uint64_t zero_page_gpa; /* goes in RSI */
	uint64_t cmdline_gpa;
	uint64_t initrd_gpa, initrd_size; /* 0, 0 without an initrd */
	uint64_t kernel_gpa;		  /* where the protected-mode part was loaded */
	uint64_t kernel_size;		  /* bytes the kernel may use from kernel_gpa (init_size) */
	uint16_t protocol;		  /* boot protocol version, e.g. 0x020f */
};

/*
 * Validate the bzImage in @kernel, load it, @initrd (may be NULL/0) and
 * @cmdline (NULL means empty) into @mem, build the zero page with the e820
 * map and, when @acpi_rsdp_gpa != 0 and the kernel knows the field, the RSDP
 * address. Returns 0 or -errno:
 *   -ENOEXEC  not a usable bzImage (bad magic, too old, truncated, no 64-bit entry)
 *   -ENOMEM   the kernel does not fit in guest RAM
 *   -EFBIG    the initrd does not fit (in RAM above the kernel, below initrd_addr_max)
 *   -E2BIG    command line longer than the kernel accepts
 *   -EINVAL   bad arguments
 * On error *why (if @why is not NULL) is one human-readable line; it points
 * to static or thread-local storage valid until the next call in the thread.
 */
int linux_load(struct guest_mem *mem, const void *kernel, size_t kernel_len, const void *initrd,
	       size_t initrd_len, const char *cmdline, uint64_t acpi_rsdp_gpa,
	       struct linux_boot *out, const char **why);

#endif

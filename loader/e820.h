/* SPDX-License-Identifier: MIT */
/*
 * The BIOS-style memory map (e820) handed to Linux in the zero page.
 */
#ifndef NESTVMM_E820_H
#define NESTVMM_E820_H

#include <asm/bootparam.h>

#include "vmm/guest_mem.h"

/* Entry types from the ACPI address range descriptor. */
#define E820_RAM      1
#define E820_RESERVED 2
#define E820_ACPI     3

/*
 * Conventional memory ends where a PC's extended BIOS data area would start;
 * 0x9fc00..1 MiB is reported reserved (EBDA, VGA hole, option ROMs, BIOS),
 * which also covers the ACPI tables at 0xe0000.
 */
#define E820_LOW_RAM_END    0x9fc00ULL
#define E820_HIGH_RAM_START 0x100000ULL

/*
 * Describe @mem's RAM in @tab (at most @max entries), sorted by address and
 * without overlaps. Returns the number of entries or -ENOSPC.
 */
int e820_build(const struct guest_mem *mem, struct boot_e820_entry *tab, unsigned int max);

#endif

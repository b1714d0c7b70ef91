/* SPDX-License-Identifier: MIT */
/*
 * The 64-bit boot environment both payloads are entered in (Linux through its
 * 64-bit entry point, the bench guest at its load address): a flat GDT and
 * page tables that identity-map the first 4 GiB with 2 MiB pages.
 */
#ifndef NESTVMM_LONGMODE_H
#define NESTVMM_LONGMODE_H

#include <stdint.h>

struct guest_mem;

#define BOOT_GDT_ADDR  0x0500ULL
#define BOOT_PML4_ADDR 0x1000ULL
#define BOOT_PDPT_ADDR 0x2000ULL
#define BOOT_PD_ADDR   0x3000ULL /* four page directories, 0x3000-0x6fff */
#define BOOT_PT_END    0x7000ULL

#define BOOT_CS 0x10 /* the Linux boot protocol's __BOOT_CS */
#define BOOT_DS 0x18 /* and __BOOT_DS */

#define BOOT_CR0  0x80050033ULL /* PG | AM | WP | NE | ET | MP | PE */
#define BOOT_CR4  0x20ULL	/* PAE */
#define BOOT_EFER 0x500ULL	/* LMA | LME */

/* Returns the boot GDT entry for @selector (0 for unknown selectors). */
uint64_t boot_gdt_entry(unsigned int selector);

/* Write the boot GDT and page tables into guest RAM. 0 or -ENOMEM (RAM too small). */
int boot_longmode_setup(struct guest_mem *mem);

#endif

/* SPDX-License-Identifier: MIT */
#include "loader/e820.h"

#include <errno.h>

static int e820_add(struct boot_e820_entry *tab, unsigned int max, unsigned int *n, uint64_t addr,
		    uint64_t size, uint32_t type)
{
	if (size == 0)
		return 0;
	if (*n >= max)
		return -ENOSPC;
	tab[*n].addr = addr;
	tab[*n].size = size;
	tab[*n].type = type;
	(*n)++;
	return 0;
}

int e820_build(const struct guest_mem *mem, struct boot_e820_entry *tab, unsigned int max)
{
	unsigned int n = 0;
	int err = 0;

	for (unsigned int i = 0; i < mem->nr_regions && !err; i++) {
		uint64_t start = mem->regions[i].gpa;
		uint64_t end = start + mem->regions[i].size;

		if (start >= E820_HIGH_RAM_START || end <= E820_LOW_RAM_END) {
			err = e820_add(tab, max, &n, start, end - start, E820_RAM);
			continue;
		}
		/* This region spans the legacy hole: split it around it. */
		if (start < E820_LOW_RAM_END)
			err = e820_add(tab, max, &n, start, E820_LOW_RAM_END - start, E820_RAM);
		if (!err)
			err = e820_add(tab, max, &n, E820_LOW_RAM_END,
				       E820_HIGH_RAM_START - E820_LOW_RAM_END, E820_RESERVED);
		if (!err && end > E820_HIGH_RAM_START)
			err = e820_add(tab, max, &n, E820_HIGH_RAM_START, end - E820_HIGH_RAM_START,
				       E820_RAM);
	}
	return err ? err : (int)n;
}

/* SPDX-License-Identifier: MIT */
#include "loader/pvh.h"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "loader/e820.h"

_Static_assert(sizeof(struct pvh_start_info) == 56, "hvm_start_info, version 1");
_Static_assert(sizeof(struct pvh_modlist_entry) == 32, "hvm_modlist_entry");
_Static_assert(sizeof(struct pvh_memmap_entry) == 24, "hvm_memmap_table_entry");
_Static_assert(PVH_MEMMAP_GPA + PVH_MAX_MEMMAP * sizeof(struct pvh_memmap_entry) <=
		   PVH_START_INFO_GPA + 0x1000,
	       "the start info, its module and its memory map share one page");

/* Copy @len bytes to guest RAM at @gpa; -EFAULT unless it all lies in one RAM region. */
static int put(struct guest_mem *mem, uint64_t gpa, const void *src, size_t len)
{
	void *dst = gpa_to_hva(mem, gpa, len);

	if (!dst)
		return -EFAULT;
	memcpy(dst, src, len);
	return 0;
}

int64_t pvh_write_start_info(struct guest_mem *mem, uint64_t cmdline_gpa, uint64_t initrd_gpa,
			     uint64_t initrd_size, uint64_t rsdp_gpa)
{
	struct boot_e820_entry e820[PVH_MAX_MEMMAP];
	struct pvh_memmap_entry map[PVH_MAX_MEMMAP];
	struct pvh_start_info si;
	struct pvh_modlist_entry mod;
	int n = e820_build(mem, e820, PVH_MAX_MEMMAP);

	if (n < 0)
		return n;
	for (int i = 0; i < n; i++)
		map[i] = (struct pvh_memmap_entry){.addr = htole64(e820[i].addr),
						   .size = htole64(e820[i].size),
						   .type = htole32(e820[i].type)};
	memset(&si, 0, sizeof(si));
	si.magic = htole32(PVH_START_MAGIC);
	si.version = htole32(1);
	si.cmdline_paddr = htole64(cmdline_gpa);
	si.rsdp_paddr = htole64(rsdp_gpa);
	si.memmap_paddr = htole64(PVH_MEMMAP_GPA);
	si.memmap_entries = htole32((uint32_t)n);
	if (initrd_size) {
		mod = (struct pvh_modlist_entry){.paddr = htole64(initrd_gpa),
						 .size = htole64(initrd_size)};
		si.nr_modules = htole32(1);
		si.modlist_paddr = htole64(PVH_MODLIST_GPA);
		if (put(mem, PVH_MODLIST_GPA, &mod, sizeof(mod)) < 0)
			return -EFAULT;
	}
	if (put(mem, PVH_MEMMAP_GPA, map, (size_t)n * sizeof(map[0])) < 0 ||
	    put(mem, PVH_START_INFO_GPA, &si, sizeof(si)) < 0)
		return -EFAULT;
	return (int64_t)PVH_START_INFO_GPA;
}

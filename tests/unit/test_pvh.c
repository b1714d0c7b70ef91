/* SPDX-License-Identifier: MIT */
/* The PVH start info (loader/pvh.c): its fields, module and memory map, for several RAM sizes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <string.h>

#include "loader/e820.h"
#include "loader/pvh.h"

static void check_ram(uint64_t ram, bool initrd)
{
	struct guest_mem mem;
	struct boot_e820_entry e820[PVH_MAX_MEMMAP];
	const struct pvh_start_info *si;
	const struct pvh_modlist_entry *mod;
	const struct pvh_memmap_entry *map;
	int n;

	assert_int_equal(guest_mem_init(&mem, ram), 0);
	assert_int_equal(pvh_write_start_info(&mem, 0x20000, initrd ? 0x3000000 : 0,
					      initrd ? 123456 : 0, 0xe0000),
			 PVH_START_INFO_GPA);
	si = gpa_to_hva(&mem, PVH_START_INFO_GPA, sizeof(*si));
	assert_non_null(si);
	assert_int_equal(le32toh(si->magic), 0x336ec578);
	assert_int_equal(le32toh(si->version), 1);
	assert_int_equal(le32toh(si->flags), 0);
	assert_int_equal(le64toh(si->cmdline_paddr), 0x20000);
	assert_int_equal(le64toh(si->rsdp_paddr), 0xe0000);
	assert_int_equal(le32toh(si->reserved), 0);
	if (initrd) {
		assert_int_equal(le32toh(si->nr_modules), 1);
		assert_int_equal(le64toh(si->modlist_paddr), PVH_MODLIST_GPA);
		mod = gpa_to_hva(&mem, PVH_MODLIST_GPA, sizeof(*mod));
		assert_int_equal(le64toh(mod->paddr), 0x3000000);
		assert_int_equal(le64toh(mod->size), 123456);
		assert_int_equal(le64toh(mod->cmdline_paddr), 0);
	} else {
		assert_int_equal(le32toh(si->nr_modules), 0);
		assert_int_equal(le64toh(si->modlist_paddr), 0); /* 0: absent */
	}
	/* The memory map is the e820 the bzImage path hands over, entry for entry. */
	n = e820_build(&mem, e820, PVH_MAX_MEMMAP);
	assert_true(n >= 3);
	assert_int_equal(le32toh(si->memmap_entries), n);
	assert_int_equal(le64toh(si->memmap_paddr), PVH_MEMMAP_GPA);
	map = gpa_to_hva(&mem, PVH_MEMMAP_GPA, (size_t)n * sizeof(*map));
	assert_non_null(map);
	for (int i = 0; i < n; i++) {
		assert_int_equal(le64toh(map[i].addr), e820[i].addr);
		assert_int_equal(le64toh(map[i].size), e820[i].size);
		assert_int_equal(le32toh(map[i].type), e820[i].type);
		assert_int_equal(map[i].reserved, 0);
	}
	/* Low RAM, then the reserved BIOS area, then the rest. */
	assert_int_equal(le32toh(map[0].type), PVH_MEMMAP_RAM);
	assert_int_equal(le64toh(map[0].addr), 0);
	assert_int_equal(le32toh(map[1].type), PVH_MEMMAP_RESERVED);
	guest_mem_destroy(&mem);
}

static void test_sizes(void **state)
{
	(void)state;
	check_ram(64ull << 20, true);
	check_ram(512ull << 20, false);
	check_ram(4ull << 30, true); /* RAM on both sides of the PCI hole */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

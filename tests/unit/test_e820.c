/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "loader/e820.h"

#define MIB	    (1ULL << 20)
#define GIB	    (1ULL << 30)
#define LEGACY_HOLE (0x100000ULL - 0x9fc00ULL)

static bool inside_ram(const struct guest_mem *mem, uint64_t addr, uint64_t size)
{
	for (unsigned int i = 0; i < mem->nr_regions; i++) {
		const struct guest_mem_region *r = &mem->regions[i];

		if (addr >= r->gpa && addr + size <= r->gpa + r->size)
			return true;
	}
	return false;
}

/* Properties every map must have, whatever the RAM size. */
static void check_map(uint64_t size)
{
	struct boot_e820_entry tab[E820_MAX_ENTRIES_ZEROPAGE];
	struct guest_mem mem;
	uint64_t usable = 0;
	bool legacy_reserved = false;
	int n;

	guest_mem_layout(&mem, size);
	n = e820_build(&mem, tab, E820_MAX_ENTRIES_ZEROPAGE);
	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		assert_true(tab[i].size > 0);
		if (i > 0)
			assert_true(tab[i - 1].addr + tab[i - 1].size <= tab[i].addr);
		if (tab[i].type == E820_RAM) {
			usable += tab[i].size;
			assert_true(inside_ram(&mem, tab[i].addr, tab[i].size));
			/* No RAM in the legacy hole, the ACPI area or the PCI hole. */
			assert_false(tab[i].addr < 0x100000 && tab[i].addr + tab[i].size > 0x9fc00);
			assert_false(tab[i].addr < 4 * GIB && tab[i].addr + tab[i].size > 3 * GIB);
		} else {
			assert_int_equal(tab[i].type, E820_RESERVED);
		}
		if (tab[i].type == E820_RESERVED && tab[i].addr <= 0xe0000 &&
		    tab[i].addr + tab[i].size >= 0x100000)
			legacy_reserved = true;
	}
	assert_true(legacy_reserved);
	assert_int_equal(usable, size - LEGACY_HOLE);
	/* Conventional memory starts at 0. */
	assert_int_equal(tab[0].addr, 0);
	assert_int_equal(tab[0].type, E820_RAM);
	assert_int_equal(tab[0].size, 0x9fc00);
}

static void test_128m(void **state)
{
	(void)state;
	check_map(128 * MIB);
}

static void test_1g(void **state)
{
	(void)state;
	check_map(1 * GIB);
}

static void test_3_5g(void **state)
{
	struct boot_e820_entry tab[8];
	struct guest_mem mem;
	int n;

	(void)state;
	check_map(3 * GIB + 512 * MIB);
	guest_mem_layout(&mem, 3 * GIB + 512 * MIB);
	n = e820_build(&mem, tab, 8);
	/* Low RAM ends at 3 GiB, the remaining 512 MiB start at 4 GiB. */
	assert_int_equal(n, 4);
	assert_int_equal(tab[2].addr + tab[2].size, 3 * GIB);
	assert_int_equal(tab[3].addr, 4 * GIB);
	assert_int_equal(tab[3].size, 512 * MIB);
	assert_int_equal(tab[3].type, E820_RAM);
}

static void test_8g(void **state)
{
	struct boot_e820_entry tab[8];
	struct guest_mem mem;
	int n;

	(void)state;
	check_map(8 * GIB);
	guest_mem_layout(&mem, 8 * GIB);
	n = e820_build(&mem, tab, 8);
	assert_int_equal(n, 4);
	assert_int_equal(tab[3].addr, 4 * GIB);
	assert_int_equal(tab[3].size, 5 * GIB);
}

static void test_exact_layout_128m(void **state)
{
	struct boot_e820_entry tab[8];
	struct guest_mem mem;

	(void)state;
	guest_mem_layout(&mem, 128 * MIB);
	assert_int_equal(e820_build(&mem, tab, 8), 3);
	assert_int_equal(tab[1].addr, 0x9fc00);
	assert_int_equal(tab[1].size, 0x100000 - 0x9fc00);
	assert_int_equal(tab[1].type, E820_RESERVED);
	assert_int_equal(tab[2].addr, 0x100000);
	assert_int_equal(tab[2].size, 127 * MIB);
	assert_int_equal(tab[2].type, E820_RAM);
}

static void test_table_too_small(void **state)
{
	struct boot_e820_entry tab[3];
	struct guest_mem mem;

	(void)state;
	guest_mem_layout(&mem, 8 * GIB);
	assert_int_equal(e820_build(&mem, tab, 3), -ENOSPC);
	assert_int_equal(e820_build(&mem, tab, 0), -ENOSPC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_128m),
	    cmocka_unit_test(test_1g),
	    cmocka_unit_test(test_3_5g),
	    cmocka_unit_test(test_8g),
	    cmocka_unit_test(test_exact_layout_128m),
	    cmocka_unit_test(test_table_too_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

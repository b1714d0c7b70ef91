/* SPDX-License-Identifier: MIT */
/*
 * The 64-bit boot environment: walk the page tables the way the MMU does
 * (Intel SDM vol. 3, 4-level paging) and decode the GDT descriptors, all
 * read back from guest RAM through gpa_to_hva().
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/guest_mem.h"
#include "vmm/longmode.h"

#define PTE_P	 (1ULL << 0)
#define PTE_RW	 (1ULL << 1)
#define PTE_PS	 (1ULL << 7)
#define PTE_NX	 (1ULL << 63)
#define PTE_ADDR 0x000ffffffffff000ULL

#define RAM_SIZE (2ULL << 20)
#define GARBAGE	 0xa5

static uint8_t *ram;
static struct guest_mem mem;

static int setup_ram(void **state)
{
	(void)state;
	ram = malloc(RAM_SIZE);
	if (!ram)
		return -1;
	/* Garbage, so that a table entry left unwritten shows up. */
	memset(ram, GARBAGE, RAM_SIZE);
	memset(&mem, 0, sizeof(mem));
	guest_mem_layout(&mem, RAM_SIZE);
	mem.regions[0].hva = ram;
	return 0;
}

static int free_ram(void **state)
{
	(void)state;
	free(ram);
	return 0;
}

static uint64_t read_entry(uint64_t table, unsigned int index)
{
	uint64_t *p = gpa_to_hva(&mem, table + index * 8ULL, 8);

	assert_non_null(p);
	return *p;
}

/* Translate @va; false if some level is not present. Checks every level is writable. */
static bool walk(uint64_t va, uint64_t *pa)
{
	static const unsigned int shifts[] = {39, 30, 21, 12};
	uint64_t table = BOOT_PML4_ADDR;

	for (unsigned int level = 0; level < 4; level++) {
		uint64_t e = read_entry(table, (va >> shifts[level]) & 511);

		if (!(e & PTE_P))
			return false;
		assert_true(e & PTE_RW);
		assert_false(e & PTE_NX);
		/* Bits 51:M must be zero for any MAXPHYADDR the host may have; take M = 36. */
		assert_int_equal(e & 0x000ffff000000000ULL, 0);
		/* PS means a large page at PDPT (1 GiB) and PD (2 MiB) level only. */
		if ((level == 1 || level == 2) && (e & PTE_PS)) {
			uint64_t page = 1ULL << shifts[level];

			assert_int_equal(e & (page - 1) & PTE_ADDR, 0);
			*pa = (e & PTE_ADDR & ~(page - 1)) | (va & (page - 1));
			return true;
		}
		table = e & PTE_ADDR;
	}
	*pa = table | (va & 0xfff);
	return true;
}

static void test_identity_map_4g(void **state)
{
	static const uint64_t addrs[] = {
	    0,
	    0x1000,
	    (2ULL << 20) - 1,
	    2ULL << 20,
	    0x12345678,
	    (1ULL << 30) - 1,
	    1ULL << 30,
	    (3ULL << 30) + 5,
	    0xd0000000, /* MMIO in the hole must be mapped too */
	    (4ULL << 30) - 1,
	};
	uint64_t pa;
	(void)state;

	assert_int_equal(boot_longmode_setup(&mem), 0);
	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		print_message("va 0x%llx\n", (unsigned long long)addrs[i]);
		assert_true(walk(addrs[i], &pa));
		assert_int_equal(pa, addrs[i]);
	}
	/* Every 2 MiB frame of the 4 GiB, at a varying offset. */
	for (uint64_t va = 0; va < (4ULL << 30); va += 2ULL << 20) {
		uint64_t probe = va + ((va >> 21) * 4099) % (2ULL << 20);

		assert_true(walk(probe, &pa));
		assert_int_equal(pa, probe);
	}
	/* Nothing above 4 GiB, nor in the upper half. */
	assert_false(walk(4ULL << 30, &pa));
	assert_false(walk(512ULL << 30, &pa));
	assert_false(walk(0xffffffff80000000ULL, &pa));
	for (unsigned int i = 1; i < 512; i++)
		assert_false(read_entry(BOOT_PML4_ADDR, i) & PTE_P);
	for (unsigned int i = 4; i < 512; i++)
		assert_false(read_entry(BOOT_PDPT_ADDR, i) & PTE_P);
	/* The tables stay inside their window. */
	assert_int_equal(read_entry(BOOT_PML4_ADDR, 0) & PTE_ADDR, BOOT_PDPT_ADDR);
	for (unsigned int i = 0; i < 4; i++) {
		uint64_t pd = read_entry(BOOT_PDPT_ADDR, i) & PTE_ADDR;

		assert_true(pd >= BOOT_PD_ADDR && pd + 4096 <= BOOT_PT_END);
	}
	/* Guest RAM past the tables is untouched. */
	assert_int_equal(ram[BOOT_PT_END], GARBAGE);
	assert_int_equal(ram[RAM_SIZE - 1], GARBAGE);
}

struct descriptor {
	uint32_t base, limit;
	bool present, code_data, exec, rw, g, db, l;
	unsigned int dpl;
};

static struct descriptor decode(uint64_t d)
{
	return (struct descriptor){
	    .limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000)),
	    .base = (uint32_t)(((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000)),
	    .rw = (d >> 41) & 1,
	    .exec = (d >> 43) & 1,
	    .code_data = (d >> 44) & 1,
	    .dpl = (d >> 45) & 3,
	    .present = (d >> 47) & 1,
	    .l = (d >> 53) & 1,
	    .db = (d >> 54) & 1,
	    .g = (d >> 55) & 1,
	};
}

static uint64_t gdt_in_ram(unsigned int selector)
{
	uint64_t *p = gpa_to_hva(&mem, BOOT_GDT_ADDR + (selector & ~7U), 8);

	assert_non_null(p);
	return *p;
}

static void test_gdt(void **state)
{
	struct descriptor cs, ds;
	(void)state;

	assert_int_equal(boot_longmode_setup(&mem), 0);
	/* What is in RAM is what boot_gdt_entry() hands to the segment registers. */
	for (unsigned int sel = 0; sel <= BOOT_DS; sel += 8)
		assert_int_equal(gdt_in_ram(sel), boot_gdt_entry(sel));
	assert_int_equal(gdt_in_ram(0), 0);
	assert_int_equal(boot_gdt_entry(BOOT_DS + 8), 0);
	assert_int_equal(boot_gdt_entry(0xfff8), 0);

	cs = decode(boot_gdt_entry(BOOT_CS));
	assert_true(cs.present);
	assert_true(cs.code_data);
	assert_true(cs.exec);
	assert_true(cs.rw);  /* readable */
	assert_true(cs.l);   /* 64-bit code */
	assert_false(cs.db); /* D must be 0 when L is 1 */
	assert_int_equal(cs.dpl, 0);
	assert_int_equal(cs.base, 0);

	ds = decode(boot_gdt_entry(BOOT_DS));
	assert_true(ds.present);
	assert_true(ds.code_data);
	assert_false(ds.exec);
	assert_true(ds.rw); /* writable */
	assert_int_equal(ds.dpl, 0);
	assert_int_equal(ds.base, 0);
	/* Flat 4 GiB: full limit in 4 KiB units. */
	assert_true(ds.g);
	assert_int_equal(ds.limit, 0xfffff);
	assert_int_equal(BOOT_CS & 3, 0);
	assert_int_equal(BOOT_DS & 3, 0);
}

static void test_control_registers(void **state)
{
	(void)state;

	/* Long mode needs PE + PG, PAE, and EFER.LME (LMA as KVM expects it set). */
	assert_true(BOOT_CR0 & (1ULL << 0));
	assert_true(BOOT_CR0 & (1ULL << 31));
	assert_true(BOOT_CR4 & (1ULL << 5));
	assert_true(BOOT_EFER & (1ULL << 8));
	assert_true(BOOT_EFER & (1ULL << 10));
}

static void test_small_ram_refused(void **state)
{
	static const uint64_t sizes[] = {0, 0x1000, 0x2000, 0x6000, BOOT_PT_END - 8};
	(void)state;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		print_message("RAM 0x%llx\n", (unsigned long long)sizes[i]);
		memset(ram, GARBAGE, RAM_SIZE);
		guest_mem_layout(&mem, sizes[i]);
		mem.regions[0].hva = ram;
		assert_int_equal(boot_longmode_setup(&mem), -ENOMEM);
		/* Refused before writing anything. */
		for (size_t b = 0; b < BOOT_PT_END; b++)
			assert_int_equal(ram[b], GARBAGE);
	}
	/* Just enough RAM for the tables. */
	guest_mem_layout(&mem, BOOT_PT_END);
	mem.regions[0].hva = ram;
	assert_int_equal(boot_longmode_setup(&mem), 0);
	guest_mem_layout(&mem, RAM_SIZE);
	mem.regions[0].hva = ram;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_identity_map_4g),
	    cmocka_unit_test(test_gdt),
	    cmocka_unit_test(test_control_registers),
	    cmocka_unit_test(test_small_ram_refused),
	};

	return cmocka_run_group_tests(tests, setup_ram, free_ram);
}

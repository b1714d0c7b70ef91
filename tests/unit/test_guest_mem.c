/* SPDX-License-Identifier: MIT */
/* Guest RAM layout around the PCI hole, gpa_to_hva() bounds, and the real allocation. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/guest_mem.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

/*
 * Fake host addresses: gpa_to_hva() only does arithmetic on them, and the
 * two are far enough apart that a result can only come from one region.
 */
#define FAKE_HVA_LOW  0x100000000000ULL
#define FAKE_HVA_HIGH 0x200000000000ULL

/* What the host says about shmem THP, read independently of the code under test. */
static bool host_shmem_thp(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = 0;
		fclose(f);
	}
	return strstr(buf, "[always]") || strstr(buf, "[within_size]") || strstr(buf, "[advise]") ||
	       strstr(buf, "[force]");
}

static void layout_fake(struct guest_mem *mem, uint64_t size)
{
	memset(mem, 0, sizeof(*mem));
	guest_mem_layout(mem, size);
	mem->regions[0].hva = (uint8_t *)(uintptr_t)FAKE_HVA_LOW;
	if (mem->nr_regions > 1)
		mem->regions[1].hva = (uint8_t *)(uintptr_t)FAKE_HVA_HIGH;
}

/* The fake host address gpa_to_hva() returned, or 0 for NULL. */
static uint64_t hva(const struct guest_mem *mem, uint64_t gpa, uint64_t len)
{
	return (uint64_t)(uintptr_t)gpa_to_hva(mem, gpa, len);
}

static void test_layouts(void **state)
{
	struct guest_mem mem;
	(void)state;

	guest_mem_layout(&mem, 128 * MiB);
	assert_int_equal(mem.nr_regions, 1);
	assert_int_equal(mem.size, 128 * MiB);
	assert_int_equal(mem.regions[0].gpa, 0);
	assert_int_equal(mem.regions[0].size, 128 * MiB);

	/* Exactly the low limit: still one region, nothing above 4 GiB. */
	guest_mem_layout(&mem, GUEST_MEM_LOW_LIMIT);
	assert_int_equal(mem.nr_regions, 1);
	assert_int_equal(mem.regions[0].size, 3 * GiB);

	guest_mem_layout(&mem, 3 * GiB + 4 * KiB);
	assert_int_equal(mem.nr_regions, 2);
	assert_int_equal(mem.regions[0].gpa, 0);
	assert_int_equal(mem.regions[0].size, 3 * GiB);
	assert_int_equal(mem.regions[1].gpa, 4 * GiB);
	assert_int_equal(mem.regions[1].size, 4 * KiB);
	assert_int_equal(mem.size, 3 * GiB + 4 * KiB);

	guest_mem_layout(&mem, 8 * GiB);
	assert_int_equal(mem.nr_regions, 2);
	assert_int_equal(mem.regions[0].size, 3 * GiB);
	assert_int_equal(mem.regions[1].gpa, GUEST_MEM_HIGH_BASE);
	assert_int_equal(mem.regions[1].size, 5 * GiB);
	assert_int_equal(mem.regions[0].size + mem.regions[1].size, 8 * GiB);
	/* No RAM inside the hole. */
	assert_true(mem.regions[0].gpa + mem.regions[0].size <= GUEST_MEM_LOW_LIMIT);
	assert_true(GUEST_MEM_LOW_LIMIT < GUEST_MEM_HIGH_BASE);
}

static void test_gpa_to_hva_one_region(void **state)
{
	struct guest_mem mem;
	(void)state;

	layout_fake(&mem, 128 * MiB);
	assert_int_equal(hva(&mem, 0, 1), FAKE_HVA_LOW);
	assert_int_equal(hva(&mem, 0x1234, 8), FAKE_HVA_LOW + 0x1234);
	assert_int_equal(hva(&mem, 0, 128 * MiB), FAKE_HVA_LOW);
	assert_int_equal(hva(&mem, 128 * MiB - 1, 1), FAKE_HVA_LOW + 128 * MiB - 1);
	assert_int_equal(hva(&mem, 128 * MiB - 8, 8), FAKE_HVA_LOW + 128 * MiB - 8);
	/* One past the end, and a range running one byte past it. */
	assert_int_equal(hva(&mem, 128 * MiB, 1), 0);
	assert_int_equal(hva(&mem, 128 * MiB - 8, 9), 0);
	assert_int_equal(hva(&mem, 0, 128 * MiB + 1), 0);
	/* len 0 behaves as len 1: fine on the last byte, refused one past it. */
	assert_int_equal(hva(&mem, 128 * MiB - 1, 0), FAKE_HVA_LOW + 128 * MiB - 1);
	assert_int_equal(hva(&mem, 128 * MiB, 0), 0);
	/* Overflowing sums and absurd addresses. */
	assert_int_equal(hva(&mem, 1, UINT64_MAX), 0);
	assert_int_equal(hva(&mem, 0x1000, UINT64_MAX - 0xfff + 1), 0); /* gpa + len wraps to 0 */
	assert_int_equal(hva(&mem, 0x1000, UINT64_MAX - 0x0fff + 0x10), 0);
	assert_int_equal(hva(&mem, UINT64_MAX, 1), 0);
	assert_int_equal(hva(&mem, UINT64_MAX, 0), 0);
	assert_int_equal(hva(&mem, UINT64_MAX, UINT64_MAX), 0);
	assert_int_equal(hva(&mem, 1ULL << 63, 16), 0);
}

static void test_gpa_to_hva_two_regions(void **state)
{
	const uint64_t high_end = 4 * GiB + 5 * GiB;
	struct guest_mem mem;
	(void)state;

	layout_fake(&mem, 8 * GiB);
	assert_int_equal(hva(&mem, 3 * GiB - 1, 1), FAKE_HVA_LOW + 3 * GiB - 1);
	assert_int_equal(hva(&mem, 3 * GiB, 1), 0); /* the hole */
	assert_int_equal(hva(&mem, 3 * GiB - 1, 2), 0);
	assert_int_equal(hva(&mem, 0xd0000000, 4), 0);
	assert_int_equal(hva(&mem, 4 * GiB - 1, 1), 0);
	assert_int_equal(hva(&mem, 4 * GiB, 1), FAKE_HVA_HIGH);
	assert_int_equal(hva(&mem, 4 * GiB + 0x10, 0), FAKE_HVA_HIGH + 0x10);
	assert_int_equal(hva(&mem, high_end - 1, 1), FAKE_HVA_HIGH + 5 * GiB - 1);
	assert_int_equal(hva(&mem, high_end, 1), 0);
	assert_int_equal(hva(&mem, high_end - 16, 17), 0);
	assert_int_equal(hva(&mem, 4 * GiB, 5 * GiB), FAKE_HVA_HIGH);
	assert_int_equal(hva(&mem, 4 * GiB, 5 * GiB + 1), 0);
	/* Low end to high start is not contiguous in guest-physical space. */
	assert_int_equal(hva(&mem, 3 * GiB - 4 * KiB, 4 * GiB + 8 * KiB - 3 * GiB), 0);
	assert_int_equal(hva(&mem, 0, 9 * GiB), 0);
	assert_int_equal(hva(&mem, 4 * GiB, UINT64_MAX - 4 * GiB + 2), 0); /* wraps to 1 */
	assert_int_equal(hva(&mem, UINT64_MAX - 1, 2), 0);
}

static void test_layout_only_has_no_pointers(void **state)
{
	struct guest_mem mem;
	(void)state;

	/* A layout describes RAM; it must never hand out pointers on its own. */
	memset(&mem, 0xff, sizeof(mem));
	guest_mem_layout(&mem, 8 * GiB);
	assert_null(gpa_to_hva(&mem, 0, 1));
	assert_null(gpa_to_hva(&mem, 4 * GiB, 1));
}

static void test_init_small(void **state)
{
	struct guest_mem mem;
	uint8_t *p;
	char back[8];
	(void)state;

	assert_int_equal(guest_mem_init(&mem, 8 * MiB), 0);
	assert_non_null(mem.map);
	assert_int_equal((uintptr_t)mem.map & (2 * MiB - 1), 0);
	assert_true(mem.map_len >= 8 * MiB);
	assert_int_equal(mem.nr_regions, 1);
	assert_int_equal(mem.size, 8 * MiB);
	assert_ptr_equal(mem.regions[0].hva, mem.map);
	/* memfd exactly when this host lets shmem use huge pages. */
	assert_int_equal(mem.memfd >= 0, host_shmem_thp());

	/* RAM is zeroed, writable to its last byte, and backed by the memfd if any. */
	p = gpa_to_hva(&mem, 8 * MiB - 8, 8);
	assert_non_null(p);
	assert_ptr_equal(p, mem.map + 8 * MiB - 8);
	for (int i = 0; i < 8; i++)
		assert_int_equal(p[i], 0);
	memcpy(p, "nestvmm", 8);
	if (mem.memfd >= 0) {
		assert_int_equal(pread(mem.memfd, back, 8, (off_t)(8 * MiB - 8)), 8);
		assert_memory_equal(back, "nestvmm", 8);
	}
	assert_null(gpa_to_hva(&mem, 8 * MiB, 1));

	guest_mem_destroy(&mem);
	assert_null(mem.map);
	assert_int_equal(mem.memfd, -1);
	assert_int_equal(mem.nr_regions, 0);
	/* Destroying twice is harmless. */
	guest_mem_destroy(&mem);
}

static void test_shmem_thp_setting(void **state)
{
	(void)state;
	assert_true(guest_mem_shmem_thp("[always] within_size advise never deny force"));
	assert_true(guest_mem_shmem_thp("always within_size [advise] never deny force"));
	assert_true(guest_mem_shmem_thp("always [within_size] advise never deny force"));
	assert_false(guest_mem_shmem_thp("always within_size advise [never] deny force"));
	assert_false(guest_mem_shmem_thp("always within_size advise never [deny] force"));
	assert_false(guest_mem_shmem_thp(""));
	assert_false(guest_mem_shmem_thp(NULL));
	assert_false(guest_mem_shmem_thp("[garbage"));
}

static void test_init_two_regions(void **state)
{
	struct guest_mem mem;
	uint8_t *lo, *hi;
	(void)state;

	/* Only the pages touched here get memory; the rest stays a sparse memfd. */
	assert_int_equal(guest_mem_init(&mem, 3 * GiB + 2 * MiB), 0);
	assert_int_equal((uintptr_t)mem.map & (2 * MiB - 1), 0);
	assert_int_equal(mem.nr_regions, 2);
	lo = gpa_to_hva(&mem, 3 * GiB - 1, 1);
	hi = gpa_to_hva(&mem, 4 * GiB, 1);
	assert_non_null(lo);
	assert_non_null(hi);
	/* The high region follows the low one in the host mapping. */
	assert_ptr_equal(hi, lo + 1);
	assert_ptr_equal(mem.regions[1].hva, mem.map + 3 * GiB);
	*hi = 0x5a;
	assert_int_equal(*(mem.map + 3 * GiB), 0x5a);
	assert_non_null(gpa_to_hva(&mem, 4 * GiB + 2 * MiB - 1, 1));
	assert_null(gpa_to_hva(&mem, 4 * GiB + 2 * MiB, 1));
	assert_null(gpa_to_hva(&mem, 3 * GiB, 1));
	guest_mem_destroy(&mem);
}

static void test_init_refuses_bad_sizes(void **state)
{
	static const uint64_t bad[] = {0, 1, 4095, 4 * KiB + 1, 8 * MiB + 1, 8 * MiB - 512};
	struct guest_mem mem;
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(guest_mem_init(&mem, bad[i]), -EINVAL);
		/* A failed init leaves something guest_mem_destroy() accepts. */
		assert_null(mem.map);
		assert_int_equal(mem.memfd, -1);
		guest_mem_destroy(&mem);
	}
	/* The smallest valid size. */
	assert_int_equal(guest_mem_init(&mem, 4 * KiB), 0);
	assert_non_null(gpa_to_hva(&mem, 4 * KiB - 1, 1));
	assert_null(gpa_to_hva(&mem, 4 * KiB, 1));
	guest_mem_destroy(&mem);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_layouts),
	    cmocka_unit_test(test_gpa_to_hva_one_region),
	    cmocka_unit_test(test_gpa_to_hva_two_regions),
	    cmocka_unit_test(test_layout_only_has_no_pointers),
	    cmocka_unit_test(test_init_small),
	    cmocka_unit_test(test_init_two_regions),
	    cmocka_unit_test(test_shmem_thp_setting),
	    cmocka_unit_test(test_init_refuses_bad_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: MIT */
/* The PIO/MMIO bus: range registration rules and lookup at every boundary. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "vmm/bus.h"

static void dummy_read(void *opaque, uint64_t off, void *data, uint32_t size)
{
	(void)opaque, (void)off, (void)data, (void)size;
}

static void dummy_write(void *opaque, uint64_t off, const void *data, uint32_t size)
{
	(void)opaque, (void)off, (void)data, (void)size;
}

static const struct bus_ops ops = {dummy_read, dummy_write};

static void test_overlaps_refused(void **state)
{
	/* [0x100, 0x200) registered; each case is a second claim against it. */
	static const struct {
		uint64_t base, len;
		int expect;
	} cases[] = {
	    {0x100, 0x100, -EEXIST}, /* same */
	    {0x140, 0x10, -EEXIST},  /* inside */
	    {0x100, 0x1, -EEXIST},   /* first byte only */
	    {0x1ff, 0x1, -EEXIST},   /* last byte only */
	    {0x80, 0x200, -EEXIST},  /* containing */
	    {0xf0, 0x20, -EEXIST},   /* straddling the start */
	    {0x1f0, 0x20, -EEXIST},  /* straddling the end */
	    {0xff, 0x2, -EEXIST},    /* one byte across the start */
	    {0x1ff, 0x2, -EEXIST},   /* one byte across the end */
	    {0x80, 0x80, 0},	     /* touching below */
	    {0x200, 0x80, 0},	     /* touching above */
	};
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct bus bus;

		bus_init(&bus);
		assert_int_equal(bus_register(&bus, 0x100, 0x100, "a", &ops, NULL), 0);
		assert_int_equal(bus_register(&bus, cases[i].base, cases[i].len, "b", &ops, NULL),
				 cases[i].expect);
		/* A refused claim must leave the bus as it was. */
		assert_int_equal(bus.nr, cases[i].expect ? 1 : 2);
		bus_destroy(&bus);
	}
}

static void test_overlap_with_neighbours(void **state)
{
	struct bus bus;
	(void)state;

	/* A gap between two ranges: a claim filling the gap exactly fits, one more byte not. */
	bus_init(&bus);
	assert_int_equal(bus_register(&bus, 0x1000, 0x100, "lo", &ops, NULL), 0);
	assert_int_equal(bus_register(&bus, 0x1200, 0x100, "hi", &ops, NULL), 0);
	assert_int_equal(bus_register(&bus, 0x10ff, 0x101, "gap", &ops, NULL), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x1100, 0x101, "gap", &ops, NULL), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x0, 0x2000, "all", &ops, NULL), -EEXIST);
	assert_int_equal(bus_register(&bus, 0x1100, 0x100, "gap", &ops, NULL), 0);
	assert_int_equal(bus.nr, 3);
	bus_destroy(&bus);
}

static void test_empty_and_wrapping_refused(void **state)
{
	struct bus bus;
	(void)state;

	bus_init(&bus);
	assert_int_equal(bus_register(&bus, 0x100, 0, "empty", &ops, NULL), -EINVAL);
	assert_int_equal(bus_register(&bus, 0, 0, "empty", &ops, NULL), -EINVAL);
	assert_int_equal(bus_register(&bus, UINT64_MAX, 2, "wrap", &ops, NULL), -EINVAL);
	assert_int_equal(bus_register(&bus, 2, UINT64_MAX, "wrap", &ops, NULL), -EINVAL);
	assert_int_equal(bus_register(&bus, UINT64_MAX, UINT64_MAX, "wrap", &ops, NULL), -EINVAL);
	assert_int_equal(bus_register(&bus, UINT64_MAX - 0xf, 0x20, "wrap", &ops, NULL), -EINVAL);
	assert_int_equal(bus_register(&bus, 0x100, 0x10, "noops", NULL, NULL), -EINVAL);
	assert_int_equal(bus.nr, 0);
	assert_null(bus_find(&bus, 0));
	assert_null(bus_find(&bus, UINT64_MAX));
	/* [1, 2^64) ends exactly at UINT64_MAX: the largest range that does not wrap. */
	assert_int_equal(bus_register(&bus, 1, UINT64_MAX, "top", &ops, NULL), 0);
	assert_null(bus_find(&bus, 0));
	assert_string_equal(bus_find(&bus, UINT64_MAX)->name, "top");
	bus_destroy(&bus);
}

static void test_whole_space(void **state)
{
	struct bus bus;
	(void)state;

	/* [0, 2^64 - 1): the largest range expressible; does not wrap. */
	bus_init(&bus);
	assert_int_equal(bus_register(&bus, 0, UINT64_MAX, "all", &ops, NULL), 0);
	assert_non_null(bus_find(&bus, 0));
	assert_non_null(bus_find(&bus, UINT64_MAX - 1));
	assert_null(bus_find(&bus, UINT64_MAX));
	assert_int_equal(bus_register(&bus, UINT64_MAX, 1, "top", &ops, NULL), 0);
	assert_string_equal(bus_find(&bus, UINT64_MAX)->name, "top");
	assert_int_equal(bus_register(&bus, 5, 1, "x", &ops, NULL), -EEXIST);
	bus_destroy(&bus);
}

static void test_boundaries(void **state)
{
	static const struct {
		uint64_t base, len;
		const char *name;
	} r[] = {
	    {0x10, 0x10, "a"},
	    {0x20, 0x1, "b"}, /* adjacent to a, one byte */
	    {0x40, 0x8, "c"},
	    {0xd0000000, 0x1000, "d"},
	    {UINT64_MAX - 0xfff, 0x1000, "top"}, /* ends at UINT64_MAX */
	};
	int opaque[5];
	struct bus bus;
	(void)state;

	bus_init(&bus);
	/* Registered in reverse to exercise insertion in front. */
	for (size_t i = 5; i-- > 0;)
		assert_int_equal(
		    bus_register(&bus, r[i].base, r[i].len, r[i].name, &ops, &opaque[i]), 0);
	for (size_t i = 0; i < 5; i++) {
		uint64_t last = r[i].base + r[i].len - 1;
		const struct bus_dev *d;

		d = bus_find(&bus, r[i].base);
		assert_non_null(d);
		assert_string_equal(d->name, r[i].name);
		assert_ptr_equal(d->opaque, &opaque[i]);
		assert_int_equal(d->base, r[i].base);
		assert_int_equal(d->len, r[i].len);
		d = bus_find(&bus, last);
		assert_non_null(d);
		assert_string_equal(d->name, r[i].name);
		if (r[i].len > 2)
			assert_string_equal(bus_find(&bus, r[i].base + r[i].len / 2)->name,
					    r[i].name);
	}
	/* One before a, one past a is b, one past b, one before/past c, d, one before top. */
	assert_null(bus_find(&bus, 0));
	assert_null(bus_find(&bus, 0xf));
	assert_string_equal(bus_find(&bus, 0x20)->name, "b");
	assert_null(bus_find(&bus, 0x21));
	assert_null(bus_find(&bus, 0x3f));
	assert_null(bus_find(&bus, 0x48));
	assert_null(bus_find(&bus, 0xcfffffff));
	assert_null(bus_find(&bus, 0xd0001000));
	assert_null(bus_find(&bus, UINT64_MAX - 0x1000));
	assert_string_equal(bus_find(&bus, UINT64_MAX)->name, "top");
	bus_destroy(&bus);
}

/* xorshift64*: a fixed seed, so a failure reproduces. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

#define NR_RANGES 500

struct oracle_range {
	uint64_t base, len;
	char name[16];
};

static const struct oracle_range *oracle_find(const struct oracle_range *r, size_t n, uint64_t addr)
{
	for (size_t i = 0; i < n; i++)
		if (addr >= r[i].base && addr - r[i].base < r[i].len)
			return &r[i];
	return NULL;
}

static void test_random_against_oracle(void **state)
{
	static struct oracle_range ranges[NR_RANGES];
	size_t order[NR_RANGES], n = 0;
	struct bus bus;
	(void)state;

	/* Disjoint ranges with random gaps (sometimes none) and random lengths. */
	uint64_t next = rng() % 64;
	for (size_t i = 0; i < NR_RANGES; i++) {
		ranges[i].base = next;
		ranges[i].len = 1 + rng() % 64;
		snprintf(ranges[i].name, sizeof(ranges[i].name), "r%zu", i);
		next = ranges[i].base + ranges[i].len + (rng() % 3 ? rng() % 32 : 0);
		order[i] = i;
	}
	for (size_t i = NR_RANGES - 1; i > 0; i--) {
		size_t j = rng() % (i + 1), t = order[i];

		order[i] = order[j];
		order[j] = t;
	}

	bus_init(&bus);
	for (size_t k = 0; k < NR_RANGES; k++) {
		const struct oracle_range *r = &ranges[order[k]];

		assert_int_equal(bus_register(&bus, r->base, r->len, r->name, &ops, NULL), 0);
		n++;
		/* Every registered range refuses a clash at a random byte of it. */
		assert_int_equal(bus_register(&bus, r->base + rng() % r->len, 1, "x", &ops, NULL),
				 -EEXIST);
	}
	assert_int_equal(bus.nr, n);
	for (size_t i = 1; i < bus.nr; i++)
		assert_true(bus.devs[i - 1].base + bus.devs[i - 1].len <= bus.devs[i].base);

	for (unsigned int k = 0; k < 100000; k++) {
		uint64_t addr = rng() % (next + 64);
		const struct oracle_range *want = oracle_find(ranges, NR_RANGES, addr);
		const struct bus_dev *got = bus_find(&bus, addr);

		if (!want) {
			assert_null(got);
			continue;
		}
		assert_non_null(got);
		assert_string_equal(got->name, want->name);
	}
	/* And every boundary, where off-by-ones live. */
	for (size_t i = 0; i < NR_RANGES; i++) {
		uint64_t probes[] = {ranges[i].base - 1, ranges[i].base,
				     ranges[i].base + ranges[i].len - 1,
				     ranges[i].base + ranges[i].len};

		for (size_t p = 0; p < 4; p++) {
			const struct oracle_range *want = oracle_find(ranges, NR_RANGES, probes[p]);
			const struct bus_dev *got = bus_find(&bus, probes[p]);

			if (want)
				assert_string_equal(got ? got->name : "(null)", want->name);
			else
				assert_null(got);
		}
	}
	bus_destroy(&bus);
	assert_int_equal(bus.nr, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_overlaps_refused),
	    cmocka_unit_test(test_overlap_with_neighbours),
	    cmocka_unit_test(test_empty_and_wrapping_refused),
	    cmocka_unit_test(test_whole_space),
	    cmocka_unit_test(test_boundaries),
	    cmocka_unit_test(test_random_against_oracle),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

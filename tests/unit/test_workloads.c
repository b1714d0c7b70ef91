/* SPDX-License-Identifier: MIT */
/* The workload table and the --workload list parser. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bench/workloads.h"

static int parse(const char *list, uint32_t *ids, size_t max, char *bad, size_t bad_len)
{
	memset(bad, 0x7f, bad_len);
	bad[bad_len - 1] = '\0';
	return bench_parse_workloads(list, ids, max, bad, bad_len);
}

static void test_table_round_trips(void **state)
{
	const struct bench_workload_info *w;
	bool seen[BENCH_W_COUNT] = {false};
	size_t nr;
	(void)state;

	w = bench_workloads(&nr);
	assert_non_null(w);
	assert_true(nr > 0);
	for (size_t i = 0; i < nr; i++) {
		print_message("workload %s\n", w[i].name);
		assert_true(w[i].id > BENCH_W_NONE && w[i].id < BENCH_W_COUNT);
		assert_false(seen[w[i].id]);
		seen[w[i].id] = true;
		assert_ptr_equal(bench_workload_by_id(w[i].id), &w[i]);
		assert_ptr_equal(bench_workload_by_name(w[i].name), &w[i]);
		/* Names must survive the list parser: short, no separator, not "all". */
		assert_true(strlen(w[i].name) > 0 && strlen(w[i].name) < 32);
		assert_null(strchr(w[i].name, ','));
		assert_string_not_equal(w[i].name, "all");
		assert_true(w[i].cpl == 0 || w[i].cpl == 3);
		assert_true(w[i].max_iters >= 1);
		assert_non_null(w[i].what);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(w[i].name, w[j].name);
	}
	/* Every workload the guest implements is reachable from the command line. */
	for (uint32_t id = BENCH_W_NONE + 1; id < BENCH_W_COUNT; id++) {
		print_message("id %u\n", id);
		assert_true(seen[id]);
	}
	assert_null(bench_workload_by_id(BENCH_W_NONE));
	assert_null(bench_workload_by_id(BENCH_W_COUNT));
	assert_null(bench_workload_by_id(UINT32_MAX));
	assert_null(bench_workload_by_name(""));
	assert_null(bench_workload_by_name("all"));
	assert_null(bench_workload_by_name("cpuid "));
	assert_null(bench_workload_by_name("bogus"));
}

static void test_parse_single_and_several(void **state)
{
	uint32_t ids[BENCH_MAX_WORKLOADS];
	char bad[64];
	(void)state;

	assert_int_equal(parse("cpuid", ids, BENCH_MAX_WORKLOADS, bad, sizeof(bad)), 1);
	assert_int_equal(ids[0], BENCH_W_CPUID);

	assert_int_equal(parse("pio,fib,cpuid", ids, BENCH_MAX_WORKLOADS, bad, sizeof(bad)), 3);
	assert_int_equal(ids[0], BENCH_W_PIO);
	assert_int_equal(ids[1], BENCH_W_FIB);
	assert_int_equal(ids[2], BENCH_W_CPUID);

	/* Prefixes of longer names are distinct names. */
	assert_int_equal(parse("pio-ioeventfd,pio", ids, BENCH_MAX_WORKLOADS, bad, sizeof(bad)), 2);
	assert_int_equal(ids[0], BENCH_W_PIO_IOEVENTFD);
	assert_int_equal(ids[1], BENCH_W_PIO);

	/* Repeats are allowed (and run twice). */
	assert_int_equal(parse("fib,fib", ids, BENCH_MAX_WORKLOADS, bad, sizeof(bad)), 2);
	assert_int_equal(ids[0], BENCH_W_FIB);
	assert_int_equal(ids[1], BENCH_W_FIB);

	/* The self-test is not in the default set but can be named. */
	assert_int_equal(parse("fault", ids, BENCH_MAX_WORKLOADS, bad, sizeof(bad)), 1);
	assert_int_equal(ids[0], BENCH_W_FAULT);

	/* Every workload parses as itself. */
	size_t nr;
	const struct bench_workload_info *w = bench_workloads(&nr);

	for (size_t i = 0; i < nr; i++) {
		assert_int_equal(parse(w[i].name, ids, BENCH_MAX_WORKLOADS, bad, sizeof(bad)), 1);
		assert_int_equal(ids[0], w[i].id);
	}
}

static void test_parse_all(void **state)
{
	uint32_t ids[BENCH_MAX_WORKLOADS];
	char bad[64];
	size_t nr, nr_default = 0;
	const struct bench_workload_info *w = bench_workloads(&nr);
	int n;
	(void)state;

	n = parse("all", ids, BENCH_MAX_WORKLOADS, bad, sizeof(bad));
	for (size_t i = 0; i < nr; i++) {
		if (!w[i].in_default)
			continue;
		assert_true((size_t)n > nr_default);
		assert_int_equal(ids[nr_default], w[i].id);
		nr_default++;
	}
	assert_int_equal(n, nr_default);
	assert_true(nr_default > 0);
	for (int i = 0; i < n; i++)
		assert_int_not_equal(ids[i], BENCH_W_FAULT);

	/* "all" mixes with names. */
	n = parse("fault,all", ids, BENCH_MAX_WORKLOADS, bad, sizeof(bad));
	assert_int_equal(n, nr_default + 1);
	assert_int_equal(ids[0], BENCH_W_FAULT);

	/* One slot short of the default set. */
	assert_int_equal(parse("all", ids, nr_default - 1, bad, sizeof(bad)), -E2BIG);
	assert_int_equal(parse("all", ids, nr_default, bad, sizeof(bad)), (int)nr_default);
}

static void test_parse_unknown(void **state)
{
	uint32_t ids[BENCH_MAX_WORKLOADS];
	char bad[64];
	(void)state;

	assert_int_equal(parse("bogus", ids, BENCH_MAX_WORKLOADS, bad, sizeof(bad)), -EINVAL);
	assert_string_equal(bad, "bogus");
	assert_int_equal(parse("cpuid,nope,pio", ids, BENCH_MAX_WORKLOADS, bad, sizeof(bad)),
			 -EINVAL);
	assert_string_equal(bad, "nope");
	assert_int_equal(parse("CPUID", ids, BENCH_MAX_WORKLOADS, bad, sizeof(bad)), -EINVAL);
	assert_string_equal(bad, "CPUID");
	assert_int_equal(parse("cpuid ", ids, BENCH_MAX_WORKLOADS, bad, sizeof(bad)), -EINVAL);
	assert_string_equal(bad, "cpuid ");

	/* A name longer than any workload, reported (truncated to the buffer). */
	assert_int_equal(parse("cpuid,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", ids,
			       BENCH_MAX_WORKLOADS, bad, sizeof(bad)),
			 -EINVAL);
	assert_true(strncmp(bad, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 32) == 0);
	assert_true(strlen(bad) < sizeof(bad));

	/* A small report buffer is filled, terminated and not overrun. */
	char guard[8];
	struct {
		char buf[4];
		char after[8];
	} s;
	memset(s.after, 0x55, sizeof(s.after));
	memset(guard, 0x55, sizeof(guard));
	assert_int_equal(
	    bench_parse_workloads("bogusname", ids, BENCH_MAX_WORKLOADS, s.buf, sizeof(s.buf)),
	    -EINVAL);
	assert_string_equal(s.buf, "bog");
	assert_memory_equal(s.after, guard, sizeof(guard));
}

static void test_parse_empty_elements(void **state)
{
	static const char *const bad_lists[] = {
	    "", ",", ",,", "cpuid,", ",cpuid", "cpuid,,pio", "all,", ",all",
	};
	uint32_t ids[BENCH_MAX_WORKLOADS];
	char bad[64];
	(void)state;

	for (size_t i = 0; i < sizeof(bad_lists) / sizeof(bad_lists[0]); i++) {
		print_message("list \"%s\"\n", bad_lists[i]);
		assert_int_equal(parse(bad_lists[i], ids, BENCH_MAX_WORKLOADS, bad, sizeof(bad)),
				 -EINVAL);
		/* Whatever is reported is a terminated string of the buffer. */
		assert_true(strlen(bad) < sizeof(bad));
	}
	assert_int_equal(bench_parse_workloads(NULL, ids, BENCH_MAX_WORKLOADS, bad, sizeof(bad)),
			 -EINVAL);
}

static void test_parse_too_many(void **state)
{
	uint32_t ids[BENCH_MAX_WORKLOADS + 1];
	char list[(BENCH_MAX_WORKLOADS + 1) * 6 + 1] = "";
	char bad[64];
	(void)state;

	/* Exactly BENCH_MAX_WORKLOADS fit; one more does not. */
	for (int i = 0; i < BENCH_MAX_WORKLOADS; i++)
		strcat(list, i ? ",fib" : "fib");
	assert_int_equal(parse(list, ids, BENCH_MAX_WORKLOADS, bad, sizeof(bad)),
			 BENCH_MAX_WORKLOADS);
	strcat(list, ",fib");
	ids[BENCH_MAX_WORKLOADS] = 0xabcd;
	assert_int_equal(parse(list, ids, BENCH_MAX_WORKLOADS, bad, sizeof(bad)), -E2BIG);
	assert_int_equal(ids[BENCH_MAX_WORKLOADS], 0xabcd);

	assert_int_equal(parse("cpuid,pio,fib", ids, 2, bad, sizeof(bad)), -E2BIG);
	assert_int_equal(parse("cpuid", ids, 0, bad, sizeof(bad)), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_round_trips),
	    cmocka_unit_test(test_parse_single_and_several),
	    cmocka_unit_test(test_parse_all),
	    cmocka_unit_test(test_parse_unknown),
	    cmocka_unit_test(test_parse_empty_elements),
	    cmocka_unit_test(test_parse_too_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

// SPDX-License-Identifier: MIT
/*
 * The bench guest's compute kernels against independent reference
 * implementations: a sieve, iterative Fibonacci and the memsweep loop as
 * published (32-bit unsigned index, one pass).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "bench/guest/compute.h"
#include "bench/guest/protocol.h"

static uint64_t sieve_count(uint32_t limit)
{
	uint8_t *composite = calloc(limit + 1, 1);
	uint64_t count = 0;

	assert_non_null(composite);
	for (uint32_t n = 2; n < limit; n++) {
		if (composite[n])
			continue;
		count++;
		for (uint64_t m = (uint64_t)n * n; m < limit; m += n)
			composite[m] = 1;
	}
	free(composite);
	return count;
}

static void test_countprimes_matches_sieve(void **state)
{
	static const uint32_t limits[] = {0, 1, 2, 3, 4, 5, 10, 11, 100, 9973, 10000, 10007};

	(void)state;
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		assert_int_equal(bench_countprimes(limits[i]), sieve_count(limits[i]));
}

static uint64_t fib_iterative(uint32_t n)
{
	uint64_t a = 1, b = 1; /* fib(0), fib(1) */

	for (uint32_t i = 1; i < n; i++) {
		uint64_t c = a + b;

		a = b;
		b = c;
	}
	return b;
}

static void test_fib_matches_iterative(void **state)
{
	(void)state;
	for (uint32_t n = 0; n <= 25; n++)
		assert_int_equal(bench_fib(n), fib_iterative(n));
}

static void test_loops_return_last_iteration(void **state)
{
	(void)state;
	assert_int_equal(bench_countprimes_loop(0), 0);
	assert_int_equal(bench_countprimes_loop(3), sieve_count(BENCH_COUNTPRIMES_LIMIT));
	assert_int_equal(bench_fib_loop(0), 0);
	assert_int_equal(bench_fib_loop(2), fib_iterative(BENCH_FIB_N));
}

/* The published loop: unsigned i, so 4096 * i wraps at 2^32. */
static void memsweep_reference(volatile uint8_t *large, uint32_t start, uint32_t count)
{
	const uint32_t s = (uint32_t)BENCH_SWEEP_SIZE;

	for (uint32_t i = start; i < start + count; i++)
		large[(4096 * i + i) % s] = 1 + large[i % s];
}

static void test_memsweep_chunks_match_reference(void **state)
{
	/* Starts where 4097 * i passes 2^32 too, where the wrap matters. */
	static const uint32_t starts[] = {0, 1048000};
	uint8_t *got = malloc(BENCH_SWEEP_SIZE), *want = malloc(BENCH_SWEEP_SIZE);

	(void)state;
	assert_non_null(got);
	assert_non_null(want);
	for (size_t k = 0; k < sizeof(starts) / sizeof(starts[0]); k++) {
		for (uint64_t i = 0; i < BENCH_SWEEP_SIZE; i++)
			got[i] = want[i] = (uint8_t)(i * 7 + k);
		/* Three tries of 1, 2 and 4 thousand steps, as the guest runs them. */
		uint64_t at = starts[k];

		for (uint64_t n = 1000; n <= 4000; n *= 2) {
			bench_memsweep(got, at, n);
			at += n;
		}
		memsweep_reference(want, starts[k], 7000);
		assert_memory_equal(got, want, BENCH_SWEEP_SIZE);
	}
	free(got);
	free(want);
}

static void test_memsweep_warm_keeps_contents(void **state)
{
	uint8_t *large = malloc(BENCH_SWEEP_SIZE), *copy = malloc(BENCH_SWEEP_SIZE);

	(void)state;
	assert_non_null(large);
	assert_non_null(copy);
	for (uint64_t i = 0; i < BENCH_SWEEP_SIZE; i++)
		large[i] = copy[i] = (uint8_t)(i * 13 + 5);
	bench_memsweep_warm(large);
	assert_memory_equal(large, copy, BENCH_SWEEP_SIZE);
	free(large);
	free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_countprimes_matches_sieve),
	    cmocka_unit_test(test_fib_matches_iterative),
	    cmocka_unit_test(test_loops_return_last_iteration),
	    cmocka_unit_test(test_memsweep_chunks_match_reference),
	    cmocka_unit_test(test_memsweep_warm_keeps_contents),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

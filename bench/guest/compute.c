// SPDX-License-Identifier: MIT
/*
 * Compute kernels, shared verbatim by the bench guest and the host. Only
 * asm barriers keep the compiler from hoisting or folding the work; the
 * loops themselves are left for it to optimise as usual, identically in
 * both builds (same flags, see meson.build).
 */
#include "bench/guest/compute.h"
#include "bench/guest/protocol.h"

/* Makes v unknown to the compiler without costing an instruction. */
#define OPAQUE(v) __asm__("" : "+r"(v))

uint64_t bench_countprimes(uint32_t limit)
{
	uint64_t count = limit > 2 ? 1 : 0; /* 2, the only even prime */

	for (uint32_t n = 3; n < limit; n += 2) {
		uint64_t prime = 1;

		for (uint32_t i = 3; i * i <= n; i += 2) {
			if (n % i == 0) {
				prime = 0;
				break;
			}
		}
		count += prime;
	}
	return count;
}

uint64_t bench_fib(uint32_t n)
{
	if (n <= 1)
		return 1;
	return bench_fib(n - 1) + bench_fib(n - 2);
}

void bench_memsweep(volatile uint8_t *large, uint64_t start, uint64_t count)
{
	const uint64_t mask = BENCH_SWEEP_SIZE - 1; /* a power of two: % is & */

	for (uint64_t i = start; i < start + count; i++)
		large[(4096 * i + i) & mask] = 1 + large[i & mask];
}

void bench_memsweep_warm(volatile uint8_t *large)
{
	for (uint64_t off = 0; off < BENCH_SWEEP_SIZE; off += 4096)
		large[off] = large[off];
}

uint64_t bench_countprimes_loop(uint64_t iters)
{
	uint64_t last = 0;

	for (uint64_t k = 0; k < iters; k++) {
		uint32_t limit = BENCH_COUNTPRIMES_LIMIT;

		OPAQUE(limit);
		last = bench_countprimes(limit);
		OPAQUE(last);
	}
	return last;
}

uint64_t bench_fib_loop(uint64_t iters)
{
	uint64_t last = 0;

	for (uint64_t k = 0; k < iters; k++) {
		uint32_t n = BENCH_FIB_N;

		OPAQUE(n);
		last = bench_fib(n);
		OPAQUE(last);
	}
	return last;
}

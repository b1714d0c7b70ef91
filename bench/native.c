/* SPDX-License-Identifier: MIT */
#include "bench/native.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <x86intrin.h>

#include "bench/guest/compute.h"
#include "bench/guest/protocol.h"

#define HUGE_2M (2ULL << 20)

/*
 * The memsweep array, 2 MiB aligned; advised for huge pages or against them
 * to mirror the guest's 2 MiB and 4 KiB mappings.
 */
static uint8_t *sweep_alloc(bool huge, void **base, size_t *len)
{
	size_t l = BENCH_SWEEP_SIZE + HUGE_2M;
	uint8_t *p = mmap(NULL, l, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint8_t *a;

	if (p == MAP_FAILED)
		return NULL;
	a = (uint8_t *)(((uintptr_t)p + HUGE_2M - 1) & ~(uintptr_t)(HUGE_2M - 1));
	madvise(a, BENCH_SWEEP_SIZE, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
	bench_memsweep_warm(a); /* touch every page before timing, as the guest does */
	*base = p;
	*len = l;
	return a;
}

static uint64_t run_once(uint32_t id, uint8_t *sweep, uint64_t *sweep_pos, uint64_t iters,
			 uint64_t *value)
{
	uint64_t t0, t1, v = 0;

	_mm_lfence();
	t0 = __rdtsc();
	_mm_lfence();
	switch (id) {
	/* the guest's own loops, from the same compute.c */
	case BENCH_W_COUNTPRIMES:
		v = bench_countprimes_loop(iters);
		break;
	case BENCH_W_FIB:
		v = bench_fib_loop(iters);
		break;
	default:
		bench_memsweep(sweep, *sweep_pos, iters);
		*sweep_pos += iters;
		v = sweep[0];
		break;
	}
	_mm_lfence();
	t1 = __rdtsc();
	*value = v;
	return t1 - t0;
}

int bench_native_run(uint32_t id, uint64_t min_cycles, uint64_t start_iters, uint64_t max_iters,
		     struct bench_native *out)
{
	uint8_t *sweep = NULL;
	void *base = NULL;
	size_t len = 0;
	uint64_t pos = 0, iters = start_iters ? start_iters : 1;

	switch (id) {
	case BENCH_W_COUNTPRIMES:
	case BENCH_W_FIB:
		break;
	case BENCH_W_MEMSWEEP_4K:
	case BENCH_W_MEMSWEEP_2M:
		sweep = sweep_alloc(id == BENCH_W_MEMSWEEP_2M, &base, &len);
		if (!sweep)
			return -ENOMEM;
		break;
	default:
		return -EINVAL;
	}
	for (;;) {
		uint64_t cycles = run_once(id, sweep, &pos, iters, &out->value);

		out->iters = iters;
		out->cycles = cycles;
		if (cycles >= min_cycles || iters > max_iters / 2)
			break;
		iters *= 2;
	}
	if (base)
		munmap(base, len);
	return 0;
}

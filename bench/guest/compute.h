/* SPDX-License-Identifier: MIT */
/*
 * The compute kernels of the bench guest. The same compute.c is built into
 * the guest and into nestvmm, so the VM/native ratio compares one algorithm
 * run in two places. Freestanding: no libc, fixed-size types only.
 */
#ifndef NESTVMM_BENCH_COMPUTE_H
#define NESTVMM_BENCH_COMPUTE_H

#include <stdint.h>

#define BENCH_COUNTPRIMES_LIMIT 10000 /* one countprimes iteration; 1229 primes */
#define BENCH_FIB_N		20    /* one fib iteration; fib(20) = 10946 */

/* Primes below limit, by trial division by odd i while i * i <= n. */
uint64_t bench_countprimes(uint32_t limit);

/* Naive recursion, fib(n <= 1) = 1. */
uint64_t bench_fib(uint32_t n);

/*
 * Steps start .. start + count - 1 of the memsweep loop over large[0 ..
 * BENCH_SWEEP_SIZE - 1]: large[(4096 * i + i) % S] = 1 + large[i % S].
 */
void bench_memsweep(volatile uint8_t *large, uint64_t start, uint64_t count);

/*
 * Touches (reads and writes back) every 4 KiB page of large[] once, so that
 * the timed sweeps that follow measure the steady state and not the first
 * touch of each page (a page fault, a shadow page table fill under a
 * page-table based hypervisor). Leaves the contents as they were.
 */
void bench_memsweep_warm(volatile uint8_t *large);

/*
 * iters iterations of bench_countprimes(BENCH_COUNTPRIMES_LIMIT) and of
 * bench_fib(BENCH_FIB_N): every iteration really runs (the argument is
 * opaque to the compiler). Returns the last iteration's result, 0 if none.
 */
uint64_t bench_countprimes_loop(uint64_t iters);
uint64_t bench_fib_loop(uint64_t iters);

#endif

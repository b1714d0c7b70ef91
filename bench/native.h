/* SPDX-License-Identifier: MIT */
/*
 * The compute workloads run on the host, in this process, with the same C
 * code the guest runs (bench/guest/compute.c) and the same growth rule, so
 * the table can show VM/native in one run.
 */
#ifndef NESTVMM_BENCH_NATIVE_H
#define NESTVMM_BENCH_NATIVE_H

#include <stdint.h>

struct bench_native {
	uint64_t iters;
	uint64_t cycles;
	uint64_t value;
};

/*
 * Run compute workload @id natively: start at @start_iters, double until a
 * run takes at least @min_cycles TSC cycles or would exceed @max_iters.
 * Returns 0, -EINVAL for a workload that is not pure compute, -ENOMEM.
 */
int bench_native_run(uint32_t id, uint64_t min_cycles, uint64_t start_iters, uint64_t max_iters,
		     struct bench_native *out);

#endif

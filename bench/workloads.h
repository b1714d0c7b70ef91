/* SPDX-License-Identifier: MIT */
/* The bench guest's workloads as the host names and labels them. */
#ifndef NESTVMM_BENCH_WORKLOADS_H
#define NESTVMM_BENCH_WORKLOADS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/guest/protocol.h"

/*
 * Where a workload's measured loop runs: in the bench guest itself, in the
 * bench guest acting as a hypervisor (CPL0, its SVM/VMX instructions), or
 * in the inner guest that hypervisor runs (one level further down).
 */
enum bench_level { BENCH_LEVEL_GUEST = 0, BENCH_LEVEL_HYPERVISOR, BENCH_LEVEL_INNER };

struct bench_workload_info {
	uint32_t id;	    /* enum bench_workload */
	const char *name;   /* as typed on the command line */
	unsigned int cpl;   /* privilege level the measured loop runs at */
	uint64_t max_iters; /* cap, so that emulated or exit-heavy loops end */
	bool compute;	    /* pure compute: also run natively for the VM/native ratio */
	bool in_default;    /* part of `nestvmm bench` without --workload */
	const char *what;   /* one line for --help */
	enum bench_level level;
};

/* "guest", "hypervisor", "inner guest". */
const char *bench_level_name(enum bench_level level);
/* Whether @id is one of the hypervisor workloads (svm-*). */
bool bench_workload_is_svm(uint32_t id);

/* NULL for an unknown id. */
const struct bench_workload_info *bench_workload_by_id(uint32_t id);
/* Whether @id reads from the bench VM's virtio-blk disk (one iteration = one I/O). */
bool bench_workload_uses_disk(uint32_t id);
/* NULL for an unknown name. */
const struct bench_workload_info *bench_workload_by_name(const char *name);
/* All workloads, in table order; *nr receives their count. */
const struct bench_workload_info *bench_workloads(size_t *nr);

/*
 * Parse a comma-separated workload list ("cpuid,pio,fib"; "all" = the
 * default set) into @ids. Returns the count, or -EINVAL with *bad pointing at
 * the unknown name (copied to @bad_buf), -E2BIG when there are too many.
 */
int bench_parse_workloads(const char *list, uint32_t *ids, size_t max, char *bad_buf,
			  size_t bad_len);

#endif

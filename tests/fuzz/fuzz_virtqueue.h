/* SPDX-License-Identifier: MIT */
/* The virtqueue fuzz target, shared by the libFuzzer binary and the replay test. */
#ifndef NESTVMM_TESTS_FUZZ_VIRTQUEUE_H
#define NESTVMM_TESTS_FUZZ_VIRTQUEUE_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the inputs led to, so the replay can show it reached the deep paths. */
struct fuzz_virtqueue_stats {
	unsigned long enable_refused;
	unsigned long good_chains;
	unsigned long bad_chains;
	unsigned long broken;
	unsigned long notifies;
};

extern struct fuzz_virtqueue_stats fuzz_virtqueue_stats;

#endif

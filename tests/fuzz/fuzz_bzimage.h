/* SPDX-License-Identifier: MIT */
/* The bzImage loader's fuzz target, shared by the libFuzzer binary and the replay test. */
#ifndef NESTVMM_TESTS_FUZZ_BZIMAGE_H
#define NESTVMM_TESTS_FUZZ_BZIMAGE_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* What the inputs led to, so the replay can show it reached the deep paths. */
struct fuzz_bzimage_stats {
	unsigned long loaded;	   /* accepted and placed */
	unsigned long with_initrd; /* ... with an initrd */
	unsigned long refused;	   /* refused with a reason */
	unsigned long past_magic;  /* refused after the boot flag and HdrS were right */
};

extern struct fuzz_bzimage_stats fuzz_bzimage_stats;

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Buffers for the fuzz targets that hand hostile lengths to the code under
 * test: each is alone in its pages with a PROT_NONE page before and after,
 * so that an access one byte past either end faults (ASan cannot see into
 * an mmap).
 */
#ifndef NESTVMM_FUZZ_GUARD_H
#define NESTVMM_FUZZ_GUARD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* Map @n buffers of @bytes (a multiple of the page size) into @slot[]; traps on failure. */
static inline void fuzz_guarded_slots(uint8_t **slot, unsigned int n, size_t bytes)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t stride = bytes + page;
	uint8_t *map = mmap(NULL, stride * n + page, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (map == MAP_FAILED)
		__builtin_trap();
	for (unsigned int i = 0; i < n; i++) {
		slot[i] = map + page + stride * i;
		if (mprotect(slot[i], bytes, PROT_READ | PROT_WRITE))
			__builtin_trap();
	}
}

#endif

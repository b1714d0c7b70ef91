/* SPDX-License-Identifier: MIT */
/* The ELF fuzz target's outcome counters, for its replay. */
#ifndef NESTVMM_TESTS_FUZZ_ELF_H
#define NESTVMM_TESTS_FUZZ_ELF_H

struct fuzz_elf_stats {
	unsigned long not_elf; /* refused before the program headers */
	unsigned long refused; /* refused at a program header, segment or note */
	unsigned long loaded;  /* parsed, no PVH note */
	unsigned long pvh;     /* parsed, with a PVH entry */
};

extern struct fuzz_elf_stats fuzz_elf_stats;

#endif

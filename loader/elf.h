/* SPDX-License-Identifier: MIT */
/*
 * ELF64 kernel images (a vmlinux, or the payload of a bzImage once
 * decompressed): their load segments and the PVH entry point that the Xen
 * ELF note XEN_ELFNOTE_PHYS32_ENTRY announces (the PVH boot ABI: 32-bit
 * protected mode, paging off, %ebx the hvm_start_info). Purely buffer
 * based; every field of the file is untrusted and checked here, so that a
 * loader only ever copies segments that lie in the file and do not overlap.
 */
#ifndef NESTVMM_LOADER_ELF_H
#define NESTVMM_LOADER_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most PT_LOAD segments accepted (a Linux vmlinux has 4 or 5). */
#define ELF_MAX_LOADS 16
/* The most program headers looked at. */
#define ELF_MAX_PHDRS 64

#define XEN_ELFNOTE_PHYS32_ENTRY 18

struct elf_load {
	uint64_t paddr;	 /* where it goes in guest-physical memory */
	uint64_t offset; /* where its bytes are in the file */
	uint64_t filesz; /* bytes copied from the file */
	uint64_t memsz;	 /* bytes it spans; the rest after filesz is zeroed */
};

struct elf_image {
	struct elf_load load[ELF_MAX_LOADS];
	unsigned int nload;
	uint64_t paddr_lo, paddr_hi; /* [lo, hi): every segment lies in it */
	bool has_pvh;
	uint32_t pvh_entry; /* guest-physical, inside a segment's file bytes */
};

/*
 * Take the ELF64 image @img of @len bytes apart into @out. Refused, with
 * one line in *@why: not ELF, not 64-bit little-endian x86-64, not an
 * executable (ET_EXEC), a program header table outside the file or of an
 * entry size other than 56, more than ELF_MAX_PHDRS headers or
 * ELF_MAX_LOADS segments, a segment whose bytes lie outside the file, whose
 * file size exceeds its memory size, whose end overflows, or that overlaps
 * another, no segment at all, a note that runs past its segment, a PVH
 * entry note of another size than 4 or 8 bytes, above 4 GiB, or outside
 * the segments' file bytes. Returns 0 or -EINVAL.
 */
int elf_parse(const uint8_t *img, size_t len, struct elf_image *out, const char **why);

#endif

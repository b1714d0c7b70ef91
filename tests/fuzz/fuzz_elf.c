/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for ELF64 kernel images (loader/elf.c). The input is the
 * image; most of the time a plausible ELF header and program header table
 * are laid over its start (the fields taken from the input), so that the
 * segment and note checks are reached. Every promise is checked on a
 * parsed image: its segments lie in the file, fit their memory size, do not
 * overlap and lie in [paddr_lo, paddr_hi); a PVH entry lies in a segment's
 * file bytes. The image ends at a guard page.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "loader/elf.h"
#include "tests/fuzz/fuzz_elf.h"
#include "tests/fuzz/fuzz_guard.h"

#define SLOT_BYTES 0x10000u

struct fuzz_elf_stats fuzz_elf_stats;

static uint8_t *slot[1];

static void check(const uint8_t *img, size_t len, const struct elf_image *e)
{
	bool in = !e->has_pvh;

	if (e->nload == 0 || e->nload > ELF_MAX_LOADS)
		__builtin_trap();
	for (unsigned int i = 0; i < e->nload; i++) {
		const struct elf_load *l = &e->load[i];

		if (l->offset > len || l->filesz > len - l->offset || l->filesz > l->memsz ||
		    l->paddr < e->paddr_lo || l->paddr + l->memsz > e->paddr_hi ||
		    l->paddr + l->memsz < l->paddr)
			__builtin_trap();
		for (unsigned int j = 0; j < i; j++) {
			const struct elf_load *o = &e->load[j];

			if (l->paddr < o->paddr + o->memsz && o->paddr < l->paddr + l->memsz)
				__builtin_trap();
		}
		if (e->has_pvh && e->pvh_entry >= l->paddr && e->pvh_entry - l->paddr < l->filesz)
			in = true;
	}
	if (!in)
		__builtin_trap();
	(void)img;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len = size < SLOT_BYTES ? size : SLOT_BYTES;
	struct elf_image e;
	const char *why = NULL;
	uint8_t *img;
	int r;

	if (!slot[0])
		fuzz_guarded_slots(slot, 1, SLOT_BYTES);
	img = slot[0] + SLOT_BYTES - len;
	memcpy(img, data, len);
	/* The first byte chooses: a plausible header (odd) or the bytes as they are. */
	if (len >= 64 && (data[0] & 1)) {
		memcpy(img, "\177ELF\2\1\1", 7);
		img[16] = 2; /* ET_EXEC */
		img[17] = 0;
		img[18] = 62; /* EM_X86_64 */
		img[19] = 0;
		img[54] = 56; /* e_phentsize */
		img[55] = 0;
		img[57] = 0;		/* e_phnum < 256 */
		memset(img + 36, 0, 4); /* e_phoff < 4 GiB */
		if (data[0] & 2) {	/* the table right after the header */
			memset(img + 32, 0, 8);
			img[32] = 64;
		}
		/* ... and its first entry a load segment of the file's first half. */
		if ((data[0] & 6) == 6 && len >= 120) {
			uint64_t filesz = len / 2, memsz = filesz + ((uint64_t)data[1] << 4);

			memset(img + 64, 0, 4);
			img[64] = 1; /* PT_LOAD */
			memset(img + 64 + 8, 0, 8);
			memset(img + 64 + 28, 0, 4); /* paddr below 4 GiB */
			for (int i = 0; i < 8; i++) {
				img[64 + 32 + i] = (uint8_t)(filesz >> (8 * i));
				img[64 + 40 + i] = (uint8_t)(memsz >> (8 * i));
			}
		}
	}
	r = elf_parse(img, len, &e, &why);
	if (r == 0) {
		check(img, len, &e);
		if (e.has_pvh)
			fuzz_elf_stats.pvh++;
		else
			fuzz_elf_stats.loaded++;
	} else {
		if (!why || !*why)
			__builtin_trap();
		if (len < 64 || memcmp(img, "\177ELF\2\1\1", 7))
			fuzz_elf_stats.not_elf++;
		else
			fuzz_elf_stats.refused++;
	}
	return 0;
}

/* SPDX-License-Identifier: MIT */
/*
 * The ELF fuzz target's replay: edge inputs whose outcome is known and the
 * verdict on what the random inputs reached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_elf.h"
#include "tests/fuzz/replay.h"

/* A raw image (first byte even: taken as it is) with one load segment and a PVH note. */
static void vmlinux(struct replay_buf *b, uint64_t entry)
{
	memset(b->b, 0, sizeof(b->b));
	memcpy(b->b, "\177ELF\2\1\1", 7); /* byte 0 is 0x7f, odd: the target's overlay agrees */
	b->b[16] = 2;
	b->b[18] = 62;
	b->b[32] = 64; /* e_phoff */
	b->b[54] = 56;
	b->b[56] = 2; /* e_phnum */
	/* PT_LOAD: file [0x400, 0x800) at paddr 0x1000000 */
	b->b[64] = 1;
	b->b[64 + 9] = 0x04;
	b->b[64 + 27] = 0x01;
	b->b[64 + 33] = 0x04;
	b->b[64 + 41] = 0x04;
	/* PT_NOTE: [0x200, 0x218) */
	b->b[120] = 4;
	b->b[120 + 9] = 0x02;
	b->b[120 + 32] = 0x18;
	b->b[0x200] = 4;  /* namesz */
	b->b[0x204] = 8;  /* descsz */
	b->b[0x208] = 18; /* XEN_ELFNOTE_PHYS32_ENTRY */
	memcpy(b->b + 0x20c, "Xen", 4);
	for (int i = 0; i < 8; i++)
		b->b[0x210 + i] = (uint8_t)(entry >> (8 * i));
	b->n = 0x1000;
}

void replay_edges(void)
{
	struct fuzz_elf_stats *st = &fuzz_elf_stats;
	struct replay_buf *b = calloc(1, sizeof(*b));

	if (!b)
		exit(1);
	vmlinux(b, 0x1000010);
	replay_expect("a vmlinux with a PVH note", b, &st->pvh, 1);
	vmlinux(b, 0x2000000);
	replay_expect("a PVH entry outside the segment", b, &st->refused, 1);
	vmlinux(b, 0x1000010);
	b->b[0] = 0x7e; /* even: taken as it is, and not ELF */
	replay_expect("no ELF magic", b, &st->not_elf, 1);
	free(b);
}

bool replay_verdict(void)
{
	const struct fuzz_elf_stats *st = &fuzz_elf_stats;

	printf("not elf %lu, refused %lu, loaded %lu, with pvh %lu\n", st->not_elf, st->refused,
	       st->loaded, st->pvh);
	return st->not_elf >= 100 && st->refused >= 100 && st->loaded >= 10;
}

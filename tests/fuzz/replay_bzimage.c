/* SPDX-License-Identifier: MIT */
/*
 * The bzImage loader fuzz target's replay: edge inputs whose outcome is
 * known (a minimal 64-bit image loads, with and without an initrd; one
 * byte short of its syssize, without HdrS, or with protocol 2.11 it is
 * refused) and the verdict on what the random inputs reached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/fuzz/fuzz_bzimage.h"
#include "tests/fuzz/replay.h"

#define SETUP  1024 /* setup_sects 1 */
#define PM_LEN 1024

/* A little-endian field at any alignment. */
static void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, 4);
}

/* Flags, initrd length, command line length, then a minimal bzImage of @pm bytes. */
static void image(struct replay_buf *b, uint8_t flags, uint16_t version, uint32_t pm)
{
	uint8_t *k;

	b->n = 0;
	replay_put8(b, flags);
	if (flags & 4)
		replay_put16(b, 3); /* 4 pages */
	replay_put8(b, 12);	    /* "aaaaaaaaaaaa" */
	k = b->b + b->n;
	memset(k, 0, SETUP + pm);
	k[0x1f1] = 1;
	put32(k + 0x1f4, PM_LEN / 16);
	k[0x1fe] = 0x55;
	k[0x1ff] = 0xaa;
	k[0x201] = 0x66; /* the header ends at 0x268 */
	memcpy(k + 0x202, "HdrS", 4);
	memcpy(k + 0x206, &version, 2);
	k[0x211] = 0x01;	      /* LOADED_HIGH */
	put32(k + 0x22c, 0x7fffffff); /* initrd_addr_max */
	put32(k + 0x230, 0x200000);   /* kernel_alignment */
	k[0x234] = 1;		      /* relocatable */
	k[0x236] = 0x01;	      /* XLF_KERNEL_64 */
	put32(k + 0x238, 4095);	      /* cmdline_size */
	put32(k + 0x258, 0x1000000u); /* pref_address (its high half stays 0) */
	put32(k + 0x260, 0x100000);   /* init_size */
	b->n += SETUP + pm;
}

void replay_edges(void)
{
	struct fuzz_bzimage_stats *st = &fuzz_bzimage_stats;
	struct replay_buf *b = calloc(1, sizeof(*b));

	if (!b)
		exit(1);
	image(b, 1, 0x020f, PM_LEN);
	replay_expect("a minimal 64-bit bzImage loads", b, &st->loaded, 1);
	image(b, 1 | 4, 0x020f, PM_LEN);
	replay_expect("... with an initrd", b, &st->with_initrd, 1);
	image(b, 3, 0x020f, PM_LEN);
	replay_expect("... into 3 GiB of RAM, around the PCI hole", b, &st->loaded, 1);
	image(b, 1, 0x020f, PM_LEN - 1);
	replay_expect("one byte short of its syssize is refused", b, &st->past_magic, 1);
	image(b, 1, 0x020b, PM_LEN);
	replay_expect("protocol 2.11 (no 64-bit entry) is refused", b, &st->past_magic, 1);
	image(b, 1, 0x020f, PM_LEN);
	memcpy(b->b + 2 + 0x202, "HdrT", 4);
	replay_expect("no HdrS magic is refused", b, &st->refused, 1);
	free(b);
}

bool replay_verdict(void)
{
	const struct fuzz_bzimage_stats *st = &fuzz_bzimage_stats;

	printf("loaded %lu (with an initrd %lu), refused %lu (past the magic %lu)\n", st->loaded,
	       st->with_initrd, st->refused, st->past_magic);
	return st->loaded && st->with_initrd && st->past_magic;
}

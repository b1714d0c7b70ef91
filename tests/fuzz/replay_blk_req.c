/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk request fuzz target's replay: edge inputs whose outcome
 * is known and the verdict on what the random inputs reached.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/fuzz_blk_req.h"
#include "tests/fuzz/replay.h"
#include "virtio/blk_req.h"

/* The target's input encoding (see fuzz_blk_req.c). */
#define LIM_RO	  0x11
#define LIM_FLUSH 2
#define LIM_DISC  4
#define LIM_WZ	  8
#define NO_DATA	  0x40 /* shape: an empty read or write */
/* Indices into its table of request types. */
#define T_IN	  0
#define T_OUT	  1
#define T_FLUSH	  2
#define T_DISC	  4
#define T_WZ	  5
#define SEG_UNMAP 0x41 /* segment flags byte: unmap */

/*
 * Capacity 1000 sectors, 4 segments of 64 sectors at most, chain head 3,
 * the request type and sector, and the driver-like layout.
 */
static void head(struct replay_buf *b, uint8_t shape, uint8_t lim, uint8_t type,
		 uint8_t sector_mode, uint32_t sector)
{
	b->n = 0;
	replay_put8(b, shape);
	replay_put8(b, lim);
	replay_put16(b, 1000);
	replay_put8(b, 4);
	replay_put16(b, 64);
	replay_put16(b, 64);
	replay_put16(b, 3);
	replay_put8(b, type);
	replay_put8(b, sector_mode);
	replay_put32(b, sector);
	replay_put8(b, 1);
}

static void seg(struct replay_buf *b, uint32_t sector, uint8_t num, uint8_t flags)
{
	replay_put8(b, 0); /* sector mode: in the disk */
	replay_put32(b, sector);
	replay_put8(b, 0); /* num: one byte */
	replay_put8(b, num);
	replay_put8(b, flags);
}

void replay_edges(void)
{
	struct fuzz_blk_req_stats *st = &fuzz_blk_req_stats;
	struct replay_buf *b = calloc(1, sizeof(*b));

	if (!b)
		exit(1);

	head(b, 0, 0, T_IN, 0, 10);
	replay_put8(b, 7); /* 8 sectors */
	replay_expect("read of 8 sectors", b, &st->rw, 1);

	head(b, 0, LIM_RO, T_OUT, 0, 10);
	replay_put8(b, 0);
	replay_expect("write to a read-only disk", b, &st->done[VIRTIO_BLK_S_IOERR], 1);

	head(b, 0, LIM_DISC, T_DISC, 0, 0);
	seg(b, 10, 8, SEG_UNMAP);
	replay_expect("discard with unmap", b, &st->done[VIRTIO_BLK_S_UNSUPP], 1);

	head(b, 0, LIM_WZ, T_WZ, 0, 0);
	seg(b, 10, 8, SEG_UNMAP);
	replay_expect("write zeroes with unmap", b, &st->segments, 1);

	head(b, 0, LIM_WZ, T_WZ, 0, 0);
	seg(b, 10, 65, 0);
	replay_expect("write zeroes over the segment limit", b, &st->done[VIRTIO_BLK_S_IOERR], 1);

	head(b, 0, 0, T_FLUSH, 0, 0);
	replay_expect("flush not offered", b, &st->done[VIRTIO_BLK_S_UNSUPP], 1);

	head(b, NO_DATA, 0, T_IN, 1, 0); /* sector: capacity - 0 */
	replay_expect("empty read at the end of the disk", b, &st->done[VIRTIO_BLK_S_OK], 1);

	head(b, NO_DATA, 0, T_IN, 2, 1); /* sector: capacity + 1 */
	replay_expect("empty read past the end of the disk", b, &st->done[VIRTIO_BLK_S_IOERR], 1);

	free(b);
}

bool replay_verdict(void)
{
	const struct fuzz_blk_req_stats *st = &fuzz_blk_req_stats;

	printf("read/write %lu, discard/write zeroes %lu, flush/get id %lu, "
	       "done OK %lu IOERR %lu UNSUPP %lu\n",
	       st->rw, st->segments, st->other, st->done[0], st->done[1], st->done[2]);
	return st->rw >= 100 && st->segments >= 30 && st->other >= 100 && st->done[0] >= 10 &&
	       st->done[1] >= 100 && st->done[2] >= 100;
}

/* SPDX-License-Identifier: MIT */
/*
 * The engines behind block/block.h, one file each: engine_uring.c,
 * engine_aio.c, engine_sync.c. Private to the block backend; io.c holds
 * what they share.
 */
#ifndef NESTVMM_BLOCK_ENGINE_H
#define NESTVMM_BLOCK_ENGINE_H

#include <stdint.h>

#include "block/block.h"

extern const struct blk_engine_ops blk_engine_uring;
extern const struct blk_engine_ops blk_engine_aio;
extern const struct blk_engine_ops blk_engine_sync;

/* The io_uring engine queue's ring, for the tests of its restrictions; NULL for another engine. */
struct io_uring;
struct io_uring *blk_engine_uring_ring(struct blk_ioq *q);

/* blk_ioq_watch()'s limit. */
#define BLK_MAX_WATCH 64

/*
 * WRITE_ZEROES escalates when the filesystem refuses a mode: punch (only
 * with unmap), then ZERO_RANGE, then plain writes of zeros. The stage lives
 * in io->nrest, which a WRITE_ZEROES never needs for a short transfer.
 */
enum blk_wz_stage {
	BLK_WZ_PUNCH,
	BLK_WZ_ZERO_RANGE,
	BLK_WZ_WRITE,
};

/* Zeros for the last WRITE_ZEROES stage; aligned for O_DIRECT. */
#define BLK_ZERO_BUF_SIZE (64u * 1024u)
extern const uint8_t blk_zero_buf[BLK_ZERO_BUF_SIZE];

/* Bytes of blk_zero_buf the next write of a written-out WRITE_ZEROES carries. */
static inline uint64_t blk_io_zero_chunk(const struct blk_io *io)
{
	uint64_t left = io->len - io->done;

	return left < BLK_ZERO_BUF_SIZE ? left : BLK_ZERO_BUF_SIZE;
}

/* The disk @io goes to. */
static inline struct blk_disk *blk_io_disk(const struct blk_ioq *q, const struct blk_io *io)
{
	return io->disk ? io->disk : q->disk;
}

/* The iovec and offset the next transfer of @io starts from. */
static inline const struct iovec *blk_io_cur_iov(const struct blk_io *io, unsigned int *niov)
{
	if (io->rest) {
		*niov = io->nrest;
		return io->rest;
	}
	*niov = io->niov;
	return io->iov;
}

static inline uint64_t blk_io_cur_offset(const struct blk_io *io)
{
	return io->offset + io->done;
}

/* The first WRITE_ZEROES stage for @io. */
static inline enum blk_wz_stage blk_wz_first(const struct blk_io *io)
{
	return io->unmap ? BLK_WZ_PUNCH : BLK_WZ_ZERO_RANGE;
}

/* The fallocate() mode of a DISCARD or of a WRITE_ZEROES stage below BLK_WZ_WRITE. */
int blk_io_falloc_mode(const struct blk_io *io);

/*
 * Account the result @n of the last transfer of @io (bytes, or -errno).
 * Returns 1 when the engine must issue the next transfer (io->rest/nrest or
 * the WRITE_ZEROES stage then say what), 0 when @io is complete (io->res set,
 * io->rest freed).
 */
int blk_io_advance(struct blk_io *io, int64_t n);

/* Complete @io with @res (freeing a short transfer's iovec). */
void blk_io_finish(struct blk_io *io, int64_t res);

/* Carry out @io on @fd in the calling thread; sets and returns io->res. */
int64_t blk_io_run_sync(int fd, struct blk_io *io);

#endif

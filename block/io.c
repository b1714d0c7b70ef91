/* SPDX-License-Identifier: MIT */
/*
 * What every block engine shares: continuing a short transfer, the
 * WRITE_ZEROES fallbacks, and carrying out one I/O synchronously (the whole
 * sync engine, and the libaio engine's fallocate and fdatasync fallback).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <unistd.h>

#include "block/engine.h"

_Alignas(4096) const uint8_t blk_zero_buf[BLK_ZERO_BUF_SIZE];

int blk_io_falloc_mode(const struct blk_io *io)
{
	if (io->op == BLK_OP_WRITE_ZEROES && io->nrest == BLK_WZ_ZERO_RANGE)
		return FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;
	return FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE;
}

void blk_io_finish(struct blk_io *io, int64_t res)
{
	if (io->op == BLK_OP_READ || io->op == BLK_OP_WRITE) {
		free(io->rest);
		io->rest = NULL;
		io->nrest = 0;
	}
	io->res = res;
}

/*
 * Point io->rest at what is left of io->iov after io->done bytes. Allocated
 * once per I/O, on its first short transfer only: the normal path never
 * comes here.
 */
static int rest_build(struct blk_io *io)
{
	uint64_t skip = io->done;
	unsigned int i = 0;

	while (i < io->niov && skip >= io->iov[i].iov_len) {
		skip -= io->iov[i].iov_len;
		i++;
	}
	/* The iovec holds less than len: the caller broke the contract. */
	if (i == io->niov)
		return -EINVAL;
	if (!io->rest) {
		io->rest = malloc(io->niov * sizeof(*io->rest));
		if (!io->rest)
			return -ENOMEM;
	}
	io->nrest = io->niov - i;
	for (unsigned int k = 0; k < io->nrest; k++)
		io->rest[k] = io->iov[i + k];
	io->rest[0].iov_base = (uint8_t *)io->rest[0].iov_base + skip;
	io->rest[0].iov_len -= skip;
	return 0;
}

/* Bytes moved: 1 when more is left, 0 when done or failed (io completed). */
static int advance_bytes(struct blk_io *io, int64_t n, int64_t res_when_done)
{
	if (n < 0) {
		blk_io_finish(io, n);
		return 0;
	}
	/* No progress: the file shrank under us, or a device error hides behind EOF. */
	if (n == 0) {
		blk_io_finish(io, -EIO);
		return 0;
	}
	io->done += (uint64_t)n;
	if (io->done >= io->len) {
		blk_io_finish(io, res_when_done);
		return 0;
	}
	return 1;
}

int blk_io_advance(struct blk_io *io, int64_t n)
{
	int r;

	switch (io->op) {
	case BLK_OP_READ:
	case BLK_OP_WRITE:
		if (io->len == 0) {
			blk_io_finish(io, n < 0 ? n : 0);
			return 0;
		}
		r = advance_bytes(io, n, (int64_t)io->len);
		if (r == 1) {
			int e = rest_build(io);

			if (e < 0) {
				blk_io_finish(io, e);
				return 0;
			}
		}
		return r;
	case BLK_OP_WRITE_ZEROES:
		if (io->nrest == BLK_WZ_WRITE)
			return advance_bytes(io, n, 0);
		if (n == -EOPNOTSUPP) {
			io->nrest++;
			return 1;
		}
		blk_io_finish(io, n < 0 ? n : 0);
		return 0;
	default:
		blk_io_finish(io, n < 0 ? n : 0);
		return 0;
	}
}

int64_t blk_io_run_sync(int fd, struct blk_io *io)
{
	for (;;) {
		const struct iovec *iov;
		unsigned int niov;
		uint64_t left;
		int64_t n;

		switch (io->op) {
		case BLK_OP_READ:
			iov = blk_io_cur_iov(io, &niov);
			n = preadv(fd, iov, (int)niov, (off_t)blk_io_cur_offset(io));
			break;
		case BLK_OP_WRITE:
			iov = blk_io_cur_iov(io, &niov);
			n = pwritev(fd, iov, (int)niov, (off_t)blk_io_cur_offset(io));
			break;
		case BLK_OP_FLUSH:
			n = fdatasync(fd);
			break;
		case BLK_OP_WRITE_ZEROES:
			if (io->nrest == BLK_WZ_WRITE) {
				left = blk_io_zero_chunk(io);
				n = pwrite(fd, blk_zero_buf, left, (off_t)blk_io_cur_offset(io));
				break;
			}
			/* fallthrough */
		case BLK_OP_DISCARD:
			n = fallocate(fd, blk_io_falloc_mode(io), (off_t)io->offset,
				      (off_t)io->len);
			break;
		default:
			n = -1;
			errno = EINVAL;
			break;
		}
		if (n < 0) {
			n = -errno;
			if (n == -EINTR)
				continue;
		}
		if (!blk_io_advance(io, n))
			return io->res;
	}
}

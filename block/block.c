/* SPDX-License-Identifier: MIT */
/*
 * The block backend's front: engine selection and the calls every engine
 * answers. The engines are in engine_uring.c, engine_aio.c and engine_sync.c;
 * the disk image itself in disk.c.
 */
#include "block/block.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

#include "block/engine.h"

static const struct blk_engine_ops *engine_ops(enum blk_engine engine)
{
	switch (engine) {
	case BLK_ENGINE_IO_URING:
		return &blk_engine_uring;
	case BLK_ENGINE_AIO:
		return &blk_engine_aio;
	case BLK_ENGINE_SYNC:
		return &blk_engine_sync;
	}
	return NULL;
}

const char *blk_engine_name(enum blk_engine engine)
{
	const struct blk_engine_ops *ops = engine_ops(engine);

	return ops ? ops->name : "?";
}

int blk_ioq_init_ops(struct blk_ioq *q, const struct blk_engine_ops *ops, struct blk_disk *disk,
		     unsigned int depth)
{
	int r;

	memset(q, 0, sizeof(*q));
	if (!ops || !disk || depth == 0)
		return -EINVAL;
	q->ops = ops;
	q->disk = disk;
	q->depth = depth;
	r = ops->init(q);
	if (r < 0)
		q->ops = NULL;
	return r;
}

int blk_ioq_init(struct blk_ioq *q, struct blk_disk *disk, unsigned int depth)
{
	if (!disk)
		return -EINVAL;
	return blk_ioq_init_ops(q, engine_ops(disk->engine), disk, depth);
}

void blk_ioq_fini(struct blk_ioq *q)
{
	if (q->ops)
		q->ops->fini(q);
	q->ops = NULL;
}

int blk_ioq_watch(struct blk_ioq *q, int fd, uint64_t tag)
{
	if (fd < 0)
		return -EBADF;
	return q->ops->watch(q, fd, tag);
}

/*
 * A last line of defence behind the device model's own checks: an I/O past
 * the end would grow a regular file, and an offset above INT64_MAX is a
 * negative off_t to the kernel.
 */
static bool io_in_range(const struct blk_io *io, uint64_t size)
{
	if (io->op == BLK_OP_FLUSH)
		return true;
	if (io->op != BLK_OP_READ && io->op != BLK_OP_WRITE && io->op != BLK_OP_DISCARD &&
	    io->op != BLK_OP_WRITE_ZEROES)
		return false;
	if ((io->op == BLK_OP_READ || io->op == BLK_OP_WRITE) && io->len && (!io->iov || !io->niov))
		return false;
	return io->offset <= size && io->len <= size - io->offset;
}

int blk_ioq_queue(struct blk_ioq *q, struct blk_io *io)
{
	int r;

	if (q->inflight >= q->depth)
		return -EAGAIN;
	if (!io_in_range(io, blk_io_disk(q, io)->size))
		return -EINVAL;
	io->done = 0;
	io->res = 0;
	io->rest = NULL;
	io->nrest = io->op == BLK_OP_WRITE_ZEROES ? blk_wz_first(io) : 0;
	r = q->ops->queue(q, io);
	if (r == 0)
		q->inflight++;
	return r;
}

int blk_ioq_submit(struct blk_ioq *q)
{
	return q->ops->submit(q);
}

int blk_ioq_wait(struct blk_ioq *q, struct blk_event *ev, unsigned int max, int timeout_ms)
{
	int n = q->ops->wait(q, ev, max, timeout_ms);

	if (n == -EINTR)
		return 0;
	for (int i = 0; i < n; i++) {
		if (ev[i].kind != BLK_EV_IO)
			continue;
		struct blk_disk *disk = blk_io_disk(q, ev[i].io);

		if (q->inflight)
			q->inflight--;
		if (disk->eio_after &&
		    (ev[i].io->op == BLK_OP_WRITE || ev[i].io->op == BLK_OP_FLUSH) &&
		    atomic_fetch_add(&disk->eio_count, 1) + 1 >= disk->eio_after)
			ev[i].io->res = -EIO;
	}
	return n;
}

void blk_disk_inject_eio(struct blk_disk *disk, uint64_t after)
{
	disk->eio_after = after;
	atomic_store(&disk->eio_count, 0);
}

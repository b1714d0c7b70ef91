/* SPDX-License-Identifier: MIT */
/*
 * The io_uring engine: one ring per queue carries the disk I/O and the
 * multishot POLLs on the watched eventfds, so the I/O thread sleeps in one
 * io_uring_enter() that also submits the batch.
 *
 * user_data tells the CQEs apart: a struct blk_io pointer (8-aligned, low
 * bit clear) for I/O, (watch index << 1) | 1 for a poll.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <liburing.h>

#include "block/engine.h"
#include "vmm/io_ring.h"

struct uring_q {
	struct io_uring ring;
	unsigned int nwatch;
	struct io_ring_watch watch[BLK_MAX_WATCH];
};

/*
 * The SQ has a slot for every I/O (each has at most one SQE at a time) and
 * every watch, so it is never full (io_ring_get_sqe's flush is a safety net).
 */
static struct io_uring_sqe *get_sqe(struct uring_q *u)
{
	return io_ring_get_sqe(&u->ring);
}

/* Prepare the next transfer of @io (its first, or the rest after a short one). */
static int prep_io(struct blk_ioq *q, struct blk_io *io)
{
	struct uring_q *u = q->priv;
	struct io_uring_sqe *sqe = get_sqe(u);
	const struct iovec *iov;
	unsigned int niov;
	uint64_t left;
	int fd = blk_io_disk(q, io)->fd;

	if (!sqe)
		return -EBUSY;
	switch (io->op) {
	case BLK_OP_READ:
		iov = blk_io_cur_iov(io, &niov);
		io_uring_prep_readv(sqe, fd, iov, niov, blk_io_cur_offset(io));
		break;
	case BLK_OP_WRITE:
		iov = blk_io_cur_iov(io, &niov);
		io_uring_prep_writev(sqe, fd, iov, niov, blk_io_cur_offset(io));
		break;
	case BLK_OP_FLUSH:
		io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
		break;
	case BLK_OP_WRITE_ZEROES:
		if (io->nrest == BLK_WZ_WRITE) {
			left = blk_io_zero_chunk(io);
			io_uring_prep_write(sqe, fd, blk_zero_buf, (unsigned int)left,
					    blk_io_cur_offset(io));
			break;
		}
		/* fallthrough */
	case BLK_OP_DISCARD:
		io_uring_prep_fallocate(sqe, fd, blk_io_falloc_mode(io), (off_t)io->offset,
					(off_t)io->len);
		break;
	default:
		/* The SQE is taken: make it harmless. */
		io_uring_prep_nop(sqe);
		io_uring_sqe_set_data64(sqe, IO_RING_UD_POLL | ((uint64_t)BLK_MAX_WATCH << 1));
		return -EINVAL;
	}
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)io);
	return 0;
}

/*
 * What the ring may ever carry (vmm/io_ring.h): the disk I/O and the polls,
 * nothing that opens anything.
 */
static const uint8_t ring_ops[] = {
    IORING_OP_READV,	 IORING_OP_WRITEV,   IORING_OP_WRITE, IORING_OP_FSYNC,
    IORING_OP_FALLOCATE, IORING_OP_POLL_ADD, IORING_OP_NOP,
};

static int uring_init(struct blk_ioq *q)
{
	struct uring_q *u = calloc(1, sizeof(*u));
	int r;

	if (!u)
		return -ENOMEM;
	r = io_ring_init_restricted(&u->ring, q->depth + BLK_MAX_WATCH, ring_ops, sizeof(ring_ops));
	if (r < 0) {
		free(u);
		return r;
	}
	q->priv = u;
	return 0;
}

static void uring_fini(struct blk_ioq *q)
{
	struct uring_q *u = q->priv;

	if (!u)
		return;
	io_uring_queue_exit(&u->ring);
	free(u);
	q->priv = NULL;
}

static int uring_watch(struct blk_ioq *q, int fd, uint64_t tag)
{
	struct uring_q *u = q->priv;

	return io_ring_watch_add(&u->ring, u->watch, &u->nwatch, BLK_MAX_WATCH, fd, tag);
}

static int uring_queue(struct blk_ioq *q, struct blk_io *io)
{
	return prep_io(q, io);
}

static int uring_submit(struct blk_ioq *q)
{
	struct uring_q *u = q->priv;
	int r = io_uring_submit(&u->ring);

	return r < 0 ? r : 0;
}

/* Turn the CQEs already posted into at most @max events; no syscall. */
static int reap(struct blk_ioq *q, struct blk_event *ev, unsigned int max)
{
	struct uring_q *u = q->priv;
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0;
	int n = 0;

	io_uring_for_each_cqe(&u->ring, head, cqe)
	{
		uint64_t ud = cqe->user_data;

		if ((unsigned int)n == max)
			break;
		seen++;
		if (ud & IO_RING_UD_POLL) {
			const struct io_ring_watch *w =
			    io_ring_poll_done(&u->ring, u->watch, u->nwatch, cqe);

			if (w)
				ev[n++] = (struct blk_event){.kind = BLK_EV_FD, .tag = w->tag};
		} else {
			struct blk_io *io = (struct blk_io *)(uintptr_t)ud;

			if (blk_io_advance(io, cqe->res)) {
				int r = prep_io(q, io);

				if (r == 0)
					continue;
				blk_io_finish(io, r);
			}
			ev[n++] = (struct blk_event){.kind = BLK_EV_IO, .io = io};
		}
	}
	io_uring_cq_advance(&u->ring, seen);
	return n;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int flush_sq(struct uring_q *u)
{
	int r = 0;

	if (io_uring_sq_ready(&u->ring))
		r = io_uring_submit(&u->ring);
	return r < 0 ? r : 0;
}

static int uring_wait(struct blk_ioq *q, struct blk_event *ev, unsigned int max, int timeout_ms)
{
	struct uring_q *u = q->priv;
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts;
	int64_t deadline = 0, left;
	bool polled = false;
	int n, r;

	if (timeout_ms > 0)
		deadline = now_ns() + (int64_t)timeout_ms * 1000000;
	for (;;) {
		n = max ? reap(q, ev, max) : 0;
		/* Events in hand: still submit what is queued (and any re-armed poll). */
		if (n > 0 || max == 0) {
			r = flush_sq(u);
			return n > 0 ? n : r;
		}
		if (timeout_ms == 0) {
			/* Submit, then look once more: buffered I/O often completes inline. */
			if (polled || !io_uring_sq_ready(&u->ring))
				return 0;
			polled = true;
			r = io_uring_submit(&u->ring);
			if (r < 0)
				return r;
			continue;
		}
		if (timeout_ms > 0) {
			left = deadline - now_ns();
			if (left <= 0)
				return flush_sq(u);
			ts.tv_sec = left / 1000000000;
			ts.tv_nsec = left % 1000000000;
			r = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, &ts, NULL);
		} else {
			r = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, NULL, NULL);
		}
		/* -ETIME, or a CQ overflow backlog (-EBUSY): look at what is there. */
		if (r < 0 && r != -ETIME && r != -EBUSY && r != -EAGAIN)
			return r;
	}
}

const struct blk_engine_ops blk_engine_uring = {
    .name = "io_uring",
    .init = uring_init,
    .fini = uring_fini,
    .watch = uring_watch,
    .queue = uring_queue,
    .submit = uring_submit,
    .wait = uring_wait,
};

struct io_uring *blk_engine_uring_ring(struct blk_ioq *q)
{
	return q->ops == &blk_engine_uring ? &((struct uring_q *)q->priv)->ring : NULL;
}

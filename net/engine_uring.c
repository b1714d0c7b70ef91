/* SPDX-License-Identifier: MIT */
/*
 * The io_uring engine: one ring per queue pair carries the tap reads and
 * writes and the multishot POLLs on the kick eventfds, so the pair's thread
 * submits its batch and sleeps in one io_uring_enter(). The tap queue is
 * left blocking: a READV with no frame waiting is parked by io_uring on the
 * tap's poll queue and completes when a frame comes, straight into the
 * guest's buffers.
 *
 * user_data: a struct net_io pointer (8-aligned, low bit clear) for I/O,
 * a watch's poll as vmm/io_ring.h tags it, UD_IGNORE for a cancel request.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>

#include <liburing.h>

#include "net/engine.h"
#include "vmm/io_ring.h"

#define UD_IGNORE (~0ull)

struct uring_q {
	struct io_uring ring;
	unsigned int nwatch;
	struct io_ring_watch watch[NET_MAX_WATCH];
};

/* Frames and polls, and the cancels that end a reset: nothing that opens anything. */
static const uint8_t ring_ops[] = {
    IORING_OP_READV,
    IORING_OP_WRITEV,
    IORING_OP_POLL_ADD,
    IORING_OP_ASYNC_CANCEL,
};

/*
 * The SQ has room for an SQE per I/O, a cancel per I/O and a poll per
 * watch, so it never fills (io_ring_get_sqe's flush is a safety net).
 */
static struct io_uring_sqe *get_sqe(struct uring_q *u)
{
	return io_ring_get_sqe(&u->ring);
}

static int uring_init(struct net_ioq *q)
{
	struct uring_q *u = calloc(1, sizeof(*u));
	int fl = fcntl(q->fd, F_GETFL);
	int r;

	if (!u)
		return -ENOMEM;
	if (fl < 0 || fcntl(q->fd, F_SETFL, fl & ~O_NONBLOCK) < 0) {
		r = -errno;
		free(u);
		return r;
	}
	r = io_ring_init_restricted(&u->ring, 2 * q->depth + NET_MAX_WATCH, ring_ops,
				    sizeof(ring_ops));
	if (r < 0) {
		free(u);
		return r;
	}
	q->priv = u;
	return 0;
}

static void uring_fini(struct net_ioq *q)
{
	struct uring_q *u = q->priv;

	if (!u)
		return;
	io_uring_queue_exit(&u->ring);
	free(u);
	q->priv = NULL;
}

static int uring_watch(struct net_ioq *q, int fd, uint64_t tag)
{
	struct uring_q *u = q->priv;

	return io_ring_watch_add(&u->ring, u->watch, &u->nwatch, NET_MAX_WATCH, fd, tag);
}

static int uring_queue(struct net_ioq *q, struct net_io *io)
{
	struct uring_q *u = q->priv;
	struct io_uring_sqe *sqe = get_sqe(u);

	if (!sqe)
		return -EBUSY;
	if (io->op == NET_OP_READ)
		io_uring_prep_readv(sqe, q->fd, io->iov, io->niov, 0);
	else
		io_uring_prep_writev(sqe, q->fd, io->iov, io->niov, 0);
	io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)io);
	return 0;
}

static int uring_cancel(struct net_ioq *q, struct net_io *io)
{
	struct uring_q *u = q->priv;
	struct io_uring_sqe *sqe = get_sqe(u);

	if (!sqe)
		return -EBUSY;
	io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)io, 0);
	io_uring_sqe_set_data64(sqe, UD_IGNORE);
	return 0;
}

/* Turn the CQEs posted into at most @max events; no syscall. */
static int reap(struct uring_q *u, struct net_event *ev, unsigned int max)
{
	struct io_uring_cqe *cqe;
	unsigned int head, seen = 0;
	int n = 0;

	io_uring_for_each_cqe(&u->ring, head, cqe)
	{
		uint64_t ud = cqe->user_data;

		if ((unsigned int)n == max)
			break;
		seen++;
		if (ud == UD_IGNORE)
			continue;
		if (ud & IO_RING_UD_POLL) {
			const struct io_ring_watch *w =
			    io_ring_poll_done(&u->ring, u->watch, u->nwatch, cqe);

			if (w)
				ev[n++] = (struct net_event){.kind = NET_EV_FD, .tag = w->tag};
		} else {
			struct net_io *io = (struct net_io *)(uintptr_t)ud;

			io->res = cqe->res;
			ev[n++] = (struct net_event){.kind = NET_EV_IO, .io = io};
		}
	}
	io_uring_cq_advance(&u->ring, seen);
	return n;
}

static int uring_wait(struct net_ioq *q, struct net_event *ev, unsigned int max, int timeout_ms)
{
	struct uring_q *u = q->priv;
	struct io_uring_cqe *cqe;
	struct __kernel_timespec ts = {.tv_sec = timeout_ms / 1000,
				       .tv_nsec = (timeout_ms % 1000) * 1000000LL};
	int n, r;

	for (;;) {
		n = reap(u, ev, max);
		/* Events in hand: still submit what is queued (and any re-armed poll). */
		if (n > 0 || max == 0 || timeout_ms == 0) {
			r = io_uring_sq_ready(&u->ring) ? io_uring_submit(&u->ring) : 0;
			if (n == 0 && r > 0)
				n = reap(u, ev, max); /* tap writes complete inline */
			return n > 0 || r >= 0 ? n : r;
		}
		r = io_uring_submit_and_wait_timeout(&u->ring, &cqe, 1, timeout_ms > 0 ? &ts : NULL,
						     NULL);
		if (r == -ETIME || r == -EINTR)
			return reap(u, ev, max);
		/* A CQ overflow backlog (-EBUSY): look at what is there. */
		if (r < 0 && r != -EBUSY && r != -EAGAIN)
			return r;
	}
}

const struct net_engine_ops net_engine_uring = {
    .name = "io_uring",
    .init = uring_init,
    .fini = uring_fini,
    .watch = uring_watch,
    .queue = uring_queue,
    .cancel = uring_cancel,
    .wait = uring_wait,
};

/* SPDX-License-Identifier: MIT */
/*
 * The libaio engine, for hosts where io_uring is disabled. Reads, writes
 * and FLUSH (IOCB_CMD_FDSYNC) go through io_submit(), one call per batch;
 * the watched eventfds are one-shot IOCB_CMD_POLLs, re-armed with the next
 * batch after they fire. libaio has no fallocate, so DISCARD and
 * WRITE_ZEROES (and FLUSH on a kernel that refuses FDSYNC) run
 * synchronously in the thread at submit time and are reported at the next
 * wait.
 *
 * iocb slots: [0, depth) for I/O, taken at queue time and freed at
 * completion; [depth, depth + BLK_MAX_WATCH) for the watches, one each.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libaio.h>

#include "block/engine.h"

struct aio_watch {
	int fd;
	uint64_t tag;
	bool dead; /* the kernel refused the poll for good: not re-armed */
};

struct aio_q {
	io_context_t ctx;
	unsigned int nslots; /* depth + BLK_MAX_WATCH */
	struct iocb *cbs;
	unsigned int *free_slot; /* a stack of free I/O slots */
	unsigned int nfree;
	struct iocb **batch; /* queued, not yet io_submit()ted */
	unsigned int nbatch;
	struct blk_io **sync_q; /* queued for a synchronous run */
	unsigned int nsync;
	struct blk_io **done; /* a FIFO of depth slots: finished, not yet reported */
	unsigned int done_head, ndone;
	struct io_event *events;
	struct aio_watch watch[BLK_MAX_WATCH];
	unsigned int nwatch;
	bool no_fdsync; /* the kernel answered EINVAL to IOCB_CMD_FDSYNC */
};

static void aio_free(struct aio_q *a)
{
	free(a->cbs);
	free(a->free_slot);
	free(a->batch);
	free(a->sync_q);
	free(a->done);
	free(a->events);
	free(a);
}

static int aio_init(struct blk_ioq *q)
{
	struct aio_q *a = calloc(1, sizeof(*a));
	int r;

	if (!a)
		return -ENOMEM;
	a->nslots = q->depth + BLK_MAX_WATCH;
	a->cbs = calloc(a->nslots, sizeof(*a->cbs));
	a->free_slot = calloc(q->depth, sizeof(*a->free_slot));
	a->batch = calloc(a->nslots, sizeof(*a->batch));
	a->sync_q = calloc(q->depth, sizeof(*a->sync_q));
	a->done = calloc(q->depth, sizeof(*a->done));
	a->events = calloc(a->nslots, sizeof(*a->events));
	if (!a->cbs || !a->free_slot || !a->batch || !a->sync_q || !a->done || !a->events) {
		aio_free(a);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < q->depth; i++)
		a->free_slot[i] = q->depth - 1 - i;
	a->nfree = q->depth;
	r = io_setup((int)a->nslots, &a->ctx);
	if (r < 0) {
		aio_free(a);
		return r;
	}
	q->priv = a;
	return 0;
}

static void aio_fini(struct blk_ioq *q)
{
	struct aio_q *a = q->priv;

	if (!a)
		return;
	/* Cancels the polls; waits for any I/O still out. */
	io_destroy(a->ctx);
	aio_free(a);
	q->priv = NULL;
}

static void push_done(struct blk_ioq *q, struct blk_io *io)
{
	struct aio_q *a = q->priv;

	a->done[(a->done_head + a->ndone) % q->depth] = io;
	a->ndone++;
}

static void arm_poll(struct blk_ioq *q, unsigned int w)
{
	struct aio_q *a = q->priv;
	struct iocb *cb = &a->cbs[q->depth + w];

	io_prep_poll(cb, a->watch[w].fd, POLLIN);
	a->batch[a->nbatch++] = cb;
}

static int aio_watch(struct blk_ioq *q, int fd, uint64_t tag)
{
	struct aio_q *a = q->priv;
	unsigned int w = a->nwatch;

	if (w >= BLK_MAX_WATCH)
		return -ENOSPC;
	a->watch[w] = (struct aio_watch){.fd = fd, .tag = tag};
	a->nwatch++;
	arm_poll(q, w);
	return 0;
}

/* Prepare the next transfer of @io (its first, or the rest after a short one). */
static void prep_io(struct blk_ioq *q, struct iocb *cb, struct blk_io *io)
{
	struct aio_q *a = q->priv;
	const struct iovec *iov;
	unsigned int niov;
	int fd = blk_io_disk(q, io)->fd;

	if (io->op == BLK_OP_FLUSH) {
		io_prep_fdsync(cb, fd);
	} else {
		iov = blk_io_cur_iov(io, &niov);
		if (io->op == BLK_OP_READ)
			io_prep_preadv(cb, fd, iov, (int)niov, (long long)blk_io_cur_offset(io));
		else
			io_prep_pwritev(cb, fd, iov, (int)niov, (long long)blk_io_cur_offset(io));
	}
	cb->data = io;
	a->batch[a->nbatch++] = cb;
}

static int aio_queue(struct blk_ioq *q, struct blk_io *io)
{
	struct aio_q *a = q->priv;
	bool sync = io->op == BLK_OP_DISCARD || io->op == BLK_OP_WRITE_ZEROES ||
		    (io->op == BLK_OP_FLUSH && a->no_fdsync);

	if (sync) {
		a->sync_q[a->nsync++] = io;
		return 0;
	}
	/* blk_ioq_queue() keeps at most depth I/Os out, so a slot is free. */
	if (!a->nfree)
		return -EAGAIN;
	prep_io(q, &a->cbs[a->free_slot[--a->nfree]], io);
	return 0;
}

static bool is_poll_slot(struct blk_ioq *q, const struct iocb *cb)
{
	struct aio_q *a = q->priv;

	return cb >= &a->cbs[q->depth];
}

static void free_slot(struct blk_ioq *q, struct iocb *cb)
{
	struct aio_q *a = q->priv;

	a->free_slot[a->nfree++] = (unsigned int)(cb - a->cbs);
}

/* io_submit() refused @cb with @err. */
static void refused(struct blk_ioq *q, struct iocb *cb, int err)
{
	struct aio_q *a = q->priv;
	struct blk_io *io = cb->data;

	if (is_poll_slot(q, cb)) {
		/* A kernel without IOCB_CMD_POLL (before 4.18), or a bad fd. */
		a->watch[cb - &a->cbs[q->depth]].dead = true;
		return;
	}
	free_slot(q, cb);
	if (io->op == BLK_OP_FLUSH && err == -EINVAL) {
		a->no_fdsync = true;
		blk_io_run_sync(blk_io_disk(q, io)->fd, io);
	} else {
		blk_io_finish(io, err);
	}
	push_done(q, io);
}

static int aio_submit(struct blk_ioq *q)
{
	struct aio_q *a = q->priv;
	unsigned int i = 0;

	while (i < a->nbatch) {
		int r = io_submit(a->ctx, a->nbatch - i, a->batch + i);

		if (r > 0) {
			i += (unsigned int)r;
			continue;
		}
		if (r == -EINTR)
			continue;
		/* The first iocb left was refused; the ones after it are retried. */
		refused(q, a->batch[i], r ? r : -EAGAIN);
		i++;
	}
	a->nbatch = 0;
	for (i = 0; i < a->nsync; i++) {
		blk_io_run_sync(blk_io_disk(q, a->sync_q[i])->fd, a->sync_q[i]);
		push_done(q, a->sync_q[i]);
	}
	a->nsync = 0;
	return 0;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* One io_event: an event for the caller (1), or a transfer continued (0). */
static int complete(struct blk_ioq *q, const struct io_event *e, struct blk_event *ev)
{
	struct aio_q *a = q->priv;
	struct iocb *cb = e->obj;
	struct blk_io *io = cb->data;
	int64_t res = (int64_t)(long)e->res;

	if (is_poll_slot(q, cb)) {
		unsigned int w = (unsigned int)(cb - &a->cbs[q->depth]);

		if (res < 0 && (res == -EBADF || res == -EINVAL || res == -EOPNOTSUPP))
			a->watch[w].dead = true;
		/* One-shot: armed again with the next batch, after the caller drained it. */
		if (!a->watch[w].dead)
			arm_poll(q, w);
		*ev = (struct blk_event){.kind = BLK_EV_FD, .tag = a->watch[w].tag};
		return 1;
	}
	if (blk_io_advance(io, res)) {
		prep_io(q, cb, io);
		return 0;
	}
	free_slot(q, cb);
	*ev = (struct blk_event){.kind = BLK_EV_IO, .io = io};
	return 1;
}

static int aio_wait(struct blk_ioq *q, struct blk_event *ev, unsigned int max, int timeout_ms)
{
	struct aio_q *a = q->priv;
	int64_t deadline = 0, left;
	struct timespec ts;
	unsigned int n = 0;
	int r;

	if (timeout_ms > 0)
		deadline = now_ns() + (int64_t)timeout_ms * 1000000;
	for (;;) {
		aio_submit(q);
		while (a->ndone && n < max) {
			ev[n++] =
			    (struct blk_event){.kind = BLK_EV_IO, .io = a->done[a->done_head]};
			a->done_head = (a->done_head + 1) % q->depth;
			a->ndone--;
		}
		if (n || max == 0)
			return (int)n;
		if (timeout_ms > 0) {
			left = deadline - now_ns();
			if (left < 0)
				left = 0;
			ts.tv_sec = left / 1000000000;
			ts.tv_nsec = left % 1000000000;
		} else {
			ts.tv_sec = 0;
			ts.tv_nsec = 0;
		}
		r = io_getevents(a->ctx, 1, max < a->nslots ? max : a->nslots, a->events,
				 timeout_ms < 0 ? NULL : &ts);
		if (r < 0)
			return r;
		if (r == 0)
			return 0;
		for (int i = 0; i < r; i++)
			n += (unsigned int)complete(q, &a->events[i], &ev[n]);
		if (n)
			return (int)n;
		/* Only continued transfers: the loop submits them and waits out the rest. */
	}
}

const struct blk_engine_ops blk_engine_aio = {
    .name = "aio",
    .init = aio_init,
    .fini = aio_fini,
    .watch = aio_watch,
    .queue = aio_queue,
    .submit = aio_submit,
    .wait = aio_wait,
};

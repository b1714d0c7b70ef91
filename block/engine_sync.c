/* SPDX-License-Identifier: MIT */
/*
 * The synchronous engine: the fallback when neither io_uring nor libaio
 * works. blk_ioq_submit() carries out the batch with preadv/pwritev/
 * fdatasync/fallocate in the calling thread; blk_ioq_wait() hands back what
 * finished, and only when nothing has, poll(2)s the watched fds.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "block/engine.h"

struct sync_q {
	/* queued, not yet carried out; then finished, not yet reported */
	struct blk_io **queued;
	unsigned int nqueued;
	struct blk_io **done; /* a FIFO of depth slots */
	unsigned int done_head, ndone;
	struct pollfd pfd[BLK_MAX_WATCH];
	uint64_t tag[BLK_MAX_WATCH];
	unsigned int nwatch;
};

static int sync_init(struct blk_ioq *q)
{
	struct sync_q *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->queued = calloc(q->depth, sizeof(*s->queued));
	s->done = calloc(q->depth, sizeof(*s->done));
	if (!s->queued || !s->done) {
		free(s->queued);
		free(s->done);
		free(s);
		return -ENOMEM;
	}
	q->priv = s;
	return 0;
}

static void sync_fini(struct blk_ioq *q)
{
	struct sync_q *s = q->priv;

	if (!s)
		return;
	free(s->queued);
	free(s->done);
	free(s);
	q->priv = NULL;
}

static int sync_watch(struct blk_ioq *q, int fd, uint64_t tag)
{
	struct sync_q *s = q->priv;

	if (s->nwatch >= BLK_MAX_WATCH)
		return -ENOSPC;
	s->pfd[s->nwatch] = (struct pollfd){.fd = fd, .events = POLLIN};
	s->tag[s->nwatch] = tag;
	s->nwatch++;
	return 0;
}

/* blk_ioq_queue() keeps queued + done <= depth, so neither array overflows. */
static int sync_queue(struct blk_ioq *q, struct blk_io *io)
{
	struct sync_q *s = q->priv;

	s->queued[s->nqueued++] = io;
	return 0;
}

static int sync_submit(struct blk_ioq *q)
{
	struct sync_q *s = q->priv;

	for (unsigned int i = 0; i < s->nqueued; i++) {
		blk_io_run_sync(blk_io_disk(q, s->queued[i])->fd, s->queued[i]);
		s->done[(s->done_head + s->ndone) % q->depth] = s->queued[i];
		s->ndone++;
	}
	s->nqueued = 0;
	return 0;
}

static int sync_wait(struct blk_ioq *q, struct blk_event *ev, unsigned int max, int timeout_ms)
{
	struct sync_q *s = q->priv;
	unsigned int n = 0;
	int r;

	sync_submit(q);
	if (max == 0)
		return 0;
	if (s->ndone) {
		while (s->ndone && n < max) {
			ev[n++] =
			    (struct blk_event){.kind = BLK_EV_IO, .io = s->done[s->done_head]};
			s->done_head = (s->done_head + 1) % q->depth;
			s->ndone--;
		}
		return (int)n;
	}
	r = poll(s->pfd, s->nwatch, timeout_ms);
	if (r < 0)
		return -errno;
	for (unsigned int i = 0; i < s->nwatch && n < max; i++)
		if (s->pfd[i].revents)
			ev[n++] = (struct blk_event){.kind = BLK_EV_FD, .tag = s->tag[i]};
	return (int)n;
}

const struct blk_engine_ops blk_engine_sync = {
    .name = "sync",
    .init = sync_init,
    .fini = sync_fini,
    .watch = sync_watch,
    .queue = sync_queue,
    .submit = sync_submit,
    .wait = sync_wait,
};

/* SPDX-License-Identifier: MIT */
/*
 * The fallback engine: non-blocking readv/writev on the tap queue, poll(2)
 * for frames and for the watched eventfds. A write is carried out when it
 * is queued (a tap write never waits); a read waits in a FIFO until the
 * tap has a frame for it.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/engine.h"

struct sync_q {
	struct net_io **reads; /* waiting for a frame, oldest first */
	unsigned int nreads;
	struct net_io **done; /* complete, not yet reported, oldest first */
	unsigned int ndone;
	unsigned int nwatch;
	int watch_fd[NET_MAX_WATCH];
	uint64_t watch_tag[NET_MAX_WATCH];
};

static int set_nonblock(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	fl = on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK;
	return fcntl(fd, F_SETFL, fl) < 0 ? -errno : 0;
}

static int sync_init(struct net_ioq *q)
{
	struct sync_q *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->reads = calloc(q->depth, sizeof(*s->reads));
	s->done = calloc(q->depth, sizeof(*s->done));
	r = s->reads && s->done ? set_nonblock(q->fd, true) : -ENOMEM;
	if (r < 0) {
		free(s->reads);
		free(s->done);
		free(s);
		return r;
	}
	q->priv = s;
	return 0;
}

static void sync_fini(struct net_ioq *q)
{
	struct sync_q *s = q->priv;

	if (!s)
		return;
	free(s->reads);
	free(s->done);
	free(s);
	q->priv = NULL;
}

static int sync_watch(struct net_ioq *q, int fd, uint64_t tag)
{
	struct sync_q *s = q->priv;

	if (s->nwatch >= NET_MAX_WATCH)
		return -ENOSPC;
	s->watch_fd[s->nwatch] = fd;
	s->watch_tag[s->nwatch] = tag;
	s->nwatch++;
	return 0;
}

static void complete(struct sync_q *s, struct net_io *io, ssize_t r)
{
	io->res = r < 0 ? -errno : r;
	s->done[s->ndone++] = io;
}

static int sync_queue(struct net_ioq *q, struct net_io *io)
{
	struct sync_q *s = q->priv;

	switch (io->op) {
	case NET_OP_WRITE:
		complete(s, io, writev(q->fd, io->iov, (int)io->niov));
		return 0;
	case NET_OP_READ:
		s->reads[s->nreads++] = io;
		return 0;
	}
	return -EINVAL;
}

static int sync_cancel(struct net_ioq *q, struct net_io *io)
{
	struct sync_q *s = q->priv;

	for (unsigned int i = 0; i < s->nreads; i++) {
		if (s->reads[i] != io)
			continue;
		memmove(&s->reads[i], &s->reads[i + 1], (s->nreads - i - 1) * sizeof(*s->reads));
		s->nreads--;
		io->res = -ECANCELED;
		s->done[s->ndone++] = io;
		return 0;
	}
	return -ENOENT; /* already complete */
}

/* Give the waiting reads the frames the tap holds, oldest read first. */
static void try_reads(struct net_ioq *q, struct sync_q *s)
{
	unsigned int taken = 0;

	while (taken < s->nreads) {
		struct net_io *io = s->reads[taken];
		ssize_t r = readv(q->fd, io->iov, (int)io->niov);

		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			break;
		complete(s, io, r);
		taken++;
	}
	memmove(s->reads, s->reads + taken, (s->nreads - taken) * sizeof(*s->reads));
	s->nreads -= taken;
}

static int sync_wait(struct net_ioq *q, struct net_event *ev, unsigned int max, int timeout_ms)
{
	struct sync_q *s = q->priv;
	struct pollfd pfd[NET_MAX_WATCH + 1];

	for (;;) {
		unsigned int n = 0, npfd = 0;
		int pr;

		try_reads(q, s);
		while (n < max && n < s->ndone)
			ev[n] = (struct net_event){.kind = NET_EV_IO, .io = s->done[n]}, n++;
		memmove(s->done, s->done + n, (s->ndone - n) * sizeof(*s->done));
		s->ndone -= n;

		for (unsigned int i = 0; i < s->nwatch; i++)
			pfd[npfd++] = (struct pollfd){.fd = s->watch_fd[i], .events = POLLIN};
		if (s->nreads)
			pfd[npfd++] = (struct pollfd){.fd = q->fd, .events = POLLIN};
		/* Completions in hand: only look at the watched fds, do not sleep. */
		pr = poll(pfd, npfd, n ? 0 : timeout_ms);
		if (pr < 0)
			return errno == EINTR ? (int)n : -errno;
		for (unsigned int i = 0; i < s->nwatch && n < max; i++)
			if (pfd[i].revents)
				ev[n++] =
				    (struct net_event){.kind = NET_EV_FD, .tag = s->watch_tag[i]};
		if (n || pr == 0)
			return (int)n;
		/* Only the tap became readable (or failed): give its frames to the reads. */
	}
}

const struct net_engine_ops net_engine_sync = {
    .name = "sync",
    .init = sync_init,
    .fini = sync_fini,
    .watch = sync_watch,
    .queue = sync_queue,
    .cancel = sync_cancel,
    .wait = sync_wait,
};

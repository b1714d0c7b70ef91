/* SPDX-License-Identifier: MIT */
/*
 * The net backend's front: engine selection and the calls every engine
 * answers, with the in-flight count kept here for all of them. The engines
 * are in engine_uring.c and engine_sync.c.
 */
#include "net/engine.h"

#include <errno.h>
#include <string.h>

#include "vmm/io_ring.h"

const struct net_engine_ops *net_engine_ops(enum net_engine engine)
{
	switch (engine) {
	case NET_ENGINE_IO_URING:
		return &net_engine_uring;
	case NET_ENGINE_SYNC:
		return &net_engine_sync;
	}
	return NULL;
}

const char *net_engine_name(enum net_engine engine)
{
	const struct net_engine_ops *ops = net_engine_ops(engine);

	return ops ? ops->name : "?";
}

bool net_engine_available(enum net_engine engine)
{
	switch (engine) {
	case NET_ENGINE_IO_URING:
		return io_ring_available();
	case NET_ENGINE_SYNC:
		return true;
	}
	return false;
}

int net_ioq_init(struct net_ioq *q, const struct net_engine_ops *ops, int fd, unsigned int depth)
{
	int r;

	memset(q, 0, sizeof(*q));
	if (!ops || fd < 0 || depth == 0)
		return -EINVAL;
	q->ops = ops;
	q->fd = fd;
	q->depth = depth;
	r = ops->init(q);
	if (r < 0)
		q->ops = NULL;
	return r;
}

void net_ioq_fini(struct net_ioq *q)
{
	if (q->ops)
		q->ops->fini(q);
	q->ops = NULL;
}

int net_ioq_watch(struct net_ioq *q, int fd, uint64_t tag)
{
	return q->ops->watch(q, fd, tag);
}

int net_ioq_queue(struct net_ioq *q, struct net_io *io)
{
	int r;

	if (q->inflight >= q->depth)
		return -EAGAIN;
	r = q->ops->queue(q, io);
	if (r == 0)
		q->inflight++;
	return r;
}

int net_ioq_cancel(struct net_ioq *q, struct net_io *io)
{
	return q->ops->cancel(q, io);
}

int net_ioq_wait(struct net_ioq *q, struct net_event *ev, unsigned int max, int timeout_ms)
{
	int n = q->ops->wait(q, ev, max, timeout_ms);

	if (n == -EINTR)
		return 0;
	for (int i = 0; i < n; i++)
		if (ev[i].kind == NET_EV_IO && q->inflight)
			q->inflight--;
	return n;
}

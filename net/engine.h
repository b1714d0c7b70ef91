/* SPDX-License-Identifier: MIT */
/*
 * The engines that move frames between a queue pair's buffers and its tap
 * queue: io_uring by default (READV straight into the guest's RX buffers,
 * WRITEV from its TX buffers, the kicks as multishot POLLs on the same
 * ring, one io_uring_enter per batch that submits and sleeps), readv/writev
 * with poll(2) as the fallback.
 *
 * An engine queue (struct net_ioq) belongs to one I/O thread and is that
 * thread's only wait primitive: it reports I/O completions and watched
 * eventfds becoming readable. Frames are whole: a read takes one frame, a
 * write gives one; there are no short transfers to continue.
 *
 * Plain iovecs only: the backend knows nothing of virtqueues.
 */
#ifndef NESTVMM_NET_ENGINE_H
#define NESTVMM_NET_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

enum net_engine {
	NET_ENGINE_IO_URING,
	NET_ENGINE_SYNC,
};

/* As --net spells it: "io_uring", "sync". */
const char *net_engine_name(enum net_engine engine);
/* Whether @engine works here (io_uring may be disabled by sysctl or seccomp). */
bool net_engine_available(enum net_engine engine);

enum net_op {
	NET_OP_READ,  /* readv one frame into iov */
	NET_OP_WRITE, /* writev one frame from iov */
};

/* One I/O; the caller owns it and @iov until it is reported complete. */
struct net_io {
	enum net_op op;
	const struct iovec *iov;
	unsigned int niov;
	int64_t res; /* on completion: bytes, or -errno (-ECANCELED: cancelled) */
};

struct net_event {
	enum { NET_EV_IO, NET_EV_FD } kind;
	struct net_io *io; /* NET_EV_IO */
	uint64_t tag;	   /* NET_EV_FD: as passed to net_ioq_watch() */
};

struct net_ioq;

/* An engine; exposed so the tests can plug in one that fails on demand. */
struct net_engine_ops {
	const char *name;
	int (*init)(struct net_ioq *q);
	void (*fini)(struct net_ioq *q);
	int (*watch)(struct net_ioq *q, int fd, uint64_t tag);
	int (*queue)(struct net_ioq *q, struct net_io *io);
	int (*cancel)(struct net_ioq *q, struct net_io *io);
	int (*wait)(struct net_ioq *q, struct net_event *ev, unsigned int max, int timeout_ms);
};

struct net_ioq {
	const struct net_engine_ops *ops;
	int fd;		    /* the tap queue */
	unsigned int depth; /* the most I/Os out at once */
	unsigned int inflight;
	void *priv;
};

/* The most fds one engine queue watches. */
#define NET_MAX_WATCH 8

const struct net_engine_ops *net_engine_ops(enum net_engine engine);

/*
 * Set up an engine queue on tap queue @fd with room for @depth I/Os. The
 * engine sets the fd's O_NONBLOCK as it needs (the file is the queue's
 * alone). Returns 0 or -errno.
 */
int net_ioq_init(struct net_ioq *q, const struct net_engine_ops *ops, int fd, unsigned int depth);
/* Call with nothing in flight (cancel and wait first). */
void net_ioq_fini(struct net_ioq *q);

/* Report eventfd @fd as NET_EV_FD with @tag each time it becomes readable; the caller drains it. */
int net_ioq_watch(struct net_ioq *q, int fd, uint64_t tag);

/* Add @io to the batch, no syscall; -EAGAIN with @depth I/Os out. */
int net_ioq_queue(struct net_ioq *q, struct net_io *io);

/*
 * Ask for @io (queued, not yet reported) to complete now: a read waiting
 * for a frame comes back with -ECANCELED, or with its frame if one came
 * first. The completion is still reported by net_ioq_wait().
 */
int net_ioq_cancel(struct net_ioq *q, struct net_io *io);

/*
 * Submit the batch, wait up to @timeout_ms (-1: forever, 0: not at all)
 * and store up to @max events. Returns the number stored or -errno
 * (-EINTR is returned as 0).
 */
int net_ioq_wait(struct net_ioq *q, struct net_event *ev, unsigned int max, int timeout_ms);

extern const struct net_engine_ops net_engine_uring;
extern const struct net_engine_ops net_engine_sync;

#endif

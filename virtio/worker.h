/* SPDX-License-Identifier: MIT */
/*
 * The life of a virtio device's I/O thread, shared by the request queues
 * (virtio/req_queue.c: virtio-blk's, virtio-scsi's), virtio-scsi's control
 * queue and virtio-net (one per queue pair). The thread lives from init to
 * destroy, so that it is made during set-up, never by a vCPU. It makes its
 * engine queue itself, at seal time (or at its first start), and then enters
 * its sandbox; start and stop only open and close serving sessions:
 *
 *	worker_init      the thread exists, idle
 *	worker_seal      ops->ready() in the thread (engine queue, sandbox)
 *	worker_start     ops->ready() again (a no-op unless something changed),
 *	                 then ops->serve() runs until the stop eventfd fires
 *	worker_stop      writes the stop eventfd; worker_join waits for the
 *	                 session to end (its in-flight I/O done)
 *	worker_destroy   ends the thread, which calls ops->fini()
 *
 * The caller drives it from one thread at a time (the transport's, or
 * set-up's); the session's own state belongs to the worker thread.
 */
#ifndef NESTVMM_VIRTIO_WORKER_H
#define NESTVMM_VIRTIO_WORKER_H

#include <pthread.h>
#include <stdbool.h>

struct worker_ops {
	/* In the thread: be ready to serve (make the engine queue, enter the sandbox). 0 or -errno. */
	int (*ready)(void *arg);
	/* In the thread: one serving session; return once worker_stop_fd() fired and I/O is done. */
	void (*serve)(void *arg);
	/* In the thread, as it ends: free what ready() made. */
	void (*fini)(void *arg);
};

struct worker {
	const struct worker_ops *ops;
	void *arg;
	char name[16];
	int stop_fd;  /* EFD_NONBLOCK; the session watches it and drains it */
	bool running; /* a session started and not yet joined (the caller's view) */
	pthread_t thread;
	bool thread_made;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	enum { W_IDLE, W_SEALING, W_STARTING, W_SERVING, W_QUIT } state; /* guarded by mu */
	int init_err;
};

/* Make the thread (named @name) and wait until it is idle. Returns 0 or -errno. */
int worker_init(struct worker *w, const char *name, const struct worker_ops *ops, void *arg);
/* Run ops->ready() in the thread; returns what it returned. */
int worker_seal(struct worker *w);
/* Run ops->ready(), then start a session. Returns 0, or ready()'s -errno (no session). */
int worker_start(struct worker *w);
/* Ask the running session to end (no-op when none runs). */
void worker_stop(struct worker *w);
/* Wait for the session worker_stop() ended. Returns whether one was running. */
bool worker_join(struct worker *w);
/* Stop, join, end the thread; safe on a worker whose init failed or never ran. */
void worker_destroy(struct worker *w);

/* Drain a non-blocking eventfd; a spurious wake-up finds it empty. */
void worker_drain_fd(int fd);

#endif

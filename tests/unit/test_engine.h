/* SPDX-License-Identifier: MIT */
/*
 * The device models' test engine: RAM disks behind the blk_engine_ops
 * interface, which can fail the next I/O on demand or hold I/Os in flight
 * until the test lets them go (te_release()). Included by one test file
 * each (test_virtio_blk.c, test_virtio_scsi.c); cmocka comes first.
 */
#ifndef NESTVMM_TEST_ENGINE_H
#define NESTVMM_TEST_ENGINE_H

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "block/block.h"

#define TE_MAX	   256
#define TE_MAX_FDS 8
#define TE_MAX_Q   8
#define TE_MAX_ALT 4

struct te_q {
	int efd; /* written when completions are waiting in done[] */
	int fds[TE_MAX_FDS];
	uint64_t tags[TE_MAX_FDS];
	unsigned int nfds;
	struct blk_io *pending[TE_MAX];
	unsigned int npending;
	struct blk_io *done[TE_MAX];
	unsigned int ndone;
	pthread_t thread; /* the thread that set the queue up */
	unsigned int nr_ios;
};

static struct {
	pthread_mutex_t lock;
	uint8_t *data;
	uint64_t size;
	int fail_next; /* errno the next I/O fails with */
	bool hold;     /* keep submitted I/Os in held[] until te_release() */
	struct blk_io *held[TE_MAX];
	struct te_q *held_q[TE_MAX];
	unsigned int nheld;
	unsigned int ops[BLK_OP_WRITE_ZEROES + 1];
	uint64_t last_offset[BLK_OP_WRITE_ZEROES + 1];
	uint64_t last_len[BLK_OP_WRITE_ZEROES + 1];
	unsigned int out_of_range;
	struct te_q *queues[TE_MAX_Q];
	unsigned int nqueues;
	/* Disks besides the queue's own (an I/O that names one): their RAM. */
	struct {
		const struct blk_disk *disk;
		uint8_t *data;
		uint64_t size;
	} alt[TE_MAX_ALT];
	unsigned int nalt;
} te = {.lock = PTHREAD_MUTEX_INITIALIZER};

static inline void te_reset(uint64_t size)
{
	free(te.data);
	te.data = calloc(1, size);
	assert_non_null(te.data);
	te.size = size;
	te.fail_next = 0;
	te.hold = false;
	te.nheld = 0;
	memset(te.ops, 0, sizeof(te.ops));
	te.out_of_range = 0;
	te.nqueues = 0;
	for (unsigned int i = 0; i < te.nalt; i++)
		free(te.alt[i].data);
	te.nalt = 0;
}

/* Give @disk (an I/O's io->disk) its own zeroed RAM of @size bytes; returns it. */
static inline uint8_t *te_add_disk(const struct blk_disk *disk, uint64_t size)
{
	uint8_t *p = calloc(1, size);

	assert_non_null(p);
	assert_true(te.nalt < TE_MAX_ALT);
	te.alt[te.nalt].disk = disk;
	te.alt[te.nalt].data = p;
	te.alt[te.nalt++].size = size;
	return p;
}

/* The RAM and size an I/O goes to. */
static inline uint8_t *te_data_of(const struct blk_io *io, uint64_t *size)
{
	for (unsigned int i = 0; i < te.nalt; i++) {
		if (io->disk && io->disk == te.alt[i].disk) {
			*size = te.alt[i].size;
			return te.alt[i].data;
		}
	}
	*size = te.size;
	return te.data;
}

static inline void copy_iov(const struct blk_io *io, uint8_t *data, bool to_disk)
{
	uint64_t off = io->offset;

	for (unsigned int i = 0; i < io->niov; i++) {
		if (to_disk)
			memcpy(data + off, io->iov[i].iov_base, io->iov[i].iov_len);
		else
			memcpy(io->iov[i].iov_base, data + off, io->iov[i].iov_len);
		off += io->iov[i].iov_len;
	}
}

/* Carry out @io; te.lock held. */
static inline void te_execute(struct te_q *tq, struct blk_io *io)
{
	uint64_t size;
	uint8_t *data = te_data_of(io, &size);

	te.ops[io->op]++;
	te.last_offset[io->op] = io->offset;
	te.last_len[io->op] = io->len;
	tq->nr_ios++;
	if (te.fail_next) {
		io->res = -te.fail_next;
		te.fail_next = 0;
	} else if (io->offset > size || io->len > size - io->offset) {
		te.out_of_range++;
		io->res = -EIO;
	} else {
		switch (io->op) {
		case BLK_OP_READ:
			copy_iov(io, data, false);
			io->res = (int64_t)io->len;
			break;
		case BLK_OP_WRITE:
			copy_iov(io, data, true);
			io->res = (int64_t)io->len;
			break;
		case BLK_OP_DISCARD:
		case BLK_OP_WRITE_ZEROES:
			memset(data + io->offset, 0, io->len);
			io->res = 0;
			break;
		case BLK_OP_FLUSH:
			io->res = 0;
			break;
		}
	}
	tq->done[tq->ndone++] = io;
}

static inline void signal_fd(int fd)
{
	uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

static inline int te_init(struct blk_ioq *q)
{
	struct te_q *tq = calloc(1, sizeof(*tq));

	if (!tq)
		return -ENOMEM;
	tq->efd = eventfd(0, EFD_NONBLOCK);
	tq->thread = pthread_self();
	q->priv = tq;
	pthread_mutex_lock(&te.lock);
	if (te.nqueues < TE_MAX_Q)
		te.queues[te.nqueues++] = tq;
	pthread_mutex_unlock(&te.lock);
	return 0;
}

static inline void te_fini(struct blk_ioq *q)
{
	struct te_q *tq = q->priv;

	/* Kept in te.queues for the test to look at; freed by fx_fini(). */
	close(tq->efd);
	tq->efd = -1;
}

static inline int te_watch(struct blk_ioq *q, int fd, uint64_t tag)
{
	struct te_q *tq = q->priv;

	if (tq->nfds == TE_MAX_FDS)
		return -ENOSPC;
	tq->fds[tq->nfds] = fd;
	tq->tags[tq->nfds++] = tag;
	return 0;
}

static inline int te_queue(struct blk_ioq *q, struct blk_io *io)
{
	struct te_q *tq = q->priv;

	tq->pending[tq->npending++] = io;
	return 0;
}

static inline int te_submit(struct blk_ioq *q)
{
	struct te_q *tq = q->priv;

	pthread_mutex_lock(&te.lock);
	for (unsigned int i = 0; i < tq->npending; i++) {
		if (te.hold) {
			te.held_q[te.nheld] = tq;
			te.held[te.nheld++] = tq->pending[i];
		} else {
			te_execute(tq, tq->pending[i]);
		}
	}
	tq->npending = 0;
	pthread_mutex_unlock(&te.lock);
	return 0;
}

static inline int te_wait(struct blk_ioq *q, struct blk_event *ev, unsigned int max, int timeout_ms)
{
	struct te_q *tq = q->priv;
	struct pollfd pfd[TE_MAX_FDS + 1];
	unsigned int n = 0, ndone;

	te_submit(q);
	pthread_mutex_lock(&te.lock);
	ndone = tq->ndone;
	pthread_mutex_unlock(&te.lock);

	for (unsigned int i = 0; i < tq->nfds; i++)
		pfd[i] = (struct pollfd){.fd = tq->fds[i], .events = POLLIN};
	pfd[tq->nfds] = (struct pollfd){.fd = tq->efd, .events = POLLIN};
	if (poll(pfd, tq->nfds + 1, ndone ? 0 : timeout_ms) < 0)
		return -errno;
	for (unsigned int i = 0; i < tq->nfds && n < max; i++)
		if (pfd[i].revents & POLLIN)
			ev[n++] = (struct blk_event){.kind = BLK_EV_FD, .tag = tq->tags[i]};
	if (pfd[tq->nfds].revents & POLLIN) {
		uint64_t v;

		assert_int_equal(read(tq->efd, &v, sizeof(v)), sizeof(v));
	}
	pthread_mutex_lock(&te.lock);
	while (tq->ndone && n < max) {
		ev[n++] = (struct blk_event){.kind = BLK_EV_IO, .io = tq->done[0]};
		memmove(tq->done, tq->done + 1, --tq->ndone * sizeof(tq->done[0]));
	}
	pthread_mutex_unlock(&te.lock);
	return (int)n;
}

static const struct blk_engine_ops te_ops = {
    .name = "test",
    .init = te_init,
    .fini = te_fini,
    .watch = te_watch,
    .queue = te_queue,
    .submit = te_submit,
    .wait = te_wait,
};

/* Let the held I/Os run and complete. */
static inline void te_release(void)
{
	pthread_mutex_lock(&te.lock);
	te.hold = false;
	for (unsigned int i = 0; i < te.nheld; i++) {
		te_execute(te.held_q[i], te.held[i]);
		signal_fd(te.held_q[i]->efd);
	}
	te.nheld = 0;
	pthread_mutex_unlock(&te.lock);
}

static inline unsigned int te_ops_total(void)
{
	unsigned int n = 0;

	pthread_mutex_lock(&te.lock);
	for (unsigned int i = 0; i <= BLK_OP_WRITE_ZEROES; i++)
		n += te.ops[i];
	pthread_mutex_unlock(&te.lock);
	return n;
}

#endif

/* SPDX-License-Identifier: MIT */
#include "vmm/io_ring.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_OPS 32

static int restrict_ring(struct io_uring *ring, const uint8_t *ops, unsigned int nops)
{
	struct io_uring_restriction res[MAX_OPS];
	int r;

	if (nops > MAX_OPS)
		return -EINVAL;
	memset(res, 0, sizeof(res));
	for (unsigned int i = 0; i < nops; i++) {
		res[i].opcode = IORING_RESTRICTION_SQE_OP;
		res[i].sqe_op = ops[i];
	}
	/*
	 * The raw call: Debian 12's liburing 2.3 declares
	 * io_uring_register_restrictions() and io_uring_enable_rings() but
	 * does not export them.
	 */
	r = (int)syscall(__NR_io_uring_register, ring->ring_fd, IORING_REGISTER_RESTRICTIONS, res,
			 nops);
	if (r == 0)
		r = (int)syscall(__NR_io_uring_register, ring->ring_fd,
				 IORING_REGISTER_ENABLE_RINGS, NULL, 0);
	return r < 0 ? -errno : 0;
}

int io_ring_init_restricted(struct io_uring *ring, unsigned int entries, const uint8_t *ops,
			    unsigned int nops)
{
	struct io_uring_params p;
	int r;

	/* R_DISABLED (5.10+): the ring starts only once restricted. */
	memset(&p, 0, sizeof(p));
	p.flags = IORING_SETUP_SUBMIT_ALL | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_R_DISABLED;
	r = io_uring_queue_init_params(entries, ring, &p);
	if (r == -EINVAL) {
		memset(&p, 0, sizeof(p));
		p.flags = IORING_SETUP_R_DISABLED;
		r = io_uring_queue_init_params(entries, ring, &p);
	}
	if (r < 0)
		return r;
	r = restrict_ring(ring, ops, nops);
	if (r < 0)
		io_uring_queue_exit(ring);
	return r;
}

bool io_ring_available(void)
{
	struct io_uring ring;

	if (io_uring_queue_init(1, &ring, 0) < 0)
		return false;
	io_uring_queue_exit(&ring);
	return true;
}

struct io_uring_sqe *io_ring_get_sqe(struct io_uring *ring)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(ring);

	if (!sqe) {
		io_uring_submit(ring);
		sqe = io_uring_get_sqe(ring);
	}
	return sqe;
}

void io_ring_arm_poll(struct io_uring *ring, const struct io_ring_watch *w, unsigned int i)
{
	struct io_uring_sqe *sqe = io_ring_get_sqe(ring);

	if (!sqe)
		return;
	io_uring_prep_poll_multishot(sqe, w[i].fd, POLLIN);
	io_uring_sqe_set_data64(sqe, ((uint64_t)i << 1) | IO_RING_UD_POLL);
}

int io_ring_watch_add(struct io_uring *ring, struct io_ring_watch *w, unsigned int *n,
		      unsigned int max, int fd, uint64_t tag)
{
	if (*n >= max)
		return -ENOSPC;
	w[*n] = (struct io_ring_watch){.fd = fd, .tag = tag};
	io_ring_arm_poll(ring, w, (*n)++);
	return 0;
}

/* Errors after which polling the fd again would fail the same way. */
static bool poll_error_is_permanent(int res)
{
	return res == -EBADF || res == -EINVAL || res == -EOPNOTSUPP || res == -EPERM;
}

const struct io_ring_watch *io_ring_poll_done(struct io_uring *ring, struct io_ring_watch *w,
					      unsigned int n, const struct io_uring_cqe *cqe)
{
	unsigned int i = (unsigned int)(cqe->user_data >> 1);

	if (i >= n)
		return NULL;
	if (!(cqe->flags & IORING_CQE_F_MORE)) {
		if (cqe->res < 0 && poll_error_is_permanent(cqe->res))
			w[i].dead = true;
		if (!w[i].dead)
			io_ring_arm_poll(ring, w, i);
	}
	return &w[i];
}

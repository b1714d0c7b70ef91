/* SPDX-License-Identifier: MIT */
#include "vmm/io_ring.h"

#include <errno.h>
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

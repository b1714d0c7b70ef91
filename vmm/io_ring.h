/* SPDX-License-Identifier: MIT */
/*
 * An io_uring an I/O thread may keep inside its sandbox: seccomp does not
 * see the operations a ring carries, so a ring that could open files or
 * sockets would undo the thread's filter. The ring is made disabled, told
 * the only opcodes it may ever run (no SQE flag, no later registration),
 * then enabled. Shared by the block and the net engines.
 */
#ifndef NESTVMM_VMM_IO_RING_H
#define NESTVMM_VMM_IO_RING_H

#include <stdbool.h>
#include <stdint.h>

#include <liburing.h>

/*
 * Set up @ring with @entries SQEs, allowed to run only the @nops opcodes in
 * @ops. Asks for SUBMIT_ALL (one bad SQE does not hold back the batch) and
 * COOP_TASKRUN (completions wait for the next io_uring_enter instead of
 * interrupting the thread), both 5.19+, and goes on without them on older
 * kernels. Returns 0 or -errno (-ENOSYS / -EPERM where io_uring is off).
 */
int io_ring_init_restricted(struct io_uring *ring, unsigned int entries, const uint8_t *ops,
			    unsigned int nops);

/*
 * Watched eventfds, reported through the ring: a multishot POLL each,
 * tagged IO_RING_UD_POLL | (index << 1) in user_data (I/O user_data are
 * 8-aligned pointers, low bit clear). The engines keep the table.
 */
#define IO_RING_UD_POLL 1ull

struct io_ring_watch {
	int fd;
	uint64_t tag;
	bool dead; /* the kernel refused the poll for good: not re-armed */
};

/* The next SQE; when the SQ is full, submit it first (a safety net: the engines size it). */
struct io_uring_sqe *io_ring_get_sqe(struct io_uring *ring);

/* Add a watch on @fd with @tag as entry *@n of @w (at most @max) and arm it; 0 or -ENOSPC. */
int io_ring_watch_add(struct io_uring *ring, struct io_ring_watch *w, unsigned int *n,
		      unsigned int max, int fd, uint64_t tag);

/* (Re)arm watch @i of @w. */
void io_ring_arm_poll(struct io_uring *ring, const struct io_ring_watch *w, unsigned int i);

/*
 * A CQE whose user_data has IO_RING_UD_POLL: its watch, re-armed when the
 * kernel ended the multishot (unless for good). NULL for an index outside
 * the @n watches (a harmless NOP's).
 */
const struct io_ring_watch *io_ring_poll_done(struct io_uring *ring, struct io_ring_watch *w,
					      unsigned int n, const struct io_uring_cqe *cqe);

/* Whether io_uring works here at all (a sysctl or a seccomp filter may forbid it). */
bool io_ring_available(void);

#endif

/* SPDX-License-Identifier: MIT */
/* The virtio-blk request fuzz target's outcome counters, for its replay. */
#ifndef NESTVMM_TESTS_FUZZ_BLK_REQ_H
#define NESTVMM_TESTS_FUZZ_BLK_REQ_H

struct fuzz_blk_req_stats {
	unsigned long rw;	/* reads and writes handed to the backend */
	unsigned long segments; /* discards and write zeroes handed to the backend */
	unsigned long other;	/* flushes and GET_IDs */
	unsigned long done[3];	/* completed at once, by status */
};

extern struct fuzz_blk_req_stats fuzz_blk_req_stats;

#endif

/* SPDX-License-Identifier: MIT */
/* The virtio-scsi request fuzz target's outcome counters, for its replay. */
#ifndef NESTVMM_TESTS_FUZZ_SCSI_REQ_H
#define NESTVMM_TESTS_FUZZ_SCSI_REQ_H

struct fuzz_scsi_req_stats {
	unsigned long unframed; /* header or response area missing */
	unsigned long bidi;	/* data both ways: refused */
	unsigned long good;	/* an emulated command answered GOOD */
	unsigned long check;	/* CHECK CONDITION */
	unsigned long io;	/* planned block I/O (READ, WRITE, SYNC, WRITE SAME, UNMAP) */
	unsigned long overrun;	/* the CDB wants more data than the buffers hold */
	unsigned long tmf;	/* control requests framed as a TMF */
	unsigned long an;	/* ... as an asynchronous notification query or subscription */
};

extern struct fuzz_scsi_req_stats fuzz_scsi_req_stats;

#endif

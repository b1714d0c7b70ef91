/* SPDX-License-Identifier: MIT */
/* The SCSI CDB fuzz target's outcome counters, for its replay. */
#ifndef NESTVMM_TESTS_FUZZ_SCSI_CDB_H
#define NESTVMM_TESTS_FUZZ_SCSI_CDB_H

struct fuzz_scsi_cdb_stats {
	unsigned long ok[5];	 /* decoded, by kind (enum scsi_rw_kind) */
	unsigned long field;	 /* refused: INVALID FIELD IN CDB */
	unsigned long range;	 /* refused: LBA OUT OF RANGE */
	unsigned long other_op;	 /* not a block command decoded here */
	unsigned long unmap_ok;	 /* UNMAP lists parsed (any descriptors) */
	unsigned long unmap_bad; /* UNMAP lists refused */
};

extern struct fuzz_scsi_cdb_stats fuzz_scsi_cdb_stats;

#endif

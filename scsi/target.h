/* SPDX-License-Identifier: MIT */
/*
 * The SCSI target: one target whose logical units are disks (SBC-4 direct
 * access block devices), and the command set they answer (SPC-4, SBC-4).
 * It knows nothing of virtio or of files: scsi_target_exec() turns one CDB
 * into a plan, either done at once (status, sense, and the data-in bytes of
 * an emulated command such as INQUIRY) or block I/O for the caller to carry
 * out on the LUN's backend (READ, WRITE, SYNCHRONIZE CACHE, WRITE SAME,
 * UNMAP), whose result scsi_target_io_error() turns into sense.
 *
 * Every field of every CDB is untrusted and checked here or in scsi/cdb.c.
 */
#ifndef NESTVMM_SCSI_TARGET_H
#define NESTVMM_SCSI_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scsi/cdb.h"
#include "scsi/sense.h"

/* Operation codes answered besides the block commands of scsi/cdb.h. */
#define SCSI_TEST_UNIT_READY	 0x00
#define SCSI_REQUEST_SENSE	 0x03
#define SCSI_INQUIRY		 0x12
#define SCSI_MODE_SENSE_6	 0x1a
#define SCSI_START_STOP_UNIT	 0x1b
#define SCSI_PREVENT_ALLOW	 0x1e
#define SCSI_READ_CAPACITY_10	 0x25
#define SCSI_MODE_SENSE_10	 0x5a
#define SCSI_SERVICE_ACTION_IN	 0x9e /* service action 0x10: READ CAPACITY(16) */
#define SCSI_REPORT_LUNS	 0xa0
#define SCSI_MAINTENANCE_IN	 0xa3 /* service action 0x0c: REPORT SUPPORTED OPERATION CODES */
#define SCSI_SA_READ_CAPACITY_16 0x10
#define SCSI_SA_REPORT_OPCODES	 0x0c

/* The most LUNs one target has here. */
#define SCSI_MAX_LUNS 64

/* What the block limits VPD page promises, and scsi_target_exec() holds commands to. */
#define SCSI_MAX_UNMAP_DESC	   16
#define SCSI_MAX_UNMAP_BLOCKS	   0x3fffffu /* per descriptor */
#define SCSI_MAX_WRITE_SAME_BLOCKS 0x3fffffu
#define SCSI_UNMAP_PARAM_MAX	   (8 + 16 * SCSI_MAX_UNMAP_DESC)
/* The largest data-in an emulated command produces (REPORT LUNS of SCSI_MAX_LUNS). */
#define SCSI_DATA_IN_MAX 1024

/* One logical unit: a disk of @blocks blocks. */
struct scsi_lun_info {
	uint64_t blocks;
	uint32_t block_size;	  /* logical block: 512, or the O_DIRECT alignment */
	uint8_t phys_exp;	  /* logical blocks per physical block = 1 << phys_exp */
	bool read_only;		  /* writes: DATA PROTECT, WRITE PROTECTED */
	bool unmap;		  /* deallocation works and reads back zeroes (UNMAP, LBPRZ) */
	uint32_t max_xfer_blocks; /* MAXIMUM TRANSFER LENGTH; 0: no limit */
	char serial[21];	  /* unit serial number (VPD 0x80), printable ASCII */
	uint64_t naa;		  /* device identifier (VPD 0x83): NAA 3, locally assigned */
};

struct scsi_target {
	const struct scsi_lun_info *luns; /* LUN n is luns[n] */
	unsigned int nr_luns;		  /* <= SCSI_MAX_LUNS */
};

enum scsi_dir {
	SCSI_DIR_NONE,
	SCSI_DIR_IN,  /* data-in: device to initiator */
	SCSI_DIR_OUT, /* data-out: initiator to device */
};

enum scsi_action {
	SCSI_ACT_DONE,	/* complete with status (and err); data-in: data_len bytes of @buf */
	SCSI_ACT_RW,	/* carry out rw on the LUN (READ, WRITE, SYNC, WRITE_SAME) */
	SCSI_ACT_UNMAP, /* take data_len bytes of data-out, then scsi_target_unmap() */
};

struct scsi_plan {
	enum scsi_action action;
	uint8_t status;	       /* SCSI_ACT_DONE: GOOD or CHECK CONDITION */
	struct scsi_error err; /* CHECK CONDITION: the sense to return */
	enum scsi_dir dir;
	/*
	 * The bytes the command moves in @dir: the data-in it returns (cut
	 * to the ALLOCATION LENGTH), or the data-out it needs (a READ or
	 * WRITE's blocks, WRITE SAME's one block, UNMAP's parameter list).
	 * The transport holds it against the initiator's buffers.
	 */
	uint64_t data_len;
	struct scsi_rw rw; /* SCSI_ACT_RW */
};

/*
 * Carry out, or plan, the command @cdb (@cdb_len bytes, as many as the
 * transport delivered) for LUN @lun of @t (a LUN >= nr_luns does not exist:
 * INQUIRY says so with peripheral qualifier 3, REPORT LUNS and REQUEST
 * SENSE answer, anything else is LOGICAL UNIT NOT SUPPORTED). Emulated
 * commands write their data-in into @buf (SCSI_DATA_IN_MAX bytes). Every
 * refusal is a CHECK CONDITION plan with its sense: INVALID COMMAND
 * OPERATION CODE for what is not implemented, INVALID FIELD IN CDB for a
 * bad field, LBA OUT OF RANGE, WRITE PROTECTED on a read-only LUN.
 */
void scsi_target_exec(const struct scsi_target *t, unsigned int lun, const uint8_t *cdb,
		      size_t cdb_len, uint8_t *buf, struct scsi_plan *plan);

/*
 * UNMAP's second half: check the parameter list @p (@len bytes of the
 * data-out, at most SCSI_UNMAP_PARAM_MAX taken) against @lun and store its
 * descriptors in @out[SCSI_MAX_UNMAP_DESC]. Returns their number, or
 * -EINVAL with *@err set.
 */
int scsi_target_unmap(const struct scsi_lun_info *lun, const uint8_t *p, size_t len,
		      struct scsi_unmap_desc *out, struct scsi_error *err);

/*
 * The sense for a backend failure @neg_errno of an I/O of @kind: MEDIUM
 * ERROR with UNRECOVERED READ ERROR for a read, WRITE ERROR otherwise;
 * ENOSPC is DATA PROTECT, SPACE ALLOCATION FAILED WRITE PROTECT.
 */
struct scsi_error scsi_target_io_error(enum scsi_rw_kind kind, int neg_errno);

/* The LUN field of REPORT LUNS (SAM-5 single level): peripheral (< 256) or flat addressing. */
void scsi_lun_encode(unsigned int lun, uint8_t out[8]);

#endif

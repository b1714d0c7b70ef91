/* SPDX-License-Identifier: MIT */
/*
 * Decoding of the block commands' CDBs (SBC-4) and of the UNMAP parameter
 * list: pure functions over bytes the initiator (a hostile guest) sent.
 * Every field that is checked is checked here, so that the target only
 * carries out what is in range; a refusal comes back as the sense it must
 * produce (scsi/sense.h), field pointer included.
 *
 * Multi-byte fields in CDBs and parameter lists are big-endian.
 */
#ifndef NESTVMM_SCSI_CDB_H
#define NESTVMM_SCSI_CDB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "scsi/sense.h"

/* Operation codes (SPC-4 / SBC-4) of the block commands decoded here. */
#define SCSI_READ_6		  0x08
#define SCSI_WRITE_6		  0x0a
#define SCSI_READ_10		  0x28
#define SCSI_WRITE_10		  0x2a
#define SCSI_VERIFY_10		  0x2f
#define SCSI_SYNCHRONIZE_CACHE_10 0x35
#define SCSI_WRITE_SAME_10	  0x41
#define SCSI_UNMAP		  0x42
#define SCSI_READ_16		  0x88
#define SCSI_WRITE_16		  0x8a
#define SCSI_VERIFY_16		  0x8f
#define SCSI_SYNCHRONIZE_CACHE_16 0x91
#define SCSI_WRITE_SAME_16	  0x93
#define SCSI_READ_12		  0xa8
#define SCSI_WRITE_12		  0xaa

/* The length of a CDB by its operation code's group (SPC-4 4.2.5.1); 0: none this target decodes. */
size_t scsi_cdb_len(uint8_t opcode);

enum scsi_rw_kind {
	SCSI_RW_READ,
	SCSI_RW_WRITE,
	SCSI_RW_VERIFY,
	SCSI_RW_SYNC,	    /* SYNCHRONIZE CACHE: nblocks 0 means to the end of the LUN */
	SCSI_RW_WRITE_SAME, /* one block of data-out (or none with NDOB) over the range */
};

struct scsi_rw {
	enum scsi_rw_kind kind;
	uint64_t lba;
	uint32_t nblocks;
	bool fua;   /* READ/WRITE: force unit access */
	bool immed; /* SYNCHRONIZE CACHE: return before the data is durable (allowed to ignore) */
	bool unmap; /* WRITE SAME: the range may be deallocated */
	bool ndob;  /* WRITE SAME(16): no data-out buffer: write zeroes */
	uint8_t bytchk; /* VERIFY: 0 (medium only), 1 (compare with data-out) or 3 (one block) */
};

/*
 * Decode a READ or WRITE (6, 10, 12, 16), VERIFY (10, 16), SYNCHRONIZE
 * CACHE (10, 16) or WRITE SAME (10, 16) CDB of @len bytes for a LUN of
 * @capacity blocks. Refused with ILLEGAL REQUEST: a CDB shorter than its
 * opcode's length, protection information asked for (RDPROTECT, WRPROTECT,
 * VRPROTECT), a reserved BYTCHK, NACA set, a WRITE SAME of zero blocks
 * (WSNZ), with ANCHOR, PBDATA or LBDATA, or with NDOB and no UNMAP; with LBA OUT OF RANGE: a range past the
 * end. A transfer of zero blocks is no error (SBC-4). Returns 0, -EINVAL
 * with *@err set, or -ENOTSUP for an opcode not decoded here.
 */
int scsi_cdb_rw(const uint8_t *cdb, size_t len, uint64_t capacity, struct scsi_rw *rw,
		struct scsi_error *err);

/* One UNMAP block descriptor, checked. */
struct scsi_unmap_desc {
	uint64_t lba;
	uint32_t nblocks;
};

/*
 * Parse the UNMAP parameter list @p of @len bytes (the data-out buffer,
 * PARAMETER LIST LENGTH from the CDB already applied) for a LUN of
 * @capacity blocks: at most @max_desc descriptors of at most @max_blocks
 * blocks each (the block limits VPD page's MAXIMUM UNMAP BLOCK DESCRIPTOR
 * COUNT and MAXIMUM UNMAP LBA COUNT). Descriptors of zero blocks are
 * skipped. An empty list is no error. Returns the number of descriptors
 * stored in @out, or -EINVAL with *@err set: a list shorter than its
 * header (PARAMETER LIST LENGTH ERROR), lengths that do not add up or too
 * many descriptors or blocks (INVALID FIELD IN PARAMETER LIST), a range
 * past the end (LBA OUT OF RANGE).
 */
int scsi_unmap_parse(const uint8_t *p, size_t len, uint64_t capacity, unsigned int max_desc,
		     uint32_t max_blocks, struct scsi_unmap_desc *out, struct scsi_error *err);

#endif

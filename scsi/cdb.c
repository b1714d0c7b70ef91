/* SPDX-License-Identifier: MIT */
#include "scsi/cdb.h"

#include <errno.h>
#include <string.h>

#include "scsi/bytes.h"

size_t scsi_cdb_len(uint8_t opcode)
{
	switch (opcode >> 5) {
	case 0:
		return 6;
	case 1:
	case 2:
		return 10;
	case 4:
		return 16;
	case 5:
		return 12;
	default: /* 3: reserved (variable length); 6, 7: vendor specific */
		return 0;
	}
}

static int refuse(struct scsi_error *err, struct scsi_error e)
{
	*err = e;
	return -EINVAL;
}

int scsi_cdb_rw(const uint8_t *cdb, size_t len, uint64_t capacity, struct scsi_rw *rw,
		struct scsi_error *err)
{
	size_t n;
	uint8_t flags;
	bool end_ok;

	if (len == 0)
		return refuse(err, scsi_err_cdb_field(0, -1));
	n = scsi_cdb_len(cdb[0]);
	memset(rw, 0, sizeof(*rw));
	switch (cdb[0]) {
	case SCSI_READ_6:
	case SCSI_WRITE_6:
		if (len < 6)
			return refuse(err, scsi_err_cdb_field(0, -1));
		rw->kind = cdb[0] == SCSI_READ_6 ? SCSI_RW_READ : SCSI_RW_WRITE;
		rw->lba = (uint64_t)(cdb[1] & 0x1f) << 16 | scsi_get16(cdb + 2);
		/* A transfer length of 0 means 256 blocks in the 6-byte CDBs. */
		rw->nblocks = cdb[4] ? cdb[4] : 256;
		flags = 0;
		break;
	case SCSI_READ_10:
	case SCSI_WRITE_10:
	case SCSI_VERIFY_10:
	case SCSI_SYNCHRONIZE_CACHE_10:
	case SCSI_WRITE_SAME_10:
		if (len < 10)
			return refuse(err, scsi_err_cdb_field(0, -1));
		rw->lba = scsi_get32(cdb + 2);
		rw->nblocks = scsi_get16(cdb + 7);
		flags = cdb[1];
		break;
	case SCSI_READ_12:
	case SCSI_WRITE_12:
		if (len < 12)
			return refuse(err, scsi_err_cdb_field(0, -1));
		rw->lba = scsi_get32(cdb + 2);
		rw->nblocks = scsi_get32(cdb + 6);
		flags = cdb[1];
		break;
	case SCSI_READ_16:
	case SCSI_WRITE_16:
	case SCSI_VERIFY_16:
	case SCSI_SYNCHRONIZE_CACHE_16:
	case SCSI_WRITE_SAME_16:
		if (len < 16)
			return refuse(err, scsi_err_cdb_field(0, -1));
		rw->lba = scsi_get64(cdb + 2);
		rw->nblocks = scsi_get32(cdb + 10);
		flags = cdb[1];
		break;
	default:
		return -ENOTSUP;
	}
	/* NACA (bit 2 of the control byte): no ACA here. */
	if (cdb[n - 1] & 0x04)
		return refuse(err, scsi_err_cdb_field((uint16_t)(n - 1), 2));

	switch (cdb[0]) {
	case SCSI_READ_10:
	case SCSI_READ_12:
	case SCSI_READ_16:
	case SCSI_WRITE_10:
	case SCSI_WRITE_12:
	case SCSI_WRITE_16:
		rw->kind =
		    (cdb[0] == SCSI_READ_10 || cdb[0] == SCSI_READ_12 || cdb[0] == SCSI_READ_16)
			? SCSI_RW_READ
			: SCSI_RW_WRITE;
		/* RDPROTECT / WRPROTECT: no protection information on these LUNs. */
		if (flags & 0xe0)
			return refuse(err, scsi_err_cdb_field(1, 7));
		rw->fua = flags & 0x08;
		break;
	case SCSI_VERIFY_10:
	case SCSI_VERIFY_16:
		rw->kind = SCSI_RW_VERIFY;
		if (flags & 0xe0)
			return refuse(err, scsi_err_cdb_field(1, 7));
		rw->bytchk = (flags >> 1) & 3;
		if (rw->bytchk == 2) /* reserved */
			return refuse(err, scsi_err_cdb_field(1, 2));
		break;
	case SCSI_SYNCHRONIZE_CACHE_10:
	case SCSI_SYNCHRONIZE_CACHE_16:
		rw->kind = SCSI_RW_SYNC;
		rw->immed = flags & 0x02;
		break;
	case SCSI_WRITE_SAME_10:
	case SCSI_WRITE_SAME_16:
		rw->kind = SCSI_RW_WRITE_SAME;
		if (flags & 0xe0)
			return refuse(err, scsi_err_cdb_field(1, 7));
		rw->unmap = flags & 0x08;
		rw->ndob = cdb[0] == SCSI_WRITE_SAME_16 && (flags & 0x01);
		/* ANCHOR (bit 4) needs ANC_SUP, not offered. */
		if (flags & 0x10)
			return refuse(err, scsi_err_cdb_field(1, 4));
		/* PBDATA and LBDATA (bits 2, 1): obsolete, never supported. */
		if (flags & 0x06)
			return refuse(err, scsi_err_cdb_field(1, flags & 0x04 ? 2 : 1));
		/* Zeroes without a buffer only as a deallocation (LBPRZ makes them read back as 0). */
		if (rw->ndob && !rw->unmap)
			return refuse(err, scsi_err_cdb_field(1, 0));
		/* WSNZ: a WRITE SAME of zero blocks is not "to the end" here. */
		if (rw->nblocks == 0)
			return refuse(
			    err, scsi_err_cdb_field(cdb[0] == SCSI_WRITE_SAME_16 ? 10 : 7, -1));
		break;
	default:
		break;
	}

	/* The range, without overflow: [lba, lba + nblocks) within the LUN. */
	end_ok = rw->lba <= capacity && rw->nblocks <= capacity - rw->lba;
	if (rw->kind == SCSI_RW_SYNC && rw->nblocks == 0)
		end_ok = rw->lba <= capacity;
	if (!end_ok)
		return refuse(err, scsi_err(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE));
	return 0;
}

int scsi_unmap_parse(const uint8_t *p, size_t len, uint64_t capacity, unsigned int max_desc,
		     uint32_t max_blocks, struct scsi_unmap_desc *out, struct scsi_error *err)
{
	size_t data_len, bd_len, count;
	int n = 0;

	if (len == 0)
		return 0;
	if (len < 8)
		return refuse(
		    err, scsi_err(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR));
	data_len = scsi_get16(p);
	bd_len = scsi_get16(p + 2);
	/* UNMAP DATA LENGTH counts what follows it; the descriptors must fit the list. */
	if (data_len < 6 || data_len + 2 > len)
		return refuse(err, scsi_err_param_field(0, -1));
	if (bd_len % 16 || bd_len > data_len - 6)
		return refuse(err, scsi_err_param_field(2, -1));
	count = bd_len / 16;
	if (count > max_desc)
		return refuse(err, scsi_err_param_field(2, -1));
	for (size_t i = 0; i < count; i++) {
		const uint8_t *d = p + 8 + 16 * i;
		uint64_t lba = scsi_get64(d);
		uint32_t nb = scsi_get32(d + 8);

		if (nb > max_blocks)
			return refuse(err, scsi_err_param_field((uint16_t)(8 + 16 * i + 8), -1));
		if (lba > capacity || nb > capacity - lba)
			return refuse(
			    err, scsi_err(SCSI_KEY_ILLEGAL_REQUEST, SCSI_ASC_LBA_OUT_OF_RANGE));
		if (nb == 0)
			continue;
		out[n++] = (struct scsi_unmap_desc){.lba = lba, .nblocks = nb};
	}
	return n;
}

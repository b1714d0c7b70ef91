/* SPDX-License-Identifier: MIT */
#include "scsi/sense.h"

#include <string.h>

size_t scsi_sense_fixed(const struct scsi_error *e, uint8_t *buf, size_t len)
{
	uint8_t s[SCSI_SENSE_FIXED_LEN];

	memset(s, 0, sizeof(s));
	s[0] = 0x70; /* current error, fixed format; VALID (bit 7) clear: no INFORMATION */
	s[2] = (uint8_t)(e->key & 0xf);
	s[7] = SCSI_SENSE_FIXED_LEN - 8; /* additional sense length */
	s[12] = (uint8_t)(e->asc >> 8);
	s[13] = (uint8_t)e->asc;
	if (e->key == SCSI_KEY_ILLEGAL_REQUEST && e->field_valid) {
		/* Sense-key specific: SKSV, C/D, BPV and the bit pointer, then the field pointer. */
		s[15] = (uint8_t)(0x80 | (e->in_cdb ? 0x40 : 0) |
				  (e->bit_valid ? 0x08 | (e->bit & 7) : 0));
		s[16] = (uint8_t)(e->field >> 8);
		s[17] = (uint8_t)e->field;
	}
	memcpy(buf, s, len < sizeof(s) ? len : sizeof(s));
	return sizeof(s);
}

static struct scsi_error field_error(enum scsi_asc asc, bool in_cdb, uint16_t byte, int bit)
{
	return (struct scsi_error){.key = SCSI_KEY_ILLEGAL_REQUEST,
				   .asc = asc,
				   .field_valid = true,
				   .in_cdb = in_cdb,
				   .bit_valid = bit >= 0,
				   .bit = (uint8_t)(bit >= 0 ? bit : 0),
				   .field = byte};
}

struct scsi_error scsi_err_cdb_field(uint16_t byte, int bit)
{
	return field_error(SCSI_ASC_INVALID_FIELD_IN_CDB, true, byte, bit);
}

struct scsi_error scsi_err_param_field(uint16_t byte, int bit)
{
	return field_error(SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST, false, byte, bit);
}

struct scsi_error scsi_err(enum scsi_sense_key key, enum scsi_asc asc)
{
	return (struct scsi_error){.key = key, .asc = asc};
}

/* SPDX-License-Identifier: MIT */
/*
 * SCSI status and sense data (SPC-4 4.5): what the target answers a command
 * it cannot carry out. Fixed-format sense only (response code 0x70,
 * current errors), with the sense-key-specific field pointer when the fault
 * is a field of the CDB or of the parameter list.
 */
#ifndef NESTVMM_SCSI_SENSE_H
#define NESTVMM_SCSI_SENSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Status codes (SAM-5). */
#define SCSI_STATUS_GOOD	    0x00
#define SCSI_STATUS_CHECK_CONDITION 0x02

/* Sense keys (SPC-4 table 49). */
enum scsi_sense_key {
	SCSI_KEY_NO_SENSE = 0x0,
	SCSI_KEY_NOT_READY = 0x2,
	SCSI_KEY_MEDIUM_ERROR = 0x3,
	SCSI_KEY_HARDWARE_ERROR = 0x4,
	SCSI_KEY_ILLEGAL_REQUEST = 0x5,
	SCSI_KEY_UNIT_ATTENTION = 0x6,
	SCSI_KEY_DATA_PROTECT = 0x7,
	SCSI_KEY_ABORTED_COMMAND = 0xb,
};

/* Additional sense code and qualifier, as one value: ASC << 8 | ASCQ (SPC-4 table 50). */
enum scsi_asc {
	SCSI_ASC_NONE = 0x0000,
	SCSI_ASC_WRITE_ERROR = 0x0c00,
	SCSI_ASC_UNRECOVERED_READ_ERROR = 0x1100,
	SCSI_ASC_PARAMETER_LIST_LENGTH_ERROR = 0x1a00,
	SCSI_ASC_INVALID_OPCODE = 0x2000,
	SCSI_ASC_LBA_OUT_OF_RANGE = 0x2100,
	SCSI_ASC_INVALID_FIELD_IN_CDB = 0x2400,
	SCSI_ASC_LUN_NOT_SUPPORTED = 0x2500,
	SCSI_ASC_INVALID_FIELD_IN_PARAM_LIST = 0x2600,
	SCSI_ASC_WRITE_PROTECTED = 0x2700,
	SCSI_ASC_SPACE_ALLOC_FAILED = 0x2707, /* SPACE ALLOCATION FAILED WRITE PROTECT */
	SCSI_ASC_POWER_ON_RESET = 0x2900,
	SCSI_ASC_SAVING_PARAMS_NOT_SUPPORTED = 0x3900,
};

/* What went wrong with a command, before it becomes sense bytes. */
struct scsi_error {
	enum scsi_sense_key key;
	enum scsi_asc asc;
	/* ILLEGAL REQUEST: the offending byte (and bit, if bit_valid) of the CDB or parameter list. */
	bool field_valid;
	bool in_cdb; /* C/D: the field is in the CDB (else in the parameter list) */
	bool bit_valid;
	uint8_t bit;	/* 0..7 */
	uint16_t field; /* byte offset */
};

#define SCSI_SENSE_FIXED_LEN 18

/*
 * Write @e as fixed-format sense data into @buf (at most @len bytes, 18
 * needed for all of it; a shorter buffer gets the first @len). Returns the
 * bytes of sense data there are (18), whatever fit.
 */
size_t scsi_sense_fixed(const struct scsi_error *e, uint8_t *buf, size_t len);

/* Shorthands for the common errors. */
struct scsi_error scsi_err_cdb_field(uint16_t byte, int bit); /* bit < 0: the whole byte */
struct scsi_error scsi_err_param_field(uint16_t byte, int bit);
struct scsi_error scsi_err(enum scsi_sense_key key, enum scsi_asc asc);

#endif

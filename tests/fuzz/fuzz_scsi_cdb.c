/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for the SCSI target's CDB decoder and UNMAP list parser
 * (scsi/cdb.c). The input gives the LUN's capacity, a CDB (its opcode
 * mostly one of the block commands), and an UNMAP parameter list. The
 * target checks every promise: a decoded command's range lies in the LUN,
 * its kind matches its opcode; a refusal is ILLEGAL REQUEST with a field
 * pointer inside the CDB (or LBA OUT OF RANGE), and turns into 18 bytes of
 * sense; parsed UNMAP descriptors are in range and within the limits.
 * The CDB and the list sit at the end of buffers followed by a guard page.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scsi/cdb.h"
#include "tests/fuzz/fuzz_guard.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/fuzz_scsi_cdb.h"

#define SLOT_BYTES 0x2000u
#define MAX_DESC   8

struct fuzz_scsi_cdb_stats fuzz_scsi_cdb_stats;

static uint8_t *slot[2];

static const uint8_t opcodes[] = {
    SCSI_READ_6,
    SCSI_WRITE_6,
    SCSI_READ_10,
    SCSI_WRITE_10,
    SCSI_VERIFY_10,
    SCSI_SYNCHRONIZE_CACHE_10,
    SCSI_WRITE_SAME_10,
    SCSI_READ_12,
    SCSI_WRITE_12,
    SCSI_READ_16,
    SCSI_WRITE_16,
    SCSI_VERIFY_16,
    SCSI_SYNCHRONIZE_CACHE_16,
    SCSI_WRITE_SAME_16,
};

static enum scsi_rw_kind kind_of(uint8_t op)
{
	switch (op) {
	case SCSI_READ_6:
	case SCSI_READ_10:
	case SCSI_READ_12:
	case SCSI_READ_16:
		return SCSI_RW_READ;
	case SCSI_WRITE_6:
	case SCSI_WRITE_10:
	case SCSI_WRITE_12:
	case SCSI_WRITE_16:
		return SCSI_RW_WRITE;
	case SCSI_VERIFY_10:
	case SCSI_VERIFY_16:
		return SCSI_RW_VERIFY;
	case SCSI_SYNCHRONIZE_CACHE_10:
	case SCSI_SYNCHRONIZE_CACHE_16:
		return SCSI_RW_SYNC;
	default:
		return SCSI_RW_WRITE_SAME;
	}
}

static bool decoded_here(uint8_t op)
{
	for (size_t i = 0; i < sizeof(opcodes); i++)
		if (opcodes[i] == op)
			return true;
	return false;
}

static void check_cdb(const uint8_t *cdb, size_t len, uint64_t cap)
{
	struct scsi_rw rw;
	struct scsi_error err;
	uint8_t sense[SCSI_SENSE_FIXED_LEN];
	int r = scsi_cdb_rw(cdb, len, cap, &rw, &err);

	if (r == -ENOTSUP) {
		if (len == 0 || decoded_here(cdb[0]))
			__builtin_trap();
		fuzz_scsi_cdb_stats.other_op++;
		return;
	}
	if (r == -EINVAL) {
		if (err.key != SCSI_KEY_ILLEGAL_REQUEST)
			__builtin_trap();
		if (err.asc == SCSI_ASC_INVALID_FIELD_IN_CDB) {
			if (!err.field_valid || !err.in_cdb || err.field >= (len ? len : 1) ||
			    (err.bit_valid && err.bit > 7))
				__builtin_trap();
			fuzz_scsi_cdb_stats.field++;
		} else if (err.asc == SCSI_ASC_LBA_OUT_OF_RANGE) {
			fuzz_scsi_cdb_stats.range++;
		} else {
			__builtin_trap();
		}
		if (scsi_sense_fixed(&err, sense, sizeof(sense)) != SCSI_SENSE_FIXED_LEN ||
		    sense[0] != 0x70 || sense[2] != SCSI_KEY_ILLEGAL_REQUEST)
			__builtin_trap();
		return;
	}
	if (r != 0 || len < scsi_cdb_len(cdb[0]) || rw.kind != kind_of(cdb[0]) || rw.lba > cap)
		__builtin_trap();
	if (!(rw.kind == SCSI_RW_SYNC && rw.nblocks == 0) && rw.nblocks > cap - rw.lba)
		__builtin_trap();
	if (rw.kind == SCSI_RW_WRITE_SAME && (rw.nblocks == 0 || (rw.ndob && !rw.unmap)))
		__builtin_trap();
	if (rw.kind == SCSI_RW_VERIFY && rw.bytchk == 2)
		__builtin_trap();
	fuzz_scsi_cdb_stats.ok[rw.kind]++;
}

static void check_unmap(const uint8_t *p, size_t len, uint64_t cap, uint32_t max_blocks)
{
	struct scsi_unmap_desc d[MAX_DESC];
	struct scsi_error err;
	int n = scsi_unmap_parse(p, len, cap, MAX_DESC, max_blocks, d, &err);

	if (n < 0) {
		if (n != -EINVAL || err.key != SCSI_KEY_ILLEGAL_REQUEST)
			__builtin_trap();
		fuzz_scsi_cdb_stats.unmap_bad++;
		return;
	}
	if (n > MAX_DESC)
		__builtin_trap();
	for (int i = 0; i < n; i++)
		if (d[i].nblocks == 0 || d[i].nblocks > max_blocks || d[i].lba > cap ||
		    d[i].nblocks > cap - d[i].lba)
			__builtin_trap();
	fuzz_scsi_cdb_stats.unmap_ok++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t caps[] = {0, 1, 1000, 1ull << 21, 1ull << 32, UINT64_MAX};
	struct input in = {data, size};
	uint8_t mode = get8(&in);
	uint64_t cap = mode & 0x80 ? get64(&in) : caps[mode % (sizeof(caps) / sizeof(caps[0]))];
	size_t cdb_len = get8(&in) % 33;
	uint8_t shape = get8(&in);
	uint8_t *cdb, *list;
	size_t list_len;

	if (!slot[0])
		fuzz_guarded_slots(slot, 2, SLOT_BYTES);
	/* Each ends at its guard page. */
	cdb = slot[0] + SLOT_BYTES - cdb_len;
	for (size_t i = 0; i < cdb_len; i++)
		cdb[i] = get8(&in);
	if (cdb_len && !(shape & 1))
		cdb[0] = opcodes[(shape >> 3) % sizeof(opcodes)];
	/* Half the time byte 1 holds only flags every command takes (FUA/UNMAP, NDOB). */
	if (cdb_len > 1 && (shape & 4))
		cdb[1] &= 0x09;
	check_cdb(cdb, cdb_len, cap);

	list_len = in.n < SLOT_BYTES ? in.n : SLOT_BYTES;
	list = slot[1] + SLOT_BYTES - list_len;
	memcpy(list, in.p, list_len);
	check_unmap(list, list_len, cap, shape & 2 ? 1000 : UINT32_MAX);
	return 0;
}

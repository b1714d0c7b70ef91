/* SPDX-License-Identifier: MIT */
/*
 * The SCSI CDB fuzz target's replay: edge inputs whose outcome is known
 * and the verdict on what the random inputs reached.
 */
#include <stdio.h>
#include <stdlib.h>

#include "scsi/cdb.h"
#include "tests/fuzz/fuzz_scsi_cdb.h"
#include "tests/fuzz/replay.h"

/* Capacity 1000 (table index 2), a CDB of @len bytes taken as given (shape bit 0 set). */
static void head(struct replay_buf *b, uint8_t len)
{
	b->n = 0;
	replay_put8(b, 2);
	replay_put8(b, len);
	replay_put8(b, 1);
}

static void put_cdb(struct replay_buf *b, const uint8_t *cdb, size_t n)
{
	for (size_t i = 0; i < n; i++)
		replay_put8(b, cdb[i]);
}

void replay_edges(void)
{
	struct fuzz_scsi_cdb_stats *st = &fuzz_scsi_cdb_stats;
	struct replay_buf *b = calloc(1, sizeof(*b));
	const uint8_t read10[10] = {SCSI_READ_10, 0, 0, 0, 0, 0, 0, 0, 8, 0};
	const uint8_t past[10] = {SCSI_READ_10, 0, 0, 0, 0x03, 0xe5, 0, 0, 8, 0};
	const uint8_t naca[10] = {SCSI_WRITE_10, 0, 0, 0, 0, 0, 0, 0, 8, 4};
	const uint8_t ws0[16] = {SCSI_WRITE_SAME_16, 0x08};
	const uint8_t inquiry[6] = {0x12, 0, 0, 0, 36, 0};

	if (!b)
		exit(1);
	head(b, 10);
	put_cdb(b, read10, 10);
	replay_expect("READ(10) of 8 blocks at 0", b, &st->ok[SCSI_RW_READ], 1);
	head(b, 10);
	put_cdb(b, past, 10);
	replay_expect("READ(10) past the end", b, &st->range, 1);
	head(b, 10);
	put_cdb(b, naca, 10);
	replay_expect("NACA set", b, &st->field, 1);
	head(b, 16);
	put_cdb(b, ws0, 16);
	replay_expect("WRITE SAME(16) of zero blocks", b, &st->field, 1);
	head(b, 6);
	put_cdb(b, inquiry, 6);
	replay_expect("INQUIRY is not a block command", b, &st->other_op, 1);
	head(b, 5);
	put_cdb(b, read10, 5);
	replay_expect("a READ(10) of 5 bytes", b, &st->field, 1);
	free(b);
}

bool replay_verdict(void)
{
	const struct fuzz_scsi_cdb_stats *st = &fuzz_scsi_cdb_stats;
	unsigned long ok = 0;

	for (int i = 0; i < 5; i++)
		ok += st->ok[i];
	printf("decoded read %lu write %lu verify %lu sync %lu write-same %lu; refused field %lu "
	       "range %lu; other opcodes %lu; unmap lists ok %lu refused %lu\n",
	       st->ok[0], st->ok[1], st->ok[2], st->ok[3], st->ok[4], st->field, st->range,
	       st->other_op, st->unmap_ok, st->unmap_bad);
	return ok >= 100 && st->ok[SCSI_RW_SYNC] >= 10 && st->ok[SCSI_RW_WRITE_SAME] >= 10 &&
	       st->field >= 100 && st->range >= 100 && st->other_op >= 100 && st->unmap_ok >= 100 &&
	       st->unmap_bad >= 100;
}

/* SPDX-License-Identifier: MIT */
/*
 * The virtio-scsi request fuzz target's replay: edge inputs whose outcome
 * is known and the verdict on what the random inputs reached.
 */
#include <stdio.h>
#include <stdlib.h>

#include "scsi/target.h"
#include "tests/fuzz/fuzz_scsi_req.h"
#include "tests/fuzz/replay.h"
#include "virtio/scsi_req.h"

/*
 * A steered header (opcode table index @op) for LUN 0, with Linux's sizes
 * (cdb_size 6 + 26, sense_size 96) and @nout, @nin buffers of the lengths
 * buf() gives them (@forced: the target's common shape overrides them).
 */
static void head(struct replay_buf *b, unsigned int op, bool forced, uint8_t nout, uint8_t nin)
{
	b->n = 0;
	replay_put8(b, (uint8_t)((forced ? 1 : 0) | 2 | op << 2));
	replay_put8(b, nout);
	replay_put8(b, 0); /* LUN 0 */
	replay_put8(b, 26);
	replay_put8(b, 96);
	replay_put8(b, nin);
}

static void buf(struct replay_buf *b, uint16_t len)
{
	replay_put16(b, len);
	for (uint16_t i = 0; i < len; i++)
		replay_put8(b, 0);
}

void replay_edges(void)
{
	struct fuzz_scsi_req_stats *st = &fuzz_scsi_req_stats;
	struct replay_buf *b = calloc(1, sizeof(*b));
	const uint16_t hdr = VIRTIO_SCSI_CMD_HDR + VIRTIO_SCSI_CDB_SIZE;
	const uint16_t resp = VIRTIO_SCSI_RESP_HDR + VIRTIO_SCSI_SENSE_SIZE;

	if (!b)
		exit(1);
	head(b, 0, true, 1, 1); /* TEST UNIT READY */
	buf(b, hdr);
	buf(b, resp);
	replay_expect("TEST UNIT READY", b, &st->good, 1);
	head(b, 0, false, 1, 1);
	buf(b, hdr - 1);
	buf(b, resp);
	replay_expect("a header one byte short", b, &st->unframed, 1);
	head(b, 0, false, 2, 2);
	buf(b, hdr);
	buf(b, 512);
	buf(b, resp);
	buf(b, 512);
	replay_expect("data both ways", b, &st->bidi, 1);
	head(b, 0, false, 1, 1);
	buf(b, hdr);
	buf(b, resp - 1);
	replay_expect("a response area one byte short", b, &st->unframed, 1);
	free(b);
}

bool replay_verdict(void)
{
	const struct fuzz_scsi_req_stats *st = &fuzz_scsi_req_stats;

	printf("unframed %lu bidi %lu good %lu check %lu io %lu overrun %lu; control tmf %lu an "
	       "%lu\n",
	       st->unframed, st->bidi, st->good, st->check, st->io, st->overrun, st->tmf, st->an);
	return st->unframed >= 100 && st->bidi >= 10 && st->good >= 100 && st->check >= 100 &&
	       st->io >= 10 && st->overrun >= 10 && st->tmf >= 10;
}

/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target for virtio-scsi requests (virtio/scsi_req.c) and the SCSI
 * target behind them (scsi/target.c): the input lays out a descriptor
 * chain (how many readable and writable buffers, their lengths, their
 * bytes), the cdb_size and sense_size a driver could have set, and which
 * opcode the CDB holds. The request is taken apart as the device does it,
 * the CDB is run on a target of three LUNs (one read-only, one without
 * provisioning), and every promise is checked: the data buffers add up to
 * what the header says, only one direction is ever kept, a plan's range
 * lies inside its LUN, a refusal carries 18 bytes of sense, emulated data
 * fits its buffer, the answer never claims more bytes than the chain has.
 * The same chain is then read as a control request. Each buffer ends at a
 * guard page.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "scsi/target.h"
#include "tests/fuzz/fuzz_guard.h"
#include "tests/fuzz/fuzz_input.h"
#include "tests/fuzz/fuzz_scsi_req.h"
#include "virtio/scsi_req.h"

#define NBUF	   8
#define SLOT_BYTES 0x2000u

struct fuzz_scsi_req_stats fuzz_scsi_req_stats;

static uint8_t *slot[NBUF];
static struct virtq_chain chain;
static struct scsi_vreq req;
static uint8_t data_in[SCSI_DATA_IN_MAX];

static const uint8_t opcodes[] = {
    SCSI_TEST_UNIT_READY, SCSI_REQUEST_SENSE,	     SCSI_INQUIRY,
    SCSI_MODE_SENSE_6,	  SCSI_READ_CAPACITY_10,     SCSI_READ_10,
    SCSI_WRITE_10,	  SCSI_WRITE_SAME_10,	     SCSI_UNMAP,
    SCSI_MODE_SENSE_10,	  SCSI_SYNCHRONIZE_CACHE_10, SCSI_READ_16,
    SCSI_WRITE_16,	  SCSI_SERVICE_ACTION_IN,    SCSI_REPORT_LUNS,
    SCSI_MAINTENANCE_IN,
};

static const struct scsi_lun_info luns[3] = {
    {.blocks = 2048, .block_size = 512, .phys_exp = 3, .unmap = true, .max_xfer_blocks = 64},
    {.blocks = 1ull << 33, .block_size = 4096, .read_only = true},
    {.blocks = 1, .block_size = 512},
};
static const struct scsi_target target = {.luns = luns, .nr_luns = 3};

static uint64_t iov_sum(const struct iovec *iov, unsigned int n)
{
	uint64_t s = 0;

	for (unsigned int i = 0; i < n; i++)
		s += iov[i].iov_len;
	return s;
}

static void check_plan(const struct scsi_plan *p, unsigned int lun)
{
	uint8_t sense[SCSI_SENSE_FIXED_LEN];

	if (p->action == SCSI_ACT_DONE && p->status == SCSI_STATUS_CHECK_CONDITION) {
		if (p->data_len || scsi_sense_fixed(&p->err, sense, sizeof(sense)) != 18 ||
		    sense[0] != 0x70)
			__builtin_trap();
		fuzz_scsi_req_stats.check++;
		return;
	}
	if (p->action == SCSI_ACT_DONE) {
		if (p->status != SCSI_STATUS_GOOD ||
		    (p->dir == SCSI_DIR_IN && p->data_len > SCSI_DATA_IN_MAX) ||
		    (p->dir != SCSI_DIR_IN && p->data_len))
			__builtin_trap();
		fuzz_scsi_req_stats.good++;
		return;
	}
	/* Block I/O only on a LUN that exists, inside it, never a write on a read-only one. */
	if (lun >= 3)
		__builtin_trap();
	if (p->action == SCSI_ACT_RW) {
		const struct scsi_rw *rw = &p->rw;

		if (rw->lba > luns[lun].blocks ||
		    (rw->nblocks && rw->nblocks > luns[lun].blocks - rw->lba))
			__builtin_trap();
		if (luns[lun].read_only &&
		    (rw->kind == SCSI_RW_WRITE || rw->kind == SCSI_RW_WRITE_SAME))
			__builtin_trap();
		if ((rw->kind == SCSI_RW_READ || rw->kind == SCSI_RW_WRITE) &&
		    p->data_len != (uint64_t)rw->nblocks * luns[lun].block_size)
			__builtin_trap();
	} else if (p->action != SCSI_ACT_UNMAP || !luns[lun].unmap || luns[lun].read_only) {
		__builtin_trap();
	}
	fuzz_scsi_req_stats.io++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct input in = {data, size};
	uint8_t shape = get8(&in);
	unsigned int nr_out = get8(&in) % (NBUF + 1), nr_in, lun_pick = get8(&in);
	uint32_t cdb_size = 6 + get8(&in) % (VIRTIO_SCSI_CDB_MAX - 5);
	uint32_t sense_size = get8(&in) % (VIRTIO_SCSI_SENSE_MAX + 1);
	struct scsi_plan plan;
	struct scsi_vctrl ctrl;
	uint64_t room, used;

	if (!slot[0])
		fuzz_guarded_slots(slot, NBUF, SLOT_BYTES);
	if (shape & 1) { /* the common shapes: Linux's sizes, header then response */
		cdb_size = VIRTIO_SCSI_CDB_SIZE;
		sense_size = VIRTIO_SCSI_SENSE_SIZE;
	}
	nr_in = get8(&in) % (NBUF + 1 - nr_out);
	if (shape & 1) { /* ... with a header and a response buffer */
		nr_out = nr_out ? nr_out : 1;
		nr_in = nr_in ? nr_in : 1;
		if (nr_out + nr_in > NBUF)
			nr_out = NBUF - nr_in;
	}
	memset(&chain, 0, sizeof(chain));
	chain.head = 3;
	chain.nr_out = nr_out;
	chain.nr_in = nr_in;
	for (unsigned int i = 0; i < nr_out + nr_in; i++) {
		uint32_t len = get16(&in) % (SLOT_BYTES + 1);
		uint8_t *p;

		/* The common shape: the header (and a little data-out), then the response area. */
		if ((shape & 1) && i == 0)
			len = VIRTIO_SCSI_CMD_HDR + cdb_size + (shape & 0x40 ? len % 600 : 0);
		else if ((shape & 1) && i == nr_out)
			len = VIRTIO_SCSI_RESP_HDR + sense_size;
		p = slot[i] + SLOT_BYTES - len;

		for (uint32_t k = 0; k < len; k++)
			p[k] = get8(&in);
		chain.iov[i] = (struct virtq_iov){p, len};
		if (i < nr_out)
			chain.out_len += len;
		else
			chain.in_len += len;
	}
	/* Steer the header towards the target most of the time: LUN field and opcode. */
	if (nr_out && chain.iov[0].len >= VIRTIO_SCSI_CMD_HDR + 1 && (shape & 2)) {
		uint8_t *h = chain.iov[0].base;

		memset(h, 0, 8);
		h[0] = 1;
		h[2] = 0x40;
		h[3] = (uint8_t)(lun_pick & 3);
		h[VIRTIO_SCSI_CMD_HDR] = opcodes[(shape >> 2) % sizeof(opcodes)];
	} else if (nr_out && chain.iov[0].len >= 4 && (shape & 0x80)) {
		/* ... or a control request: TMF, or an AN query. */
		memset(chain.iov[0].base, 0, 4);
		((uint8_t *)chain.iov[0].base)[0] = (uint8_t)(shape >> 6 & 1);
	}

	scsi_vreq_parse(&req, &chain, cdb_size, sense_size);
	if (!req.framed) {
		fuzz_scsi_req_stats.unframed++;
	} else if (req.bidi) {
		if (!req.out_len || !req.in_len)
			__builtin_trap();
		fuzz_scsi_req_stats.bidi++;
	} else {
		if (req.out_len + VIRTIO_SCSI_CMD_HDR + cdb_size != chain.out_len ||
		    req.in_len + VIRTIO_SCSI_RESP_HDR + sense_size != chain.in_len ||
		    iov_sum(req.data, req.ndata) != req.out_len + req.in_len ||
		    iov_sum(req.resp, req.nresp) != req.resp_room)
			__builtin_trap();
		scsi_target_exec(&target, req.lun.lun, req.cdb, req.cdb_size, data_in, &plan);
		check_plan(&plan, req.lun.lun);
		room = plan.dir == SCSI_DIR_IN	  ? req.in_len
		       : plan.dir == SCSI_DIR_OUT ? req.out_len
						  : 0;
		if (plan.data_len > room) {
			fuzz_scsi_req_stats.overrun++;
		} else if (plan.action == SCSI_ACT_DONE && plan.dir == SCSI_DIR_IN) {
			if (scsi_vreq_copy_in(&req, data_in, plan.data_len) != plan.data_len)
				__builtin_trap();
		} else if (plan.action == SCSI_ACT_RW && plan.data_len) {
			scsi_vreq_trim(&req, plan.data_len);
			if (iov_sum(req.data, req.ndata) != plan.data_len)
				__builtin_trap();
		}
	}
	used = scsi_vreq_respond(&req, VIRTIO_SCSI_S_OK, SCSI_STATUS_GOOD, NULL, 0, 0,
				 (uint32_t)(req.in_len < 4096 ? req.in_len : 4096), sense_size);
	if (used > chain.in_len)
		__builtin_trap();

	scsi_vctrl_parse(&ctrl, &chain);
	if (ctrl.framed) {
		if (ctrl.type == VIRTIO_SCSI_T_TMF)
			fuzz_scsi_req_stats.tmf++;
		else if (ctrl.type == VIRTIO_SCSI_T_AN_QUERY ||
			 ctrl.type == VIRTIO_SCSI_T_AN_SUBSCRIBE)
			fuzz_scsi_req_stats.an++;
		else
			__builtin_trap();
	}
	if (scsi_vctrl_respond(&ctrl, VIRTIO_SCSI_S_FAILURE, 0) > chain.in_len)
		__builtin_trap();
	return 0;
}

/* SPDX-License-Identifier: MIT */
#include "virtio/scsi.h"

#include <endian.h>
#include <errno.h>
#include <stdatomic.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio/scsi_req.h"
#include "vmm/sandbox.h"

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

#define CONFIG_LEN sizeof(struct virtio_scsi_config)
_Static_assert(CONFIG_LEN == 36, "config layout");
_Static_assert(offsetof(struct virtio_scsi_config, sense_size) == 20, "config layout");
_Static_assert(offsetof(struct virtio_scsi_config, cdb_size) == 24, "config layout");
_Static_assert(offsetof(struct virtio_scsi_config, max_lun) == 32, "config layout");

/* 32 MiB per command: what Linux's block layer is told through max_sectors. */
#define MAX_SECTORS 0xffff
/* The size of one event the event queue would carry (struct virtio_scsi_event). */
#define EVENT_INFO_SIZE 16
/* The physical block the LUNs report: the page cache's unit. */
#define PHYS_BLOCK 4096

enum step {
	STEP_IO,	 /* the command's own I/O (READ, WRITE, FLUSH, WRITE_ZEROES) */
	STEP_FUA_FLUSH,	 /* a WRITE with FUA: the flush that makes it durable */
	STEP_UNMAP,	 /* one DISCARD per descriptor */
	STEP_WRITE_SAME, /* a pattern written in runs of the block repeated */
};

/* A request on its way: everything it needs, allocated once per ring entry. */
struct scsi_slot {
	struct blk_io io;
	bool busy;	      /* its I/O is out */
	uint8_t tmf_response; /* non-zero: a TMF ended it (ABORTED, RESET) */
	unsigned int lun;
	enum step step;
	struct scsi_rw rw;
	uint64_t data_len; /* bytes moved in the command's direction */
	uint32_t residual;
	/* UNMAP */
	struct scsi_unmap_desc desc[SCSI_MAX_UNMAP_DESC];
	unsigned int ndesc, next_desc;
	/* WRITE SAME with data: the block's buffers, repeated in req.data */
	unsigned int block_niov, reps;
	uint64_t ws_lba;
	uint32_t ws_left;
	struct scsi_vreq req;
};

struct virtio_scsi_queue {
	struct req_queue rq;
	struct virtio_scsi *s;
	int tmf_fd;		       /* the control thread writes it to hand over a TMF */
	uint8_t buf[SCSI_DATA_IN_MAX]; /* an emulated command's data-in, UNMAP's list */
	/* The TMF handshake, under s->tmf_mu: */
	bool serving;  /* a session is running: TMFs are owed by it */
	bool failed;   /* its engine failed: it owes none */
	bool tmf_owed; /* counted in s->tmf_pending */
	/* The queue thread's own: */
	bool tmf_active; /* carrying out tmf */
	struct scsi_tmf tmf;
	unsigned int tmf_inflight; /* affected requests whose I/O is still out */
};

static struct virtio_scsi *to_scsi(struct virtio_dev *dev)
{
	return container_of(dev, struct virtio_scsi, vdev);
}

/* ---- config space ---- */

static void scsi_config_read(struct virtio_dev *dev, unsigned int off, void *data,
			     unsigned int size)
{
	const uint8_t *cfg = (const uint8_t *)&to_scsi(dev)->config;
	unsigned int n = 0;

	if (off < CONFIG_LEN)
		n = size < CONFIG_LEN - off ? size : (unsigned int)(CONFIG_LEN - off);
	memcpy(data, cfg + off, n);
	memset((uint8_t *)data + n, 0, size - n);
}

static uint32_t clamp_u32(uint32_t v, uint32_t lo, uint32_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/*
 * sense_size and cdb_size are the driver's to set (before DRIVER_OK; the
 * queues take them at each start). A value out of range is held to it and
 * reads back as held.
 */
static void scsi_config_write(struct virtio_dev *dev, unsigned int off, const void *data,
			      unsigned int size)
{
	struct virtio_scsi *s = to_scsi(dev);
	uint32_t v;

	if (size != 4)
		return;
	memcpy(&v, data, 4);
	v = le32toh(v);
	if (off == offsetof(struct virtio_scsi_config, sense_size))
		s->config.sense_size = htole32(clamp_u32(v, 0, VIRTIO_SCSI_SENSE_MAX));
	else if (off == offsetof(struct virtio_scsi_config, cdb_size))
		s->config.cdb_size = htole32(clamp_u32(v, 6, VIRTIO_SCSI_CDB_MAX));
}

/* ---- task management, the request queues' half ---- */

static bool tmf_matches(const struct scsi_tmf *t, unsigned int lun, uint64_t id)
{
	if (!t->all_luns && lun != t->lun)
		return false;
	return !t->by_id || id == t->id;
}

/* Acknowledge the TMF this queue owes (with whether a QUERY found its task). */
static void tmf_ack(struct virtio_scsi_queue *sq, bool found)
{
	struct virtio_scsi *s = sq->s;

	pthread_mutex_lock(&s->tmf_mu);
	if (sq->tmf_owed) {
		sq->tmf_owed = false;
		s->tmf_found |= found;
		if (--s->tmf_pending == 0)
			pthread_cond_broadcast(&s->tmf_cv);
	}
	pthread_mutex_unlock(&s->tmf_mu);
}

/* The control thread handed over a TMF: mark what it affects. */
static void tmf_event(struct req_queue *rq)
{
	struct virtio_scsi_queue *sq = container_of(rq, struct virtio_scsi_queue, rq);
	struct scsi_tmf t;
	bool owed, found = false;

	pthread_mutex_lock(&sq->s->tmf_mu);
	owed = sq->tmf_owed;
	t = sq->s->tmf;
	pthread_mutex_unlock(&sq->s->tmf_mu);
	if (!owed || sq->tmf_active)
		return;
	atomic_fetch_add(&sq->s->tmf_taken, 1);
	for (unsigned int i = 0; i < rq->nr_slots; i++) {
		struct scsi_slot *slot = req_queue_slot(rq, i);

		if (!slot->busy || !tmf_matches(&t, slot->lun, slot->req.id))
			continue;
		found = true;
		if (!t.query && !slot->tmf_response) {
			slot->tmf_response = t.response;
			sq->tmf_inflight++;
		}
	}
	if (t.query) {
		tmf_ack(sq, found);
		return;
	}
	/* The ring is read next (the loop serves after this event); then batch_done acks. */
	sq->tmf = t;
	sq->tmf_active = true;
}

/* Every affected request is answered and none waits in the ring: the TMF is done here. */
static void tmf_batch_done(struct req_queue *rq)
{
	struct virtio_scsi_queue *sq = container_of(rq, struct virtio_scsi_queue, rq);

	if (!sq->tmf_active || sq->tmf_inflight || rq->starved)
		return;
	sq->tmf_active = false;
	tmf_ack(sq, false);
}

static void queue_failed(struct req_queue *rq)
{
	struct virtio_scsi_queue *sq = container_of(rq, struct virtio_scsi_queue, rq);

	pthread_mutex_lock(&sq->s->tmf_mu);
	sq->failed = true;
	pthread_mutex_unlock(&sq->s->tmf_mu);
	sq->tmf_active = false;
	tmf_ack(sq, false);
}

/* ---- the request path (request queue threads) ---- */

static void respond(struct virtio_scsi_queue *sq, struct scsi_vreq *r, uint8_t response,
		    uint8_t status, const struct scsi_error *err, uint32_t residual,
		    uint32_t data_in)
{
	uint8_t sense[SCSI_SENSE_FIXED_LEN] = {0};
	uint32_t sense_len = 0;

	if (status == SCSI_STATUS_CHECK_CONDITION && err)
		sense_len = (uint32_t)scsi_sense_fixed(err, sense, sizeof(sense));
	req_queue_push(&sq->rq, r->head,
		       scsi_vreq_respond(r, response, status, sense, sense_len, residual, data_in,
					 sq->s->sense_size));
}

static void respond_check(struct virtio_scsi_queue *sq, struct scsi_slot *slot, struct scsi_error e)
{
	respond(sq, &slot->req, VIRTIO_SCSI_S_OK, SCSI_STATUS_CHECK_CONDITION, &e,
		(uint32_t)(slot->req.in_len + slot->req.out_len), 0);
}

/* Whether the data-out buffers hold nothing but zeroes in their first @len bytes. */
static bool data_out_zero(const struct scsi_vreq *r, uint64_t len)
{
	uint64_t seen = 0;

	for (unsigned int i = 0; i < r->ndata && seen < len; i++) {
		const uint8_t *p = r->data[i].iov_base;
		uint64_t k = r->data[i].iov_len < len - seen ? r->data[i].iov_len : len - seen;

		for (uint64_t j = 0; j < k; j++)
			if (p[j])
				return false;
		seen += k;
	}
	return true;
}

/* The next run of a WRITE SAME with data: the block repeated up to reps times. */
static void set_pattern_run(struct virtio_scsi_queue *sq, struct scsi_slot *slot)
{
	uint32_t bs = sq->s->luns[slot->lun].block_size;
	uint32_t n = slot->ws_left < slot->reps ? slot->ws_left : slot->reps;

	slot->io.op = BLK_OP_WRITE;
	slot->io.offset = slot->ws_lba * bs;
	slot->io.len = (uint64_t)n * bs;
	slot->io.iov = slot->req.data;
	slot->io.niov = n * slot->block_niov;
	slot->ws_lba += n;
	slot->ws_left -= n;
}

static void set_unmap_desc(struct virtio_scsi_queue *sq, struct scsi_slot *slot, unsigned int i)
{
	uint32_t bs = sq->s->luns[slot->lun].block_size;

	slot->io.op = BLK_OP_DISCARD;
	slot->io.offset = slot->desc[i].lba * bs;
	slot->io.len = (uint64_t)slot->desc[i].nblocks * bs;
	slot->io.niov = 0;
	slot->next_desc = i + 1;
}

/* Set up the first I/O of a READ, WRITE, SYNCHRONIZE CACHE or WRITE SAME. */
static void plan_rw(struct virtio_scsi_queue *sq, struct scsi_slot *slot)
{
	const struct scsi_lun_info *l = &sq->s->luns[slot->lun];
	struct scsi_vreq *r = &slot->req;
	struct blk_io *io = &slot->io;

	io->offset = slot->rw.lba * l->block_size;
	io->len = (uint64_t)slot->rw.nblocks * l->block_size;
	io->iov = r->data;
	io->niov = 0;
	io->unmap = false;
	slot->step = STEP_IO;
	switch (slot->rw.kind) {
	case SCSI_RW_READ:
	case SCSI_RW_WRITE:
		scsi_vreq_trim(r, slot->data_len);
		io->op = slot->rw.kind == SCSI_RW_READ ? BLK_OP_READ : BLK_OP_WRITE;
		io->niov = r->ndata;
		break;
	case SCSI_RW_SYNC:
		io->op = BLK_OP_FLUSH;
		io->offset = io->len = 0;
		break;
	case SCSI_RW_WRITE_SAME:
		if (slot->rw.ndob || data_out_zero(r, l->block_size)) {
			/* Zeroes: deallocated where UNMAP allows it (LBPRZ: they read back as 0). */
			io->op = BLK_OP_WRITE_ZEROES;
			io->unmap = slot->rw.unmap;
			break;
		}
		scsi_vreq_trim(r, l->block_size);
		slot->block_niov = r->ndata;
		slot->reps = VIRTQ_MAX_CHAIN / r->ndata;
		for (unsigned int k = 1; k < slot->reps; k++)
			memcpy(r->data + k * r->ndata, r->data, r->ndata * sizeof(r->data[0]));
		slot->ws_lba = slot->rw.lba;
		slot->ws_left = slot->rw.nblocks;
		slot->step = STEP_WRITE_SAME;
		set_pattern_run(sq, slot);
		break;
	case SCSI_RW_VERIFY: /* planned as done by the target */
		break;
	}
}

/* Take the request in the queue's chain into @slot_arg. */
static bool start_request(struct req_queue *rq, void *slot_arg)
{
	struct virtio_scsi_queue *sq = container_of(rq, struct virtio_scsi_queue, rq);
	struct virtio_scsi *s = sq->s;
	struct scsi_slot *slot = slot_arg;
	struct scsi_vreq *r = &slot->req;
	struct scsi_plan plan;
	uint64_t room;
	int n;

	slot->busy = false;
	slot->tmf_response = 0;
	scsi_vreq_parse(r, rq->chain, s->cdb_size, s->sense_size);
	if (!r->framed || r->bidi) {
		respond(sq, r, VIRTIO_SCSI_S_FAILURE, 0, NULL, 0, 0);
		return false;
	}
	if (!r->lun.target_ok) {
		respond(sq, r, VIRTIO_SCSI_S_BAD_TARGET, 0, NULL, 0, 0);
		return false;
	}
	if (sq->tmf_active && tmf_matches(&sq->tmf, r->lun.lun, r->id)) {
		atomic_fetch_add(&s->aborted, 1);
		respond(sq, r, sq->tmf.response, 0, NULL, 0, 0);
		return false;
	}
	slot->lun = r->lun.lun;
	scsi_target_exec(&s->target, slot->lun, r->cdb, r->cdb_size, sq->buf, &plan);

	/* The CDB asks for more data than the buffers hold (or holds it the other way). */
	room = plan.dir == SCSI_DIR_IN ? r->in_len : plan.dir == SCSI_DIR_OUT ? r->out_len : 0;
	if (plan.data_len > room) {
		respond(sq, r, VIRTIO_SCSI_S_OVERRUN, 0, NULL, 0, 0);
		return false;
	}
	slot->data_len = plan.data_len;
	slot->residual = (uint32_t)(r->in_len + r->out_len - plan.data_len);

	switch (plan.action) {
	case SCSI_ACT_DONE:
		if (plan.status != SCSI_STATUS_GOOD) {
			respond_check(sq, slot, plan.err);
			return false;
		}
		if (plan.dir == SCSI_DIR_IN)
			scsi_vreq_copy_in(r, sq->buf, plan.data_len);
		respond(sq, r, VIRTIO_SCSI_S_OK, SCSI_STATUS_GOOD, NULL, slot->residual,
			plan.dir == SCSI_DIR_IN ? (uint32_t)plan.data_len : 0);
		return false;
	case SCSI_ACT_UNMAP: {
		struct scsi_error e;
		uint64_t got = scsi_vreq_copy_out(
		    r, sq->buf,
		    plan.data_len < SCSI_UNMAP_PARAM_MAX ? plan.data_len : SCSI_UNMAP_PARAM_MAX);

		n = scsi_target_unmap(&s->luns[slot->lun], sq->buf, got, slot->desc, &e);
		if (n < 0) {
			respond_check(sq, slot, e);
			return false;
		}
		if (n == 0) {
			respond(sq, r, VIRTIO_SCSI_S_OK, SCSI_STATUS_GOOD, NULL, slot->residual, 0);
			return false;
		}
		slot->ndesc = (unsigned int)n;
		slot->step = STEP_UNMAP;
		slot->rw.kind = SCSI_RW_WRITE; /* its failures are write errors */
		set_unmap_desc(sq, slot, 0);
		break;
	}
	case SCSI_ACT_RW:
		slot->rw = plan.rw;
		plan_rw(sq, slot);
		break;
	}
	slot->io.disk = s->disks[slot->lun];
	if (blk_ioq_queue(&rq->ioq, &slot->io) < 0) {
		respond_check(sq, slot, scsi_target_io_error(slot->rw.kind, -EIO));
		return false;
	}
	slot->busy = true;
	return true;
}

/* After a successful I/O of @slot: queue its next one. Returns whether it did. */
static bool next_io(struct virtio_scsi_queue *sq, struct scsi_slot *slot)
{
	switch (slot->step) {
	case STEP_IO:
		if (slot->rw.kind != SCSI_RW_WRITE || !slot->rw.fua)
			return false;
		slot->step = STEP_FUA_FLUSH;
		slot->io.op = BLK_OP_FLUSH;
		slot->io.offset = slot->io.len = 0;
		slot->io.niov = 0;
		break;
	case STEP_UNMAP:
		if (slot->next_desc >= slot->ndesc)
			return false;
		set_unmap_desc(sq, slot, slot->next_desc);
		break;
	case STEP_WRITE_SAME:
		if (!slot->ws_left)
			return false;
		set_pattern_run(sq, slot);
		break;
	case STEP_FUA_FLUSH:
		return false;
	}
	return true;
}

static bool complete_io(struct req_queue *rq, void *slot_arg, struct blk_io *io)
{
	struct virtio_scsi_queue *sq = container_of(rq, struct virtio_scsi_queue, rq);
	struct scsi_slot *slot = slot_arg;
	int64_t res = io->res;

	/* A TMF ended it: carry out nothing more. */
	if (res >= 0 && !slot->tmf_response && next_io(sq, slot)) {
		if (blk_ioq_queue(&rq->ioq, io) == 0)
			return false;
		res = -EIO;
	}
	slot->busy = false;
	if (slot->tmf_response) {
		atomic_fetch_add(&sq->s->aborted, 1);
		respond(sq, &slot->req, slot->tmf_response, 0, NULL, 0, 0);
		if (sq->tmf_inflight)
			sq->tmf_inflight--;
	} else if (res < 0) {
		respond_check(sq, slot, scsi_target_io_error(slot->rw.kind, (int)res));
	} else {
		respond(sq, &slot->req, VIRTIO_SCSI_S_OK, SCSI_STATUS_GOOD, NULL, slot->residual,
			slot->rw.kind == SCSI_RW_READ ? (uint32_t)slot->data_len : 0);
	}
	return true;
}

static const struct req_queue_ops scsi_queue_ops = {
    .start = start_request,
    .complete = complete_io,
    .event = tmf_event,
    .batch_done = tmf_batch_done,
    .failed = queue_failed,
    .io_offset = offsetof(struct scsi_slot, io),
};

/* ---- the control queue (its own thread) ---- */

/* Hand @t to every serving request queue and wait for them all. Returns QUERY's finding. */
static bool run_tmf(struct virtio_scsi *s, const struct scsi_tmf *t)
{
	bool owed[VIRTIO_SCSI_MAX_REQ_QUEUES];
	bool found;

	pthread_mutex_lock(&s->tmf_mu);
	s->tmf = *t;
	s->tmf_gen++;
	s->tmf_found = false;
	s->tmf_pending = 0;
	for (unsigned int i = 0; i < s->nr_req_queues; i++) {
		struct virtio_scsi_queue *sq = &s->queues[i];

		sq->tmf_owed = sq->serving && !sq->failed;
		owed[i] = sq->tmf_owed; /* the queue may ack (and clear it) once told */
		if (sq->tmf_owed)
			s->tmf_pending++;
	}
	pthread_mutex_unlock(&s->tmf_mu);
	for (unsigned int i = 0; i < s->nr_req_queues; i++) {
		uint64_t one = 1;

		if (owed[i] && write(s->queues[i].tmf_fd, &one, 8) != 8)
			tmf_ack(&s->queues[i], false); /* cannot happen with an eventfd */
	}
	pthread_mutex_lock(&s->tmf_mu);
	while (s->tmf_pending && !s->tmf_abandon)
		pthread_cond_wait(&s->tmf_cv, &s->tmf_mu);
	found = s->tmf_found;
	pthread_mutex_unlock(&s->tmf_mu);
	atomic_fetch_add(&s->tmfs, 1);
	return found;
}

static uint8_t do_tmf(struct virtio_scsi *s, const struct scsi_vctrl *c)
{
	struct scsi_tmf t = {.lun = c->lun.lun, .id = c->id};

	if (!c->lun.target_ok)
		return VIRTIO_SCSI_S_BAD_TARGET;
	switch (c->subtype) {
	case VIRTIO_SCSI_T_TMF_ABORT_TASK:
		t.by_id = true;
		t.response = VIRTIO_SCSI_S_ABORTED;
		break;
	case VIRTIO_SCSI_T_TMF_ABORT_TASK_SET:
	case VIRTIO_SCSI_T_TMF_CLEAR_TASK_SET:
		t.response = VIRTIO_SCSI_S_ABORTED;
		break;
	case VIRTIO_SCSI_T_TMF_LOGICAL_UNIT_RESET:
		t.response = VIRTIO_SCSI_S_RESET;
		break;
	case VIRTIO_SCSI_T_TMF_I_T_NEXUS_RESET:
		t.all_luns = true;
		t.response = VIRTIO_SCSI_S_RESET;
		break;
	case VIRTIO_SCSI_T_TMF_QUERY_TASK:
		t.by_id = true;
		t.query = true;
		break;
	case VIRTIO_SCSI_T_TMF_QUERY_TASK_SET:
		t.query = true;
		break;
	default: /* CLEAR ACA (no ACA here), and what is not a TMF */
		return VIRTIO_SCSI_S_FUNCTION_REJECTED;
	}
	t.subtype = c->subtype;
	if (!t.all_luns && t.lun >= s->target.nr_luns)
		return VIRTIO_SCSI_S_INCORRECT_LUN;
	if (run_tmf(s, &t) && t.query)
		return VIRTIO_SCSI_S_FUNCTION_SUCCEEDED;
	return VIRTIO_SCSI_S_FUNCTION_COMPLETE;
}

static uint32_t control_request(struct virtio_scsi *s, const struct virtq_chain *chain)
{
	struct scsi_vctrl c;

	scsi_vctrl_parse(&c, chain);
	if (!c.framed)
		return scsi_vctrl_respond(&c, VIRTIO_SCSI_S_FAILURE, 0);
	if (c.type == VIRTIO_SCSI_T_TMF)
		return scsi_vctrl_respond(&c, do_tmf(s, &c), 0);
	/* AN_QUERY, AN_SUBSCRIBE: no asynchronous events are reported. */
	return scsi_vctrl_respond(&c, VIRTIO_SCSI_S_OK, 0);
}

static void serve_control(struct virtio_scsi *s, struct virtq_chain *chain)
{
	struct virtq *q = &s->vdev.vqs[0];
	bool pushed = false;
	int r;

	if (!q->enabled || q->broken)
		return;
	do {
		virtq_set_notify(q, false);
		while ((r = virtq_pop(q, chain)) != 0) {
			if (q->broken) {
				virtio_needs_reset(&s->vdev);
				return;
			}
			virtq_push(q, chain->head, r < 0 ? 0 : control_request(s, chain));
			pushed = true;
		}
	} while (virtq_set_notify(q, true));
	if (pushed && virtq_should_notify(q))
		virtio_notify_queue(&s->vdev, 0);
}

static int ctrl_ready(void *arg)
{
	struct virtio_scsi *s = arg;
	int r;

	if (s->ctrl_confined)
		return 0;
	r = sandbox_enter(SANDBOX_IO);
	if (r < 0)
		return r;
	s->ctrl_confined = sandbox_enabled();
	return 0;
}

/* One session of the control thread: the control queue's requests, the event queue's kicks. */
static void ctrl_serve(void *arg)
{
	struct virtio_scsi *s = arg;
	struct pollfd pfd[3] = {
	    {.fd = s->ctrl.stop_fd, .events = POLLIN},
	    {.fd = s->vdev.kick_fd[0], .events = POLLIN},
	    {.fd = s->vdev.kick_fd[1], .events = POLLIN}, /* events are never posted: drained */
	};

	serve_control(s, s->ctrl_chain);
	for (;;) {
		if (poll(pfd, 3, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: control queue: poll: %s\n", s->vdev.name,
				strerror(errno));
			virtio_needs_reset(&s->vdev);
			/* Serve nothing more; wait for the stop that ends the session. */
			pfd[1].fd = pfd[2].fd = -1;
			continue;
		}
		if (pfd[0].revents) {
			worker_drain_fd(s->ctrl.stop_fd);
			return;
		}
		if (pfd[2].revents)
			worker_drain_fd(pfd[2].fd);
		if (pfd[1].revents) {
			worker_drain_fd(pfd[1].fd);
			serve_control(s, s->ctrl_chain);
		}
	}
}

static void ctrl_fini(void *arg)
{
	(void)arg; /* nothing made in the thread */
}

static const struct worker_ops ctrl_worker_ops = {
    .ready = ctrl_ready,
    .serve = ctrl_serve,
    .fini = ctrl_fini,
};

/* ---- start / reset ---- */

static void scsi_reset(struct virtio_dev *dev)
{
	struct virtio_scsi *s = to_scsi(dev);

	/* A TMF waiting for the queues is given up: they are being stopped. */
	pthread_mutex_lock(&s->tmf_mu);
	s->tmf_abandon = true;
	pthread_cond_broadcast(&s->tmf_cv);
	pthread_mutex_unlock(&s->tmf_mu);
	worker_stop(&s->ctrl);
	for (unsigned int i = 0; i < s->nr_req_queues; i++)
		req_queue_stop(&s->queues[i].rq);
	worker_join(&s->ctrl);
	for (unsigned int i = 0; i < s->nr_req_queues; i++)
		req_queue_join(&s->queues[i].rq);
	pthread_mutex_lock(&s->tmf_mu);
	for (unsigned int i = 0; i < s->nr_req_queues; i++) {
		s->queues[i].serving = false;
		s->queues[i].tmf_owed = false;
		s->queues[i].tmf_active = false;
		s->queues[i].tmf_inflight = 0;
	}
	pthread_mutex_unlock(&s->tmf_mu);
}

static int scsi_start(struct virtio_dev *dev)
{
	struct virtio_scsi *s = to_scsi(dev);
	int r;

	scsi_reset(dev);
	s->cdb_size = le32toh(s->config.cdb_size);
	s->sense_size = le32toh(s->config.sense_size);
	pthread_mutex_lock(&s->tmf_mu);
	s->tmf_abandon = false;
	for (unsigned int i = 0; i < s->nr_req_queues; i++)
		s->queues[i].failed = false;
	pthread_mutex_unlock(&s->tmf_mu);
	for (unsigned int i = 0; i < s->nr_req_queues; i++) {
		struct virtio_scsi_queue *sq = &s->queues[i];

		if (!dev->vqs[VIRTIO_SCSI_FIRST_REQ_QUEUE + i].enabled)
			continue;
		sq->rq.engine_ops = s->engine_ops;
		r = req_queue_start(&sq->rq);
		if (r < 0) {
			fprintf(stderr, "%s: request queue %u cannot start: %s\n", dev->name, i,
				strerror(-r));
			scsi_reset(dev);
			return r;
		}
		pthread_mutex_lock(&s->tmf_mu);
		sq->serving = true;
		pthread_mutex_unlock(&s->tmf_mu);
	}
	if (dev->vqs[0].enabled && dev->kick_fd[0] >= 0) {
		r = worker_start(&s->ctrl);
		if (r < 0) {
			fprintf(stderr, "%s: control queue cannot start: %s\n", dev->name,
				strerror(-r));
			scsi_reset(dev);
			return r;
		}
	}
	return 0;
}

static const struct virtio_dev_ops scsi_ops = {
    .config_read = scsi_config_read,
    .config_write = scsi_config_write,
    .start = scsi_start,
    .reset = scsi_reset,
};

/* ---- setup ---- */

/* A stable NAA 3 (locally assigned) identifier from the disk's serial and the LUN. */
static uint64_t make_naa(const char *serial, size_t len, unsigned int lun)
{
	uint64_t h = 0xcbf29ce484222325ull;

	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)serial[i]) * 0x100000001b3ull;
	h = (h ^ lun) * 0x100000001b3ull;
	return 3ull << 60 | (h & ((1ull << 60) - 1));
}

static void fill_lun(struct scsi_lun_info *l, const struct blk_disk *d, unsigned int lun)
{
	uint32_t bs = d->block_size ? d->block_size : 512;
	uint32_t phys = bs < PHYS_BLOCK ? PHYS_BLOCK : bs;
	size_t slen = strnlen(d->serial, sizeof(d->serial));

	memset(l, 0, sizeof(*l));
	l->block_size = bs;
	l->blocks = d->size / bs;
	while ((bs << l->phys_exp) < phys)
		l->phys_exp++;
	l->read_only = d->read_only;
	l->unmap = d->discard; /* punched holes read back as zeroes */
	l->max_xfer_blocks = (uint32_t)((uint64_t)MAX_SECTORS * 512 / bs);
	memcpy(l->serial, d->serial, slen < sizeof(l->serial) - 1 ? slen : sizeof(l->serial) - 1);
	l->naa = make_naa(d->serial, slen, lun);
}

static void fill_config(struct virtio_scsi *s, uint16_t queue_size)
{
	struct virtio_scsi_config *c = &s->config;
	uint32_t seg_max = (queue_size < VIRTQ_MAX_CHAIN ? queue_size : VIRTQ_MAX_CHAIN) - 2;

	memset(c, 0, sizeof(*c));
	c->num_queues = htole32(s->nr_req_queues);
	c->seg_max = htole32(seg_max); /* the header and the response take one buffer each */
	c->max_sectors = htole32(MAX_SECTORS);
	c->cmd_per_lun = htole32(queue_size);
	c->event_info_size = htole32(EVENT_INFO_SIZE);
	c->sense_size = htole32(VIRTIO_SCSI_SENSE_SIZE);
	c->cdb_size = htole32(VIRTIO_SCSI_CDB_SIZE);
	c->max_channel = 0;
	c->max_target = 0;
	c->max_lun = htole32(SCSI_MAX_LUNS - 1);
}

int virtio_scsi_seal(struct virtio_scsi *s, char *why, size_t why_len)
{
	int r = worker_seal(&s->ctrl);

	if (r < 0) {
		snprintf(why, why_len, "virtio-scsi: control queue: %s",
			 r == -EPERM ? "cannot enter its sandbox" : strerror(-r));
		return r;
	}
	for (unsigned int i = 0; i < s->nr_req_queues; i++) {
		s->queues[i].rq.engine_ops = s->engine_ops;
		r = req_queue_seal(&s->queues[i].rq);
		if (r < 0) {
			snprintf(why, why_len, "virtio-scsi: request queue %u: %s", i,
				 r == -EPERM ? "cannot enter its sandbox" : strerror(-r));
			return r;
		}
	}
	return 0;
}

int virtio_scsi_init(struct virtio_scsi *s, struct blk_disk **disks, unsigned int nr_luns,
		     unsigned int nr_req_queues, uint16_t queue_size, char *why, size_t why_len)
{
	struct virtio_dev *dev = &s->vdev;
	int r;

	memset(s, 0, sizeof(*s));
	if (nr_luns == 0 || nr_luns > SCSI_MAX_LUNS || !disks) {
		snprintf(why, why_len, "virtio-scsi: %u LUNs (1..%u)", nr_luns, SCSI_MAX_LUNS);
		return -EINVAL;
	}
	if (nr_req_queues == 0 || nr_req_queues > VIRTIO_SCSI_MAX_REQ_QUEUES) {
		snprintf(why, why_len, "virtio-scsi: %u request queues (1..%u)", nr_req_queues,
			 VIRTIO_SCSI_MAX_REQ_QUEUES);
		return -EINVAL;
	}
	if (queue_size < 4 || queue_size > VIRTQ_SIZE_MAX || (queue_size & (queue_size - 1))) {
		snprintf(why, why_len, "virtio-scsi: queue size %u is not a power of two in 4..%u",
			 queue_size, VIRTQ_SIZE_MAX);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < nr_luns; i++) {
		const struct blk_disk *d = disks[i];
		uint32_t bs = d && d->block_size ? d->block_size : 512;

		if (!d || d->size < bs) {
			snprintf(why, why_len, "virtio-scsi: LUN %u: no disk, or an empty one", i);
			return -EINVAL;
		}
		/* One queue thread sleeps in one engine and carries every LUN's I/O. */
		if (d->engine != disks[0]->engine) {
			snprintf(why, why_len,
				 "virtio-scsi: LUN %u (%s) asks for engine %s, LUN 0 for %s: the "
				 "LUNs of one controller share one engine",
				 i, d->path, blk_engine_name(d->engine),
				 blk_engine_name(disks[0]->engine));
			return -EINVAL;
		}
		fill_lun(&s->luns[i], d, i);
	}
	s->disks = disks;
	s->target = (struct scsi_target){.luns = s->luns, .nr_luns = nr_luns};
	s->nr_req_queues = nr_req_queues;
	pthread_mutex_init(&s->tmf_mu, NULL);
	pthread_cond_init(&s->tmf_cv, NULL);
	s->tmf_sync_made = true;
	s->queues = calloc(nr_req_queues, sizeof(*s->queues));
	s->ctrl_chain = malloc(sizeof(*s->ctrl_chain));
	if (!s->queues || !s->ctrl_chain) {
		snprintf(why, why_len, "virtio-scsi: out of memory");
		virtio_scsi_destroy(s);
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < nr_req_queues; i++)
		s->queues[i].tmf_fd = -1;
	r = worker_init(&s->ctrl, "scsi-ctl", &ctrl_worker_ops, s);
	for (unsigned int i = 0; r == 0 && i < nr_req_queues; i++) {
		struct virtio_scsi_queue *sq = &s->queues[i];
		char name[16];

		sq->s = s;
		sq->tmf_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		if (sq->tmf_fd < 0) {
			r = -errno;
			break;
		}
		snprintf(name, sizeof(name), "scsi-q%u", i);
		r = req_queue_init(&sq->rq, dev, VIRTIO_SCSI_FIRST_REQ_QUEUE + i, name,
				   &scsi_queue_ops, sq, sizeof(struct scsi_slot));
		sq->rq.disk = disks[0];
		sq->rq.extra_fd = sq->tmf_fd;
	}
	if (r < 0) {
		snprintf(why, why_len, "virtio-scsi: %s", strerror(-r));
		virtio_scsi_destroy(s);
		return r;
	}

	dev->ops = &scsi_ops;
	dev->name = "virtio-scsi";
	dev->device_id = VIRTIO_ID_SCSI;
	dev->device_features = 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_EVENT_IDX |
			       1ULL << VIRTIO_F_INDIRECT_DESC;
	dev->config_len = CONFIG_LEN;
	dev->nr_queues = VIRTIO_SCSI_FIRST_REQ_QUEUE + nr_req_queues;
	dev->queue_max_size = queue_size;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		dev->kick_fd[i] = -1;
	fill_config(s, queue_size);
	return 0;
}

void virtio_scsi_set_engine(struct virtio_scsi *s, const struct blk_engine_ops *ops)
{
	s->engine_ops = ops;
}

void virtio_scsi_set_poll(struct virtio_scsi *s, uint64_t max_ns)
{
	for (unsigned int i = 0; i < s->nr_req_queues; i++)
		req_queue_set_poll(&s->queues[i].rq, max_ns);
}

void virtio_scsi_destroy(struct virtio_scsi *s)
{
	if (!s->tmf_sync_made)
		return;
	if (s->queues) {
		scsi_reset(&s->vdev);
		for (unsigned int i = 0; i < s->nr_req_queues; i++) {
			req_queue_destroy(&s->queues[i].rq);
			if (s->queues[i].tmf_fd >= 0)
				close(s->queues[i].tmf_fd);
		}
	}
	worker_destroy(&s->ctrl);
	free(s->queues);
	free(s->ctrl_chain);
	s->queues = NULL;
	s->ctrl_chain = NULL;
	pthread_cond_destroy(&s->tmf_cv);
	pthread_mutex_destroy(&s->tmf_mu);
	s->tmf_sync_made = false;
}

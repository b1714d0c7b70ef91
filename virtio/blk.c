/* SPDX-License-Identifier: MIT */
#include "virtio/blk.h"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/blk_req.h"
#include "virtio/worker.h"
#include "vmm/sandbox.h"

#define CONFIG_LEN (offsetof(struct virtio_blk_config, unused1) + 3)

_Static_assert(offsetof(struct virtio_blk_config, geometry) == 16, "config layout");
_Static_assert(offsetof(struct virtio_blk_config, blk_size) == 20, "config layout");
_Static_assert(offsetof(struct virtio_blk_config, topology) == 24, "config layout");
_Static_assert(offsetof(struct virtio_blk_config, writeback) == 32, "config layout");
_Static_assert(offsetof(struct virtio_blk_config, num_queues) == 34, "config layout");
_Static_assert(offsetof(struct virtio_blk_config, max_discard_sectors) == 36, "config layout");
_Static_assert(offsetof(struct virtio_blk_config, write_zeroes_may_unmap) == 56, "config layout");
_Static_assert(CONFIG_LEN == 60, "config layout");

/* Tags of the fds each queue thread watches on its engine queue. */
#define TAG_KICK 0
#define TAG_STOP 1

/* Events taken from the engine per wait. */
#define EV_BATCH 64

/* The physical block the topology advertises: the page cache's unit. */
#define PHYS_BLOCK 4096

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* A request in flight: everything it needs lives here, allocated once. */
struct blk_slot {
	struct blk_io io;
	unsigned int next_seg; /* DISCARD / WRITE_ZEROES: segments are carried out one by one */
	struct blk_req req;
};

struct virtio_blk_queue {
	struct virtio_blk *blk;
	unsigned int index;
	struct virtq *vq;
	struct blk_limits lim; /* per queue: read on every request, kept off shared lines */
	struct blk_ioq ioq;
	struct virtq_chain *chain; /* virtq_pop() scratch: blk_req_parse() copies what it needs */
	struct blk_slot *slots;
	uint16_t *free_slots; /* stack of indices into slots[] */
	unsigned int nr_free;
	unsigned int nr_slots;
	unsigned int pushed; /* used elements since the last notify decision */
	bool dead;	     /* broken ring: no more requests taken */
	bool starved;	     /* stopped popping with every slot busy */

	/*
	 * The queue's thread (virtio/worker.h). Its engine queue lives as
	 * long: made by the thread at virtio_blk_seal() (or its first
	 * start), after which the thread enters its sandbox, so that no
	 * io_uring_setup or io_setup is left for it to call.
	 */
	struct worker worker;
	/* The thread's own: */
	bool engine_ready;
	const struct blk_engine_ops *engine_made_with; /* blk->engine_ops when made */
	int engine_kick_fd;			       /* the kick eventfd it watches */
	bool confined;				       /* in its sandbox: nothing is remade */
};

static struct virtio_blk *to_blk(struct virtio_dev *dev)
{
	return container_of(dev, struct virtio_blk, vdev);
}

/* ---- config space ---- */

static void blk_config_read(struct virtio_dev *dev, unsigned int off, void *data, unsigned int size)
{
	const uint8_t *cfg = (const uint8_t *)&to_blk(dev)->config;
	unsigned int n = 0;

	/* Reads past the end see zeroes; the transport bounds off + size already. */
	if (off < CONFIG_LEN)
		n = size < CONFIG_LEN - off ? size : CONFIG_LEN - off;
	memcpy(data, cfg + off, n);
	memset((uint8_t *)data + n, 0, size - n);
}

static void blk_config_write(struct virtio_dev *dev, unsigned int off, const void *data,
			     unsigned int size)
{
	/* Nothing is writable without CONFIG_WCE, which is not offered. */
	(void)dev;
	(void)off;
	(void)data;
	(void)size;
}

static void fill_config(struct virtio_blk *blk, uint16_t queue_size)
{
	struct virtio_blk_config *c = &blk->config;
	const struct blk_disk *disk = blk->disk;
	uint32_t seg_max = queue_size - 2;
	uint32_t bs = disk->block_size ? disk->block_size : VIRTIO_BLK_SECTOR_SIZE;
	uint32_t phys = bs < PHYS_BLOCK ? PHYS_BLOCK : bs;
	uint8_t exp = 0;

	/* A chain is header + data segments + status, and must fit VIRTQ_MAX_CHAIN. */
	if (seg_max > VIRTQ_MAX_CHAIN - 2)
		seg_max = VIRTQ_MAX_CHAIN - 2;
	while ((bs << exp) < phys)
		exp++;

	memset(c, 0, sizeof(*c));
	c->capacity = htole64(disk->size / VIRTIO_BLK_SECTOR_SIZE);
	c->seg_max = htole32(seg_max);
	c->blk_size = htole32(bs);
	c->topology.physical_block_exp = exp;
	c->topology.alignment_offset = 0;
	/* The guest does best with whole pages: smaller writes are read-modify-write in the cache. */
	c->topology.min_io_size = htole16((uint16_t)(phys / bs));
	c->topology.opt_io_size = htole32(0); /* no preferred transfer size beyond that */
	c->writeback = 1; /* FLUSH is offered: the host cache is a write-back cache */
	c->num_queues = htole16((uint16_t)blk->vdev.nr_queues);
	if (disk->discard) {
		c->max_discard_sectors = htole32(VIRTIO_BLK_MAX_DISCARD_SECTORS);
		c->max_discard_seg = htole32(VIRTIO_BLK_MAX_DISCARD_SEG);
		c->discard_sector_alignment = htole32(bs / VIRTIO_BLK_SECTOR_SIZE);
	}
	if (disk->write_zeroes) {
		c->max_write_zeroes_sectors = htole32(VIRTIO_BLK_MAX_DISCARD_SECTORS);
		c->max_write_zeroes_seg = htole32(VIRTIO_BLK_MAX_DISCARD_SEG);
		/* Unmapping reads back as zeroes only where punching a hole works. */
		c->write_zeroes_may_unmap = disk->discard;
	}
}

/* ---- the request path (queue thread) ---- */

static void put_slot(struct virtio_blk_queue *bq, struct blk_slot *slot)
{
	bq->free_slots[bq->nr_free++] = (uint16_t)(slot - bq->slots);
}

static void finish(struct virtio_blk_queue *bq, struct blk_req *req, uint8_t status,
		   uint32_t data_written)
{
	virtq_push(bq->vq, req->head, blk_req_complete(req, status, data_written));
	bq->pushed++;
}

static void set_segment(struct blk_slot *slot, unsigned int i)
{
	const struct blk_seg *seg = &slot->req.seg[i];

	slot->io.offset = seg->sector * VIRTIO_BLK_SECTOR_SIZE;
	slot->io.len = (uint64_t)seg->num_sectors * VIRTIO_BLK_SECTOR_SIZE;
	slot->io.unmap = seg->unmap;
	slot->next_seg = i + 1;
}

/* Take the request virtq_pop() left in bq->chain into the top free slot. */
static void start_request(struct virtio_blk_queue *bq)
{
	struct blk_slot *slot = &bq->slots[bq->free_slots[bq->nr_free - 1]];
	struct blk_req *req = &slot->req;
	struct blk_io *io = &slot->io;

	if (blk_req_parse(req, bq->chain, &bq->lim) == BLK_REQ_DONE) {
		finish(bq, req, req->result, 0);
		return;
	}
	io->iov = req->iov;
	io->niov = req->niov;
	io->offset = req->sector * VIRTIO_BLK_SECTOR_SIZE;
	io->len = req->len;
	io->unmap = false;
	slot->next_seg = 0;
	switch (req->type) {
	case VIRTIO_BLK_T_IN:
		io->op = BLK_OP_READ;
		break;
	case VIRTIO_BLK_T_OUT:
		io->op = BLK_OP_WRITE;
		break;
	case VIRTIO_BLK_T_FLUSH:
		io->op = BLK_OP_FLUSH;
		io->niov = 0;
		io->offset = 0;
		io->len = 0;
		break;
	case VIRTIO_BLK_T_GET_ID:
		finish(bq, req, VIRTIO_BLK_S_OK, blk_req_fill_id(req, bq->blk->disk->serial));
		return;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		io->op = req->type == VIRTIO_BLK_T_DISCARD ? BLK_OP_DISCARD : BLK_OP_WRITE_ZEROES;
		io->niov = 0;
		set_segment(slot, 0);
		break;
	default:
		finish(bq, req, VIRTIO_BLK_S_UNSUPP, 0);
		return;
	}
	if (blk_ioq_queue(&bq->ioq, io) < 0) {
		finish(bq, req, VIRTIO_BLK_S_IOERR, 0);
		return;
	}
	bq->nr_free--;
}

static void complete_io(struct virtio_blk_queue *bq, struct blk_io *io)
{
	struct blk_slot *slot = container_of(io, struct blk_slot, io);
	struct blk_req *req = &slot->req;
	int64_t res = io->res;

	if (res >= 0 && slot->next_seg && slot->next_seg < req->nseg) {
		set_segment(slot, slot->next_seg);
		res = blk_ioq_queue(&bq->ioq, io);
		if (res == 0)
			return;
	}
	if (res < 0)
		finish(bq, req, VIRTIO_BLK_S_IOERR, 0);
	else
		finish(bq, req, VIRTIO_BLK_S_OK,
		       req->type == VIRTIO_BLK_T_IN ? (uint32_t)req->len : 0);
	put_slot(bq, slot);
}

static void ring_broken(struct virtio_blk_queue *bq)
{
	bq->dead = true;
	virtio_needs_reset(&bq->blk->vdev);
}

/*
 * The virtqueue loop of virtqueue.h, bounded by free slots: with every slot
 * busy it stops popping (the requests stay in the ring) and leaves kicks off;
 * the thread comes back here once completions free slots.
 */
static void serve(struct virtio_blk_queue *bq)
{
	struct virtq *q = bq->vq;
	int r;

	if (bq->dead)
		return;
	do {
		virtq_set_notify(q, false);
		for (;;) {
			if (bq->nr_free == 0) {
				bq->starved = true;
				return;
			}
			r = virtq_pop(q, bq->chain);
			if (r == 0)
				break;
			if (q->broken) {
				ring_broken(bq);
				return;
			}
			if (r < 0) {
				virtq_push(q, bq->chain->head, 0);
				bq->pushed++;
				continue;
			}
			start_request(bq);
		}
	} while (virtq_set_notify(q, true));
	bq->starved = false;
}

/* One interrupt decision for everything pushed since the last one. */
static void notify(struct virtio_blk_queue *bq)
{
	if (!bq->pushed)
		return;
	bq->pushed = 0;
	if (virtq_should_notify(bq->vq))
		virtio_notify_queue(&bq->blk->vdev, bq->index);
}

/*
 * The engine queue, with room for the largest queue the driver may choose,
 * watching the queue's kick eventfd and the stop eventfd; then the
 * sandbox. Made once; made again only outside the sandbox, when the
 * engine or the kick eventfd changed (the bench, the tests) or the engine
 * failed.
 */
static int queue_engine_ready(void *arg)
{
	struct virtio_blk_queue *bq = arg;
	struct virtio_blk *blk = bq->blk;
	int kick = blk->vdev.kick_fd[bq->index];
	int r;

	if (bq->engine_ready && bq->engine_made_with == blk->engine_ops &&
	    bq->engine_kick_fd == kick)
		return 0;
	if (bq->confined)
		return -EIO; /* remaking it needs calls the sandbox forbids */
	if (bq->engine_ready)
		blk_ioq_fini(&bq->ioq);
	bq->engine_ready = false;
	if (kick < 0)
		return -EINVAL;
	if (blk->engine_ops)
		r = blk_ioq_init_ops(&bq->ioq, blk->engine_ops, blk->disk,
				     blk->vdev.queue_max_size);
	else
		r = blk_ioq_init(&bq->ioq, blk->disk, blk->vdev.queue_max_size);
	if (r < 0)
		return r;
	r = blk_ioq_watch(&bq->ioq, kick, TAG_KICK);
	if (r == 0)
		r = blk_ioq_watch(&bq->ioq, bq->worker.stop_fd, TAG_STOP);
	if (r < 0) {
		blk_ioq_fini(&bq->ioq);
		return r;
	}
	bq->engine_ready = true;
	bq->engine_made_with = blk->engine_ops;
	bq->engine_kick_fd = kick;
	/* Everything this thread will ever touch is made: confine it now. */
	r = sandbox_enter(SANDBOX_IO);
	if (r < 0)
		return r;
	bq->confined = sandbox_enabled();
	return 0;
}

/* The engine failed to wait: nothing more can complete. Park until stopped. */
static void engine_failed(struct virtio_blk_queue *bq)
{
	struct pollfd pfd = {.fd = bq->worker.stop_fd, .events = POLLIN};

	fprintf(stderr, "%s: queue %u: engine %s failed; device needs reset\n", bq->blk->vdev.name,
		bq->index, bq->ioq.ops->name);
	ring_broken(bq);
	while (poll(&pfd, 1, -1) < 0 && errno == EINTR)
		;
	worker_drain_fd(bq->worker.stop_fd);
	blk_ioq_fini(&bq->ioq);
	bq->engine_ready = false;
}

/* One serving session: from a start to the stop that ends it. */
static void queue_serve_session(void *arg)
{
	struct virtio_blk_queue *bq = arg;
	struct blk_event ev[EV_BATCH];
	bool stopping = false;

	/* Buffers made available before the watch was armed. */
	serve(bq);
	for (;;) {
		bool kicked = false;
		int n;

		if (!stopping)
			notify(bq);
		if (stopping && bq->ioq.inflight == 0)
			break;
		/* Submits what serve() queued and sleeps, in one call. */
		n = blk_ioq_wait(&bq->ioq, ev, EV_BATCH, -1);
		if (n < 0) {
			engine_failed(bq);
			break;
		}
		for (int i = 0; i < n; i++) {
			if (ev[i].kind == BLK_EV_IO) {
				complete_io(bq, ev[i].io);
			} else if (ev[i].tag == TAG_KICK) {
				worker_drain_fd(bq->blk->vdev.kick_fd[bq->index]);
				kicked = true;
			} else if (ev[i].tag == TAG_STOP) {
				worker_drain_fd(bq->worker.stop_fd);
				stopping = true;
			}
		}
		if (!stopping && (kicked || (bq->starved && bq->nr_free)))
			serve(bq);
	}
}

static void queue_engine_fini(void *arg)
{
	struct virtio_blk_queue *bq = arg;

	if (bq->engine_ready)
		blk_ioq_fini(&bq->ioq);
	bq->engine_ready = false;
}

static const struct worker_ops queue_worker_ops = {
    .ready = queue_engine_ready,
    .serve = queue_serve_session,
    .fini = queue_engine_fini,
};

/* ---- start / reset ---- */

static void queue_free(struct virtio_blk_queue *bq)
{
	free(bq->slots);
	free(bq->free_slots);
	free(bq->chain);
	bq->slots = NULL;
	bq->free_slots = NULL;
	bq->chain = NULL;
}

/* Wait for the session worker_stop() ended: its in-flight requests are done. */
static void queue_join(struct virtio_blk_queue *bq)
{
	if (worker_join(&bq->worker))
		queue_free(bq);
}

static int queue_start(struct virtio_blk *blk, unsigned int i)
{
	struct virtio_blk_queue *bq = &blk->queues[i];
	struct virtq *vq = &blk->vdev.vqs[i];
	uint64_t f = blk->vdev.driver_features;
	const struct blk_disk *disk = blk->disk;
	int r;

	if (blk->vdev.kick_fd[i] < 0)
		return -EINVAL;
	bq->vq = vq;
	bq->nr_slots = vq->size;
	bq->dead = false;
	bq->starved = false;
	bq->pushed = 0;
	bq->lim = (struct blk_limits){
	    .capacity = disk->size / VIRTIO_BLK_SECTOR_SIZE,
	    .read_only = disk->read_only,
	    .flush = true,
	    .discard = disk->discard && (f & (1ULL << VIRTIO_BLK_F_DISCARD)),
	    .write_zeroes = disk->write_zeroes && (f & (1ULL << VIRTIO_BLK_F_WRITE_ZEROES)),
	    .max_discard_sectors = le32toh(blk->config.max_discard_sectors),
	    .max_discard_seg = le32toh(blk->config.max_discard_seg),
	    .max_write_zeroes_sectors = le32toh(blk->config.max_write_zeroes_sectors),
	    .max_write_zeroes_seg = le32toh(blk->config.max_write_zeroes_seg),
	};

	bq->slots = calloc(bq->nr_slots, sizeof(*bq->slots));
	bq->free_slots = calloc(bq->nr_slots, sizeof(*bq->free_slots));
	bq->chain = malloc(sizeof(*bq->chain));
	if (!bq->slots || !bq->free_slots || !bq->chain) {
		queue_free(bq);
		return -ENOMEM;
	}
	/* Lowest index on top: the first requests use the first slots. */
	for (unsigned int s = 0; s < bq->nr_slots; s++)
		bq->free_slots[s] = (uint16_t)(bq->nr_slots - 1 - s);
	bq->nr_free = bq->nr_slots;

	r = worker_start(&bq->worker);
	if (r < 0)
		queue_free(bq);
	return r;
}

static void blk_reset(struct virtio_dev *dev)
{
	struct virtio_blk *blk = to_blk(dev);

	/* Wake them all first so their in-flight I/O drains in parallel. */
	for (unsigned int i = 0; i < dev->nr_queues; i++)
		worker_stop(&blk->queues[i].worker);
	for (unsigned int i = 0; i < dev->nr_queues; i++)
		queue_join(&blk->queues[i]);
}

static int blk_start(struct virtio_dev *dev)
{
	struct virtio_blk *blk = to_blk(dev);
	int r;

	blk_reset(dev);
	for (unsigned int i = 0; i < dev->nr_queues; i++) {
		if (!dev->vqs[i].enabled)
			continue;
		r = queue_start(blk, i);
		if (r < 0) {
			fprintf(stderr, "%s: queue %u cannot start: %s\n", dev->name, i,
				strerror(-r));
			blk_reset(dev);
			return r;
		}
	}
	return 0;
}

static const struct virtio_dev_ops blk_ops = {
    .config_read = blk_config_read,
    .config_write = blk_config_write,
    .start = blk_start,
    .reset = blk_reset,
};

/* ---- setup ---- */

int virtio_blk_seal(struct virtio_blk *blk, char *why, size_t why_len)
{
	for (unsigned int i = 0; i < blk->vdev.nr_queues; i++) {
		int r = worker_seal(&blk->queues[i].worker);

		if (r < 0) {
			snprintf(why, why_len, "virtio-blk %s: queue %u: %s", blk->disk->path, i,
				 r == -EPERM ? "cannot enter its sandbox" : strerror(-r));
			return r;
		}
	}
	return 0;
}

int virtio_blk_init(struct virtio_blk *blk, struct blk_disk *disk, unsigned int nr_queues,
		    uint16_t queue_size, char *why, size_t why_len)
{
	struct virtio_dev *dev = &blk->vdev;
	uint64_t f;

	memset(blk, 0, sizeof(*blk));
	if (!disk || disk->size < VIRTIO_BLK_SECTOR_SIZE) {
		snprintf(why, why_len, "virtio-blk: no disk, or an empty one");
		return -EINVAL;
	}
	if (nr_queues == 0 || nr_queues > VIRTIO_MAX_QUEUES) {
		snprintf(why, why_len, "virtio-blk %s: %u queues (1..%u)", disk->path, nr_queues,
			 VIRTIO_MAX_QUEUES);
		return -EINVAL;
	}
	if (queue_size < 4 || queue_size > VIRTQ_SIZE_MAX || (queue_size & (queue_size - 1))) {
		snprintf(why, why_len,
			 "virtio-blk %s: queue size %u is not a power of two in 4..%u", disk->path,
			 queue_size, VIRTQ_SIZE_MAX);
		return -EINVAL;
	}
	blk->queues = calloc(nr_queues, sizeof(*blk->queues));
	if (!blk->queues) {
		snprintf(why, why_len, "virtio-blk %s: out of memory", disk->path);
		return -ENOMEM;
	}
	blk->disk = disk;
	dev->nr_queues = nr_queues; /* for virtio_blk_destroy() on a failure below */
	for (unsigned int i = 0; i < nr_queues; i++) {
		struct virtio_blk_queue *bq = &blk->queues[i];

		bq->blk = blk;
		bq->index = i;
		bq->engine_kick_fd = -1;
	}
	for (unsigned int i = 0; i < nr_queues; i++) {
		char name[16];
		int r;

		snprintf(name, sizeof(name), "blk-q%u", i);
		r = worker_init(&blk->queues[i].worker, name, &queue_worker_ops, &blk->queues[i]);

		if (r < 0) {
			snprintf(why, why_len, "virtio-blk %s: queue %u: %s", disk->path, i,
				 strerror(-r));
			virtio_blk_destroy(blk);
			return r;
		}
	}

	f = 1ULL << VIRTIO_F_VERSION_1 | 1ULL << VIRTIO_F_EVENT_IDX |
	    1ULL << VIRTIO_F_INDIRECT_DESC | 1ULL << VIRTIO_BLK_F_SEG_MAX |
	    1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH |
	    1ULL << VIRTIO_BLK_F_TOPOLOGY;
	if (disk->read_only)
		f |= 1ULL << VIRTIO_BLK_F_RO;
	if (nr_queues > 1)
		f |= 1ULL << VIRTIO_BLK_F_MQ;
	if (disk->discard)
		f |= 1ULL << VIRTIO_BLK_F_DISCARD;
	if (disk->write_zeroes)
		f |= 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;

	dev->ops = &blk_ops;
	dev->name = "virtio-blk";
	dev->device_id = VIRTIO_ID_BLOCK;
	dev->device_features = f;
	dev->config_len = CONFIG_LEN;
	dev->nr_queues = nr_queues;
	dev->queue_max_size = queue_size;
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++)
		dev->kick_fd[i] = -1;
	fill_config(blk, queue_size);
	return 0;
}

void virtio_blk_set_engine(struct virtio_blk *blk, const struct blk_engine_ops *ops)
{
	blk->engine_ops = ops;
}

void virtio_blk_destroy(struct virtio_blk *blk)
{
	if (!blk->queues)
		return;
	blk_reset(&blk->vdev);
	for (unsigned int i = 0; i < blk->vdev.nr_queues; i++)
		worker_destroy(&blk->queues[i].worker);
	free(blk->queues);
	blk->queues = NULL;
}

/* SPDX-License-Identifier: MIT */
#include "virtio/blk.h"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/blk_req.h"
#include "virtio/req_queue.h"

#define CONFIG_LEN (offsetof(struct virtio_blk_config, unused1) + 3)

_Static_assert(offsetof(struct virtio_blk_config, geometry) == 16, "config layout");
_Static_assert(offsetof(struct virtio_blk_config, blk_size) == 20, "config layout");
_Static_assert(offsetof(struct virtio_blk_config, topology) == 24, "config layout");
_Static_assert(offsetof(struct virtio_blk_config, writeback) == 32, "config layout");
_Static_assert(offsetof(struct virtio_blk_config, num_queues) == 34, "config layout");
_Static_assert(offsetof(struct virtio_blk_config, max_discard_sectors) == 36, "config layout");
_Static_assert(offsetof(struct virtio_blk_config, write_zeroes_may_unmap) == 56, "config layout");
_Static_assert(CONFIG_LEN == 60, "config layout");

/* The physical block the topology advertises: the page cache's unit. */
#define PHYS_BLOCK 4096

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

/* A request in flight: everything it needs lives here, allocated once. */
struct blk_slot {
	struct blk_io io;
	unsigned int next_seg; /* DISCARD / WRITE_ZEROES: segments are carried out one by one */
	struct blk_req req;
};

/* One queue and its thread (virtio/req_queue.h). */
struct virtio_blk_queue {
	struct req_queue rq;
	struct virtio_blk *blk;
	struct blk_limits lim; /* per queue: read on every request, kept off shared lines */
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

static void finish(struct virtio_blk_queue *bq, struct blk_req *req, uint8_t status,
		   uint32_t data_written)
{
	req_queue_push(&bq->rq, req->head, blk_req_complete(req, status, data_written));
}

static void set_segment(struct blk_slot *slot, unsigned int i)
{
	const struct blk_seg *seg = &slot->req.seg[i];

	slot->io.offset = seg->sector * VIRTIO_BLK_SECTOR_SIZE;
	slot->io.len = (uint64_t)seg->num_sectors * VIRTIO_BLK_SECTOR_SIZE;
	slot->io.unmap = seg->unmap;
	slot->next_seg = i + 1;
}

/* Take the request virtq_pop() left in the queue's chain into @slot_arg. */
static bool start_request(struct req_queue *rq, void *slot_arg)
{
	struct virtio_blk_queue *bq = container_of(rq, struct virtio_blk_queue, rq);
	struct blk_slot *slot = slot_arg;
	struct blk_req *req = &slot->req;
	struct blk_io *io = &slot->io;

	if (blk_req_parse(req, rq->chain, &bq->lim) == BLK_REQ_DONE) {
		finish(bq, req, req->result, 0);
		return false;
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
		return false;
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		io->op = req->type == VIRTIO_BLK_T_DISCARD ? BLK_OP_DISCARD : BLK_OP_WRITE_ZEROES;
		io->niov = 0;
		set_segment(slot, 0);
		break;
	default:
		finish(bq, req, VIRTIO_BLK_S_UNSUPP, 0);
		return false;
	}
	if (blk_ioq_queue(&rq->ioq, io) < 0) {
		finish(bq, req, VIRTIO_BLK_S_IOERR, 0);
		return false;
	}
	return true;
}

static bool complete_io(struct req_queue *rq, void *slot_arg, struct blk_io *io)
{
	struct virtio_blk_queue *bq = container_of(rq, struct virtio_blk_queue, rq);
	struct blk_slot *slot = slot_arg;
	struct blk_req *req = &slot->req;
	int64_t res = io->res;

	if (res >= 0 && slot->next_seg && slot->next_seg < req->nseg) {
		set_segment(slot, slot->next_seg);
		res = blk_ioq_queue(&rq->ioq, io);
		if (res == 0)
			return false;
	}
	if (res < 0)
		finish(bq, req, VIRTIO_BLK_S_IOERR, 0);
	else
		finish(bq, req, VIRTIO_BLK_S_OK,
		       req->type == VIRTIO_BLK_T_IN ? (uint32_t)req->len : 0);
	return true;
}

static const struct req_queue_ops blk_queue_ops = {
    .start = start_request,
    .complete = complete_io,
    .io_offset = offsetof(struct blk_slot, io),
};

/* ---- start / reset ---- */

static void blk_reset(struct virtio_dev *dev)
{
	struct virtio_blk *blk = to_blk(dev);

	/* Wake them all first so their in-flight I/O drains in parallel. */
	for (unsigned int i = 0; i < dev->nr_queues; i++)
		req_queue_stop(&blk->queues[i].rq);
	for (unsigned int i = 0; i < dev->nr_queues; i++)
		req_queue_join(&blk->queues[i].rq);
}

static int queue_start(struct virtio_blk *blk, unsigned int i)
{
	struct virtio_blk_queue *bq = &blk->queues[i];
	uint64_t f = blk->vdev.driver_features;
	const struct blk_disk *disk = blk->disk;

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
	bq->rq.disk = blk->disk;
	bq->rq.engine_ops = blk->engine_ops;
	return req_queue_start(&bq->rq);
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
		int r;

		blk->queues[i].rq.disk = blk->disk;
		blk->queues[i].rq.engine_ops = blk->engine_ops;
		r = req_queue_seal(&blk->queues[i].rq);

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
		char name[16];
		int r;

		blk->queues[i].blk = blk;
		snprintf(name, sizeof(name), "blk-q%u", i);
		r = req_queue_init(&blk->queues[i].rq, dev, i, name, &blk_queue_ops,
				   &blk->queues[i], sizeof(struct blk_slot));
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

void virtio_blk_set_poll(struct virtio_blk *blk, uint64_t max_ns)
{
	for (unsigned int i = 0; i < blk->vdev.nr_queues; i++)
		req_queue_set_poll(&blk->queues[i].rq, max_ns);
}

void virtio_blk_destroy(struct virtio_blk *blk)
{
	if (!blk->queues)
		return;
	for (unsigned int i = 0; i < blk->vdev.nr_queues; i++)
		req_queue_destroy(&blk->queues[i].rq);
	free(blk->queues);
	blk->queues = NULL;
}

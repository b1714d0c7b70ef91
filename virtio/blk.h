/* SPDX-License-Identifier: MIT */
/*
 * The virtio-blk device model (spec 5.2): feature offer, config space, and
 * one I/O thread per queue that takes requests off the virtqueue, hands them
 * to the block backend and completes them. Transport-independent: it talks
 * to pci.c (or a test's fake transport) only through struct virtio_dev.
 *
 * Request path, per queue thread: no locks, no allocation (request slots are
 * allocated when the queue starts), one engine submission per batch, one
 * interrupt decision per batch. The threads live from init to destroy and
 * each keeps its engine queue across resets (see virtio_blk_seal()).
 */
#ifndef NESTVMM_VIRTIO_BLK_H
#define NESTVMM_VIRTIO_BLK_H

#include <stddef.h>
#include <stdint.h>

#include "block/block.h"
#include "virtio/virtio_dev.h"

/* Config space layout (spec 5.2.4), little-endian, packed as the spec lays it out. */
struct virtio_blk_config {
	uint64_t capacity;
	uint32_t size_max;
	uint32_t seg_max;
	struct {
		uint16_t cylinders;
		uint8_t heads;
		uint8_t sectors;
	} geometry;
	uint32_t blk_size;
	struct {
		uint8_t physical_block_exp;
		uint8_t alignment_offset;
		uint16_t min_io_size;
		uint32_t opt_io_size;
	} topology;
	uint8_t writeback;
	uint8_t unused0;
	uint16_t num_queues;
	uint32_t max_discard_sectors;
	uint32_t max_discard_seg;
	uint32_t discard_sector_alignment;
	uint32_t max_write_zeroes_sectors;
	uint32_t max_write_zeroes_seg;
	uint8_t write_zeroes_may_unmap;
	uint8_t unused1[3];
};

/* Discard / write zeroes limits advertised (sectors per segment, segments per request). */
#define VIRTIO_BLK_MAX_DISCARD_SECTORS 0x3fffff /* just under 2 GiB */
#define VIRTIO_BLK_MAX_DISCARD_SEG     16

struct virtio_blk_queue; /* one per queue: its thread, engine queue and request slots */

struct virtio_blk {
	struct virtio_dev vdev; /* first: the transport holds &blk->vdev */
	struct blk_disk *disk;
	struct virtio_blk_config config;	 /* as the driver reads it (little-endian) */
	const struct blk_engine_ops *engine_ops; /* NULL: the engine disk->engine names */
	struct virtio_blk_queue *queues;	 /* [vdev.nr_queues] */
};

/*
 * Set up the device for @disk (which must outlive it) with @nr_queues
 * queues (1..VIRTIO_MAX_QUEUES) of at most @queue_size entries (a power of
 * two, 4..32768). The transport then fills vdev.transport_ops, transport
 * and kick_fd[]. Returns 0, or -EINVAL with one line in @why.
 */
int virtio_blk_init(struct virtio_blk *blk, struct blk_disk *disk, unsigned int nr_queues,
		    uint16_t queue_size, char *why, size_t why_len);

/*
 * Set-up is done (the transport has made the kick eventfds): each queue's
 * thread makes its engine queue and enters its sandbox (vmm/sandbox.h),
 * before the guest runs. Optional outside `run`: a start does the same.
 * Returns 0, or -errno with one line in @why.
 */
int virtio_blk_seal(struct virtio_blk *blk, char *why, size_t why_len);

/* Stops the queue threads (as a reset does) and frees what init allocated. */
void virtio_blk_destroy(struct virtio_blk *blk);

/*
 * Serve the queues with @ops instead of the engine disk->engine names (a
 * test engine, or the bench's choice). Takes effect at the next start.
 */
void virtio_blk_set_engine(struct virtio_blk *blk, const struct blk_engine_ops *ops);

/* Poll windows of up to @max_ns before a queue thread sleeps (virtio/req_queue.h); next start. */
void virtio_blk_set_poll(struct virtio_blk *blk, uint64_t max_ns);

#endif

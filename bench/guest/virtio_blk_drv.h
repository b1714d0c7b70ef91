/* SPDX-License-Identifier: MIT */
/*
 * The bench guest's virtio-blk driver: modern virtio-pci, one split
 * virtqueue, polled (no interrupts: the device is asked never to send one),
 * 4 KiB reads only. It runs at CPL3: config space through the accessors it
 * is given, BAR 0 and the rings through the identity map.
 */
#ifndef NESTVMM_BENCH_GUEST_VIRTIO_BLK_DRV_H
#define NESTVMM_BENCH_GUEST_VIRTIO_BLK_DRV_H

#include <stdint.h>

/* Config space of bus 0, device @slot, function 0; @off dword aligned. */
struct vblk_cfg_ops {
	uint32_t (*read32)(unsigned int slot, unsigned int off);
	void (*write32)(unsigned int slot, unsigned int off, uint32_t val);
};

#define VBLK_QUEUE_SIZE 128		      /* or the device's maximum if smaller */
#define VBLK_MAX_QD	(VBLK_QUEUE_SIZE / 3) /* a request is 3 descriptors */

struct vblk {
	volatile uint8_t *common;
	volatile uint8_t *device;
	volatile uint16_t *notify; /* queue 0's notify register */
	uint64_t blocks;	   /* 4 KiB blocks on the disk */
	uint16_t qsize;
	int event_idx;
	uint8_t *dma; /* rings, request headers, status bytes, data buffers */
	uint16_t avail_idx, last_used;
	uint64_t rng;
	uint64_t kicks; /* notify writes so far */
};

/*
 * Find the device on bus 0, bring it up (features VERSION_1 and, if
 * offered, EVENT_IDX; queue 0 in the RAM at @dma, BENCH_GUEST_DMA_SIZE
 * bytes, identity mapped) and leave it at DRIVER_OK. Returns 0 or a
 * BENCH_BLK_FAULT_ERROR() value.
 */
uint64_t vblk_init(struct vblk *d, const struct vblk_cfg_ops *cfg, uint8_t *dma);

/*
 * Read @ios random 4 KiB blocks keeping @qd (1..VBLK_MAX_QD) in flight,
 * checking each one's status and data. Returns 0 or a
 * BENCH_BLK_FAULT_ERROR() value.
 */
uint64_t vblk_read_random(struct vblk *d, unsigned int qd, uint64_t ios);

#endif

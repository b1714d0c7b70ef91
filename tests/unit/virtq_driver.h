/* SPDX-License-Identifier: MIT */
/*
 * A virtio driver's side of split rings, for the device models' tests:
 * rings laid out in a guest_mem, chains built descriptor by descriptor,
 * published, kicked through the kick eventfd as the transport would, and
 * the used ring read back; plus a fake transport that counts notifies.
 */
#ifndef NESTVMM_TEST_VIRTQ_DRIVER_H
#define NESTVMM_TEST_VIRTQ_DRIVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "virtio/virtio_dev.h"
#include "virtio/virtqueue.h"

#define VDRV_WAIT_NS (5ull * 1000 * 1000 * 1000)
#define VDRV_MAX_Q   16

struct vdrv_q {
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint64_t desc_gpa, avail_gpa, used_gpa;
	uint16_t size;
	uint16_t avail_idx; /* free-running, as published */
	uint16_t next_desc; /* the next descriptor vdrv_desc() hands out */
};

static inline uint8_t *vdrv_hva(struct guest_mem *mem, uint64_t gpa)
{
	/* guest_mem_init() lays out RAM this small as one region at gpa 0. */
	return mem->regions[0].hva + gpa;
}

/* Rings at @gpa: descriptors, then the available ring at +0x2000, the used ring at +0x4000. */
static inline void vdrv_init(struct vdrv_q *d, struct guest_mem *mem, uint64_t gpa, uint16_t size)
{
	d->desc_gpa = gpa;
	d->avail_gpa = gpa + 0x2000;
	d->used_gpa = gpa + 0x4000;
	d->desc = (struct virtq_desc *)vdrv_hva(mem, d->desc_gpa);
	d->avail = (struct virtq_avail *)vdrv_hva(mem, d->avail_gpa);
	d->used = (struct virtq_used *)vdrv_hva(mem, d->used_gpa);
	d->size = size;
	/* Fresh rings, as a driver lays them out after a reset. */
	memset(d->desc, 0, 16u * size);
	memset(d->avail, 0, 6u + 2u * size);
	memset(d->used, 0, 6u + 8u * size);
	d->avail_idx = 0;
	d->next_desc = 0;
}

/* Enable the device's side of queue @q as the transport does at DRIVER_OK. */
static inline int vdrv_enable(struct vdrv_q *d, struct virtq *q, struct guest_mem *mem,
			      bool event_idx)
{
	return virtq_enable(q, mem, d->size, d->desc_gpa, d->avail_gpa, d->used_gpa, event_idx,
			    true);
}

/* Fill the next descriptor (chained to the one after it with VIRTQ_DESC_F_NEXT); its index. */
static inline uint16_t vdrv_desc(struct vdrv_q *d, uint64_t addr, uint32_t len, uint16_t flags)
{
	uint16_t i = d->next_desc;

	d->next_desc = (uint16_t)((i + 1) % d->size);
	d->desc[i] = (struct virtq_desc){
	    .addr = addr, .len = len, .flags = flags, .next = (uint16_t)((i + 1) % d->size)};
	return i;
}

static inline void vdrv_publish(struct vdrv_q *d, uint16_t head)
{
	d->avail->ring[d->avail_idx % d->size] = head;
	d->avail_idx++;
	__atomic_store_n(&d->avail->idx, d->avail_idx, __ATOMIC_RELEASE);
}

static inline uint16_t vdrv_used_idx(const struct vdrv_q *d)
{
	return __atomic_load_n(&d->used->idx, __ATOMIC_ACQUIRE);
}

static inline struct virtq_used_elem vdrv_used_elem(const struct vdrv_q *d, uint16_t i)
{
	return d->used->ring[i % d->size];
}

static inline uint16_t *vdrv_used_event(struct vdrv_q *d)
{
	return &d->avail->ring[d->size];
}

static inline uint64_t vdrv_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline void vdrv_nap(void)
{
	struct timespec ts = {.tv_nsec = 100 * 1000};

	nanosleep(&ts, NULL);
}

/* Wait (at most 5 s) until used->idx reaches @idx. */
static inline bool vdrv_wait_used(const struct vdrv_q *d, uint16_t idx)
{
	uint64_t end = vdrv_now_ns() + VDRV_WAIT_NS;

	while (vdrv_used_idx(d) != idx) {
		if (vdrv_now_ns() > end)
			return false;
		vdrv_nap();
	}
	return true;
}

static inline void vdrv_kick(int kick_fd)
{
	uint64_t one = 1;

	if (write(kick_fd, &one, sizeof(one)) != sizeof(one))
		return;
}

/* ---- the fake transport ---- */

struct vdrv_transport {
	atomic_uint notifies[VDRV_MAX_Q];
	atomic_uint needs_reset;
};

static inline void vdrv_notify_queue(void *t, unsigned int q)
{
	struct vdrv_transport *ft = t;

	if (q < VDRV_MAX_Q)
		atomic_fetch_add(&ft->notifies[q], 1);
}

static inline void vdrv_notify_config(void *t)
{
	(void)t;
}

static inline void vdrv_needs_reset(void *t)
{
	struct vdrv_transport *ft = t;

	atomic_fetch_add(&ft->needs_reset, 1);
}

static const struct virtio_transport_ops vdrv_transport_ops = {
    .notify_queue = vdrv_notify_queue,
    .notify_config = vdrv_notify_config,
    .needs_reset = vdrv_needs_reset,
};

/* Wait (at most 5 s) until *@c reaches @at_least. */
static inline bool vdrv_wait_counter(atomic_uint *c, unsigned int at_least)
{
	uint64_t end = vdrv_now_ns() + VDRV_WAIT_NS;

	while (atomic_load(c) < at_least) {
		if (vdrv_now_ns() > end)
			return false;
		vdrv_nap();
	}
	return true;
}

#endif

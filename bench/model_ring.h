/* SPDX-License-Identifier: MIT */
/*
 * The guest driver's side of one split ring for the device-model benches
 * (blk_model.c, net_model.c): publish what was added and kick only when
 * the device asked (EVENT_IDX), and sleep on the "interrupt" eventfd
 * when nothing was used. The ring lives in guest RAM at host addresses
 * the bench gives; the queue size is a power of two.
 */
#ifndef NESTVMM_BENCH_MODEL_RING_H
#define NESTVMM_BENCH_MODEL_RING_H

#include <endian.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "virtio/virtqueue.h"

struct model_ring {
	struct virtq_desc *desc;
	struct virtq_avail *avail;
	struct virtq_used *used;
	uint16_t *used_event;  /* &avail->ring[size] */
	uint16_t *avail_event; /* &used->ring[size] */
	uint16_t size;
	uint16_t avail_idx, published, last_used;
	int kick_fd, irq_fd;
	uint64_t kicks, sleeps, errors;
};

/* Point @r at the rings (zeroed here) and the two eventfds. */
static inline void model_ring_init(struct model_ring *r, void *desc, void *avail, void *used,
				   uint16_t size, int kick_fd, int irq_fd)
{
	memset(r, 0, sizeof(*r));
	r->desc = desc;
	r->avail = avail;
	r->used = used;
	r->size = size;
	r->used_event = &r->avail->ring[size];
	r->avail_event = (uint16_t *)&r->used->ring[size];
	memset(r->desc, 0, 16u * size);
	memset(r->avail, 0, 6u + 2u * size);
	memset(r->used, 0, 6u + 8u * size);
	r->kick_fd = kick_fd;
	r->irq_fd = irq_fd;
}

/* Offer chain @head (not visible until model_ring_publish()). */
static inline void model_ring_add(struct model_ring *r, uint16_t head)
{
	r->avail->ring[r->avail_idx & (r->size - 1)] = htole16(head);
	r->avail_idx++;
}

/* Make the added chains visible; kick only when the device asked (EVENT_IDX). */
static inline void model_ring_publish(struct model_ring *r)
{
	uint16_t old = r->published, new = r->avail_idx, event;
	uint64_t one = 1;

	if (old == new)
		return;
	__atomic_store_n(&r->avail->idx, htole16(new), __ATOMIC_RELEASE);
	r->published = new;
	atomic_thread_fence(memory_order_seq_cst);
	event = le16toh(__atomic_load_n(r->avail_event, __ATOMIC_RELAXED));
	if ((uint16_t)(new - event - 1) < (uint16_t)(new - old)) {
		r->kicks++;
		if (write(r->kick_fd, &one, sizeof(one)) < 0)
			r->errors++;
	}
}

static inline uint16_t model_ring_used_idx(const struct model_ring *r)
{
	return le16toh(__atomic_load_n(&r->used->idx, __ATOMIC_ACQUIRE));
}

/* Ask for an interrupt at the next used buffer (used_event). */
static inline void model_ring_want_irq(struct model_ring *r)
{
	__atomic_store_n(r->used_event, htole16(r->last_used), __ATOMIC_RELAXED);
}

/* Nothing was used: sleep (at most 100 ms) until the device's notification, unless one came. */
static inline void model_ring_sleep(struct model_ring *r)
{
	struct pollfd pfd = {.fd = r->irq_fd, .events = POLLIN};
	uint64_t v;

	atomic_thread_fence(memory_order_seq_cst);
	if (model_ring_used_idx(r) != r->last_used)
		return;
	r->sleeps++;
	if (poll(&pfd, 1, 100) > 0 && read(r->irq_fd, &v, sizeof(v)) < 0)
		r->errors++;
}

#endif

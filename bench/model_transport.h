/* SPDX-License-Identifier: MIT */
/*
 * The transport the device-model benches (blk_model.c, net_model.c) put
 * under a device in place of virtio-pci: a used-buffer notification is an
 * eventfd write, as an irqfd's would be, and is counted; a broken ring is
 * counted too.
 */
#ifndef NESTVMM_BENCH_MODEL_TRANSPORT_H
#define NESTVMM_BENCH_MODEL_TRANSPORT_H

#include <stdatomic.h>
#include <stdint.h>
#include <unistd.h>

#include "virtio/virtio_dev.h"

#define MODEL_MAX_IRQ_FDS 4

struct model_transport {
	/* Queue q notifies irq_fd[q], or irq_fd[0] past nr_irq_fds (one "interrupt" for all). */
	int irq_fd[MODEL_MAX_IRQ_FDS];
	unsigned int nr_irq_fds;
	uint64_t notifies; /* written by the device threads with relaxed stores */
	atomic_uint needs_reset;
};

static inline void model_notify_queue(void *t, unsigned int q)
{
	struct model_transport *tr = t;
	uint64_t one = 1;

	__atomic_fetch_add(&tr->notifies, 1, __ATOMIC_RELAXED);
	if (write(tr->irq_fd[q < tr->nr_irq_fds ? q : 0], &one, sizeof(one)) < 0)
		return; /* an eventfd counter is never near overflow here */
}

static inline void model_notify_config(void *t)
{
	(void)t;
}

static inline void model_needs_reset(void *t)
{
	struct model_transport *tr = t;

	atomic_fetch_add(&tr->needs_reset, 1);
}

static const struct virtio_transport_ops model_transport_ops = {
    .notify_queue = model_notify_queue,
    .notify_config = model_notify_config,
    .needs_reset = model_needs_reset,
};

#endif

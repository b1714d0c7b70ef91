/* SPDX-License-Identifier: MIT */
/*
 * What a virtio device model and its transport share. The device (blk.c)
 * knows nothing of PCI: it offers features, a config space and queues, and
 * it serves the queues from its own I/O threads. The transport (pci.c)
 * keeps the driver-visible registers, negotiates features, owns the kick
 * eventfds (bound to the notify addresses with ioeventfd) and turns the
 * device's "used buffers" signal into an MSI-X message (irqfd) or INTx.
 *
 * Life cycle, driven by the transport from the driver's status writes:
 *   FEATURES_OK: driver_features fixed (the device may veto in features_ok)
 *   DRIVER_OK:   the transport enables each ready queue's struct virtq,
 *                then calls ops->start(); the device starts serving
 *   reset:       ops->reset() stops all service and waits for in-flight
 *                requests; then the transport resets the queues
 */
#ifndef NESTVMM_VIRTIO_DEV_H
#define NESTVMM_VIRTIO_DEV_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtqueue.h"

#define VIRTIO_MAX_QUEUES 64

struct virtio_dev;

struct virtio_dev_ops {
	/* Device-specific config space (spec 5.x.4): little-endian bytes. */
	void (*config_read)(struct virtio_dev *dev, unsigned int off, void *data,
			    unsigned int size);
	void (*config_write)(struct virtio_dev *dev, unsigned int off, const void *data,
			     unsigned int size);
	/* Optional: refuse a feature combination (return false: FEATURES_OK stays clear). */
	bool (*features_ok)(struct virtio_dev *dev, uint64_t features);
	/* DRIVER_OK: serve the enabled queues. Returns 0 or -errno (the device goes NEEDS_RESET). */
	int (*start)(struct virtio_dev *dev);
	/* Stop serving, wait for every in-flight request; must be idempotent. */
	void (*reset)(struct virtio_dev *dev);
};

/* The transport's side, called by the device (from its I/O threads). */
struct virtio_transport_ops {
	/* Used buffers on queue @q: interrupt the driver (MSI-X vector or INTx). */
	void (*notify_queue)(void *transport, unsigned int q);
	/* Config space changed. */
	void (*notify_config)(void *transport);
	/* The device hit a broken ring: set DEVICE_NEEDS_RESET and tell the driver. */
	void (*needs_reset)(void *transport);
};

struct virtio_dev {
	const struct virtio_dev_ops *ops;
	const char *name;	  /* "virtio-blk", for messages and exit statistics */
	uint16_t device_id;	  /* VIRTIO_ID_* */
	uint64_t device_features; /* offered, device bits and the ring bits it supports */
	uint64_t driver_features; /* accepted, valid from FEATURES_OK */
	unsigned int config_len;  /* bytes of device config space */
	unsigned int nr_queues;	  /* <= VIRTIO_MAX_QUEUES */
	uint16_t queue_max_size;  /* power of 2 */
	struct virtq vqs[VIRTIO_MAX_QUEUES];
	/* Written by the transport when a kick arrives for queue i (EFD_NONBLOCK). */
	int kick_fd[VIRTIO_MAX_QUEUES];

	const struct virtio_transport_ops *transport_ops;
	void *transport;
};

static inline bool virtio_has_feature(const struct virtio_dev *dev, unsigned int bit)
{
	return dev->driver_features & (1ULL << bit);
}

static inline void virtio_notify_queue(struct virtio_dev *dev, unsigned int q)
{
	dev->transport_ops->notify_queue(dev->transport, q);
}

static inline void virtio_notify_config(struct virtio_dev *dev)
{
	dev->transport_ops->notify_config(dev->transport);
}

static inline void virtio_needs_reset(struct virtio_dev *dev)
{
	dev->transport_ops->needs_reset(dev->transport);
}

#endif

/* SPDX-License-Identifier: MIT */
/*
 * The virtio-net device model (spec 5.1) on a tap (net/tap.h): feature
 * offer, config space, and one I/O thread per queue pair that moves frames
 * between the pair's virtqueues and its tap queue with one engine queue
 * (net/engine.h). The control queue is served by pair 0's thread.
 *
 * Queues: receiveq i = 2i, transmitq i = 2i + 1, controlq = 2 * pairs.
 *
 * A hostile driver cannot make the device hand the tap a header it did not
 * check (the header is copied, checked, and written from the copy), nor
 * make it write outside the buffers it offered; a chain that breaks the
 * rules is dropped and counted, a ring that does sets DEVICE_NEEDS_RESET.
 */
#ifndef NESTVMM_VIRTIO_NET_H
#define NESTVMM_VIRTIO_NET_H

#include <stddef.h>
#include <stdint.h>

#include "net/engine.h"
#include "net/tap.h"
#include "virtio/net_hdr.h"
#include "virtio/virtio_dev.h"

/* The most queue pairs: the tap's limit, and the virtqueues a device may have. */
#define VIRTIO_NET_MAX_PAIRS NET_TAP_MAX_QUEUES
_Static_assert(2 * VIRTIO_NET_MAX_PAIRS + 1 <= VIRTIO_MAX_QUEUES, "queue count");

/* What the device did, for --stats and the bench; summed over the pairs. */
struct virtio_net_counters {
	uint64_t rx_packets, rx_bytes; /* frames given to the driver, bytes after the header */
	uint64_t tx_packets, tx_bytes; /* frames the tap took */
	uint64_t tx_drop[NET_TX_NR];   /* TX chains dropped, by reason (net_tx_drop_name()) */
	uint64_t tx_malformed;	       /* chains virtq_pop() refused */
	uint64_t tx_errors;	    /* frames the tap refused (EIO while down, ENOBUFS, EAGAIN) */
	uint64_t rx_errors;	    /* reads the tap failed */
	uint64_t rx_bad_header;	    /* frames with a header the driver did not accept */
	uint64_t rx_bad_chain;	    /* RX chains malformed or with readable buffers */
	uint64_t rx_small_chain;    /* RX chains too small for a frame (returned empty) */
	uint64_t rx_no_buffers;	    /* times a frame waited for the driver's buffers */
	uint64_t ctrl_ok, ctrl_err; /* control commands answered OK / ERR */
	uint64_t kicks;		    /* RX and TX kicks taken */
	uint64_t interrupts;	    /* used-buffer notifications sent */
};

struct virtio_net_pair; /* one per queue pair: its thread, engine queue, RX and TX state */

struct virtio_net {
	struct virtio_dev vdev; /* first: the transport holds &net->vdev */
	struct net_tap *tap;
	struct virtio_net_config config; /* as the driver reads it (little-endian) */
	unsigned int nr_pairs;
	const struct net_engine_ops *engine_ops;
	struct virtio_net_pair *pairs; /* [nr_pairs] */
	/* The control queue's state (pair 0's thread writes; read with __atomic loads). */
	uint64_t guest_offloads; /* the GUEST_* offloads on now */
	unsigned int active_pairs;
	uint8_t promisc, allmulti;
	uint32_t mac_uni, mac_multi; /* MAC table entries last set */
};

/*
 * Set up the device on @tap (open, with at least @nr_pairs queues; it must
 * outlive the device) with MAC @mac, @nr_pairs queue pairs of at most
 * @queue_size entries (a power of two, 16..1024) served by @engine. The
 * offer follows the tap: its MTU, the offloads its kernel takes (USO only
 * where TUN_F_USO4 works), MQ with more than one pair. Returns 0, or -errno
 * with one line in @why.
 */
int virtio_net_init(struct virtio_net *net, struct net_tap *tap, const uint8_t mac[6],
		    unsigned int nr_pairs, uint16_t queue_size, const struct net_engine_ops *engine,
		    char *why, size_t why_len);

/*
 * Set-up is done (the transport has made the kick eventfds): each pair's
 * thread makes its engine queue and enters its sandbox. Optional outside
 * `run`: a start does the same. Returns 0, or -errno with one line in @why.
 */
int virtio_net_seal(struct virtio_net *net, char *why, size_t why_len);

/* Stops the pair threads (as a reset does) and frees what init allocated; the tap stays open. */
void virtio_net_destroy(struct virtio_net *net);

/* The counters so far, summed over the pairs (safe while running). */
void virtio_net_counters(const struct virtio_net *net, struct virtio_net_counters *out);

/* The counters as --stats prints them, named "virtio-net TAPNAME". */
struct stats_device;
void virtio_net_stats_device(const struct virtio_net *net, struct stats_device *out);

/*
 * A MAC for a VM that asked for none: locally administered, unicast, and
 * the same each run for the same @seed (the tap's name) and @index.
 */
void virtio_net_default_mac(const char *seed, unsigned int index, uint8_t mac[6]);

#endif

/* SPDX-License-Identifier: MIT */
/*
 * Device side of a virtio 1.x split virtqueue (spec 2.7). The rings live in
 * guest RAM and the guest writes them concurrently from other CPUs, so every
 * value read from them is copied once and validated before use, and no guest
 * address becomes a host pointer except through gpa_to_hva().
 *
 * One queue is driven by one thread at a time (its device's I/O thread);
 * the functions take no locks.
 *
 * Usage, per kick:
 *
 *	do {
 *		virtq_set_notify(q, false);
 *		while ((r = virtq_pop(q, &chain)) != 0) {
 *			if (q->broken)
 *				-> set DEVICE_NEEDS_RESET, stop
 *			if (r < 0)
 *				-> virtq_push(q, chain.head, 0), next
 *			handle chain, virtq_push(q, chain.head, written)
 *		}
 *		if (virtq_should_notify(q))
 *			-> interrupt the driver
 *	} while (virtq_set_notify(q, true));
 */
#ifndef NESTVMM_VIRTIO_VIRTQUEUE_H
#define NESTVMM_VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtio_ids.h"
#include "vmm/guest_mem.h"

/*
 * The most buffers (non-empty descriptors) one chain may carry, and the most
 * entries an indirect table may hold. The spec lets a device limit this; the
 * devices advertise seg_max below it.
 */
#define VIRTQ_MAX_CHAIN 1024

/* Ring layout in guest memory, all fields little-endian (spec 2.7.5-2.7.8). */
struct virtq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct virtq_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[]; /* [size], then le16 used_event */
};

struct virtq_used_elem {
	uint32_t id;
	uint32_t len;
};

struct virtq_used {
	uint16_t flags;
	uint16_t idx;
	struct virtq_used_elem ring[]; /* [size], then le16 avail_event */
};

struct virtq {
	struct guest_mem *mem;
	uint16_t size; /* power of 2, 1..VIRTQ_SIZE_MAX; 0 while disabled */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool enabled;
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect;	/* VIRTIO_F_INDIRECT_DESC negotiated */

	uint16_t last_avail;	 /* next avail ring entry to consume */
	uint16_t avail_shadow;	 /* avail->idx as last read */
	uint16_t used_idx;	 /* what used->idx holds (only we write it) */
	uint16_t signalled_used; /* used_idx at the last notify decision */
	bool signalled_used_valid;
	bool notify_enabled; /* as last set by virtq_set_notify() */

	/* The ring is unusable (the device must go DEVICE_NEEDS_RESET). */
	bool broken;

	/* Host views of the rings, checked against RAM once by virtq_enable(). */
	const struct virtq_desc *desc;
	const struct virtq_avail *avail;
	struct virtq_used *used;
	const uint16_t *used_event; /* &avail->ring[size] */
	uint16_t *avail_event;	    /* (u16 *)&used->ring[size] */
};

struct virtq_iov {
	void *base; /* host pointer, [base, base + len) inside one RAM region */
	uint32_t len;
};

struct virtq_chain {
	uint16_t head;	     /* descriptor index to hand back with virtq_push() */
	unsigned int nr_out; /* device-readable buffers: iov[0, nr_out) */
	unsigned int nr_in;  /* device-writable buffers: iov[nr_out, nr_out + nr_in) */
	uint64_t out_len;    /* bytes in the readable buffers */
	uint64_t in_len;     /* bytes in the writable buffers */
	struct virtq_iov iov[VIRTQ_MAX_CHAIN];
};

/*
 * Start using a queue the driver has just enabled. Checks what the spec
 * requires of the layout: @size a power of two no larger than 32768, the
 * descriptor table 16-byte aligned, the available ring 2-byte aligned, the
 * used ring 4-byte aligned, each part (event fields included) wholly inside
 * one RAM region. Returns 0, or -EINVAL with the queue left disabled.
 */
int virtq_enable(struct virtq *q, struct guest_mem *mem, uint16_t size, uint64_t desc_gpa,
		 uint64_t avail_gpa, uint64_t used_gpa, bool event_idx, bool indirect);

/* Back to the disabled state of a freshly reset device. */
void virtq_reset(struct virtq *q);

/*
 * Take the next available descriptor chain.
 *
 * Returns 1 with @chain filled, 0 when nothing is available (or the queue is
 * disabled), -EBADMSG when the driver broke the ring rules:
 * - a malformed chain (loop, next index out of the table, a buffer not
 *   wholly inside RAM or whose end overflows, a readable buffer after a
 *   writable one, more than VIRTQ_MAX_CHAIN buffers, an indirect descriptor
 *   when INDIRECT_DESC was not negotiated, with NEXT set, inside an indirect
 *   table, or whose table is empty, not a multiple of 16 bytes, longer than
 *   VIRTQ_MAX_CHAIN entries or not inside RAM): the chain is consumed,
 *   chain->head names it (nr_out = nr_in = 0) and the caller should fail the
 *   request and hand the head back with virtq_push(q, head, 0);
 * - a ring the device cannot go on with (avail->idx moved by more than the
 *   queue size, a head index >= size): q->broken is set, nothing is consumed,
 *   and every later call returns -EBADMSG until virtq_reset().
 *
 * Zero-length descriptors are legal and carry no data: they are skipped (no
 * iov, their address is never looked at) but still count towards the chain
 * length and the readable-before-writable order.
 */
int virtq_pop(struct virtq *q, struct virtq_chain *chain);

/*
 * Publish one used element: @head as returned by virtq_pop(), @len the bytes
 * written into the chain's writable buffers. Makes it visible to the driver
 * (element first, then used->idx) but does not notify.
 */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);

/*
 * After a batch of virtq_push(): whether the driver wants a used buffer
 * notification now, from avail->flags or, with EVENT_IDX, from used_event.
 * Call it once per batch: it records the used index it decided for.
 */
bool virtq_should_notify(struct virtq *q);

/*
 * Ask the driver to kick (@enable) or not to bother while the device is
 * busy polling. Enabling is racy against a driver that just added buffers
 * and read the old setting, so after enabling this re-reads avail->idx and
 * returns true when buffers are waiting (keep processing); it returns false
 * otherwise and always when disabling.
 */
bool virtq_set_notify(struct virtq *q, bool enable);

/*
 * Whether the driver made buffers available that virtq_pop() has not taken
 * yet. False on a disabled or broken queue.
 */
bool virtq_has_work(struct virtq *q);

#endif

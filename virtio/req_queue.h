/* SPDX-License-Identifier: MIT */
/*
 * A virtqueue of block requests served by one I/O thread over one block
 * engine queue: what virtio-blk (each queue) and virtio-scsi (each request
 * queue) share. The thread (virtio/worker.h) makes its engine queue, which
 * watches the queue's kick eventfd, the stop eventfd and optionally one
 * more of the device's, then enters its sandbox; per session it pops chains
 * while request slots are free, hands each to the device's start(), feeds
 * engine completions to complete(), and makes one interrupt decision per
 * batch. With every slot busy it stops popping (the requests wait in the
 * ring, kicks stay off) until completions free slots.
 *
 * Before it sleeps, the thread polls the completion queue and the avail
 * ring (kicks off) for an adaptive window of up to poll_max_ns: measured
 * on blk-model, the wake-ups it saves are what kept the device from the
 * backend's limit (README, virtio-blk).
 *
 * No locks, no allocation on the request path: the slots (the device's own
 * request structs, slot_size bytes each) are allocated when a session
 * starts, one per ring entry.
 */
#ifndef NESTVMM_VIRTIO_REQ_QUEUE_H
#define NESTVMM_VIRTIO_REQ_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "block/block.h"
#include "virtio/virtio_dev.h"
#include "virtio/worker.h"

struct req_queue;

/* The longest poll window by default (hosts with more than one CPU), and the first one. */
#define REQ_QUEUE_POLL_MAX_NS	50000ull
#define REQ_QUEUE_POLL_START_NS 4000ull

/*
 * Adaptive polling, as QEMU's event loop does it: the next window after a
 * wait for work that took @waited_ns (polling included) with a window of
 * @poll_ns. Work that came within the window changes nothing; work that
 * came later but within @max_ns doubles it (from REQ_QUEUE_POLL_START_NS,
 * capped at @max_ns); a longer wait (an idle guest) ends polling until work
 * comes quickly again.
 */
uint64_t req_queue_next_poll(uint64_t poll_ns, uint64_t max_ns, uint64_t waited_ns);

struct req_queue_ops {
	/*
	 * Take the request virtq_pop() left in q->chain into @slot. Return
	 * true when it holds the slot (its I/O is queued on q->ioq), false
	 * when it was completed at once (req_queue_push() done).
	 */
	bool (*start)(struct req_queue *q, void *slot);
	/*
	 * The I/O @io of @slot completed (io->res set). Return true when the
	 * request is finished (pushed; the slot is free again), false when
	 * it queued more I/O.
	 */
	bool (*complete)(struct req_queue *q, void *slot, struct blk_io *io);
	/* Optional: the device's extra eventfd fired (drained already). */
	void (*event)(struct req_queue *q);
	/* Optional: after each batch of events has been handled and the ring served. */
	void (*batch_done)(struct req_queue *q);
	/* Optional: the engine failed; nothing more completes until the next start. */
	void (*failed)(struct req_queue *q);
	/* Where @io lies in the slot. */
	size_t io_offset;
};

struct req_queue {
	struct virtio_dev *vdev;
	unsigned int index; /* the virtqueue's */
	const struct req_queue_ops *ops;
	void *owner; /* the device, for the ops */

	/* Per session (req_queue_start()); the thread's own while it serves. */
	struct virtq *vq;
	struct blk_ioq ioq;
	struct virtq_chain *chain; /* virtq_pop() scratch */
	uint8_t *slots;		   /* nr_slots * slot_size bytes */
	size_t slot_size;
	uint16_t *free_slots; /* stack of indices into slots */
	unsigned int nr_free;
	unsigned int nr_slots;
	unsigned int pushed;	/* used elements since the last interrupt decision */
	uint64_t first_push_ns; /* when the first of them was pushed (while polling) */
	bool dead;		/* broken ring: no more requests taken */
	bool starved;		/* stopped popping with every slot busy */

	/* Set before the session starts, read by its thread. */
	struct blk_disk *disk;			 /* the engine queue's own disk */
	const struct blk_engine_ops *engine_ops; /* NULL: the engine disk->engine names */
	int extra_fd;				 /* -1: none */
	uint64_t poll_max_ns;			 /* the longest poll window; 0: never poll */
	uint64_t poll_ns;			 /* the thread's: the window now (adaptive) */

	struct worker worker;
	/* The thread's own: the engine queue lives from its first start to destroy. */
	bool engine_ready;
	const struct blk_engine_ops *engine_made_with;
	int engine_kick_fd;
	int engine_extra_fd;
	bool confined; /* in its sandbox: nothing is remade */
};

/* Make the thread (named @name). Returns 0 or -errno. */
int req_queue_init(struct req_queue *q, struct virtio_dev *vdev, unsigned int index,
		   const char *name, const struct req_queue_ops *ops, void *owner,
		   size_t slot_size);

/* Make the engine queue and enter the sandbox now (see worker_seal()). */
int req_queue_seal(struct req_queue *q);

/* Serve vdev->vqs[index] with slots of slot_size bytes, zeroed. Returns 0 or -errno. */
int req_queue_start(struct req_queue *q);

/* Poll windows of up to @max_ns (0: never poll) from the next start; the bench's knob. */
void req_queue_set_poll(struct req_queue *q, uint64_t max_ns);

/* Ask the session to end; req_queue_join() waits for it (its in-flight I/O done). */
void req_queue_stop(struct req_queue *q);
void req_queue_join(struct req_queue *q);

/* Stop, join, end the thread. */
void req_queue_destroy(struct req_queue *q);

/* Publish a used element of the current batch (virtq_push(), counted for the interrupt). */
void req_queue_push(struct req_queue *q, uint16_t head, uint32_t len);

/* Slot @i of the session; a slot's index. */
void *req_queue_slot(struct req_queue *q, unsigned int i);

#endif
